// Another script of the same page fills the globals frontend.js declares;
// `zoomLevel` is declared nowhere.
function showMap(props) {
  oPageProperties = props;
  g_map = L.map('map', { zoom: props.zoom });
  zoomLevel = props.zoom; // expect: accidental-global
}
