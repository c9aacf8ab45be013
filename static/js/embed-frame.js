// Inside the widget's iframe: tell the page that embeds it how tall the content is, on load
// and whenever it changes size (ResizeObserver), so embed.js can size the iframe. Only a
// height is sent: nothing private, so any parent origin may receive it.
(function () {
  "use strict";

  if (window.parent === window) {
    return;
  }
  var last = -1;

  function post() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) {
      return;
    }
    last = height;
    window.parent.postMessage({ type: "bourse:height", height: height }, "*");
  }

  window.addEventListener("load", post);
  window.addEventListener("resize", post);
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(post).observe(document.documentElement);
  }
  post();
})();
