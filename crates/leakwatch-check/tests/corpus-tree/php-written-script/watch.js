// Fills the globals watch.js.php declares; `previous` is only a local of a
// function there, and `statusTimer` is declared nowhere.
function showEvents() {
  showMode = 'events';
  canEdit = false;
  streamMode = 'single';
  previous = showMode; // expect: accidental-global
  statusTimer = document.getElementById('status'); // expect: accidental-global
}
