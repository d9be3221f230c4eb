// threadsock server page (/server): live figures from the read-only Socket.IO namespace
// "/server", which emits "stats" once a second with one object of numbers. Each figure gets a
// small hand-drawn <canvas> line chart of the last 5 minutes and its current value.
"use strict";

(() => {
  /** Samples kept per figure: one a second for 5 minutes. */
  const HISTORY = 300;

  /** The figures always shown, in this order, with their labels. */
  const KNOWN = [
    ["threads", "threads"],
    ["conns", "connections"],
    ["rss_kb", "memory (RSS)"],
    ["in_Bps", "bytes in /s"],
    ["out_Bps", "bytes out /s"],
    ["chat_clients", "chat clients"],
    ["chat_rooms", "chat rooms"],
    ["chat_lines_in_ps", "chat lines in /s"],
    ["chat_lines_out_ps", "chat lines out /s"],
    ["sio_sessions_websocket", "Socket.IO sessions (WebSocket)"],
    ["sio_sessions_polling", "Socket.IO sessions (polling)"],
    ["sio_sockets", "Socket.IO sockets"],
    ["echo_conns", "echo connections"],
    ["chat_conns", "chat connections"],
    ["files_conns", "files connections"],
    ["socketio_conns", "Socket.IO connections"],
  ];
  /** Created before any stats arrive (the others appear with their first value). */
  const ALWAYS = [
    "threads", "conns", "rss_kb", "chat_clients", "chat_rooms",
    "sio_sessions_websocket", "sio_sessions_polling", "chat_lines_in_ps", "chat_lines_out_ps",
  ];
  /** Keys that are not figures. */
  const SKIP = new Set(["t"]);

  const LABELS = new Map(KNOWN);
  const ORDER = new Map(KNOWN.map(([key], i) => [key, i]));

  const figuresEl = document.getElementById("figures");
  const statusEl = document.getElementById("status");
  const updatedEl = document.getElementById("updated");
  const errorEl = document.getElementById("server-error");

  /** key -> { el, valueEl, canvas, history: (number|null)[] } */
  const figures = new Map();

  // ---- formatting ----

  /** rss_kb as KiB, MiB or GiB. */
  function formatKib(kb) {
    if (kb < 1024) return Math.round(kb) + " KiB";
    const mib = kb / 1024;
    if (mib < 1024) return mib.toFixed(mib < 10 ? 2 : 1) + " MiB";
    return (mib / 1024).toFixed(2) + " GiB";
  }

  function format(key, v) {
    if (v === null || v === undefined) return "–";
    if (key === "rss_kb") return formatKib(v);
    return String(Math.round(v));
  }

  // ---- figures ----

  /** A readable label for a key nobody told us about: "foo_bar" -> "foo bar". */
  function labelFor(key) {
    return LABELS.get(key) || key.replace(/_/g, " ");
  }

  /** Creates (once) the div.figure for `key`, in the known order, unknown keys last. */
  function figure(key) {
    let f = figures.get(key);
    if (f) return f;
    const el = document.createElement("div");
    el.className = "figure";
    el.dataset.figure = key;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = labelFor(key);
    label.title = key;
    const valueEl = document.createElement("span");
    valueEl.className = "value";
    valueEl.textContent = "–";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", labelFor(key) + ", last 5 minutes");
    el.append(label, valueEl, canvas);
    f = { key, el, valueEl, canvas, history: [] };
    figures.set(key, f);
    // Keep the known order: insert before the first figure that sorts after this one.
    const rank = (k) => (ORDER.has(k) ? ORDER.get(k) : KNOWN.length);
    const next = [...figures.values()].find(
      (o) => o !== f && o.el.isConnected && rank(o.key) > rank(key)
    );
    figuresEl.insertBefore(el, next ? next.el : null);
    resizeObserver.observe(canvas);
    return f;
  }

  /** Appends a sample (null: a gap, e.g. while disconnected) and keeps the last HISTORY. */
  function push(f, v) {
    f.history.push(v);
    if (f.history.length > HISTORY) f.history.splice(0, f.history.length - HISTORY);
  }

  // ---- drawing ----

  /** Sizes the canvas backing store for its CSS size and the devicePixelRatio. */
  function fitCanvas(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    return dpr;
  }

  /** Draws f's history: the newest sample at the right edge, 300 samples across. */
  function draw(f) {
    const canvas = f.canvas;
    if (!canvas.clientWidth) return; // not laid out (hidden)
    const dpr = fitCanvas(canvas);
    const ctx = canvas.getContext("2d");
    const w = canvas.width / dpr;
    const h = canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);

    const values = f.history.filter((v) => v !== null);
    // Background grid: the middle line.
    ctx.strokeStyle = "#eef0f4";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, Math.round(h / 2) + 0.5);
    ctx.lineTo(w, Math.round(h / 2) + 0.5);
    ctx.stroke();
    if (values.length === 0) return;

    // The vertical range: from 0 (or near the minimum for memory) to a bit over the maximum.
    let max = Math.max(...values) * 1.1; // headroom: a flat line stays below the label
    let min = f.key === "rss_kb" ? Math.min(...values) * 0.9 : Math.min(0, ...values);
    if (max <= min) max = min + 1;
    const top = 12; // room for the max label
    const y = (v) => top + (h - top - 2) * (1 - (v - min) / (max - min));
    const step = w / (HISTORY - 1);
    const x0 = w - (f.history.length - 1) * step;

    // The area under the line, then the line; null samples leave a gap.
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    let open = false;
    let first = 0;
    const path = new Path2D();
    const area = new Path2D();
    const closeArea = (lastX) => {
      area.lineTo(lastX, h);
      area.lineTo(first, h);
      area.closePath();
    };
    let lastX = 0;
    f.history.forEach((v, i) => {
      const x = x0 + i * step;
      if (v === null) {
        if (open) closeArea(lastX);
        open = false;
        return;
      }
      if (!open) {
        path.moveTo(x, y(v));
        area.moveTo(x, y(v));
        first = x;
        open = true;
      } else {
        path.lineTo(x, y(v));
        area.lineTo(x, y(v));
      }
      lastX = x;
    });
    if (open) closeArea(lastX);
    ctx.fillStyle = "rgba(36, 89, 201, 0.12)";
    ctx.fill(area);
    ctx.strokeStyle = "#2459c9";
    ctx.stroke(path);

    // The maximum of the window, top left.
    ctx.fillStyle = "#667085";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText("max " + format(f.key, Math.max(...values)), 2, 0);
  }

  function drawAll() {
    for (const f of figures.values()) draw(f);
  }

  // Redraw when a chart changes size (window resize, rotation) or the pixel ratio changes.
  let redrawQueued = false;
  const queueRedraw = () => {
    if (redrawQueued) return;
    redrawQueued = true;
    requestAnimationFrame(() => {
      redrawQueued = false;
      drawAll();
    });
  };
  const resizeObserver = new ResizeObserver(queueRedraw);
  window.addEventListener("resize", queueRedraw);

  // ---- the connection ----

  const io = new SioClient("/server");
  bindStatus(io, statusEl);

  io.on("stats", (stats) => {
    if (!stats || typeof stats !== "object") return;
    for (const key of ALWAYS) figure(key);
    for (const [key, v] of Object.entries(stats)) {
      if (SKIP.has(key) || typeof v !== "number" || !Number.isFinite(v)) continue;
      const f = figure(key);
      push(f, v);
      f.valueEl.textContent = format(key, v);
      f.valueEl.title = String(v);
    }
    // A figure missing from this sample gets a gap.
    for (const f of figures.values()) {
      if (!(f.key in stats)) push(f, null);
    }
    const t = typeof stats.t === "number" ? new Date(stats.t) : new Date();
    updatedEl.textContent = "Updated " + t.toLocaleTimeString();
    errorEl.textContent = "";
    queueRedraw();
  });

  io.onConnect(() => {
    errorEl.textContent = "";
  });

  io.onState((state) => {
    // Mark the time without data as a gap in every chart.
    if (state === "reconnecting") {
      for (const f of figures.values()) push(f, null);
      queueRedraw();
    }
  });

  io.onError((text) => {
    errorEl.textContent = text;
  });

  for (const key of ALWAYS) figure(key);
  io.connect();
})();
