function startPolling(url) {
  setInterval(() => fetch(url), 5000); // expect: unstoppable-task
}

class Connection {
  constructor(socket) {
    this.socket = socket;
    setInterval(() => socket.write('ping'), 1000); // expect: unstoppable-task
  }
}

module.exports = { startPolling, Connection };

// The same autosave started per editor opened: one more each time.
editors.on('open', function (editor) {
  setInterval(function () { editor.saveDraft(); }, 5000); // expect: unstoppable-task
});
