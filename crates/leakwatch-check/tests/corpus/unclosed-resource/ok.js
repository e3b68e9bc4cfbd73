const fs = require('fs');

function readHeader(path) {
  const fd = fs.openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16);
    fs.readSync(fd, buf, 0, 16, 0);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

function appendLog(path, line) {
  fs.open(path, 'a', (err, fd) => {
    if (err) throw err;
    fs.write(fd, line, () => fs.close(fd, () => {}));
  });
}

async function firstBytes(p) {
  const fh = await fs.promises.open(p, 'r');
  try {
    const { buffer } = await fh.read(Buffer.alloc(100), 0, 100, 0);
    return buffer;
  } finally {
    await fh.close();
  }
}

function writeAll(path, lines) {
  const out = fs.createWriteStream(path);
  for (const l of lines) out.write(l + '\n');
  out.end();
}

function readAll(path) {
  return fs.readFileSync(path, 'utf8');
}

module.exports = { readHeader, appendLog, firstBytes, writeAll, readAll };

// The descriptor goes to `fd` of the function around the callback, closed
// once the buffered write is done.
function writeCanvas(path, buffer, done) {
  var fd;
  function flush() {
    fs.write(fd, buffer, 0, buffer.length, 0, function (error) {
      fs.close(fd);
      done(error);
    });
  }
  fs.open(path, 'w', 0o666, function (error, _fd) {
    if (error) return done(error);
    fd = _fd;
    flush();
  });
}
