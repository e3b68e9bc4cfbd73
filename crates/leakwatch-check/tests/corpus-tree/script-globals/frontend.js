// The page's shared state, declared by the first script it loads.
var g_map = null;
var oPageProperties = {};

function pageReady() {
  return g_map !== null;
}
