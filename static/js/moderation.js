// Keyboard shortcuts for the moderation queue (loaded by moderation/queue.html only).
// Everything also works without this file, with Tab and Enter. Shortcuts are ignored while
// typing in a field. j/k: next/previous item, a: approve (or restore), r: reject (focuses the
// reason list; Enter there refuses or hides), h: hide, d: dismiss the reports, x: select for
// the bulk action, ?: help.
// After an htmx decision the answer replaces the item; the focus moves on to the next item.
(function () {
  "use strict";

  var ITEM = "[data-queue-item]";

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll(ITEM));
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest(ITEM) : null;
  }

  function focusItem(item) {
    if (item) {
      item.focus();
      item.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var list = items();
    if (!list.length) {
      return;
    }
    var index = list.indexOf(current());
    if (index === -1) {
      focusItem(list[step > 0 ? 0 : list.length - 1]);
      return;
    }
    focusItem(list[Math.min(list.length - 1, Math.max(0, index + step))]);
  }

  function typing(target) {
    if (!target || !target.closest) {
      return false;
    }
    return Boolean(target.closest("input, select, textarea, [contenteditable]"));
  }

  function click(item, selector) {
    var button = item && item.querySelector(selector);
    if (button) {
      button.click();
      return true;
    }
    return false;
  }

  // In the reason list (reached with r), Enter refuses a waiting item or hides a published
  // one with the reason chosen.
  function submitWithReason(event) {
    var item = event.target.closest(ITEM);
    if (click(item, '[data-shortcut="r"]') || click(item, '[data-shortcut="h"]')) {
      event.preventDefault();
    }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && target.matches && target.matches("[data-queue-reason]")) {
      submitWithReason(event);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(target)) {
      return;
    }
    var item = current();
    var handled = true;
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "?":
        var help = document.getElementById("queue-help");
        if (help) {
          help.open = !help.open;
          if (help.open) {
            help.querySelector("summary").focus();
          }
        }
        break;
      case "a":
        handled = click(item, '[data-shortcut="a"]');
        break;
      case "h":
        handled = click(item, '[data-shortcut="h"]');
        break;
      case "d":
        handled = click(item, '[data-shortcut="d"]');
        break;
      case "r":
        var reason = item && item.querySelector("[data-queue-reason]");
        if (reason) {
          reason.focus();
        } else {
          handled = false;
        }
        break;
      case "x":
        var box = item && item.querySelector("[data-queue-select]");
        if (box) {
          box.checked = !box.checked;
        } else {
          handled = false;
        }
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });

  // After a decision: the answer took the item's place. A handled item gives way to the next
  // one still waiting; an item re-rendered (an error, or still reported) keeps the focus.
  // (Deferred: app.js also moves the focus after a swap, and must not undo this.)
  document.addEventListener("htmx:afterSettle", function (event) {
    var swapped = event.target;
    if (!swapped || !swapped.matches) {
      return;
    }
    window.setTimeout(function () {
      settleFocus(swapped);
    }, 0);
  });

  function settleFocus(swapped) {
    if (swapped.matches("[data-queue-done]")) {
      var next = swapped.nextElementSibling;
      while (next && !next.matches(ITEM)) {
        next = next.nextElementSibling;
      }
      if (!next) {
        var list = items();
        next = list.length ? list[list.length - 1] : null;
      }
      if (next) {
        focusItem(next);
      } else {
        swapped.focus();
      }
    } else if (swapped.matches(ITEM)) {
      var alert = swapped.querySelector("[aria-invalid=true], .notice-error");
      (alert || swapped).focus();
    }
  }
})();
