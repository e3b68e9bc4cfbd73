// A Map cache bounded to 20,000 entries that evicts the oldest: memory rises
// while it fills, then stays level (with V8's GC saw-tooth on top).
const cache = new Map();
const MAX = 20000;
let id = 0;
setInterval(() => {
  for (let i = 0; i < 60; i++) {
    cache.set(++id, { id, payload: 'y'.repeat(400) });
    if (cache.size > MAX) cache.delete(cache.keys().next().value);
  }
}, 20);
