// Look-alikes: copy the small field first; no closure over the buffer.
const FIFTEEN_MINUTES = 15 * 60 * 1000;
const index = new Map();

function onUpload(req, res) {
  const name = req.body.name;
  setTimeout(() => audit(name), FIFTEEN_MINUTES);
  res.end();
}

function indexDocument(raw) {
  const doc = parse(raw);
  const preview = raw.slice(0, 200);
  doc.preview = () => preview;
  index.set(doc.id, doc);
}

module.exports = { onUpload, indexDocument, index };
