// A Node socket.io 4.8 node of a cluster joined through Redis by @socket.io/redis-adapter 8: the
// other side of threadsock's Redis adapter interop tests. It serves threadsock's default app (the
// chat of examples/node/socketio/chat.js) as a socket.io user writes it for a cluster: rooms are
// adapter rooms, broadcasts go through the adapter, and who/rooms/nick ask every node.
//
//   PORT=0 REDIS_URL=redis://127.0.0.1:6379 node server.mjs
//
// Prints `listening <port>` on stdout once bound, then runs until killed. REQUESTS_TIMEOUT
// (ms, default the adapter's 5000) bounds the wait for other nodes' answers.
//
// Client to server: `nick` (name; ack {ok:true} or {error}), `join` (room; ack {room, members}
// or {error}), `message` (text), `act` (text), `msg` (nick, text), `who` (ack: the nicks),
// `rooms` (ack: [{name, members: N}]), `binary` (bytes or text: sent on to the room as a
// Buffer, so attachments cross the adapter). Server to client: `message` {room, from, text},
// `private` {from, text}, `joined`/`left` {room, nick}, `renamed` {from, to}, `notice` {text},
// `binary` {room, from, data: Buffer}. The auth payload may carry {nick}. Everyone starts in
// `lobby`; names compare ignoring case, and a room is the adapter room of its lowercased name.
import http from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const LOBBY = "lobby";
const MAX_NAME = 32;
const MAX_LINE = 4096;

const pub = createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (e) => console.error(`redis: ${e.message}`));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const requestsTimeout = Number(process.env.REQUESTS_TIMEOUT || 5000);
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout }) });

const key = (name) => name.toLowerCase();
const roomOf = (socket) => key(socket.data.room);
const validName = (name) =>
  typeof name === "string" && name.length <= MAX_NAME && /^[A-Za-z0-9_-]+$/.test(name);
const reserved = (name) => /^guest[0-9]+$/i.test(name);
const invalid = (name) => `invalid name '${name}': use 1-${MAX_NAME} of A-Z a-z 0-9 _ -`;
const reply = (ack, value) => typeof ack === "function" && ack(value);
const tooLong = (text) => Buffer.byteLength(text) > MAX_LINE;

// Every socket of the cluster, local or remote: {id, data: {nick, room}, rooms}; `room` is the
// chat room as displayed, the adapter room its lowercased key.
const everyone = () => io.fetchSockets();
const findNick = async (name) => (await everyone()).find((s) => key(s.data.nick) === key(name));
const nicksIn = async (room) => (await io.in(room).fetchSockets()).map((s) => s.data.nick).sort();

// Nicknames are unique across the cluster; the unlucky get `guestN`.
let nextGuest = 1;
io.use(async (socket, next) => {
  try {
    const taken = new Set((await everyone()).map((s) => key(s.data.nick)));
    const wanted = socket.handshake.auth?.nick;
    if (validName(wanted) && !reserved(wanted) && !taken.has(key(wanted))) {
      socket.data.nick = wanted;
    } else {
      while (taken.has(`guest${nextGuest}`)) nextGuest++;
      socket.data.nick = `guest${nextGuest++}`;
    }
    next();
  } catch (e) {
    next(e);
  }
});

function enterRoom(socket, name) {
  socket.data.room = name;
  socket.join(key(name));
  socket.to(key(name)).emit("joined", { room: name, nick: socket.data.nick });
}

function leaveRoom(socket) {
  socket.leave(roomOf(socket));
  socket.to(roomOf(socket)).emit("left", { room: socket.data.room, nick: socket.data.nick });
}

io.on("connection", (socket) => {
  enterRoom(socket, LOBBY);
  // An answer that needs the other nodes fails, rather than hangs, when one of them is silent.
  const asking = (f) => (...args) => f(...args).catch((e) => reply(args.at(-1), { error: e.message }));

  socket.on("nick", asking(async (name, ack) => {
    if (typeof name !== "string") return reply(ack, { error: "usage: nick NAME" });
    if (!validName(name)) return reply(ack, { error: invalid(name) });
    if (reserved(name)) return reply(ack, { error: `nickname ${name} is reserved` });
    if (name === socket.data.nick) return reply(ack, { error: `you are already ${name}` });
    const owner = await findNick(name);
    if (owner && owner.id !== socket.id) return reply(ack, { error: `nickname ${name} is taken` });
    const from = socket.data.nick;
    socket.data.nick = name;
    socket.to(roomOf(socket)).emit("renamed", { from, to: name });
    reply(ack, { ok: true });
  }));

  socket.on("join", asking(async (name, ack) => {
    if (typeof name !== "string") return reply(ack, { error: "usage: join ROOM" });
    if (!validName(name)) return reply(ack, { error: invalid(name) });
    if (key(name) === roomOf(socket)) {
      return reply(ack, { error: `you are already in ${socket.data.room}` });
    }
    const [first] = await io.in(key(name)).fetchSockets(); // a room keeps its first spelling
    leaveRoom(socket);
    enterRoom(socket, first ? first.data.room : name);
    reply(ack, { room: socket.data.room, members: await nicksIn(roomOf(socket)) });
  }));

  socket.on("who", asking(async (ack) => reply(ack, await nicksIn(roomOf(socket)))));

  // Rooms of the cluster (the lobby always), sorted, with their member counts.
  socket.on("rooms", asking(async (ack) => {
    const [all, sockets] = await Promise.all([io.of("/").adapter.allRooms(), everyone()]);
    const ids = new Set(sockets.map((s) => s.id)); // each socket's own room is no chat room
    const rooms = new Map([[LOBBY, { name: LOBBY, members: 0 }]]);
    for (const room of all) if (!ids.has(room)) rooms.set(room, { name: room, members: 0 });
    for (const s of sockets) {
      const r = rooms.get(roomOf(s));
      if (r) Object.assign(r, { name: s.data.room, members: r.members + 1 });
    }
    reply(ack, [...rooms].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r));
  }));

  const say = (action) => (text, ack) => {
    if (typeof text !== "string" || text === "") return;
    if (tooLong(text)) return reply(ack, { error: `line too long (over ${MAX_LINE} bytes), not sent` });
    const message = { room: socket.data.room, from: socket.data.nick, text };
    if (action) message.action = true;
    socket.to(roomOf(socket)).emit("message", message);
  };
  socket.on("message", say(false));
  socket.on("act", say(true));

  socket.on("msg", asking(async (to, text, ack) => {
    if (typeof to !== "string" || typeof text !== "string" || text === "" || tooLong(text)) {
      return reply(ack, { error: "usage: msg NICK TEXT" });
    }
    const target = await findNick(to);
    if (!target) return socket.emit("notice", { text: `no such nickname: ${to}` });
    if (target.id === socket.id) {
      return socket.emit("notice", { text: "that is you: /msg sends to someone else" });
    }
    io.to(target.id).emit("private", { from: socket.data.nick, text });
  }));

  socket.on("binary", (data) => {
    if (typeof data !== "string" && !Buffer.isBuffer(data)) return;
    const message = { room: socket.data.room, from: socket.data.nick, data: Buffer.from(data) };
    socket.to(roomOf(socket)).emit("binary", message);
  });

  socket.on("disconnecting", () => leaveRoom(socket));
});

httpServer.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
