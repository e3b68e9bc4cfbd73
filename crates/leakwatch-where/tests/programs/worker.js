'use strict';
const http = require('http');

const seen = [];
const cache = new Map();
const stats = { validated: 0, transformed: 0, logged: 0, timed: 0 };

function validate(job) {
  if (typeof job.id !== 'number') throw new Error('bad job');
  stats.validated++;
}

// recordJob leaks: every job is kept forever.
function recordJob(job) {
  seen.push({ id: job.id, tags: new Array(256).fill(job.id), note: 'job ' + job.id });
}

// cacheResult keeps the last 1000 results: it fills, then holds.
function cacheResult(job) {
  cache.set(job.id, new Array(128).fill(job.id));
  if (cache.size > 1000) cache.delete(cache.keys().next().value);
}

// transform allocates garbage that does not survive the job.
function transform(job) {
  const parts = [];
  for (let i = 0; i < 64; i++) parts.push({ i, text: 'part ' + i + ' of ' + job.id });
  stats.transformed += parts.length;
}

function log(job) {
  if (job.id % 100000 === 0) stats.logged++;
}

function time(job) {
  job.done = Date.now();
  stats.timed++;
}

const pipeline = [validate, recordJob, cacheResult, transform, log, time];

let nextId = 0;
setInterval(() => {
  for (let k = 0; k < 5; k++) {
    const job = { id: nextId++, done: 0 };
    for (const step of pipeline) step(job);
  }
}, 10);

const server = http.createServer((req, res) => res.end('pong'));
server.listen(0, '127.0.0.1', () => {
  console.log('ready ' + server.address().port);
});
