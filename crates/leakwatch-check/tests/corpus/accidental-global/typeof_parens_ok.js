// A global the script means to set on first use, probed with `typeof`
// written as a call (`typeof(x)`), as some old scripts write it.
function timerStart(id) {
  if (typeof(timers) == 'undefined') timers = [];
  if (typeof (timers[id]) == 'undefined') timers[id] = [Date.now()];
  else timers[id][0] = Date.now();
}

function timerEnd(id) {
  timers[id][1] = Date.now();
}
