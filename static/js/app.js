/* Page behaviour: select-all checkboxes, the bulk bar's state, copy buttons.
   Only comfort: the server-side confirmation page is the real guard of a bulk change. */
(function () {
  "use strict";

  function setUpBulkForm(form) {
    var selectAll = form.querySelector("[data-select-all]");
    var allMatching = form.querySelector("[data-bulk-all]");
    var submit = form.querySelector("[data-bulk-submit]");
    var count = form.querySelector("[data-bulk-count]");
    var name = selectAll ? selectAll.getAttribute("data-select-all") : "order_ids";

    function rows() {
      return Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="' + name + '"]'));
    }

    function refresh() {
      var boxes = rows();
      var checked = boxes.filter(function (box) { return box.checked; }).length;
      var everything = allMatching && allMatching.checked;
      if (selectAll) {
        selectAll.checked = boxes.length > 0 && checked === boxes.length;
        selectAll.indeterminate = checked > 0 && checked < boxes.length;
        selectAll.disabled = everything || boxes.length === 0;
      }
      boxes.forEach(function (box) { box.disabled = everything; });
      if (submit) { submit.disabled = !everything && checked === 0; }
      if (count) {
        count.textContent = everything ? "All orders matching the filter" :
          (checked === 0 ? "Select orders to change their status" : checked + " selected");
      }
    }

    if (selectAll) {
      selectAll.addEventListener("change", function () {
        rows().forEach(function (box) { box.checked = selectAll.checked; });
        refresh();
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target !== selectAll) { refresh(); }
    });
    refresh();
  }

  function setUpCopyButtons() {
    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy-target"));
        if (!source) { return; }
        source.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(source.value).then(done, function () {});
        } else if (document.execCommand && document.execCommand("copy")) {
          done();
        }
      });
    });
  }

  // A table or code block wider than the screen scrolls sideways: let the keyboard reach it too
  // (WCAG 2.1.1; axe's scrollable-region-focusable), naming it after its caption or heading.
  function focusableScrollers(root) {
    (root || document).querySelectorAll(".table-responsive, pre").forEach(function (box) {
      if (box.scrollWidth <= box.clientWidth + 1 && box.scrollHeight <= box.clientHeight + 1) { return; }
      if (box.hasAttribute("tabindex")) { return; }
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role")) { box.setAttribute("role", "region"); }
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        var table = box.querySelector("table");
        var caption = table && table.caption ? table.caption.textContent.trim() : "";
        box.setAttribute("aria-label", caption || (box.tagName === "PRE" ? "Code, scrolls sideways" : "Table, scrolls sideways"));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#bulk-form").forEach(setUpBulkForm);
    setUpCopyButtons();
    focusableScrollers(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) { focusableScrollers(event.target); });
  window.addEventListener("resize", function () { focusableScrollers(document); });
})();
