// Comparison server: the course notes' chat (seed 002, "81-chat"), as the notes write it: every
// chunk a client sends is forwarded once to every other client as '-> ' + chunk. A chunk that
// holds several lines therefore reaches the others with the prefix on its first line only;
// that is the seed's behaviour, and the load generator counts those lines too.
//
// Changed from the notes only where a benchmark needs it: port 0 by default and the
// `listening` line (so the harness finds the port), binding to 127.0.0.1, and an 'error'
// handler (without one, the first client reset would crash the whole process).
//
//   node examples/node/chat.js 9002
'use strict';
const net = require('net');

let port = (process.argv[2] || 0);
let clients = []; // Array of connected clients

let server = net.createServer((socket) => {
  clients.push(socket); // add new client

  socket.on('end', function () { // remove client
    let i = clients.indexOf(socket);
    if (i !== -1) clients.splice(i, 1);
  });
  socket.on('error', function () { // a reset ends this client only
    let i = clients.indexOf(socket);
    if (i !== -1) clients.splice(i, 1);
  });

  // send msg to other clients
  socket.on('data', function (msg) {
    for (let i = 0; i < clients.length; i++) {
      if (clients[i] !== socket) {
        clients[i].write('-> ' + msg);
      }
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening chat/tcp 127.0.0.1:${server.address().port}\n`);
});
