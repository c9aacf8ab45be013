// Small progressive enhancements. The site works without this file.
// No inline scripts anywhere (CSP): behaviour lives here.
(function () {
  "use strict";

  // Send the CSRF token with every htmx request (forms also carry it as a hidden field).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });

  // After htmx swaps a page in, move focus to the main content (or the error summary) so
  // screen-reader and keyboard users land where a full page load would have put them.
  document.addEventListener("htmx:afterSettle", function (event) {
    var alert = document.querySelector(".notice-error[role=alert]");
    var target = alert || (event.detail.boosted ? document.getElementById("contenu") : null);
    if (target) {
      target.focus({ preventScroll: false });
    }
  });
})();
