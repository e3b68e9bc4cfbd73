function parseRequest(req) {
  body = JSON.parse(req.payload); // expect: accidental-global
  return body.items;
}

function tally(items) {
  var total = 0;
  for (i = 0; i < items.length; i++) { // expect: accidental-global
    total += items[i].price;
  }
  return total;
}

function resetState() {
  this.cache = []; // expect: accidental-global
}

resetState();

// The same handler outside the `with`: a new global holding the event.
Calendar.tableMouseDown = function (ev) {
  lastEvent = ev; // expect: accidental-global
};

// The same flag never declared: the assignment creates it.
function markEdited() {
  textEdited = true; // expect: accidental-global
}
