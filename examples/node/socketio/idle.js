// Comparison server for idle memory: Node's socket.io 4.8 accepting clients on namespace `/`
// with default settings (ping 25 s / 20 s) and sending them nothing, so
// `threadsock bench sio-idle` measures what a held connection costs and nothing else.
//
//   (cd examples/node/socketio && npm ci)
//   node examples/node/socketio/idle.js 9003     # port 0 (the default) lets the OS pick
//
// Prints `listening socketio/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const PORT = Number(process.argv[2] || 0);
const httpServer = http.createServer();
const io = new Server(httpServer);
io.on('connection', () => {});

httpServer.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`listening socketio/tcp 127.0.0.1:${httpServer.address().port}\n`);
});
