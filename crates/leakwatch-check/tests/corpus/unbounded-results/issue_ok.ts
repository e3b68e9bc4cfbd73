import knex from "knex";
import mysql from "mysql2/promise";
import { User } from "./models";

const db = knex({ client: "pg" });
const pool = mysql.createPool({ host: "db" });

export async function one(id: number) {
  return db("users").select("*").where({ id }).first();
}

export async function page(n: number) {
  return User.find({}).limit(50).skip(n * 50);
}

export async function byName(name: string) {
  const [rows] = await pool.query("SELECT id FROM users WHERE name = ?", [name]);
  return rows;
}

export function pick(items: string[]) {
  return items.find((x) => x === "a");
}
