const { User } = require('./models');

async function listUsers(req, res) {
  const users = await User.findAll({ limit: 50, offset: Number(req.query.offset) || 0 });
  res.json(users);
}

async function listEvents(req, res) {
  const events = await db.collection('events').find({ type: req.query.type }).limit(100).toArray();
  res.json(events);
}

async function one(req, res) {
  const { rows } = await pool.query('SELECT * FROM audit_log WHERE id = $1', [req.params.id]);
  res.json(rows[0]);
}

async function latest(req, res) {
  const { rows } = await pool.query('SELECT * FROM audit_log ORDER BY id DESC LIMIT 100');
  res.json(rows);
}

async function find(req, res) {
  res.json(await User.findOne({ where: { id: req.params.id } }));
}

// jQuery's `find(...).toArray()` lists the page's elements, not a table.
function checkedBoxes(panel) {
  return $(panel).find('input[type=checkbox]:checked').toArray();
}

function selectedRows(widget) {
  return widget.$element.find('tr.selected').toArray();
}

// Any `find` given a CSS selector lists elements (CKEditor's DOM API).
function cellsOf(row) {
  return row.find('td, th').toArray();
}

module.exports = { listUsers, listEvents, one, latest, find, checkedBoxes, selectedRows, cellsOf };
