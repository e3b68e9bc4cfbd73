// An event API over window events: `on` adds the caller's listener for the
// caller's event, `off` removes it; its callers decide how many stay.
var app = window.app || {};
app.on = function addAppListener(eventName, listener) {
  function listenerWrapper(evt) {
    listener.apply(null, evt.detail);
  }
  listener.wrapper = listenerWrapper;
  window.addEventListener(eventName, listenerWrapper);
};
app.off = function removeAppListener(eventName, listener) {
  if (listener.wrapper) {
    window.removeEventListener(eventName, listener.wrapper);
  }
};
