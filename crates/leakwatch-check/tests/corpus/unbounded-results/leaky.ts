import { Repository } from 'typeorm';
import { Order } from './order';

export async function allOrders(orderRepository: Repository<Order>): Promise<Order[]> {
  return orderRepository.findAll({ where: { paid: true } }); // expect: unbounded-results
}
