// Look-alikes of top_level_ok.js: the globals are first set inside a
// function (its call is what creates them), or the top level sets
// another name.
selSort = 'khz';

function init() {
  selMonth = new Date().getMonth(); // expect: accidental-global
}

function gotoPage(month, sort) {
  selMonth = month; // expect: accidental-global
  selSort = sort;
  lastTable = document.getElementById('list'); // expect: accidental-global
}
