/* Live regions: htmx polls a fragment (hx-trigger="every 2s, live-refresh" on an element marked data-live),
   but only while the page is visible; coming back to the tab refreshes at once. Countdowns tick locally.
   Kept in a static file because the Content-Security-Policy allows no inline script (nor hx-on). */
(function () {
  "use strict";

  function visible() { return document.visibilityState === "visible"; }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.closest && elt.closest("[data-live]") && !visible()) {
      event.preventDefault();  // a hidden page does not poll
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (!visible() || !window.htmx) { return; }
    document.querySelectorAll("[data-live]").forEach(function (region) {
      window.htmx.trigger(region, "live-refresh");
    });
  });

  // "in 42 s" until an ISO 8601 instant (data-countdown), then "due now"; the exact time stays in title.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(at)) { return; }
      var seconds = Math.round((at - now) / 1000);
      var text;
      if (seconds <= 0) {
        text = "due now";
      } else if (seconds < 120) {
        text = "in " + seconds + " s";
      } else if (seconds < 7200) {
        text = "in " + Math.round(seconds / 60) + " min";
      } else {
        text = "in " + Math.round(seconds / 3600) + " h";
      }
      if (el.textContent !== text) { el.textContent = text; }
    });
  }
  tick();
  window.setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
})();
