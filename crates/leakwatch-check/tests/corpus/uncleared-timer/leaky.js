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

module.exports = { Poller, watch };
