import { Repository } from 'typeorm';
import { Order } from './order';

export async function someOrders(orderRepository: Repository<Order>, page: number): Promise<Order[]> {
  return orderRepository.findAll({ where: { paid: true }, limit: 50, offset: page * 50 });
}
