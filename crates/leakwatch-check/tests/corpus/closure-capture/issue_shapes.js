// Long-lived closures pinning whole uploads and raw buffers.
const FIFTEEN_MINUTES = 15 * 60 * 1000;
const index = new Map();

function onUpload(req, res) {
  const upload = req.body;
  setTimeout(() => audit(upload.name), FIFTEEN_MINUTES); // expect: closure-capture
  res.end();
}

function indexDocument(raw) {
  const doc = parse(raw);
  doc.preview = () => raw.slice(0, 200); // expect: closure-capture
  index.set(doc.id, doc);
}

module.exports = { onUpload, indexDocument, index };
