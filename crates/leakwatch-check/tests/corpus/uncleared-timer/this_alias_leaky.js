// The same alias, but the drop clears another loop: the drag loop kept in
// `_this._dragLoop` runs for the page's life, one more per drag.
function Draggable(el) {
  this.el = el;
  this._scrollLoop = null;
}

Draggable.prototype._dragStarted = function () {
  var _this = this;
  this.el.addEventListener('dragstart', function () {
    _this._dragLoop = setInterval(_this._emulateDragOver, 50); // expect: uncleared-timer
  });
};

Draggable.prototype._onDrop = function () {
  clearInterval(this._scrollLoop);
};
