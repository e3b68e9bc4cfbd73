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

// Filled once per element while the page loads (d3's or jQuery's `each`,
// `forEach` at the top level): bounded by the document, not by events.
const svgNodes = {};
graph.selectAll("g.node").each(function () {
  const node = d3.select(this);
  svgNodes[parseInt(node.select("title").text(), 10)] = node;
});

function highlight(id) {
  return svgNodes[id];
}

module.exports = { getUser, touch, expire, fib, index, metadata, highlight };
