// Comparison server: a line-correct Node chat. Each socket keeps the unfinished tail of what it
// sent; every chunk's complete lines go to every other client as '-> ' + line, all of a chunk's
// lines joined into ONE write() per client. Otherwise as the seed's chat.js: an array of
// sockets, a client removed on end or error. No dependencies. Port 0 (the default) lets the OS
// pick.
//
//   node examples/node/chat_lines.js 9002
//
// Prints `listening chat/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
'use strict';
const net = require('net');

const PORT = Number(process.argv[2] || 0);

const clients = [];

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.setEncoding('utf8');
  clients.push(socket);

  let pending = '';
  socket.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop(); // the unfinished tail, if any
    if (lines.length === 0) return;
    const out = '-> ' + lines.join('\n-> ') + '\n';
    for (const client of clients) {
      if (client !== socket) client.write(out);
    }
  });

  const remove = () => {
    const i = clients.indexOf(socket);
    if (i !== -1) clients.splice(i, 1);
  };
  socket.on('end', remove);
  socket.on('close', remove);
  socket.on('error', remove); // a reset or broken pipe ends this client only
});

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`listening chat/tcp 127.0.0.1:${server.address().port}\n`);
});
