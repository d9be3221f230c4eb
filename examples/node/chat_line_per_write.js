// NOT the seed's chat, and not what a Node user would write for speed: a line-correct variant
// that splits every chunk into lines and writes ONE LINE PER write() PER CLIENT. Kept only to
// show what that costs; `compare` runs chat.js (the seed's code) instead. No dependencies. Port
// 0 (the default) lets the OS pick.
//
//   node examples/node/chat_line_per_write.js 9002
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
    for (const line of lines) {
      for (const client of clients) {
        if (client !== socket) client.write('-> ' + line + '\n');
      }
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
