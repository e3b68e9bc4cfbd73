import knex from "knex";
import { User } from "./models";

const db = knex({ client: "pg" });

export async function exportUsers() {
  const rows = await db("users").select("*"); // expect: unbounded-results
  return rows.map((r) => r.email);
}

export async function everyone() {
  return User.find({}); // expect: unbounded-results
}
