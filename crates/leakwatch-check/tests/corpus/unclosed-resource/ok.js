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
