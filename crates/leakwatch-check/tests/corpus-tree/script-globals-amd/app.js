'use strict';

// A Dojo application: the AMD loader's `require([...], fn)` takes an array,
// so this is a plain browser script, and its top-level function a global
// (strict mode keeps a script from creating globals by assignment, not from
// declaring them).
require(["dojo/ready"], function (ready) {
  ready(function () {
    App.init();
  });
});

/* a helper the page's other scripts call */
function hash_get(key) {
  return window.location.hash.substring(1).split('&')[key];
}
