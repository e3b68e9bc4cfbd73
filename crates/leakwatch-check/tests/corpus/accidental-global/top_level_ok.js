// A classic page script (no modules, no "use strict") that makes its
// page-wide state global at its top level with bare assignments, as old
// scripts do, and sets the same globals again in its functions: the
// globals exist once the script has loaded, so these assignments create
// nothing.
stats = [];
selMonth = currentMonth();
if (readCookie('sort')) {
  selSort = readCookie('sort');
} else {
  selSort = 'khz';
}

function gotoPage(month, sort) {
  document.cookie = 'list=' + month + '|' + sort;
  selMonth = month;
  selSort = sort;
  list();
}

function hideColumn(name) {
  if (selSort === name) {
    selSort = 'khz';
  }
  stats = [];
}

function currentMonth() {
  return new Date().getMonth();
}

function readCookie(name) {
  var m = document.cookie.match(new RegExp(name + '=([^;]*)'));
  return m ? m[1] : null;
}

function list() {}
