// threadsock: a small hand-written Socket.IO v5 client (Engine.IO v4, WebSocket transport
// only) shared by the chat page (/) and the server page (/server). No libraries.
//
// Usage:
//   const io = new SioClient("/", { auth: () => ({ nick: "alice" }) });
//   io.on("message", (data) => ...);          // a server event
//   io.onState((state) => ...);               // "connecting" | "connected" | "reconnecting"
//   io.onConnect((sid, first) => ...);        // the namespace is connected (first: the 1st time)
//   io.onError((text) => ...);                // a refused CONNECT (44) or a protocol problem
//   io.connect();
//   io.emit("who");  io.emitWithAck("who").then((nicks) => ...);
"use strict";

/** Engine.IO packet types (the first character of a text frame). */
const EIO = { OPEN: "0", CLOSE: "1", PING: "2", PONG: "3", MESSAGE: "4", UPGRADE: "5", NOOP: "6" };
/** Socket.IO packet types (the first character after an Engine.IO "4"). */
const SIO = { CONNECT: "0", DISCONNECT: "1", EVENT: "2", ACK: "3", CONNECT_ERROR: "4" };

/** How long emitWithAck waits for its acknowledgement. */
const ACK_TIMEOUT_MS = 5000;
/** Reconnection backoff: the first delay, and the most it grows to. */
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;

/** The WebSocket address of this page's own server. */
function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return scheme + "//" + location.host + "/socket.io/?EIO=4&transport=websocket";
}

/**
 * Parses the Socket.IO part of an Engine.IO message: `<type>[<nsp>,][<ack id>][<json>]`.
 * Returns { type, nsp, id, data } or null when the text is malformed.
 */
function parseSocketIo(text) {
  if (text.length === 0) return null;
  const type = text[0];
  let i = 1;
  let nsp = "/";
  if (text[i] === "/") {
    const comma = text.indexOf(",", i);
    if (comma < 0) {
      // "1/server" (a DISCONNECT without payload) may omit the comma.
      nsp = text.slice(i);
      i = text.length;
    } else {
      nsp = text.slice(i, comma);
      i = comma + 1;
    }
  }
  let digits = "";
  while (i < text.length && text[i] >= "0" && text[i] <= "9") {
    digits += text[i];
    i += 1;
  }
  let data;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i));
    } catch (_) {
      return null;
    }
  }
  return { type, nsp, id: digits === "" ? null : Number(digits), data };
}

class SioClient {
  /**
   * @param {string} nsp  the namespace: "/" or e.g. "/server"
   * @param {{auth?: () => (object|undefined)}} options  auth is asked on every (re)connect
   */
  constructor(nsp, options = {}) {
    this.nsp = nsp;
    this.authFn = options.auth || (() => undefined);
    this.ws = null;
    this.state = "idle"; // then "connecting", "connected" or "reconnecting"
    this.everConnected = false; // the namespace was connected once
    this.attempts = 0; // failed attempts since the last successful connect
    this.nextAckId = 0;
    this.acks = new Map(); // ack id -> { resolve, reject, timer }
    this.handlers = new Map(); // event name -> [handler]
    this.stateHandlers = [];
    this.connectHandlers = [];
    this.errorHandlers = [];
    this.pingTimer = null; // fires when the server stopped pinging
    this.retryTimer = null;
    this.pingDeadlineMs = 45000; // pingInterval + pingTimeout, from the open packet
    this.stopped = false;
  }

  // ---- registration ----

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(handler);
  }
  onState(handler) { this.stateHandlers.push(handler); }
  onConnect(handler) { this.connectHandlers.push(handler); }
  onError(handler) { this.errorHandlers.push(handler); }

  get connected() { return this.state === "connected"; }

  // ---- connection ----

  /** Opens the connection (once; later drops reconnect by themselves). */
  connect() {
    if (this.ws || this.retryTimer) return;
    this.stopped = false;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    this.open();
  }

  /** Closes for good (no reconnection). */
  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.dropSocket();
    this.setState("idle");
  }

  open() {
    this.retryTimer = null;
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      this.fail("cannot open the WebSocket: " + e.message);
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws === ws && typeof ev.data === "string") this.receive(ev.data);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.lost();
    };
    ws.onerror = () => {
      // A "close" event always follows; reconnection is handled there.
    };
  }

  /** Forgets the current WebSocket (closing it) and stops its timers. */
  dropSocket() {
    clearTimeout(this.pingTimer);
    this.pingTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch (_) { /* already closed */ }
    }
    // Pending acknowledgements will never come: fail them now.
    for (const [id, pending] of this.acks) {
      clearTimeout(pending.timer);
      pending.reject(new Error("disconnected"));
      this.acks.delete(id);
    }
  }

  /**
   * The connection dropped (or was dropped): schedule a reconnection with backoff. `said`:
   * the reason was already reported (else, before any success, "cannot reach" is).
   */
  lost(said = false) {
    this.dropSocket();
    if (this.stopped) return;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    // 500 ms doubling to 5 s, then a random part of it (between 50% and 100%) as jitter.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.attempts, 10));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempts += 1;
    if (!this.everConnected && !said) {
      this.emitError("cannot reach the server; trying again in " + (delay / 1000).toFixed(1) + " s");
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** A protocol problem: report it, then reconnect. */
  fail(text) {
    this.emitError(text);
    this.lost(true);
  }

  /** (Re)arms the ping watchdog: no ping within pingInterval + pingTimeout means dead. */
  armPingTimer() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      this.emitError("the server stopped answering (ping timeout)");
      this.lost(true);
    }, this.pingDeadlineMs);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    for (const h of this.stateHandlers) h(state);
  }

  emitError(text) {
    for (const h of this.errorHandlers) h(text);
  }

  // ---- receiving ----

  /** One Engine.IO text frame. */
  receive(frame) {
    const type = frame[0];
    const body = frame.slice(1);
    switch (type) {
      case EIO.OPEN: {
        let open;
        try {
          open = JSON.parse(body);
        } catch (_) {
          this.fail("bad Engine.IO open packet");
          return;
        }
        this.pingDeadlineMs = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
        this.armPingTimer();
        // Connect the namespace: "40" + auth, or "40/server," + auth.
        const auth = this.authFn();
        const prefix = this.nsp === "/" ? "" : this.nsp + ",";
        this.sendRaw(EIO.MESSAGE + SIO.CONNECT + prefix + (auth ? JSON.stringify(auth) : ""));
        break;
      }
      case EIO.PING:
        this.armPingTimer();
        this.sendRaw(EIO.PONG + body);
        break;
      case EIO.CLOSE:
        this.lost();
        break;
      case EIO.MESSAGE:
        this.receiveSocketIo(body);
        break;
      default:
        // pong, noop, upgrade: nothing to do.
        break;
    }
  }

  /** One Socket.IO packet (the text after the Engine.IO "4"). */
  receiveSocketIo(text) {
    const p = parseSocketIo(text);
    if (!p) {
      this.emitError("malformed Socket.IO packet ignored");
      return;
    }
    if (p.nsp !== this.nsp) return; // another namespace: not ours
    switch (p.type) {
      case SIO.CONNECT: {
        const first = !this.everConnected;
        this.everConnected = true;
        this.attempts = 0;
        this.setState("connected");
        const sid = p.data && p.data.sid;
        for (const h of this.connectHandlers) h(sid, first);
        break;
      }
      case SIO.CONNECT_ERROR: {
        const why = (p.data && p.data.message) || "connection refused";
        this.fail("refused: " + why);
        break;
      }
      case SIO.DISCONNECT:
        // The server left our namespace: start over on a new connection.
        this.lost();
        break;
      case SIO.EVENT: {
        if (!Array.isArray(p.data) || typeof p.data[0] !== "string") return;
        const [event, ...args] = p.data;
        for (const h of this.handlers.get(event) || []) {
          try {
            h(...args);
          } catch (e) {
            console.error("handler for", event, "failed:", e);
          }
        }
        break;
      }
      case SIO.ACK: {
        const pending = this.acks.get(p.id);
        if (!pending) return; // late (timed out) or unknown
        this.acks.delete(p.id);
        clearTimeout(pending.timer);
        pending.resolve(Array.isArray(p.data) ? p.data[0] : undefined);
        break;
      }
      default:
        break; // binary packets are not used by threadsock's apps
    }
  }

  // ---- sending ----

  sendRaw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(frame);
      return true;
    }
    return false;
  }

  /** The Socket.IO text of an EVENT in our namespace, with an optional ack id. */
  eventFrame(id, event, args) {
    const prefix = this.nsp === "/" ? "" : this.nsp + ",";
    const ack = id === null ? "" : String(id);
    return EIO.MESSAGE + SIO.EVENT + prefix + ack + JSON.stringify([event, ...args]);
  }

  /** Sends an event; returns false (and sends nothing) when not connected. */
  emit(event, ...args) {
    if (!this.connected) return false;
    return this.sendRaw(this.eventFrame(null, event, args));
  }

  /**
   * Sends an event asking for an acknowledgement; the Promise resolves with the ack's first
   * argument, or rejects when not connected, on disconnection or after 5 s.
   */
  emitWithAck(event, ...args) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Error("not connected"));
        return;
      }
      const id = this.nextAckId;
      this.nextAckId = (this.nextAckId + 1) % 1000000000;
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error("no answer within " + ACK_TIMEOUT_MS / 1000 + " s"));
      }, ACK_TIMEOUT_MS);
      this.acks.set(id, { resolve, reject, timer });
      if (!this.sendRaw(this.eventFrame(id, event, args))) {
        clearTimeout(timer);
        this.acks.delete(id);
        reject(new Error("not connected"));
      }
    });
  }
}

/** Shows a client's state in a `#status` element: text and data-state are the same word. */
function bindStatus(client, el) {
  client.onState((state) => {
    el.hidden = state === "idle";
    el.textContent = state === "idle" ? "" : state;
    el.dataset.state = state;
  });
}

/** Local time as HH:MM. */
function hhmm(date = new Date()) {
  return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
}

// Shared with the page scripts (plain scripts, loaded in order).
window.SioClient = SioClient;
window.bindStatus = bindStatus;
window.hhmm = hhmm;
