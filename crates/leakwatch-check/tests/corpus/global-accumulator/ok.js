const express = require('express');

const app = express();
const recent = [];
const MAX = 100;

app.use((req, res, next) => {
  recent.push(req.url);
  if (recent.length > MAX) recent.shift();
  next();
});

const online = new Set();

function connect(client) {
  online.add(client.id);
}

function disconnect(client) {
  online.delete(client.id);
}

const plugins = [];

function registerPlugin(p) {
  plugins.push(p);
}

function batch(items) {
  const out = [];
  for (const i of items) out.push(i * 2);
  return out;
}

module.exports = { connect, disconnect, registerPlugin, batch };
