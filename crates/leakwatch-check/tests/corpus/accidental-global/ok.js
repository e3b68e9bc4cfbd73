/* global jQuery */
var counter = 0;

function parseRequest(req) {
  const body = JSON.parse(req.payload);
  counter = counter + 1;
  return body.items;
}

function Point(x, y) {
  this.x = x;
  this.y = y;
}

var origin = new Point(0, 0);

function tally(items) {
  var total = 0;
  for (var i = 0; i < items.length; i++) {
    total += items[i].price;
  }
  return total;
}

function init() {
  window.appState = {};
  module.exports.ready = true;
  jQuery = window.jQuery;
}

function handler(e) {
  e.target.value = '';
}

var obj = {
  reset: function () {
    this.items = [];
  },
};

function withCatch() {
  try {
    run();
  } catch (err) {
    err = wrap(err);
    throw err;
  }
}

// core-js in a bundle: sets the global only when the host declared it.
(function (module) {
  var core = module.exports = { version: '2.6.5' };
  if (typeof __e == 'number') __e = core; // eslint-disable-line no-undef
})({});

// jscalendar: inside `with (Calendar)` the bare name is Calendar's own
// property.
Calendar._C = null;
Calendar.tableMouseUp = function (ev) {
  with (Calendar) {
    _C = null;
  }
};

// DokuWiki: a flag made global on purpose through `window`, then set bare.
window.textChanged = false;
function markChanged() {
  textChanged = true;
}
