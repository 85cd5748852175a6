/* pressroom default theme: dark mode, mobile menu, tabs and client-side search (no dependencies). */
(function () {
  "use strict";
  var doc = document.documentElement;
  var toggle = document.querySelector(".theme-toggle");
  if (toggle) toggle.addEventListener("click", function () {
    var dark = doc.dataset.theme ? doc.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    doc.dataset.theme = dark ? "light" : "dark";
    try { localStorage.setItem("pressroom-theme", doc.dataset.theme); } catch (e) {}
  });
  var menu = document.querySelector(".menu-toggle"), side = document.getElementById("sidebar");
  if (menu && side) menu.addEventListener("click", function () { side.classList.toggle("open"); });
  var cur = side && side.querySelector("[aria-current=page]");
  for (var el = cur; el && el !== side; el = el.parentElement) if (el.tagName === "DETAILS") el.open = true;

  // Group consecutive `/// tab` and `=== "Tab"` blocks into one tab set (`===!` starts a new
  // set, `===+` is the tab shown first).
  var seen = new Set();
  document.querySelectorAll("main .tab").forEach(function (tab) {
    if (seen.has(tab)) return;
    var group = [tab], next = tab.nextElementSibling, first = 0;
    while (next && next.classList.contains("tab") && !next.classList.contains("tab-new")) { group.push(next); next = next.nextElementSibling; }
    group.forEach(function (t, i) { seen.add(t); if (t.classList.contains("tab-selected") && !first) first = i; });
    var box = document.createElement("div"); box.className = "tabs";
    var bar = document.createElement("div"); bar.className = "tab-bar"; bar.setAttribute("role", "tablist");
    tab.parentNode.insertBefore(box, tab); box.appendChild(bar);
    group.forEach(function (t, i) {
      var b = document.createElement("button"); b.type = "button"; b.setAttribute("role", "tab");
      b.textContent = (t.querySelector(".tab-label") || {}).textContent || "Tab " + (i + 1);
      b.addEventListener("click", function () {
        group.forEach(function (o, j) { o.hidden = j !== i; bar.children[j].setAttribute("aria-selected", j === i); });
      });
      bar.appendChild(b); box.appendChild(t); t.hidden = i !== first; b.setAttribute("aria-selected", i === first);
    });
  });

  var form = document.querySelector(".search");
  if (!form) return;
  var input = form.querySelector("input"), list = form.querySelector(".search-results"), index = null;
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  function load() {
    // The index comes as a script (it registers itself on window.pressroomSearch), so search
    // also works on a site opened from disk, where fetch() of a file:// URL is refused.
    if (index) return Promise.resolve(index);
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script"), lang = form.dataset.lang;
      s.src = form.dataset.indexScript;
      s.onload = function () {
        var d = (window.pressroomSearch || {})[lang];
        if (d) { index = d; resolve(d); } else { reject(new Error("search index missing")); }
      };
      s.onerror = function () { reject(new Error("search index not loaded")); };
      document.head.appendChild(s);
    }).catch(function () {
      list.innerHTML = "<li>Search is not available</li>"; list.hidden = false;
      return null;
    });
  }
  var fromDisk = location.protocol === "file:";
  function esc(s) { return s.replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; }); }
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    if (q.length < 2) { list.hidden = true; return; }
    load().then(function (d) {
      if (!d) return;
      var words = q.split(/\s+/), hits = [];
      d.pages.forEach(function (p) {
        var t = p.title.toLowerCase(), x = p.text.toLowerCase(), score = 0;
        for (var i = 0; i < words.length; i++) {
          var w = words[i], inT = t.indexOf(w) >= 0, inX = x.indexOf(w) >= 0;
          if (!inT && !inX) return;
          score += inT ? 10 : 1;
        }
        var at = x.indexOf(words[0]);
        hits.push({p: p, score: score, snip: at >= 0 ? p.text.substr(Math.max(0, at - 40), 120) : ""});
      });
      hits.sort(function (a, b) { return b.score - a.score; });
      list.innerHTML = hits.slice(0, 20).map(function (h) {
        // from disk a folder URL shows a file listing, so point at the folder's index.html there
        var href = form.dataset.root + h.p.url + (fromDisk && /\/$/.test(h.p.url) ? "index.html" : "");
        return '<li><a href="' + href + '">' + esc(h.p.title) + "</a><small>" + esc(h.snip) + "</small></li>";
      }).join("") || "<li>No results</li>";
      list.hidden = false;
    });
  });
})();
