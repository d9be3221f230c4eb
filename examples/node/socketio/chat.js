// Comparison server: threadsock's default Socket.IO app (the chat on namespace `/`) written on
// Node's socket.io 4.8, the way its documentation writes a chat: one room per chat room,
// `socket.join` / `socket.leave`, `socket.to(room).emit`, acknowledgements as callbacks.
//
//   (cd examples/node/socketio && npm ci)
//   node examples/node/socketio/chat.js 9003     # port 0 (the default) lets the OS pick
//
// Prints `listening socketio/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
// With CHAT_ANNOUNCE=0 in the environment nobody is told of joins and leaves (no `joined` or
// `left` events): the comparison's sio-idle and sio-connect runs use it, since announcing each
// of N clients joining the lobby to all the others costs N²/2 events.
//
// Client to server: `nick` (name; ack {ok:true} or {error}), `join` (room; ack {room, members}
// or {error}), `message` (text), `act` (text), `msg` (nick, text), `who` (ack: the nicks),
// `rooms` (ack: [{name, members: N}]), and `message-with-ack` (acked with its own arguments,
// as the conformance server does, for the acknowledgement benchmark). Server to client:
// `message` {room, from, text}, `private` {from, text}, `joined`/`left` {room, nick},
// `renamed` {from, to}, `notice` {text}. The auth payload may carry {nick}. Everyone starts
// in `lobby`; names compare ignoring case.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const PORT = Number(process.argv[2] || 0);
const LOBBY = 'lobby';
const MAX_NAME = 32;
const MAX_LINE = 4096;
const ANNOUNCE = process.env.CHAT_ANNOUNCE !== '0';

const httpServer = http.createServer();
const io = new Server(httpServer, { cors: { origin: '*' } });

const nicks = new Map(); // lowercased nickname -> socket
const roomNames = new Map([[LOBBY, LOBBY]]); // room key -> the name as first written
let nextGuest = 1;

const key = (name) => name.toLowerCase();
const validName = (name) =>
  typeof name === 'string' && name.length >= 1 && name.length <= MAX_NAME && /^[A-Za-z0-9_-]+$/.test(name);
const reserved = (name) => /^guest[0-9]+$/i.test(name);
const invalid = (name) => `invalid name '${name}': use 1-${MAX_NAME} of A-Z a-z 0-9 _ -`;
const reply = (ack, value) => {
  if (typeof ack === 'function') ack(value);
};

// The nicknames in a room, sorted.
function members(room) {
  const ids = io.of('/').adapter.rooms.get(room) || new Set();
  return [...ids].map((id) => io.of('/').sockets.get(id).data.nick).sort();
}

function leaveRoom(socket) {
  const room = socket.data.room;
  socket.leave(room);
  if (ANNOUNCE) socket.to(room).emit('left', { room: roomNames.get(room), nick: socket.data.nick });
  if (room !== LOBBY && !io.of('/').adapter.rooms.has(room)) roomNames.delete(room);
}

function enterRoom(socket, name) {
  const room = key(name);
  if (!roomNames.has(room)) roomNames.set(room, name);
  socket.data.room = room;
  socket.join(room);
  if (ANNOUNCE) socket.to(room).emit('joined', { room: roomNames.get(room), nick: socket.data.nick });
}

io.on('connection', (socket) => {
  const wanted = socket.handshake.auth && socket.handshake.auth.nick;
  if (validName(wanted) && !reserved(wanted) && !nicks.has(key(wanted))) {
    socket.data.nick = wanted;
  } else {
    socket.data.nick = `guest${nextGuest++}`;
  }
  nicks.set(key(socket.data.nick), socket);
  enterRoom(socket, LOBBY);

  socket.on('nick', (name, ack) => {
    if (typeof name !== 'string') return reply(ack, { error: 'usage: nick NAME' });
    if (!validName(name)) return reply(ack, { error: invalid(name) });
    if (reserved(name)) return reply(ack, { error: `nickname ${name} is reserved` });
    const owner = nicks.get(key(name));
    if (owner === socket && socket.data.nick === name) {
      return reply(ack, { error: `you are already ${name}` });
    }
    if (owner && owner !== socket) return reply(ack, { error: `nickname ${name} is taken` });
    const from = socket.data.nick;
    nicks.delete(key(from));
    nicks.set(key(name), socket);
    socket.data.nick = name;
    socket.to(socket.data.room).emit('renamed', { from, to: name });
    reply(ack, { ok: true });
  });

  socket.on('join', (name, ack) => {
    if (typeof name !== 'string') return reply(ack, { error: 'usage: join ROOM' });
    if (!validName(name)) return reply(ack, { error: invalid(name) });
    if (key(name) === socket.data.room) {
      return reply(ack, { error: `you are already in ${roomNames.get(socket.data.room)}` });
    }
    leaveRoom(socket);
    enterRoom(socket, name);
    reply(ack, { room: roomNames.get(socket.data.room), members: members(socket.data.room) });
  });

  socket.on('who', (ack) => reply(ack, members(socket.data.room)));

  socket.on('rooms', (ack) => {
    const rooms = io.of('/').adapter.rooms;
    reply(
      ack,
      [...roomNames].map(([room, name]) => ({ name, members: rooms.has(room) ? rooms.get(room).size : 0 })),
    );
  });

  const say = (action) => (text, ack) => {
    if (typeof text !== 'string' || text === '') return;
    if (Buffer.byteLength(text) > MAX_LINE) {
      return reply(ack, { error: `line too long (over ${MAX_LINE} bytes), not sent` });
    }
    const message = { room: roomNames.get(socket.data.room), from: socket.data.nick, text };
    if (action) message.action = true;
    socket.to(socket.data.room).emit('message', message);
  };
  socket.on('message', say(false));
  socket.on('act', say(true));

  socket.on('msg', (to, text, ack) => {
    if (typeof to !== 'string' || typeof text !== 'string' || text === '' || Buffer.byteLength(text) > MAX_LINE) {
      return reply(ack, { error: 'usage: msg NICK TEXT' });
    }
    const target = nicks.get(key(to));
    if (!target) return socket.emit('notice', { text: `no such nickname: ${to}` });
    if (target === socket) return socket.emit('notice', { text: 'that is you: /msg sends to someone else' });
    target.emit('private', { from: socket.data.nick, text });
  });

  socket.on('message-with-ack', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });

  socket.on('disconnecting', () => leaveRoom(socket));
  socket.on('disconnect', () => nicks.delete(key(socket.data.nick)));
});

httpServer.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`listening socketio/tcp 127.0.0.1:${httpServer.address().port}\n`);
});
