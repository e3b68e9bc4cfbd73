// Fills the globals booking.php's inline script declares; `picked` is only
// a local of a function there, and `lung_nome` is declared nowhere.
function selectDate(n_col) {
  if (sel_start_date) sel_start_date = 0;
  else sel_start_date = n_col;
  total = total + 1;
  picked = n_col; // expect: accidental-global
  lung_nome = document.getElementById('nome'); // expect: accidental-global
}
