// Records what @socket.io/redis-adapter 8 publishes, as ground truth for threadsock's decoder:
// two socket.io nodes (A and B, each with its own pub and sub Redis connections, as two
// server.mjs would have) and three clients share a Redis server; a raw PSUBSCRIBE '*' reader
// records every message while the nodes broadcast and ask each other questions.
//
//   REDIS_URL=redis://127.0.0.1:6379 node capture.mjs > captures.txt
//
// Writes `<name> <channel> <hex payload>` lines on stdout, in publishing order. Needs a Redis
// nobody else publishes on.
import http from "node:http";
import { once } from "node:events";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const url = process.env.REDIS_URL;
const settle = (ms) => new Promise((r) => setTimeout(r, ms));

const recorded = [];
const reader = createClient({ url });
await reader.connect();
await reader.pSubscribe("*", (msg, channel) => recorded.push([channel.toString(), msg]), true);

const clients = [reader.duplicate()];
await clients[0].connect();
async function node() {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  clients.push(pub, sub);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
  io.on("connection", (socket) => socket.join(socket.handshake.auth.rooms));
  httpServer.listen(0, "127.0.0.1");
  await once(httpServer, "listening");
  return { io, port: httpServer.address().port };
}
const A = await node();
const B = await node();
while ((await clients[0].pubSubNumSub("socket.io-request#/#"))["socket.io-request#/#"] < 2) await settle(20);

async function user(server, nick, rooms) {
  const socket = connect(`http://127.0.0.1:${server.port}`, { transports: ["websocket"], auth: { nick, rooms } });
  socket.on("ping?", (n, ack) => ack(`pong ${n} from ${nick}`));
  await once(socket, "connect");
  return socket;
}
const alice = await user(A, "alice", ["lobby", "vip"]);
await user(B, "bob", ["lobby"]);
await user(B, "carol", ["games"]);
const aliceOnA = A.io.sockets.sockets.get(alice.id);
B.io.of("/").on("hello", (...args) => args.at(-1)?.call?.(null, "hi from B"));

// Each step runs alone; what it published (answers included) is named after it.
const steps = [
  ["emit_all", () => A.io.emit("notice", { text: "to everyone" })],
  ["room_one", () => aliceOnA.to("lobby").emit("message", { room: "lobby", from: "alice", text: "hi" })],
  ["room_two", () => A.io.to(["lobby", "games"]).emit("notice", { text: "two rooms" })],
  ["room_except", () => A.io.to("lobby").except("vip").emit("notice", { text: "not vip" })],
  ["room_binary", () => aliceOnA.to("lobby").emit("binary", { from: "alice", data: Buffer.from([0, 1, 255]) })],
  ["binary_args", () => A.io.emit("blob", Buffer.from("ab"), new Uint8Array([7]), [Buffer.alloc(0)])],
  ["flags", () => A.io.compress(false).volatile.to("lobby").emit("notice", { text: "volatile" })],
  ["to_socket", () => A.io.to(alice.id).emit("private", { from: "carol", text: "psst" })],
  ["fetch_sockets", () => A.io.in("lobby").fetchSockets()],
  ["all_rooms", () => A.io.of("/").adapter.allRooms()],
  ["sockets_join", () => A.io.in(alice.id).socketsJoin("games")],
  ["sockets_leave", () => A.io.in("games").socketsLeave("games")],
  ["server_side_emit", () => A.io.serverSideEmit("hello", { from: "A" })],
  ["server_side_emit_ack", () => A.io.serverSideEmitWithAck("hello", { from: "A" })],
  ["broadcast_ack", () => A.io.to("lobby").timeout(1000).emitWithAck("ping?", 1.5)],
  ["disconnect_sockets", () => A.io.in("games").disconnectSockets()],
];
for (const [name, step] of steps) {
  recorded.length = 0;
  await step();
  await settle(300);
  for (const [channel, msg] of recorded) console.log(`${name} ${channel} ${msg.toString("hex")}`);
}

for (const c of [...clients, reader]) await c.disconnect();
process.exit(0);
