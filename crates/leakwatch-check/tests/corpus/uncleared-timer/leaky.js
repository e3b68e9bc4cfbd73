class Poller {
  start() {
    this.timer = setInterval(() => this.poll(), 1000); // expect: uncleared-timer
  }

  poll() {
    return fetch('/status');
  }
}

function watch(file, onChange) {
  const id = setInterval(() => onChange(file), 500); // expect: uncleared-timer
  return { file };
}

// One meter per slot, kept by slot; hanging up clears the pollers' table,
// not this one, so each slot's meter runs on after the call.
const meters = [];
const pollers = [];

function showRemote(slot, feed) {
  meters[slot] = setInterval(() => render(slot, feed.getBitrate()), 1000); // expect: uncleared-timer
}

function hangup() {
  for (let i = 0; i < pollers.length; i++) clearInterval(pollers[i]);
}

module.exports = { Poller, watch, showRemote, hangup };
