// The official socket.io-client against threadsock, run by tests/socketio_client.rs.
//
//   node scenarios.mjs URL MODE
//
// MODE is `polling` (long-polling only), `websocket` (WebSocket only) or `upgrade` (polling,
// then the upgrade). The server is the test app of tests/socketio_client.rs. Prints one line
// `ok <scenario>` per scenario and exits 0, or prints the failure and exits 1.
import { io, Manager } from "socket.io-client";
import assert from "node:assert/strict";

const [url, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
if (!url || !transports) {
  console.error("usage: node scenarios.mjs URL polling|websocket|upgrade");
  process.exit(2);
}
const options = { transports, reconnection: false, forceNew: true, timeout: 5000 };

function connect(nsp = "/", extra = {}) {
  const socket = io(url + nsp, { ...options, ...extra });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (e) => reject(e));
  });
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

function within(ms, promise, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  ]);
}

const scenarios = {
  async "connect with auth"() {
    // The app emits `auth` as it accepts the connection: listen before connecting.
    const s = io(url, { ...options, auth: { token: "sésame", n: [1, { deep: true }] } });
    const [auth] = await within(3000, once(s, "auth"), "auth");
    assert.deepEqual(auth, { token: "sésame", n: [1, { deep: true }] });
    s.close();
  },

  async "events both ways, unicode and nested JSON"() {
    const s = await connect();
    const payload = { text: "héllo wörld ☃ 😀 \u0000 \"quoted\"", list: [1, -2.5, null, true, { a: [[]] }] };
    const back = once(s, "echo-back");
    s.emit("echo", payload, "second", 3);
    assert.deepEqual(await within(3000, back, "echo-back"), [payload, "second", 3]);
    s.close();
  },

  async "acks both ways"() {
    const s = await connect();
    const reply = await within(3000, s.emitWithAck("add", 2, 3), "server ack");
    assert.equal(reply, 5);
    // The server asks us, and reports our answer back.
    s.on("question", (q, answer) => answer(q.toUpperCase()));
    const [answered] = await within(3000, (async () => {
      const got = once(s, "answered");
      s.emit("ask-me", "ping?");
      return got;
    })(), "server's emit_with_ack");
    assert.equal(answered, "PING?");
    s.close();
  },

  async "binary attachments"() {
    const s = await connect();
    const bytes = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    const back = once(s, "echo-back");
    s.emit("echo", { file: bytes, name: "x.bin" }, Uint8Array.from([9]));
    const [obj, extra] = await within(3000, back, "binary echo");
    assert.deepEqual(Uint8Array.from(obj.file), bytes);
    assert.equal(obj.name, "x.bin");
    assert.deepEqual(Uint8Array.from(extra), Uint8Array.from([9]));
    const acked = await within(3000, s.emitWithAck("echo-ack", Uint8Array.from([7, 7])), "binary ack");
    assert.deepEqual(Uint8Array.from(acked), Uint8Array.from([7, 7]));
    s.close();
  },

  async "two namespaces on one connection, and an invalid one"() {
    const manager = new Manager(url, options);
    const main = manager.socket("/");
    const custom = manager.socket("/custom");
    await within(3000, Promise.all([once(main, "connect"), once(custom, "connect")]), "both connect");
    assert.equal(main.io.engine, custom.io.engine, "one Engine.IO connection");
    const [where] = await within(3000, (async () => {
      const got = once(custom, "where");
      custom.emit("where");
      return got;
    })(), "custom namespace event");
    assert.equal(where, "/custom");
    const bad = io(url + "/nowhere", options);
    const [err] = await within(3000, once(bad, "connect_error"), "invalid namespace");
    assert.equal(err.message, "Invalid namespace");
    const [refused] = await within(3000, once(io(url + "/guarded", options), "connect_error"), "rejected");
    assert.equal(refused.message, "not allowed");
    assert.deepEqual(refused.data, { reason: "no token" });
    manager.engine.close();
  },

  async "rooms"() {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    await Promise.all([a.emitWithAck("join", "red"), b.emitWithAck("join", "red"), c.emitWithAck("join", "blue")]);
    const gotB = once(b, "room-said");
    let cGot = false;
    c.on("room-said", () => (cGot = true));
    a.emit("say-to", "red", "for red only");
    assert.deepEqual(await within(3000, gotB, "room message"), ["for red only"]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(cGot, false, "another room's member got it");
    [a, b, c].forEach((s) => s.close());
  },

  async "heartbeat over several ping intervals"() {
    const s = await connect();
    let pings = 0;
    s.io.engine.on("ping", () => pings++);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(s.connected, "still connected");
    assert.ok(pings >= 3, `only ${pings} pings in 1.5 s`);
    assert.equal(await within(3000, s.emitWithAck("add", 1, 1), "after pings"), 2);
    s.close();
  },

  async "disconnect and reconnect"() {
    const s = io(url, { ...options, reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    await within(3000, once(s, "connect"), "connect");
    const first = s.id;
    // The server disconnects us from the namespace; a client-side disconnect and reconnect
    // gives a new socket id.
    const [reason] = await within(3000, (async () => {
      const got = once(s, "disconnect");
      s.emit("kick-me");
      return got;
    })(), "server disconnect");
    assert.equal(reason, "io server disconnect");
    s.connect();
    await within(3000, once(s, "connect"), "reconnect");
    assert.notEqual(s.id, first);
    assert.equal(await within(3000, s.emitWithAck("add", 2, 2), "after reconnect"), 4);
    s.close();
  },
};

let failed = false;
for (const [name, run] of Object.entries(scenarios)) {
  try {
    await within(10000, run(), name);
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAILED ${name}: ${e.stack || e}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
