// Draws every <div class="chart" data-chart="…"> with uPlot (shipped beside this file):
// days on the x axis (UTC epoch seconds), one line per series. Runs at load and after
// each htmx swap; a chart already drawn for the same data is left alone.
(function () {
  "use strict";
  var COLORS = ["#2f5bd3", "#157f3b", "#c77700", "#b42318"];

  function draw(el) {
    var raw = el.getAttribute("data-chart");
    if (!raw || el.getAttribute("data-drawn") === raw || typeof uPlot === "undefined") return;
    var data = JSON.parse(raw);
    var names = Object.keys(data.series);
    var series = [{}];
    var columns = [data.x];
    names.forEach(function (name, i) {
      series.push({ label: name, stroke: COLORS[i % COLORS.length], width: 2, points: { size: 4 } });
      columns.push(data.series[name]);
    });
    el.textContent = "";
    var opts = {
      width: Math.max(320, el.clientWidth || 600),
      height: 220,
      series: series,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      axes: [{}, { size: 40 }],
      legend: { show: true },
    };
    new uPlot(opts, columns, el);
    el.setAttribute("data-drawn", raw);
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".chart[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
