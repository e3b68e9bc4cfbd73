const LRU = require('lru-cache');

const users = new LRU({ max: 500 });

async function getUser(id) {
  if (users.has(id)) return users.get(id);
  const user = await db.users.findById(id);
  users.set(id, user);
  return user;
}

const sessions = new Map();

function touch(id, data) {
  sessions.set(id, { data, at: Date.now() });
}

function expire(ttl) {
  for (const [id, s] of sessions) {
    if (Date.now() - s.at > ttl) sessions.delete(id);
  }
}

const memo = new Map();

function fib(n) {
  if (memo.has(n)) return memo.get(n);
  const v = n < 2 ? n : fib(n - 1) + fib(n - 2);
  if (memo.size > 1000) memo.clear();
  memo.set(n, v);
  return v;
}

function index(items) {
  const byId = new Map();
  for (const x of items) byId.set(x.id, x);
  return byId;
}

const meta = new WeakMap();

function metadata(obj) {
  if (!meta.has(obj)) meta.set(obj, compute(obj));
  return meta.get(obj);
}

module.exports = { getUser, touch, expire, fib, index, metadata };
