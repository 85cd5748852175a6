/* pressroom dashboard: live rows over SSE, live build detail and log tail, action buttons.
   Plain JavaScript, no build step. Every POST goes to the JSON API with the CSRF header. */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var TERMINAL = { COMPLETED: 1, FAILED: 1, CANCELLED: 1 };

  function toast(text, bad) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.className = "toast show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.className = "toast"; }, 5000);
  }

  function post(path, body) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (CSRF) headers["X-CSRF-Token"] = CSRF;
    return fetch(path, { method: "POST", headers: headers, credentials: "same-origin", body: JSON.stringify(body || {}) })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          if (!resp.ok) {
            var err = (data && data.error) || {};
            throw new Error((err.code ? err.code + ": " : "") + (err.message || resp.statusText));
          }
          return data;
        });
      });
  }

  function localTimes(root) {
    var today = new Date().toDateString();
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (!iso || el.dataset.local) return;
      var d = new Date(iso);
      if (isNaN(d.getTime())) return;
      el.dataset.local = "1";
      el.title = d.toString();
      el.textContent = d.toDateString() === today
        ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
        : d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " +
          d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    });
  }

  /* ---- action buttons (cancel, retry/replay, approve, reject) ---- */
  var LABELS = { cancel: "Cancel requested", retry: "Queued again", approve: "Approved", reject: "Rejected" };

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button[data-action]") : null;
    if (!btn) return;
    var action = btn.dataset.action, job = btn.dataset.job, body = {};
    if (action === "reject" || action === "approve") {
      var form = btn.closest("form");
      var reason = form ? form.querySelector('input[name="reason"]') : null;
      if (reason && reason.value.trim()) body.reason = reason.value.trim();
      if (action === "reject" && !body.reason) {
        toast("Give a reason to reject.", true);
        if (reason) reason.focus();
        return;
      }
    }
    if (action === "cancel" && !window.confirm("Cancel build " + job + "?")) return;
    btn.disabled = true;
    post("/api/builds/" + encodeURIComponent(job) + "/" + action, body).then(function (data) {
      toast(LABELS[action] + ": " + job + (data && data.promote_job ? " (promotion " + data.promote_job + " queued)" : ""));
      var page = document.body.dataset.page;
      if (page === "reviews") {
        var item = document.getElementById("review-" + job);
        if (item) item.remove();
        var empty = document.getElementById("empty");
        if (empty && !document.querySelector(".review-item")) empty.hidden = false;
      } else if (page === "health") {
        var row = document.getElementById("dead-" + job);
        if (row) row.remove();
      }
      if (detail) detail.refresh();
    }).catch(function (err) {
      btn.disabled = false;
      toast(err.message, true);
    });
  });

  /* ---- builds page: rows follow the global event stream ---- */
  function BuildsLive(table) {
    var tbody = table.tBodies[0];
    var filters = JSON.parse(table.dataset.filters || "{}");
    var firstPage = table.dataset.firstPage === "1";
    var limit = parseInt(table.dataset.limit || "50", 10);
    var dirty = {}, timer = null, inflight = false;
    var state = document.getElementById("live-state");

    function mark(id) {
      dirty[id] = 1;
      if (!timer) timer = setTimeout(flush, 120);
    }
    function markPending() {
      tbody.querySelectorAll('tr[data-status="PENDING"]').forEach(function (tr) { mark(tr.dataset.job); });
    }
    function flush() {
      timer = null;
      if (inflight) { timer = setTimeout(flush, 120); return; }
      var ids = Object.keys(dirty);
      if (!ids.length) return;
      dirty = {};
      var q = new URLSearchParams(filters);
      q.set("ids", ids.join(","));
      inflight = true;
      fetch("/fragments/rows?" + q.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.statusText); return r.json(); })
        .then(function (data) { Object.keys(data.rows).forEach(function (id) { apply(id, data.rows[id]); }); })
        .catch(function () { ids.forEach(function (id) { dirty[id] = 1; }); timer = setTimeout(flush, 2000); })
        .then(function () { inflight = false; });
    }
    function apply(id, html) {
      var old = document.getElementById("job-" + id);
      if (html === null) { if (old) old.remove(); return; }
      var tpl = document.createElement("template");
      tpl.innerHTML = html.trim();
      var row = tpl.content.firstElementChild;
      localTimes(row);
      if (old) {
        old.replaceWith(row);
      } else if (firstPage) {
        tbody.insertBefore(row, tbody.firstElementChild);
        row.classList.add("flash");
        var empty = document.getElementById("empty");
        if (empty) empty.remove();
        while (tbody.rows.length > limit) tbody.lastElementChild.remove();
      }
    }
    function progress(data) {
      var row = document.getElementById("job-" + data.job_id);
      if (!row || data.progress == null) return;
      var bar = row.querySelector("progress"), pct = row.querySelector(".pct"), stage = row.querySelector(".stage-name");
      var value = Math.round(data.progress);
      if (bar) bar.value = value;
      if (pct) pct.textContent = value + "%";
      if (stage && data.stage) stage.textContent = data.stage;
    }

    var es = new EventSource("/api/events?after=" + encodeURIComponent(table.dataset.after || "0"));
    es.onopen = function () { if (state) { state.classList.add("on"); state.querySelector(".live-text").textContent = "live"; } };
    es.onerror = function () { if (state) { state.classList.remove("on"); state.querySelector(".live-text").textContent = "reconnecting…"; } };
    function onEvent(ev) {
      var data = JSON.parse(ev.data);
      if (ev.type === "progress") { progress(data); return; }
      mark(data.job_id);
      if (ev.type === "status") markPending();
    }
    ["status", "stage", "result", "cancel_requested", "progress"].forEach(function (t) { es.addEventListener(t, onEvent); });
    es.onmessage = onEvent;
    window.addEventListener("pagehide", function () { es.close(); });
  }

  /* ---- build detail: live section, progress, log tail ---- */
  var detail = null;

  function DetailLive(box) {
    var job = box.dataset.job;
    var log = document.getElementById("log");
    var logState = document.getElementById("log-state");
    var after = box.dataset.after || "0";
    var offset = -1, logBusy = false, logAgain = false, refreshing = false, again = false, es = null;

    function tail() {
      if (!log) return;
      if (logBusy) { logAgain = true; return; }
      logBusy = true;
      fetch(log.dataset.src + "?offset=" + offset, { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error(r.statusText);
          offset = parseInt(r.headers.get("X-Log-Offset") || "0", 10);
          var more = offset < parseInt(r.headers.get("X-Log-Size") || "0", 10);
          return r.text().then(function (text) {
            if (text) {
              var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
              log.append(document.createTextNode(text));
              if (atBottom) log.scrollTop = log.scrollHeight;
            }
            if (more) logAgain = true;
          });
        })
        .catch(function () {})
        .then(function () { logBusy = false; if (logAgain) { logAgain = false; tail(); } });
    }
    function refresh() {
      if (refreshing) { again = true; return; }
      refreshing = true;
      fetch("/fragments/build/" + encodeURIComponent(job), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.statusText); return r.text(); })
        .then(function (html) {
          var focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.dataset.action : null;
          box.innerHTML = html;
          localTimes(box);
          if (focused) { var b = box.querySelector('[data-action="' + focused + '"]'); if (b) b.focus(); }
          var head = box.querySelector(".detail-head");
          if (head && !TERMINAL[head.dataset.status] && (!es || es.readyState === 2)) start();
          box.dispatchEvent(new CustomEvent("pressroom:refreshed"));
        })
        .catch(function () {})
        .then(function () { refreshing = false; if (again) { again = false; refresh(); } });
    }
    function progress(data) {
      var bar = box.querySelector("#job-progress"), pct = box.querySelector(".status-line .pct");
      if (data.progress == null || !bar) return;
      bar.value = Math.round(data.progress);
      if (pct) pct.textContent = Math.round(data.progress) + "%";
    }
    function start() {
      es = new EventSource("/api/builds/" + encodeURIComponent(job) + "/events?after=" + encodeURIComponent(after));
      ["status", "stage", "result", "cancel_requested"].forEach(function (t) {
        es.addEventListener(t, function () { refresh(); tail(); });
      });
      es.addEventListener("progress", function (ev) { progress(JSON.parse(ev.data)); tail(); });
      ["status", "stage", "result", "cancel_requested", "progress"].forEach(function (t) {
        es.addEventListener(t, function (ev) { if (ev.lastEventId) after = ev.lastEventId; });
      });
      if (logState) logState.textContent = "live";
      es.addEventListener("end", function () {
        es.close();
        if (logState) logState.textContent = "";
        refresh();
        tail();
      });
    }
    /* Translations run as child jobs that outlive the build (and can be retried one by one):
       follow their events on the global stream and redraw the live section when one changes. */
    var trStream = null, trWatch = {};
    function watchTranslations() {
      var panel = box.querySelector("#translations");
      trWatch = {};
      (panel ? (panel.dataset.watch || "").split(" ") : []).forEach(function (id) { if (id) trWatch[id] = 1; });
      if (!Object.keys(trWatch).length) {
        if (trStream) { trStream.close(); trStream = null; }
        return;
      }
      if (trStream && trStream.readyState !== 2) return;
      trStream = new EventSource("/api/events?after=" + encodeURIComponent(panel.dataset.after || "0"));
      ["status", "stage", "result", "cancel_requested"].forEach(function (t) {
        trStream.addEventListener(t, function (ev) {
          var data = JSON.parse(ev.data);
          if (trWatch[data.job_id]) refresh();
        });
      });
    }
    box.addEventListener("pressroom:refreshed", watchTranslations);
    watchTranslations();
    tail();
    if (box.dataset.finished !== "1") start();
    window.addEventListener("pagehide", function () { if (es) es.close(); if (trStream) trStream.close(); });
    return { refresh: refresh };
  }

  function init() {
    localTimes(document);
    var table = document.getElementById("builds");
    if (table && window.EventSource) BuildsLive(table);
    var box = document.getElementById("live");
    if (box) detail = DetailLive(box);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
