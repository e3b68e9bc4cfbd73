// Every request adds a listener to a long-lived emitter and never removes it:
// each listener's closure keeps its request payload alive.
const { EventEmitter } = require('events');
const bus = new EventEmitter();
bus.setMaxListeners(0);

function handleRequest(id) {
  const payload = { id, body: 'x'.repeat(512) };
  bus.on('config-changed', () => payload.id); // never removed
}

let id = 0;
setInterval(() => {
  for (let i = 0; i < 50; i++) handleRequest(++id);
}, 20);
