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

// The handle kept under two names, cleared under one of them (spaced as a
// minifier-free library writes it) in another method.
const tooltip = {
  open(el, where) {
    let shown;
    shown = this.shown = setInterval(function () {
      if (el.visible) {
        place(el, where.of);
        clearInterval( shown );
      }
    }, 13);
  },
  close() {
    clearInterval( this.shown );
  },
};

// One bitrate meter per video slot, kept by slot; hanging up clears every
// slot's meter, naming the key its own way.
const bitrateTimer = [];

function showRemote(slot, feed) {
  if (!bitrateTimer[slot]) {
    bitrateTimer[slot] = setInterval(() => render(slot, feed.getBitrate()), 1000);
  }
}

function hangup() {
  for (let i = 0; i < bitrateTimer.length; i++) {
    if (bitrateTimer[i]) clearInterval(bitrateTimer[i]);
    bitrateTimer[i] = null;
  }
}

module.exports = { Poller, watch, debounce, tooltip, showRemote, hangup };
