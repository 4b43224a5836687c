/* Charts from data the page already holds: one helper for every chart of the shop.

   Markup (templates/_charts.html writes the first):
     <canvas data-chart-spec='{"type": "bar", "labels": [...], "datasets": [...]}' role="img" aria-label="…">
   or <canvas data-chart="#island-id"> with <script type="application/json" id="island-id">…</script>
   or <canvas data-chart-url="/path/to/data.json"> to fetch the same JSON from the shop.
   (htmx drops every <script> of a swapped fragment, JSON islands included: live fragments use the attribute.)

   The JSON: {type: "bar"|"line", labels: [..], datasets: [{label, data: [..], color, stack}],
              stacked: bool, y_title, x_title, horizontal: bool, min_bar: pixels (bars never thinner)}
   Neither an attribute nor a JSON island is executed, so the CSP without inline script allows both. Charts are drawn when the
   page loads and again whenever htmx swaps in a fragment that holds a chart (live pages). */
(function () {
  "use strict";

  // Colour-blind-safe defaults (Okabe–Ito) for datasets that bring no colour of their own.
  var PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

  var SELECTOR = "canvas[data-chart-spec], canvas[data-chart], canvas[data-chart-url]";

  function readSpec(canvas) {
    var inline = canvas.getAttribute("data-chart-spec");
    if (inline) {
      try { return Promise.resolve(JSON.parse(inline)); } catch (error) { return Promise.reject(error); }
    }
    var source = canvas.getAttribute("data-chart");
    if (source) {
      var island = document.querySelector(source);
      if (!island) { return Promise.reject(new Error("no chart data " + source)); }
      return Promise.resolve(JSON.parse(island.textContent));
    }
    var url = canvas.getAttribute("data-chart-url");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("chart data " + response.status); }
        return response.json();
      });
  }

  function config(spec) {
    var stacked = !!spec.stacked;
    var datasets = (spec.datasets || []).map(function (set, index) {
      var color = set.color || PALETTE[index % PALETTE.length];
      return {
        label: set.label,
        data: set.data,
        stack: set.stack,
        backgroundColor: color,
        borderColor: color,
        borderWidth: spec.type === "line" ? 2 : 0,
        pointRadius: spec.type === "line" ? 2 : undefined,
        minBarLength: spec.min_bar,  // e.g. the attempt timeline: a 0 ms refusal still shows
        fill: false
      };
    });
    var valueAxis = { stacked: stacked, beginAtZero: true, title: { display: !!spec.y_title, text: spec.y_title } };
    var labelAxis = { stacked: stacked, title: { display: !!spec.x_title, text: spec.x_title }, ticks: { autoSkip: true, maxRotation: 0 } };
    return {
      type: spec.type || "bar",
      data: { labels: spec.labels || [], datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        // Live pages redraw every few seconds: animating each redraw would flicker (and moves for nothing).
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: spec.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis }
      }
    };
  }

  function draw(canvas) {
    if (typeof window.Chart === "undefined") { return; }
    readSpec(canvas).then(function (spec) {
      var existing = window.Chart.getChart(canvas);
      if (existing) { existing.destroy(); }
      new window.Chart(canvas, config(spec));
      canvas.setAttribute("data-chart-drawn", "true");
    }).catch(function (error) {
      canvas.setAttribute("data-chart-error", String(error.message || error));
    });
  }

  function drawWithin(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches(SELECTOR)) { draw(scope); }
    scope.querySelectorAll(SELECTOR).forEach(draw);
  }

  window.shopCharts = { draw: draw, drawWithin: drawWithin };
  if (window.htmx) {
    // htmx.onLoad runs for the document once loaded and for every fragment it swaps in.
    window.htmx.onLoad(drawWithin);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawWithin(document); });
  } else {
    drawWithin(document);
  }
})();
