/* The same UMD build, but the listener is added by each sortable the page
   makes, and nothing ever removes it. */
(function (global, factory) {
  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() :
  (global = global || self, global.Sortable = factory());
}(this, (function () { 'use strict';
  var ignoreNextClick = false;

  function Sortable(el) {
    this.el = el;
    document.addEventListener('click', function (evt) { // expect: listener-leak
      if (ignoreNextClick) {
        evt.preventDefault();
        ignoreNextClick = false;
      }
      el.classList.remove('dragging');
    }, true);
  }
  return Sortable;
})));
