/* Storefront behaviour: show the card fields only for card payments, submit the checkout once. */
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var cardFields = document.getElementById("card-fields");
  function syncCardFields() {
    var chosen = form.querySelector("input[name='payment']:checked");
    cardFields.hidden = !(chosen && chosen.value === "card");
  }
  form.querySelectorAll("input[name='payment']").forEach(function (radio) {
    radio.addEventListener("change", syncCardFields);
  });
  syncCardFields();
  form.addEventListener("submit", function () {
    form.querySelectorAll("[data-submit-once]").forEach(function (button) {
      // Disable after the browser has collected the form, so a double click places one order.
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();
