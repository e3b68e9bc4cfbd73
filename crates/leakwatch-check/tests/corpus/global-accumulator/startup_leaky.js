// The launcher's look-alikes that grow: `start` is also called for every
// message, and `watch` pushes from a callback it hands on, once per event.
import { spawn } from 'child_process';

const children = [];
const exits = [];

function start(cmd) {
  const p = spawn(cmd, [], { stdio: 'inherit' });
  children.push(p); // expect: global-accumulator
  return p;
}

function watch(p) {
  p.on('exit', (code) => {
    exits.push({ pid: p.pid, code }); // expect: global-accumulator
  });
}

start('worker');
watch(start('server'));
process.on('message', (m) => start(m.cmd));
