// Babel's output keeps `this` as `_this` for its callbacks: the drag loop
// started through `_this._loopId` is cleared by `this._loopId` on drop.
function Sortable(el) {
  this.el = el;
  this._loopId = null;
}

Sortable.prototype._dragStarted = function (fallback) {
  var _this = this;
  this.el.addEventListener('dragstart', function () {
    if (fallback) {
      _this._loopId = setInterval(_this._emulateDragOver, 50);
    }
  });
};

Sortable.prototype._onDrop = function () {
  clearInterval(this._loopId);
  this._loopId = null;
};
