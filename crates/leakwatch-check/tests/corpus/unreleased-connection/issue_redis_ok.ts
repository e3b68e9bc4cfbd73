import { createClient } from "redis";
import mysql from "mysql2/promise";
import express from "express";

const app = express();
const shared = createClient({ url: process.env.REDIS_URL });
const pool = mysql.createPool({ host: "db" });

app.get("/count", async (req, res) => {
  res.json({ n: await shared.incr("hits") });
});

app.get("/once", async (req, res) => {
  const client = createClient({ url: process.env.REDIS_URL });
  await client.connect();
  try {
    res.json({ n: await client.incr("hits") });
  } finally {
    await client.quit();
  }
});

app.get("/users", async (req, res) => {
  const [rows] = await pool.query("SELECT id FROM users WHERE org = ?", [req.query.org]);
  res.json(rows);
});
