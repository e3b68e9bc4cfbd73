// The same API in TypeScript (typed parameters): `on` adds the caller's
// listener for the caller's event, `off` removes it.
var app = window.app || {};
app.on = function addAppListener(eventName: string, listener: any) {
  function listenerWrapper(evt) {
    listener.apply(null, evt.detail);
  }
  listener.wrapper = listenerWrapper;
  window.addEventListener(eventName, listenerWrapper);
};
app.off = function removeAppListener(eventName: string, listener: any) {
  if (listener.wrapper) {
    window.removeEventListener(eventName, listener.wrapper);
  }
};
