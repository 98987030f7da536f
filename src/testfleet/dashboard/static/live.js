// testfleet live dashboard. Everything that comes from the run is put on the page with
// textContent, never as HTML. No inline script: the page's Content-Security-Policy forbids it.
"use strict";
(function () {
  var POLL_MS = 1000;
  var WS_FAILURES_BEFORE_POLLING = 3;
  var clientId = Math.random().toString(36).slice(2);
  var since = 0;
  var ended = false;
  var lastMessage = null;
  var receivedAt = 0;
  var wsFailures = 0;
  var polling = false;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function seconds(s) {
    if (s === null || s === undefined) { return "-"; }
    if (s < 60) { return s.toFixed(1) + " s"; }
    var m = Math.floor(s / 60);
    if (m < 60) { return m + " min " + Math.round(s % 60) + " s"; }
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function setConn(kind, text) {
    var c = $("conn");
    c.className = "conn conn-" + kind;
    c.textContent = text;
  }

  function render(m) {
    lastMessage = m;
    receivedAt = Date.now();
    if (m.run_id) { $("run-id").textContent = m.run_id; document.title = "testfleet " + m.run_id; }
    var counts = $("counts");
    counts.replaceChildren();
    var names = Object.keys(m.counts);
    if (!names.length) { counts.appendChild(el("span", "muted", "no results yet")); }
    names.forEach(function (o) {
      counts.appendChild(el("span", "count o-" + o, m.counts[o] + " " + o));
    });
    if (m.flaky) { counts.appendChild(el("span", "count o-flaky", m.flaky + " flaky")); }
    if (m.retried) { counts.appendChild(el("span", "count muted", m.retried + " retried attempts")); }
    var total = m.total;
    $("progress").textContent = total === null ? "collecting…" : m.done + " / " + total + " tests";
    $("bar-fill").style.width = (total ? Math.min(100, 100 * m.done / total) : 0) + "%";
    $("eta").textContent = m.end ? "" : (m.eta === null ? "" : "ETA " + seconds(m.eta));
    $("elapsed").textContent = m.elapsed === null ? "" : "elapsed " + seconds(m.elapsed);
    renderNodes(m);
    if (m.snapshot) { $("failures").replaceChildren(); }
    m.failures.forEach(addFailure);
    var shown = $("failures").querySelectorAll(".failure").length;
    if (shown === 0 && !$("no-failures")) {
      var none = el("p", "muted", "none so far");
      none.id = "no-failures";
      $("failures").appendChild(none);
    }
    $("failure-count").textContent = m.failure_seq ? "(" + m.failure_seq + ")" : "";
    if (m.missed_failures > 0 && m.snapshot) {
      $("missed").hidden = false;
      $("missed").textContent = m.missed_failures + " earlier failures are not kept here; `testfleet show` has them all";
    }
    if (m.end) {
      ended = true;
      var e = $("end");
      e.hidden = false;
      e.className = "end " + (m.end.exit_code === 0 ? "ok" : "bad");
      e.textContent = "run " + m.end.status + " (exit code " + m.end.exit_code + ") in " + seconds(m.end.wall_seconds);
    }
  }

  function renderNodes(m) {
    var box = $("nodes");
    box.replaceChildren();
    var byId = {};
    m.lanes.forEach(function (l) { byId[l.worker] = l; });
    var grouped = m.nodes.length > 1 || m.backend === "ray";
    m.nodes.forEach(function (n) {
      var group = el("div", "node");
      if (grouped) {
        var name = n.node.length > 16 ? n.node.slice(0, 12) + "…" : n.node;
        var h = el("h3", null, "node " + name + " ");
        h.title = n.node;
        h.appendChild(el("span", "health h-" + n.health, n.health + " (" + n.up + "/" + n.workers.length + " up)"));
        group.appendChild(h);
      }
      n.workers.forEach(function (w) {
        var l = byId[w];
        var lane = el("div", "lane" + (l.up ? "" : " down"));
        lane.appendChild(el("span", "lane-id", l.worker));
        lane.appendChild(el("span", "lane-done", l.done + " done"));
        if (!l.up) {
          lane.appendChild(el("span", "lane-test muted", "down: " + l.reason));
        } else if (l.current) {
          lane.appendChild(el("code", "lane-test", l.current));
          var time = el("span", "lane-time", seconds(l.elapsed));
          time.setAttribute("data-elapsed", String(l.elapsed));
          lane.appendChild(time);
        } else {
          lane.appendChild(el("span", "lane-test muted", ended ? "finished" : "idle"));
        }
        group.appendChild(lane);
      });
      box.appendChild(group);
    });
    if (!m.nodes.length) { box.appendChild(el("p", "muted", "no workers yet")); }
  }

  function addFailure(f) {
    var none = $("no-failures");
    if (none) { none.remove(); }
    var d = el("details", "failure");
    d.setAttribute("data-seq", f.seq);
    var s = el("summary");
    s.appendChild(el("span", "badge o-" + f.outcome, f.outcome + (f.final ? "" : " (will retry)")));
    s.appendChild(document.createTextNode(" "));
    s.appendChild(el("code", "nodeid", f.nodeid));
    if (f.message) { s.appendChild(el("span", "message", " — " + f.message)); }
    d.appendChild(s);
    d.appendChild(el("pre", null, f.text + (f.truncated ? "\n… (cut; `testfleet show -v` has all of it)" : "")));
    $("failures").insertBefore(d, $("failures").firstChild);
  }

  function accept(m) {
    if (!m.snapshot && m.failures.length && m.failures[0].seq <= since) {
      m.failures = m.failures.filter(function (f) { return f.seq > since; });
    }
    since = m.failure_seq;
    render(m);
  }

  // Elapsed times move between messages.
  setInterval(function () {
    if (!lastMessage || ended) { return; }
    var dt = (Date.now() - receivedAt) / 1000;
    document.querySelectorAll(".lane-time").forEach(function (t) {
      var base = parseFloat(t.getAttribute("data-elapsed"));
      if (!isNaN(base)) { t.textContent = seconds(base + dt); }
    });
  }, 500);

  function poll(reason) {
    polling = true;
    setConn("poll", "polling /api/state every " + POLL_MS / 1000 + " s (" + reason + ")");
    function once() {
      fetch("/api/state?since=" + since + "&client=" + clientId, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (m) {
          accept(m);
          if (ended) { setConn("done", "run finished (polling stopped)"); return; }
          setConn("poll", "polling /api/state every " + POLL_MS / 1000 + " s (" + reason + ")");
          setTimeout(once, POLL_MS);
        })
        .catch(function () {
          if (ended) { setConn("done", "run finished; server stopped"); return; }
          setConn("lost", "server not answering; polling again (" + reason + ")");
          setTimeout(once, POLL_MS);
        });
    }
    once();
  }

  function connect() {
    if (typeof window.WebSocket !== "function") { poll("this browser has no WebSocket"); return; }
    var got = false;  // a socket that closes before its first message counts as failed
    var ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    } catch (e) {
      poll("WebSocket failed"); return;
    }
    ws.onopen = function () { setConn("wait", "connected; waiting for data…"); };
    ws.onmessage = function (ev) {
      if (!got) { got = true; wsFailures = 0; setConn("live", "live (WebSocket)"); }
      accept(JSON.parse(ev.data));
    };
    ws.onclose = function (ev) {
      if (ended) { setConn("done", "run finished; server stopped"); return; }
      if (ev.code === 4000) { since = 0; setConn("wait", "catching up…"); connect(); return; }
      if (!got) { wsFailures += 1; }
      if (wsFailures >= WS_FAILURES_BEFORE_POLLING) { poll("WebSocket failed"); return; }
      setConn("lost", "connection lost; reconnecting…");
      setTimeout(connect, 500);
    };
  }

  document.addEventListener("DOMContentLoaded", connect);
})();
