// The same API without a way back: every `on` adds a window listener that
// stays for the page's life (the only removal is for one fixed event).
var bus = window.bus || {};
bus.on = function addBusListener(eventName, listener) {
  function listenerWrapper(evt) {
    listener.apply(null, evt.detail);
  }
  window.addEventListener(eventName, listenerWrapper); // expect: listener-leak
};
bus.reset = function () {
  window.removeEventListener('bus:reset', bus.onReset);
};
