// The first seed's UDP drop client: read the whole file, send it as one datagram, close at
// once (it never waits for the server's answer). No dependencies.
//
//   node examples/node/udp_client.js [PORT] [HOST] [FILE]
//   defaults: 8124 127.0.0.1 ./client_files/client.txt
'use strict';
const dgram = require('dgram');
const fs = require('fs');

const PORT = Number(process.argv[2] || 8124);
const HOST = process.argv[3] || '127.0.0.1';
const FILEPATH = process.argv[4] || './client_files/client.txt';

const file = fs.readFileSync(FILEPATH);
const client = dgram.createSocket('udp4');

client.send(file, 0, file.length, PORT, HOST, (err) => {
  if (err) throw err;
  console.log('Arquivo enviado por UDP para ' + HOST + ':' + PORT);
  client.close();
});
