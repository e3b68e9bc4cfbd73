// Look-alikes: the module's one child, listened to on every message; and a
// child made once, then a listener per request after it is fetched again.
import { spawn } from 'child_process';

let worker = spawn('node', ['worker.js']);
let shared = null;
const getShared = () => shared || (shared = spawn('node', ['shared.js']));

process.on('message', (m) => {
  worker.on('exit', () => console.log('worker gone', m.id)); // expect: listener-leak
});

export function handle(req) {
  shared = getShared();
  shared.on('message', (msg) => req.reply(msg)); // expect: listener-leak
}
