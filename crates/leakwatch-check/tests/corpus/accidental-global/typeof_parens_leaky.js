// Look-alikes of typeof_parens_ok.js: the probe is of another name, so
// the assignment still creates a global nothing declared.
function timerStart(id) {
  if (typeof(window.performance) == 'undefined') marks = []; // expect: accidental-global
  if (typeof(id) == 'undefined') started = Date.now(); // expect: accidental-global
}

// The value just set, checked after: no probe of a global.
function label(syntax) {
  dispSyntax = names[syntax]; // expect: accidental-global
  return typeof(dispSyntax) == 'undefined' ? syntax : dispSyntax;
}
