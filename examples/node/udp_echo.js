// Comparison server: UDP echo written the ordinary Node way: send every datagram back to
// where it came from. No dependencies. Port 0 (the default) lets the OS pick.
//
//   node examples/node/udp_echo.js 9003
//
// Prints `listening echo/udp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
'use strict';
const dgram = require('dgram');

const PORT = Number(process.argv[2] || 0);

const socket = dgram.createSocket('udp4');

socket.on('message', (msg, rinfo) => {
  socket.send(msg, rinfo.port, rinfo.address, () => {}); // a failed send drops that reply only
});

socket.on('listening', () => {
  process.stdout.write(`listening echo/udp 127.0.0.1:${socket.address().port}\n`);
});

socket.bind(PORT, '127.0.0.1');
