const mysql = require('mysql');
const { Pool } = require('pg');

const pool = new Pool();

async function getUser(id) {
  const client = await pool.connect(); // expect: unreleased-connection
  const { rows } = await client.query('SELECT * FROM users WHERE id = $1', [id]);
  return rows[0];
}

function legacy(id, cb) {
  const conn = mysql.createConnection({ host: 'db' }); // expect: unreleased-connection
  conn.query('SELECT name FROM users WHERE id = ?', [id], cb);
}

module.exports = { getUser, legacy };
