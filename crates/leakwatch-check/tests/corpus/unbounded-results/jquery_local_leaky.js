// Look-alikes of jquery_local_ok.js: the local holds a MongoDB collection,
// or is given one as well as a jQuery object.
async function everyEvent(db) {
  const events = db.collection('events');
  return events.find({}).toArray(); // expect: unbounded-results
}

async function rowsOrEvents(db, table, fromDb) {
  let rows = $(table);
  if (fromDb) rows = db.collection('events');
  return rows.find({}).toArray(); // expect: unbounded-results
}
