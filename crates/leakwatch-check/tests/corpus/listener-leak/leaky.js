const EventEmitter = require('events');
const express = require('express');

const bus = new EventEmitter();
const app = express();

app.get('/stream', (req, res) => {
  bus.on('message', (msg) => res.write(msg)); // expect: listener-leak
});

function watchConfig(onChange) {
  process.on('SIGHUP', () => onChange(loadConfig())); // expect: listener-leak
}

class Widget {
  mount(el) {
    this.el = el;
    window.addEventListener('resize', () => this.layout()); // expect: listener-leak
  }
}

module.exports = { watchConfig, Widget };

// A flag tested but never set in the branch: every call adds one.
let ready = false;
export function attach() {
  if (!ready) {
    document.addEventListener("submit", didSubmit); // expect: listener-leak
  }
}

// A named function run with `.call(this)` per message is not a wrapper:
// each message adds one more listener.
function trackSize() {
  window.addEventListener('resize', () => this.layout()); // expect: listener-leak
}
bus.on('message', function () { trackSize.call(this); });

// Registered per element on an event that fires again and again (not the
// page's one start): one more handler per element shown.
function followScroll(el) {
  window.addEventListener('scroll', () => el.update(), false); // expect: listener-leak
}
document.addEventListener('click', (e) => followScroll(e.target));

// The same registration with a closure made per tab switch: one more each
// time.
function showTab(tab) {
  tab.show();
  window.addEventListener('resize', () => relayout(tab)); // expect: listener-leak
}
tabs.on('switch', showTab);

// The namespace's own event, subscribed per menu element made: one more
// listener on the namespace each time, keeping the element alive.
var player = {};
player.Menu = function () {};
player.Menu.prototype.createEl = function () {
  var el = document.createElement('div');
  player.on('resize', function () { el.style.width = player.width + 'px'; }); // expect: listener-leak
  return el;
};

// The same loop in what each editor runs when it is created: four more
// document listeners per editor, each keeping the editor alive.
function createEditor(container) {
  var editor = { container: container };
  ['selectionchange', 'mousedown', 'mouseup', 'click'].forEach(function (eventName) {
    document.addEventListener(eventName, function (e) { editor.update(e); }); // expect: listener-leak
  });
  return editor;
}

// The same menu made on every click of its toggle: one more document
// listener each time.
( function() {
	var dropMenu = function( id ) {
		document.addEventListener( 'keydown', function( event ) { // expect: listener-leak
			closeOnEscape( id, event );
		} );
	};
	toggle.addEventListener( 'click', function() {
		new dropMenu( 'secondary' );
	} );
}() );
