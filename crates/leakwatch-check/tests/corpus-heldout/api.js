const express = require("express");
const mongoose = require("mongoose");
const fs = require("fs");

const app = express();
const cache = {};
const Order = mongoose.model("Order");

app.get("/orders", async (req, res) => {
  const orders = await Order.find(); // expect: unbounded-results
  res.json(orders);
});

app.get("/orders/:id", async (req, res) => {
  res.json(await Order.findById(req.params.id));
});

app.get("/price/:sku", async (req, res) => {
  if (!cache[req.params.sku]) {
    cache[req.params.sku] = await lookup(req.params.sku); // expect: unbounded-cache
  }
  res.json(cache[req.params.sku]);
});

app.post("/upload", (req, res) => {
  const file = req.body;
  setTimeout(() => cleanup(file.path), 30 * 60 * 1000); // expect: closure-capture
  const fd = fs.openSync(file.path, "r"); // expect: unclosed-resource
  res.end(String(fs.fstatSync(fd).size));
});

function Tracker() {
  this.events = []; // expect: accidental-global
}

app.post("/track", (req, res) => {
  const t = Tracker();
  res.end();
});
