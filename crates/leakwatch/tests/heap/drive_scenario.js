// Test driver: loads a leak-pattern program, runs its interval callbacks a
// fixed number of times (deterministic and fast, instead of waiting for the
// timers), and writes three heap snapshots: BASE after a warm-up, TARGET and
// FINAL after more work each.
// usage: node drive_scenario.js SCENARIO.js OUT_DIR WARM_TICKS TICKS_BETWEEN
'use strict';
const v8 = require('v8');
const path = require('path');
const [scenario, outDir, warmArg, betweenArg] = process.argv.slice(2);
const warm = Number(warmArg);
const between = Number(betweenArg);

const callbacks = [];
const realSetInterval = global.setInterval;
global.setInterval = function (fn, ms, ...args) {
  const timer = realSetInterval(fn, ms, ...args); // kept, as in the real program
  callbacks.push(() => fn(...args));
  return timer;
};
require(path.resolve(scenario));
global.setInterval = realSetInterval;

function tick(n) {
  for (let i = 0; i < n; i++) for (const f of callbacks) f();
}

tick(warm);
v8.writeHeapSnapshot(path.join(outDir, 'base.heapsnapshot'));
tick(between);
v8.writeHeapSnapshot(path.join(outDir, 'target.heapsnapshot'));
tick(between);
v8.writeHeapSnapshot(path.join(outDir, 'final.heapsnapshot'));
process.exit(0);
