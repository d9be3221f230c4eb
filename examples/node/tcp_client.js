// The first seed's TCP upload client, as its readers wrote it: connect, pipe a file into the
// socket (pipe() ends the socket's writing side when the file ends), print whatever the server
// sends, and report when the connection closes. No dependencies.
//
//   node examples/node/tcp_client.js [PORT] [HOST] [FILE]
//   defaults: 8124 localhost ./client_files/client.txt
'use strict';
const net = require('net');
const fs = require('fs');

const PORT = Number(process.argv[2] || 8124);
const HOST = process.argv[3] || 'localhost';
const FILEPATH = process.argv[4] || './client_files/client.txt';

const client = new net.Socket();
client.setEncoding('utf8');

client.connect(PORT, HOST, () => {
  console.log('conectado ao servidor');
  const fileStream = fs.createReadStream(FILEPATH);
  fileStream.on('open', () => fileStream.pipe(client));
  fileStream.on('error', (err) => console.log(err));
});

client.on('data', (data) => console.log(data));
client.on('error', (err) => console.log(err.message));
client.on('close', () => console.log('conexao encerrada'));
