// Fills the globals changes.html's inline script declares; `shown` is only
// a local of a function there, and `lastchange` is declared only by a page
// that does not load this script (example.html).
function changesLoad(ids) {
  pendingidentifiers = ids.slice(0);
  pendingtimer = setTimeout(changesLoad, 1000, ids);
  shown = ids.length; // expect: accidental-global
  lastchange = document.getElementById('changes'); // expect: accidental-global
}
