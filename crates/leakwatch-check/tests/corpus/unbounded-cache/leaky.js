const db = require('./db');

const cache = new Map();

async function getUser(id) {
  if (cache.has(id)) return cache.get(id);
  const user = await db.users.findById(id);
  cache.set(id, user); // expect: unbounded-cache
  return user;
}

const rendered = {};

function render(path, locals) {
  const key = path + JSON.stringify(locals);
  if (rendered[key]) return rendered[key];
  rendered[key] = compile(path)(locals); // expect: unbounded-cache
  return rendered[key];
}

module.exports = { getUser, render };

// The same `each` in an event handler runs on every click.
const selected = {};
button.on("click", function () {
  items.each(function (item) {
    selected[item.id] = item; // expect: unbounded-cache
  });
  return selected[current];
});
