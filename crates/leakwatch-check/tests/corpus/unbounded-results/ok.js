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

module.exports = { listUsers, listEvents, one, latest, find };
