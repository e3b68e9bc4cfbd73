import { createClient } from "redis";
import express from "express";

const app = express();

app.get("/count", async (req, res) => {
  const client = createClient({ url: process.env.REDIS_URL }); // expect: unreleased-connection
  await client.connect();
  res.json({ n: await client.incr("hits") });
});
