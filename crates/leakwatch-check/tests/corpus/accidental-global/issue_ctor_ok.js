function Counter() {
  this.count = 0;
}

function handle(req) {
  var c = new Counter();
  return c.count;
}
