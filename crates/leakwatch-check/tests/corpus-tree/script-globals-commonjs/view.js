function showMap(props) {
  g_map = L.map('map', { zoom: props.zoom }); // expect: accidental-global
}
