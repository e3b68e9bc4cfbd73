// A plugin that replaces app.js's global helper, and makes one of its own
// by mistake.
require(['dojo/ready'], function (ready) {
  ready(function () {
    hash_get = function () { return undefined; };
    hash_put = function (v) { return v; }; // expect: accidental-global
  });
});
