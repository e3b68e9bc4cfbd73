function Counter() {
  this.count = 0; // expect: accidental-global
  this.items = []; // expect: accidental-global
}

function handle(req) {
  var c = Counter();
  return c;
}
