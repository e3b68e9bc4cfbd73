const mysql = require('mysql');
const { Pool } = require('pg');

const pool = new Pool();

async function getUser(id) {
  const client = await pool.connect();
  try {
    const { rows } = await client.query('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0];
  } finally {
    client.release();
  }
}

function legacy(id, cb) {
  const conn = mysql.createConnection({ host: 'db' });
  conn.query('SELECT name FROM users WHERE id = ?', [id], (err, rows) => {
    conn.end();
    cb(err, rows);
  });
}

async function simple(id) {
  return pool.query('SELECT * FROM users WHERE id = $1', [id]);
}

module.exports = { getUser, legacy, simple };
