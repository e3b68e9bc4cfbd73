const EventEmitter = require('events');
const express = require('express');

const bus = new EventEmitter();
const app = express();

app.get('/stream', (req, res) => {
  const onMessage = (msg) => res.write(msg);
  bus.on('message', onMessage);
  req.on('close', () => bus.off('message', onMessage));
});

function waitReady() {
  return new Promise((resolve) => bus.once('ready', resolve));
}

function setup() {
  process.on('SIGTERM', () => app.close());
}

class Widget {
  mount(el) {
    this.onResize = () => this.layout();
    window.addEventListener('resize', this.onResize);
  }

  unmount() {
    window.removeEventListener('resize', this.onResize);
  }
}

function handler(req, res) {
  req.on('data', (chunk) => res.write(chunk));
}

function onClick(button) {
  document.addEventListener('keydown', () => button.click(), { once: true });
}

module.exports = { waitReady, setup, Widget, handler, onClick };

// Called once per page, from the DOMContentLoaded handler below.
window.Shortcuts = function (options) {
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') options.close();
  });
};

document.addEventListener('DOMContentLoaded', function () {
  window.Shortcuts({ close: () => {} });
});

// Behind a once-flag: registered at most once however often start() runs.
let started = false;
export function start() {
  if (!started) {
    started = true;
    document.addEventListener("click", didClick, true);
  }
}

// A page script's module wrapper runs once: its listener is added once.
(function () {
  function windowEvents(event) {
    if (event.data.action === 'expand') expand(event.data.path);
  }
  window.addEventListener('message', windowEvents, false);
})();

// CoffeeScript's module wrapper, invoked with `.call(this)`: runs once.
(function () {
  window.addEventListener('message', function (event) {
    if (event.data === 'compile') runScripts();
  }, false);
}).call(this);

// Waits for the page's start, which happens once per page: whoever calls
// it (highlight.js's initHighlightingOnLoad), the handler runs once.
var highlighter = new function () {
  function onPageStart() {
    var run = function () { highlightAll(); };
    window.addEventListener('DOMContentLoaded', run, false);
    window.addEventListener('load', run, false);
  }
  this.highlightOnLoad = onPageStart;
}();

// The drag handlers are kept by the assignments inside the calls and
// removed by those names when the drag stops.
Toolbar.prototype.dragStart = function () {
  var self = this;
  document.addEventListener('mousemove', this.dragMove = function (e) { self.resize(e); }, false);
  document.addEventListener('mouseup', this.dragStop = function () { self.dragEnd(); }, false);
};
Toolbar.prototype.dragEnd = function () {
  document.removeEventListener('mousemove', this.dragMove, false);
  document.removeEventListener('mouseup', this.dragStop, false);
};

// The embed page's set-up, handed by name to the page's one start.
(function (window, document) {
  function onLoad() {
    document.addEventListener('keydown', function (e) { closeOnEscape(e); });
    document.addEventListener('click', followLink);
  }
  document.addEventListener('DOMContentLoaded', onLoad, false);
})(window, document);

// The same top-level function added on every tab switch: an EventTarget
// keeps one registration of a given function, however often it is added.
function onWindowResize() {
  relayout();
}
function activateTab(tab) {
  tab.show();
  window.addEventListener('resize', onWindowResize);
}
tabs.on('switch', activateTab);

// video.js's helper adds the listener to the element it is given: one per
// menu element made, gone with it.
var vjs = {};
vjs.Menu = function () {};
vjs.Menu.prototype.createEl = function () {
  var el = document.createElement('div');
  vjs.on(el, 'click', function (e) { e.stopImmediatePropagation(); });
  return el;
};

// A bundle's module wrapper: the loop runs once as the module loads, one
// document listener per event name.
var modules = [
  (function (module, exports) {
    var EVENTS = ['selectionchange', 'mousedown', 'mouseup', 'click'];
    EVENTS.forEach(function (eventName) {
      document.addEventListener(eventName, function (e) { dispatchToEditors(e); });
    });
  }),
];

// A menu made once, as the page finishes loading (WordPress's spacing):
// its document listeners are the page's own.
( function() {
	var navMenu = function( id ) {
		document.addEventListener( 'keydown', function( event ) {
			closeOnEscape( id, event );
		} );
	};
	window.addEventListener( 'load', function() {
		new navMenu( 'primary' );
	} );
}() );
