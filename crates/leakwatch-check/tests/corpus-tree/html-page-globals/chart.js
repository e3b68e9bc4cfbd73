// Reads the example page's global.
function chartLoad() {
  return lastchange + 1;
}
