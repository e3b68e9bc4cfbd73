// A service with one leak among turnover: a module-level Map keeps a request
// log whose records are never dropped (the leak), while an LRU response cache
// and a session map stay at their size, each new entry replacing an old one
// (turnover, not a leak). Sizes scale with environment variables so the same
// program makes the benchmark's large snapshots:
//   LRU_MAX (default 9000), SESSIONS_MAX (default 9000), PER_TICK (default 30).
'use strict';
const LRU_MAX = Number(process.env.LRU_MAX || 9000);
const SESSIONS_MAX = Number(process.env.SESSIONS_MAX || 9000);
const PER_TICK = Number(process.env.PER_TICK || 30);

class CacheEntry {
  constructor(key, value) {
    this.key = key;
    this.value = value;
    this.prev = null;
    this.next = null;
  }
}

// A classic LRU: a Map for look-ups and a doubly linked list for recency.
class LRUCache {
  constructor(max) {
    this.max = max;
    this.map = new Map();
    this.head = null;
    this.tail = null;
  }
  unlink(e) {
    if (e.prev) e.prev.next = e.next; else this.head = e.next;
    if (e.next) e.next.prev = e.prev; else this.tail = e.prev;
    e.prev = e.next = null;
  }
  pushFront(e) {
    e.next = this.head;
    if (this.head) this.head.prev = e;
    this.head = e;
    if (!this.tail) this.tail = e;
  }
  get(key) {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.unlink(e);
    this.pushFront(e);
    return e.value;
  }
  set(key, value) {
    const old = this.map.get(key);
    if (old) this.unlink(old);
    const e = new CacheEntry(key, value);
    this.map.set(key, e);
    this.pushFront(e);
    if (this.map.size > this.max) {
      const last = this.tail;
      this.unlink(last);
      this.map.delete(last.key);
    }
  }
}

class Session {
  constructor(id) {
    this.id = id;
    this.user = 'user-' + id;
    this.state = { cart: [], visits: id % 7 };
  }
}

class RequestRecord {
  constructor(id) {
    this.id = id;
    this.path = '/api/orders/' + id;
    this.at = id * 20;
  }
}

class RequestLog {
  constructor() {
    this.records = [];
  }
  add(r) {
    this.records.push(r);
  }
}

const responseCache = new LRUCache(LRU_MAX);
const sessions = new Map();
const pendingRequests = new Map([['log', new RequestLog()]]);
let id = 0;

setInterval(() => {
  for (let i = 0; i < PER_TICK; i++) {
    id++;
    // Turnover: a new response for a new URL evicts the least recent one.
    responseCache.set('/item/' + id, { status: 200, body: 'r'.repeat(200) + id });
    responseCache.get('/item/' + (id - 5));
    // Turnover: a new session, the oldest one expires.
    sessions.set(id, new Session(id));
    if (sessions.size > SESSIONS_MAX) sessions.delete(sessions.keys().next().value);
    // The leak: every request is logged and never dropped.
    pendingRequests.get('log').add(new RequestRecord(id));
  }
}, 20);
