/* charterbot dashboard: local times and live updates. The pages work without this file.
 *
 * - Every <time datetime="…Z"> is rewritten in the reader's time zone (the UTC text stays in
 *   the title attribute).
 * - GET /events (server-sent events) says when something changed; the page is fetched again
 *   and <main> swapped in place, unless the reader is typing in a form inside it.
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

  function refresh() {
    var main = document.querySelector("main[data-live]");
    if (!main || busy(main)) return;
    fetch(window.location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main[data-live]");
        if (!fresh) return;
        var open = [];
        main.querySelectorAll("details[open]").forEach(function (d, i) { open.push(i); });
        main.innerHTML = fresh.innerHTML;
        var details = main.querySelectorAll("details");
        open.forEach(function (i) { if (details[i]) details[i].open = true; });
        localTimes(main);
        var status = document.getElementById("live-status");
        if (status) status.textContent = "Updated " + new Date().toLocaleTimeString();
        document.documentElement.dataset.liveVersion = String(Number(document.documentElement.dataset.liveVersion || 0) + 1);
      })
      .catch(function () { /* the next change event retries */ });
  }

  function listen() {
    if (!window.EventSource) return;
    var source = new EventSource("/events");
    source.addEventListener("change", refresh);
    source.addEventListener("open", function () { document.documentElement.dataset.live = "connected"; });
  }

  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    listen();
  });
})();
