const { User } = require('./models');

async function listUsers(req, res) {
  const users = await User.findAll(); // expect: unbounded-results
  res.json(users);
}

async function listEvents(req, res) {
  const events = await db.collection('events').find({ type: req.query.type }).toArray(); // expect: unbounded-results
  res.json(events);
}

async function dump(req, res) {
  const { rows } = await pool.query('SELECT * FROM audit_log'); // expect: unbounded-results
  res.json(rows);
}

module.exports = { listUsers, listEvents, dump };
