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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#bulk-form").forEach(setUpBulkForm);
    setUpCopyButtons();
  });
})();
