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
      return;
    }
    keepFocus(event.detail.target);
    announce();
  });

  function focusOn(element) {
    if (!element) {
      return;
    }
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus({ preventScroll: false });
  }

  // A swap that removed the focused control (a concern answered, a comment sent: the form is
  // replaced) would send keyboard and screen-reader users back to the top of the page. Focus
  // goes instead where the answer says (a <template data-swap-focus="#id"> it carries, or an
  // element marked data-swap-focus), else to the block that was swapped in.
  function keepFocus(target) {
    var marker = document.querySelector("template[data-swap-focus]");
    var wanted = marker ? document.querySelector(marker.getAttribute("data-swap-focus")) : null;
    var lost = !document.activeElement || document.activeElement === document.body;
    if (!lost) {
      return;
    }
    if (!wanted && target) {
      var block = document.contains(target) ? target : document.getElementById(target.id);
      wanted = block ? block.querySelector("[data-swap-focus]:not(template)") || block : null;
    }
    focusOn(wanted);
  }

  // What an answer says out loud (data-announce on its marker), through the page's polite
  // live region; the marker is then taken out.
  function announce() {
    var live = document.getElementById("live-status");
    var markers = document.querySelectorAll("template[data-swap-focus], template[data-announce]");
    markers.forEach(function (marker) {
      var words = marker.getAttribute("data-announce");
      if (live && words) {
        live.textContent = "";
        window.requestAnimationFrame(function () {
          live.textContent = words;
        });
      }
      marker.remove();
    });
  }

  // A notice after a redirect (?notice=…) is for the person who just acted: once shown, take it
  // out of the address, so that the link they copy and share carries no « Merci ! ».
  function dropNotice() {
    var url = new URL(window.location.href);
    if (url.searchParams.has("notice") && window.history.replaceState) {
      url.searchParams.delete("notice");
      window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
    }
  }

  // « Partagez votre besoin »: copy the address, or open the system's share sheet, where the
  // browser can; without them the address stays selectable and « Envoyer par e-mail » works.
  function enhanceShare() {
    var link = document.querySelector("[data-share-link]");
    if (!link) {
      return;
    }
    var status = document.querySelector("[data-share-status]");
    var copy = document.querySelector("[data-copy-link]");
    if (copy && navigator.clipboard && window.isSecureContext) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(link.value).then(function () {
          if (status) {
            status.textContent = copy.getAttribute("data-copied");
          }
        });
      });
    }
    var share = document.querySelector("[data-share-native]");
    if (share && navigator.share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share({ title: share.getAttribute("data-share-title"), url: link.value })
          .catch(function () {});
      });
    }
    link.addEventListener("focus", function () {
      link.select();
    });
  }

  function onPage() {
    dropNotice();
    enhanceShare();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onPage);
  } else {
    onPage();
  }
  // A boosted link or form swaps the body in without a page load, and pushes its address.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.boosted) {
      enhanceShare();
    }
  });
  document.addEventListener("htmx:pushedIntoHistory", dropNotice);
})();
