const express = require('express');

const app = express();
const requests = [];
const visitors = new Set();
const lastSeen = new Map();

app.use((req, res, next) => {
  requests.push({ url: req.url, at: Date.now() }); // expect: global-accumulator
  visitors.add(req.ip); // expect: global-accumulator
  next();
});

function heartbeat(client) {
  lastSeen.set(client.id, Date.now()); // expect: global-accumulator
}

module.exports = { heartbeat };
