class Poller {
  start() {
    this.timer = setInterval(() => this.poll(), 1000);
  }

  stop() {
    clearInterval(this.timer);
  }

  poll() {
    return fetch('/status');
  }
}

function watch(file, onChange) {
  const id = setInterval(() => onChange(file), 500);
  return () => clearInterval(id);
}

function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

module.exports = { Poller, watch, debounce };
