// /partners/embed: the preview and the codes follow the form as it changes. Without this file
// the « Prévisualiser » button reloads the page with the same result.
(function () {
  "use strict";

  var HEX = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
  var COMMON = ["theme", "territory"];
  var BY_KIND = { needs: ["status", "sort", "q"], ideas: ["stage"] };
  var DEFAULTS = { sort: "recent", limit: "5" };

  function start() {
    var form = document.getElementById("embed-builder");
    var frame = document.getElementById("embed-preview-frame");
    if (!form || !frame) {
      return;
    }
    var base = form.getAttribute("data-base-url") || window.location.origin;
    var timer = null;

    function value(name) {
      var field = form.elements.namedItem(name);
      return field ? String(field.value || "").trim() : "";
    }

    function kind() {
      var checked = form.querySelector('input[name="kind"]:checked');
      return checked && checked.value === "ideas" ? "ideas" : "needs";
    }

    function showFieldsFor(current) {
      var parts = form.querySelectorAll("[data-embed-kind]");
      for (var i = 0; i < parts.length; i++) {
        parts[i].hidden = parts[i].getAttribute("data-embed-kind") !== current;
      }
    }

    function escapeHtml(text) {
      return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
    }

    function update() {
      var current = kind();
      showFieldsFor(current);
      var filters = [];
      var names = COMMON.concat(BY_KIND[current]);
      for (var i = 0; i < names.length; i++) {
        var v = value(names[i]);
        if (v && v !== DEFAULTS[names[i]]) {
          filters.push([names[i], v]);
        }
      }
      var extra = [];
      var limit = value("limit");
      var limitNumber = Number(limit);
      if (limit && (!/^\d+$/.test(limit) || limitNumber < 1 || limitNumber > 20)) {
        return; // the form shows the browser's own validation message
      }
      if (limit && limit !== DEFAULTS.limit) {
        extra.push(["limit", limit]);
      }
      var accent = value("accent");
      if (accent && !HEX.test(accent)) {
        return;
      }
      if (accent) {
        extra.push(["accent", accent]);
      }
      var lang = value("lang");
      if (lang) {
        extra.push(["lang", lang]);
      }
      // The partner's code: on the widget and the feed (their links to the site carry it),
      // never on the API, which counts nothing.
      var ref = value("ref");
      var refPair = ref ? [["ref", ref]] : [];
      extra = extra.concat(refPair);
      var all = filters.concat(extra);
      var query = all
        .map(function (pair) {
          return encodeURIComponent(pair[0]) + "=" + encodeURIComponent(pair[1]);
        })
        .join("&");
      var apiQuery = filters
        .map(function (pair) {
          return encodeURIComponent(pair[0]) + "=" + encodeURIComponent(pair[1]);
        })
        .join("&");
      var filterQuery = filters
        .concat(refPair)
        .map(function (pair) {
          return encodeURIComponent(pair[0]) + "=" + encodeURIComponent(pair[1]);
        })
        .join("&");
      var path = "/embed/" + current + (query ? "?" + query : "");
      if (frame.getAttribute("src") !== path) {
        frame.setAttribute("src", path);
      }
      var attrs = current === "ideas" ? ' data-kind="ideas"' : "";
      all.forEach(function (pair) {
        attrs += " data-" + pair[0] + '="' + escapeHtml(pair[1]) + '"';
      });
      var title = form.getAttribute(current === "ideas" ? "data-title-ideas" : "data-title-needs");
      var codes = {
        script: '<script src="' + base + '/embed.js"' + attrs + " async></" + "script>",
        iframe:
          '<iframe src="' + escapeHtml(base + path) + '" title="' + escapeHtml(title || "") +
          '" width="100%" height="600" style="border:0" loading="lazy"></iframe>',
        feed: base + "/feeds/" + current + ".atom" + (filterQuery ? "?" + filterQuery : ""),
        api:
          base + "/api/v1/" + current + "?" + (apiQuery ? apiQuery + "&" : "") +
          "limit=" + (limit || DEFAULTS.limit)
      };
      Object.keys(codes).forEach(function (name) {
        var area = document.querySelector('[data-embed-code="' + name + '"]');
        if (area) {
          area.value = codes[name];
        }
      });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 250);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    showFieldsFor(kind());

    // A click in a code selects it all, ready to copy.
    var areas = document.querySelectorAll("textarea[data-embed-code]");
    for (var i = 0; i < areas.length; i++) {
      areas[i].addEventListener("focus", function (event) {
        event.target.select();
      });
    }

    // The preview sizes itself like on a partner's page.
    window.addEventListener("message", function (event) {
      if (event.origin !== window.location.origin || event.source !== frame.contentWindow) {
        return;
      }
      var data = event.data;
      if (data && data.type === "bourse:height" && typeof data.height === "number" && data.height > 0) {
        frame.style.height = Math.min(Math.ceil(data.height), 4000) + "px";
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
