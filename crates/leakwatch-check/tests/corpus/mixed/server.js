'use strict';
const http = require('http');
const EventEmitter = require('events');
const fs = require('fs');

const hub = new EventEmitter();
const sessions = new Map();
const history = [];
const MAX_HISTORY = 500;

function onRequest(req, res) {
  const sid = req.headers['x-session'];
  if (!sessions.has(sid)) {
    sessions.set(sid, { created: Date.now(), user: req.headers['x-user'] }); // expect: unbounded-cache
  }
  history.push(req.url);
  if (history.length > MAX_HISTORY) history.splice(0, history.length - MAX_HISTORY);

  if (req.url === '/events') {
    const send = (e) => res.write(`data: ${JSON.stringify(e)}\n\n`);
    hub.on('event', send);
    req.on('close', () => hub.removeListener('event', send));
    return;
  }
  if (req.url === '/events-leaky') {
    hub.on('event', (e) => res.write(`data: ${JSON.stringify(e)}\n\n`)); // expect: listener-leak
    return;
  }
  if (req.url === '/poll') {
    const timer = setInterval(() => res.write(String(req.socket.bytesWritten)), 1000); // expect: closure-capture
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (req.url === '/log') {
    const fd = fs.openSync('/tmp/req.log', 'a'); // expect: unclosed-resource
    fs.writeSync(fd, req.url + '\n');
  }
  res.end('ok');
}

http.createServer(onRequest).listen(8080);
