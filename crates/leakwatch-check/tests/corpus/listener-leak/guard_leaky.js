// The same guard unset on every page change: the hook is added again at
// the next render, one more per page change.
function renderGraph(graph) {
  graph.draw();
  if (typeof $.graphs.visible == 'undefined') {
    $.graphs.visible = [];
    window.Matomo.on('pageChange', function () { // expect: listener-leak
      $.graphs.visible.forEach(function (g) { g.destroy(); });
      $.graphs.visible = undefined;
    });
  }
  $.graphs.visible.push(graph);
}
window.Matomo = window.Matomo || {};
