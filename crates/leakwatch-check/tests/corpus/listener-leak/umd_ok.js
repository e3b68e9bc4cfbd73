/* A UMD build: the factory handed to the header's IIFE runs once as the
   script loads, so its document listener is one for the page's life. */
(function (global, factory) {
  typeof exports === 'object' && typeof module !== 'undefined' ? module.exports = factory() :
  typeof define === 'function' && define.amd ? define(factory) :
  (global = global || self, global.Sortable = factory());
}(this, (function () { 'use strict';
  var ignoreNextClick = false;

  if (typeof document !== 'undefined') {
    document.addEventListener('click', function (evt) {
      if (ignoreNextClick) {
        evt.preventDefault();
        ignoreNextClick = false;
      }
    }, true);
  }

  function Sortable(el) { this.el = el; }
  return Sortable;
})));
