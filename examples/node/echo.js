// Comparison server: TCP echo written the ordinary Node way (socket.pipe(socket)). No
// dependencies. Port 0 (the default) lets the OS pick.
//
//   node examples/node/echo.js 9001
//
// Prints `listening echo/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
'use strict';
const net = require('net');

const PORT = Number(process.argv[2] || 0);

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {}); // a reset or broken pipe ends this connection only
  socket.pipe(socket);
});

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`listening echo/tcp 127.0.0.1:${server.address().port}\n`);
});
