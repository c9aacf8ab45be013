/*
 * Bourse à initiatives — the script partners paste on their own site:
 *
 *   <script src="https://…/embed.js" data-theme="mobilite" data-territory="merignac"
 *           data-limit="5" async></script>
 *
 * It inserts, right after itself, an iframe showing /embed/needs (or /embed/ideas with
 * data-kind="ideas") with the data-* filters, and sizes it to its content. data-ref (the
 * partner's code) is passed on as ref=, so that the widget's links let the site count the
 * visits that came from this partner's page. The only message it accepts comes from that
 * iframe, from this site's origin: {type: "bourse:height", height: n}.
 * No dependency, no cookie, nothing read from the host page.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    // Very old browsers: the last of our scripts not yet handled.
    var candidates = document.querySelectorAll('script[src*="/embed.js"]:not([data-bourse-ready])');
    script = candidates[candidates.length - 1];
  }
  if (!script || script.getAttribute("data-bourse-ready")) {
    return;
  }
  script.setAttribute("data-bourse-ready", "1");

  var origin = new URL(script.src, document.baseURI).origin;
  var kind = script.getAttribute("data-kind") === "ideas" ? "ideas" : "needs";
  var names =
    kind === "ideas"
      ? ["theme", "territory", "stage", "limit", "accent", "lang", "ref"]
      : ["theme", "territory", "status", "sort", "q", "limit", "accent", "lang", "ref"];
  var query = [];
  for (var i = 0; i < names.length; i++) {
    var value = script.getAttribute("data-" + names[i]);
    if (value) {
      query.push(encodeURIComponent(names[i]) + "=" + encodeURIComponent(value));
    }
  }
  var english = script.getAttribute("data-lang") === "en";
  var titles = {
    needs: english ? "Needs of the area (Bourse à initiatives)" : "Besoins du territoire (Bourse à initiatives)",
    ideas: english ? "Ideas of the fabrique (Bourse à initiatives)" : "Idées de la fabrique (Bourse à initiatives)"
  };

  var frame = document.createElement("iframe");
  frame.src = origin + "/embed/" + kind + (query.length ? "?" + query.join("&") : "");
  frame.title = script.getAttribute("data-title") || titles[kind];
  frame.setAttribute("width", "100%");
  frame.setAttribute("height", "420");
  frame.setAttribute("loading", "lazy");
  frame.style.border = "0";
  frame.style.width = "100%";
  frame.style.display = "block";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    // Only our iframe, only from our origin, only a height.
    if (event.origin !== origin || event.source !== frame.contentWindow) {
      return;
    }
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== "bourse:height") {
      return;
    }
    var height = data.height;
    if (typeof height !== "number" || !isFinite(height) || height <= 0) {
      return;
    }
    frame.style.height = Math.min(Math.ceil(height), 20000) + "px";
  });
})();
