function startPolling(url) {
  const handle = setInterval(() => fetch(url), 5000);
  return () => clearInterval(handle);
}

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.pinger = setInterval(() => socket.write('ping'), 1000);
  }

  close() {
    clearInterval(this.pinger);
    this.socket.end();
  }
}

setInterval(() => rotateLogs(), 3600 * 1000);

function delayed(fn) {
  setTimeout(fn, 10);
}

module.exports = { startPolling, Connection, delayed };

// jQuery's ready callback: the draft autosave starts once per page.
$(function () {
  var draft = new Draft(localStorage);
  setInterval(function () { draft.save(); }, 5000);
});
