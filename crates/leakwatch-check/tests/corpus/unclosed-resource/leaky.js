const fs = require('fs');

function readHeader(path) {
  const fd = fs.openSync(path, 'r'); // expect: unclosed-resource
  const buf = Buffer.alloc(16);
  fs.readSync(fd, buf, 0, 16, 0);
  return buf;
}

function appendLog(path, line) {
  fs.open(path, 'a', (err, fd) => { // expect: unclosed-resource
    if (err) throw err;
    fs.write(fd, line, () => {});
  });
}

async function firstBytes(p) {
  const fh = await fs.promises.open(p, 'r'); // expect: unclosed-resource
  const { buffer } = await fh.read(Buffer.alloc(100), 0, 100, 0);
  return buffer;
}

module.exports = { readHeader, appendLog, firstBytes };
