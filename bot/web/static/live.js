/* charterbot dashboard: local times and live updates. The pages work without this file.
 *
 * - Every <time datetime="…Z"> is rewritten in the reader's time zone (the UTC text stays in
 *   the title attribute).
 * - GET /events (server-sent events, under the path prefix <body data-root> names) says when something changed; the page is fetched again
 *   and <main> swapped in place, unless the reader is typing in a form inside it.
 * - Keyboard focus inside <main> survives the swap: the element that had it is replaced, so
 *   its counterpart in the new content is focused (same id, else same link target, else same
 *   place among elements of its kind); if it is gone, <main> itself takes focus, so the next
 *   Tab goes on from there rather than from the top of the page.
 */
(function () {
  "use strict";
  var fmt = {
    datetime: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    full: { weekday: "long", year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }
  };

  function localTimes(root) {
    var nodes = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.dataset.localised) continue;
      var at = new Date(node.getAttribute("datetime"));
      if (isNaN(at.getTime())) continue;
      node.title = node.textContent;
      node.textContent = at.toLocaleString(undefined, fmt[node.dataset.style] || fmt.datetime);
      node.dataset.localised = "1";
    }
  }

  function busy(main) {
    var active = document.activeElement;
    return active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  // How to find the focused element again once <main> is replaced, or null if focus is not
  // inside it.
  function focusKey(main) {
    var active = document.activeElement;
    if (!active || active === main || !main.contains(active)) return null;
    var tag = active.tagName.toLowerCase();
    var selector = active.id ? "#" + CSS.escape(active.id) : tag;
    if (!active.id && active.hasAttribute("href")) {
      selector = tag + '[href="' + CSS.escape(active.getAttribute("href")) + '"]';
    }
    var index = Array.prototype.indexOf.call(main.querySelectorAll(selector), active);
    return { selector: selector, index: index };
  }

  function restoreFocus(main, key) {
    if (!key) return;
    var target = main.querySelectorAll(key.selector)[key.index];
    if (target) target.focus({ preventScroll: true });
    if (document.activeElement !== target) main.focus({ preventScroll: true });  // gone or hidden
  }

  function refresh() {
    var main = document.querySelector("main[data-live]");
    if (!main || busy(main)) return;
    fetch(window.location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main[data-live]");
        if (!fresh || busy(main)) return;  // the reader may have started typing meanwhile
        var open = [];
        main.querySelectorAll("details[open]").forEach(function (d, i) { open.push(i); });
        var focused = focusKey(main);
        main.innerHTML = fresh.innerHTML;
        var details = main.querySelectorAll("details");
        open.forEach(function (i) { if (details[i]) details[i].open = true; });
        restoreFocus(main, focused);  // after reopening: a closed <details> hides its content
        localTimes(main);
        var status = document.getElementById("live-status");
        if (status) status.textContent = "Updated " + new Date().toLocaleTimeString();
        document.documentElement.dataset.liveVersion = String(Number(document.documentElement.dataset.liveVersion || 0) + 1);
      })
      .catch(function () { /* the next change event retries */ });
  }

  function listen() {
    var main = document.querySelector("main[data-live]");
    if (!window.EventSource || !main) return;
    // The id the page was rendered at: a change before the stream opens is announced at once.
    var since = main.dataset.live;
    // Under the dashboard's path prefix (CHARTERBOT_PUBLIC_URL's path, <body data-root>).
    var root = document.body.dataset.root || "";
    var source = new EventSource(root + "/events" + (since ? "?since=" + encodeURIComponent(since) : ""));
    source.addEventListener("change", refresh);
    source.addEventListener("open", function () { document.documentElement.dataset.live = "connected"; });
  }

  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    listen();
  });
})();
