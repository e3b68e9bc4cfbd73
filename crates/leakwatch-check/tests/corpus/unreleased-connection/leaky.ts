import { Pool, PoolClient } from 'pg';

const pool = new Pool();

export async function transfer(from: string, to: string, amount: number): Promise<void> {
  const client: PoolClient = await pool.connect(); // expect: unreleased-connection
  await client.query('BEGIN');
  await client.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from]);
  await client.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to]);
  await client.query('COMMIT');
}
