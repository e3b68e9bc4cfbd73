'use strict';
// Benchmark target for bench/where/go_node.sh: an HTTP service. /work
// encodes a small JSON document, keeps the last 4096 results in a cache and
// leaks one small record per 16 requests (a slow leak). /stats reports the
// longest event-loop delay since the last /stats (perf_hooks, 1 ms
// resolution): what a poll that runs on the JavaScript thread costs.
const http = require('http');
const { monitorEventLoopDelay } = require('perf_hooks');

const cache = new Map();
const leaked = [];
let counter = 0;
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

function work(res) {
  const id = ++counter;
  const body = JSON.stringify({ id, name: 'item-' + id, tags: ['a', 'b', 'c'], attrs: { k: 'v', n: String(id) } });
  cache.set(id, body);
  if (cache.size > 4096) cache.delete(cache.keys().next().value);
  if (id % 16 === 0) leaked.push(new Array(32).fill(id));
  res.setHeader('Content-Type', 'application/json');
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.url === '/stats') {
    const us = Math.round(delay.max / 1000);
    delay.reset();
    res.end(us + '\n');
    return;
  }
  work(res);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
