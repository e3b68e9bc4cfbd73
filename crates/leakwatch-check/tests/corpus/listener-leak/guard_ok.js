// A page-change hook added the first time a chart renders: the guard's
// list exists from then on (emptied, never unset), so it is added once.
function renderChart(chart) {
  chart.draw();
  if (typeof $.charts.visible == 'undefined') {
    $.charts.visible = [];
    window.Matomo.on('pageChange', function () {
      $.charts.visible.forEach(function (c) { c.destroy(); });
      $.charts.visible = [];
    });
  }
  $.charts.visible.push(chart);
}
window.Matomo = window.Matomo || {};
