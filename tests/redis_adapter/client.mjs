// A chat user on the official socket.io-client, driven line by line by a Rust test.
//
//   node client.mjs URL [NICK [ROOM]]
//
// Connects (WebSocket, or the transports in $TRANSPORTS) with auth {nick: NICK}, joins ROOM if given (and not the lobby), then
// prints `["ready",<socket id>]`. From then on every event it receives is one JSON line
// `[event, ...args]` on stdout, and every stdin line `[event, ...args]` is emitted as is;
// `{"ack":[event, ...args]}` is emitted with an acknowledgement, printed as
// `["ack", event, ...answer]`. Bytes travel as `{"$binary":"<hex>"}` both ways. Prints
// `["connect_error",why]` or `["disconnect",why]` and exits 1 when the connection fails or
// ends; exits 0 when stdin ends. With $LOCAL_ADDRESS (e.g. 127.0.0.7) every connection, polling
// requests and the WebSocket alike, comes from that source address (a distinct client to a
// load balancer that hashes it).
import http from "node:http";
import readline from "node:readline";
import { io } from "socket.io-client";

const [url, nick, room] = process.argv.slice(2);

const bytes = (v) => Buffer.from(ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v);
const plain = (v) => {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return { $binary: bytes(v).toString("hex") };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};
const fromJson = (line) =>
  JSON.parse(line, (_, x) => (typeof x?.$binary === "string" ? Buffer.from(x.$binary, "hex") : x));
const print = (...line) => process.stdout.write(JSON.stringify(plain(line)) + "\n");

// TRANSPORTS: "websocket" (the default), "polling", or "polling,websocket" (upgrade).
const transports = (process.env.TRANSPORTS || "websocket").split(",");
const options = { transports, reconnection: false, auth: nick ? { nick } : {} };
const localAddress = process.env.LOCAL_ADDRESS;
if (localAddress) {
  // engine.io-client hands `agent` to xmlhttprequest-ssl (polling) and both `agent` and
  // `localAddress` to ws (WebSocket); the agent's sockets bind to the address.
  options.agent = new http.Agent({ localAddress, keepAlive: true });
  options.localAddress = localAddress;
}
const socket = io(url, options);
socket.onAny((event, ...args) => print(event, ...args));
socket.on("connect_error", (e) => {
  print("connect_error", e.message);
  process.exit(1);
});
socket.on("disconnect", (why) => {
  print("disconnect", why);
  process.exit(1);
});
socket.once("connect", async () => {
  if (room && room !== "lobby") print("ack", "join", await socket.emitWithAck("join", room));
  print("ready", socket.id);
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "") return;
    const message = fromJson(line);
    if (Array.isArray(message)) return socket.emit(...message);
    const [event, ...args] = message.ack;
    socket.emit(event, ...args, (...answer) => print("ack", event, ...answer));
  }).on("close", () => {
    socket.off("disconnect");
    socket.close();
    process.exit(0);
  });
});
