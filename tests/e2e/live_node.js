// Live peer for tests/e2e/live.py: a Node `ws` server and client in one
// process, on 127.0.0.1:PORT, with permessage-deflate. The client sends
// text and binary messages (all over the 64-byte compression threshold),
// the server echoes each; then the client closes with 4001. Every message
// each side sent is logged to LOG as JSON lines
// {"dir":"c2s"|"s2c","hex":...}. With TLS=1 it is wss:// (CERT, KEY files);
// run node with --tls-keylog to log the secrets.
'use strict';
const fs = require('fs');
const https = require('https');
const WebSocket = require('ws');

const [port, log, tls, cert, key] = process.argv.slice(2);
const out = fs.openSync(log, 'w');
const note = (dir, buf) => fs.writeSync(out, JSON.stringify({ dir, hex: Buffer.from(buf).toString('hex') }) + '\n');
const pmd = { perMessageDeflate: { threshold: 64 } };

let server, wss;
if (tls === '1') {
  server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
  wss = new WebSocket.Server({ server, ...pmd });
  server.listen(+port, '127.0.0.1', start);
} else {
  wss = new WebSocket.Server({ host: '127.0.0.1', port: +port, ...pmd }, start);
}

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
    note('s2c', data);
  });
});

function start() {
  const url = (tls === '1' ? 'wss' : 'ws') + '://127.0.0.1:' + port + '/node-live';
  const c = new WebSocket(url, { rejectUnauthorized: false, ...pmd });
  const msgs = [];
  for (let i = 0; i < 10; i++) {
    if (i % 3 === 2)
      msgs.push(Buffer.alloc(100 + i * 3000, i));
    else
      msgs.push(Buffer.from('node live ' + i + ' ' + 'é✓'.repeat(i * 40)));
  }
  let got = 0;
  c.on('open', () => {
    msgs.forEach((m, i) => {
      c.send(i % 3 === 2 ? m : m.toString(), { binary: i % 3 === 2 });
      note('c2s', m);
    });
  });
  c.on('message', () => {
    if (++got === msgs.length) {
      c.close(4001, 'node done');
    }
  });
  c.on('close', () => {
    wss.close();
    if (server) server.close();
    setTimeout(() => process.exit(0), 100);
  });
}
