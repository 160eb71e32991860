#!/usr/bin/env node
// WebSocket scenario with the Node `ws` package (version pinned in
// package.json / package-lock.json).
//
// One process runs an HTTP/WebSocket server on 127.0.0.1:PORT and [::1]:PORT
// and three client connections, one after the other:
//
//   conn 1  ws://127.0.0.1:PORT/plain        no permessage-deflate; client closes
//   conn 2  ws://[::1]:PORT/deflate          perMessageDeflate {threshold: 0}
//                                            (every data message compressed);
//                                            server closes
//   conn 3  ws://127.0.0.1:PORT/deflate-nct  perMessageDeflate {threshold: 0,
//                                            serverNoContextTakeover: true,
//                                            clientNoContextTakeover: true};
//                                            client closes
//
// All closes use code 4000 with a UTF-8 reason.  Both ends send text
// (Korean / emoji), binary, payload sizes 0..65536 (and 200000 on conn 2),
// pings, unsolicited pongs and fragmented messages (ws send(data, {fin:false})
// ... {fin:true}) with a ping written between two fragments; one fragmented
// text message is split in the middle of a multi-byte UTF-8 character.
//
// Ground truth, logged from inside the endpoints (see samples/README.md):
// * raw TCP bytes: Node's http server reads net.Sockets in C++, so each TCP
//   socket (accepted by net.createServer, or created by the client's
//   createConnection option) is wrapped in a stream.Duplex that records every
//   chunk read from and written to the real socket.  The server injects the
//   wrapper with httpServer.emit('connection', duplex).
// * messages: each WebSocket's Sender methods (send / ping / pong / close)
//   are wrapped, so every frame the library writes is logged, including the
//   automatic pong replies and the close echo; fragmented sends are logged
//   as one message when the fin fragment is sent.  Received messages come
//   from the 'message', 'ping', 'pong' and 'close' events.
//
// Usage: node ws_node.js --port 9701 --log F.jsonl [--streams DIR]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const WebSocket = require('ws');

// ------------------------------------------------------------------ args
const args = { port: 9701, log: null, streams: null };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  args[k] = k === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!args.log) {
  console.error('usage: node ws_node.js --port 9701 --log F.jsonl [--streams DIR]');
  process.exit(2);
}

// ------------------------------------------------------- deterministic rng
class Rng {
  constructor(seed) { this.seed = seed; this.ctr = 0; this.buf = Buffer.alloc(0); }
  bytes(n) {
    while (this.buf.length < n) {
      const h = crypto.createHash('sha256').update(`${this.seed}/${this.ctr++}`).digest();
      this.buf = Buffer.concat([this.buf, h]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }
  int(n) { return this.bytes(4).readUInt32BE(0) % n; }
}

const MIXED = ['a', 'Z', '7', ' ', 'é', 'ß', '한', '국', '어', '안', '녕', '😀', '🎉', '🌍', '✅'];
function textBytes(n, rng) { // random mixed text of exactly n UTF-8 bytes
  let s = ''; let left = n;
  while (left > 0) {
    let c = MIXED[rng.int(MIXED.length)];
    if (Buffer.byteLength(c) > left) c = 'x';
    s += c; left -= Buffer.byteLength(c);
  }
  if (Buffer.byteLength(s) !== n) throw new Error('textBytes');
  return s;
}
function textCompressible(n) {
  const unit = '노드 웹소켓 압축 테스트 🎉 compressible, 반복. ';
  let s = '';
  while (Buffer.byteLength(s) + Buffer.byteLength(unit) <= n) s += unit;
  s += 'x'.repeat(n - Buffer.byteLength(s));
  return s;
}

// Each script is a list of actions; the last one is always a data message.
//   ['send', data]                    string => text, Buffer => binary
//   ['ping', Buffer]                  ping and wait for the matching pong
//   ['pong', Buffer]                  unsolicited pong
//   ['frag', [parts], binary, ping]   fragmented message, ping after part 1
function makeScripts() {
  const r = new Rng('ws-node');
  const greet = Buffer.from('안녕하세요 🌍 조각난 텍스트 (split inside a character)');
  const plainClient = [
    ...[0, 1, 125, 126, 127].map((n) => ['send', textBytes(n, r)]),
    ...[0, 1, 125, 126, 127, 65535, 65536].map((n) => ['send', r.bytes(n)]),
    ['ping', Buffer.from('node ping 핑 🏓')],
    // fragment boundaries at byte 2 and 7 fall inside 3-byte characters
    ['frag', [greet.subarray(0, 2), greet.subarray(2, 7), greet.subarray(7)], false,
      Buffer.from('ping between fragments')],
    ['frag', [r.bytes(100), Buffer.alloc(0), r.bytes(300)], true, null],
    ['pong', Buffer.from('unsolicited pong 퐁')],
    ['send', 'client done ✅'],
  ];
  const plainServer = [
    ['send', '서버 인사 😀 hello from node'],
    ...[0, 1, 125, 126, 127, 300].map((n) => ['send', textBytes(n, r)]),
    ...[0, 126, 65536].map((n) => ['send', r.bytes(n)]),
    ['frag', [r.bytes(20), r.bytes(130)], true, Buffer.from('server ping mid-fragment')],
    ['ping', Buffer.alloc(0)],
    ['send', 'server done ✅'],
  ];
  const deflateClient = [
    ...[0, 1, 125, 126, 127, 200000].map((n) => ['send', textCompressible(n)]),
    ['send', Buffer.alloc(0)], ['send', r.bytes(1)], ['send', r.bytes(1000)],
    ['send', textBytes(700, r)],
    ['ping', Buffer.from('deflate ping')],
    ['frag', [Buffer.from('압축된 '), Buffer.from('조각 메시지 '), Buffer.from('🎉 끝')], false,
      Buffer.from('ping inside compressed fragmented message')],
    ['send', 'client done ✅'],
  ];
  const deflateServer = [
    ...[1, 126, 65536].map((n) => ['send', textCompressible(n)]),
    ['send', r.bytes(2000)],
    ['pong', Buffer.from('서버 unsolicited pong')],
    ['frag', [Buffer.from(textCompressible(3000)), r.bytes(40)], true, Buffer.from('srv frag ping')],
    ['send', 'server done ✅'],
  ];
  const nctText = textCompressible(3000);
  const nctClient = [
    ['send', nctText], ['send', nctText], ['send', nctText],
    ['send', Buffer.from(textCompressible(5000))],
    ['frag', [Buffer.from(nctText), Buffer.from(nctText)], false, Buffer.from('nct ping')],
    ['send', 'client done ✅'],
  ];
  const nctServer = [
    ['send', nctText], ['send', nctText],
    ['send', r.bytes(64)],
    ['ping', Buffer.from('server nct ping')],
    ['send', 'server done ✅'],
  ];
  return {
    '/plain': { client: plainClient, server: plainServer, closer: 'client',
      reason: '클라이언트 종료 🚪 bye' },
    '/deflate': { client: deflateClient, server: deflateServer, closer: 'server',
      reason: '서버가 닫습니다 ✨' },
    '/deflate-nct': { client: nctClient, server: nctServer, closer: 'client',
      reason: '컨텍스트 없음 👋' },
  };
}
const SCRIPTS = makeScripts();
const nData = (s) => s.filter((a) => a[0] === 'send' || a[0] === 'frag').length;

const DEFLATE = {
  '/plain': false,
  '/deflate': { threshold: 0 },
  '/deflate-nct': { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
};

// ------------------------------------------------------------ recording
const sockets = []; // all LoggedSockets: {side, key, sent[], received[]}
const events = []; // [keyString, object] in observation order
const seqs = new Map();
const appLog = new Map();
const errors = [];

function dirOf(side, role) {
  if (role === 'sent') return side === 'client' ? 'c2s' : 's2c';
  return side === 'client' ? 's2c' : 'c2s';
}
function logMsg(key, side, role, opcode, payload, close) {
  const sk = `${key}|${side}|${role}`;
  const seq = (seqs.get(sk) || 0) + 1;
  seqs.set(sk, seq);
  const o = { kind: 'msg', side, role, dir: dirOf(side, role), seq, opcode,
    len: payload.length, b64: payload.toString('base64') };
  if (close) { o.close_code = close.code; o.close_reason = close.reason; }
  events.push([key, o]);
}
function closePayload(code, reason) {
  if (code === undefined || code === 1005) return Buffer.alloc(0);
  const r = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

class LoggedSocket extends Duplex {
  constructor(sock, side) {
    super({ allowHalfOpen: true });
    this._sock = sock;
    this.side = side;
    this.sent = [];
    this.received = [];
    this.key = null;
    sockets.push(this);
    const setKey = () => {
      this.key = side === 'client'
        ? `${sock.localAddress}|${sock.localPort}` : `${sock.remoteAddress}|${sock.remotePort}`;
      this.local = { ip: sock.localAddress, port: sock.localPort };
      this.remote = { ip: sock.remoteAddress, port: sock.remotePort };
    };
    if (sock.connecting) sock.once('connect', () => { setKey(); this.emit('connect'); });
    else setKey();
    sock.on('data', (d) => {
      this.received.push(Buffer.from(d));
      if (!this.push(d)) sock.pause();
    });
    sock.on('end', () => this.push(null));
    sock.on('error', (e) => this.destroy(e));
    sock.on('close', () => { if (!this.destroyed) this.destroy(); });
    sock.on('timeout', () => this.emit('timeout'));
  }

  _read() { this._sock.resume(); }

  _write(chunk, enc, cb) {
    this.sent.push(Buffer.from(chunk));
    this._sock.write(chunk, cb);
  }

  _final(cb) { this._sock.end(() => cb()); }

  _destroy(err, cb) {
    if (!this._sock.destroyed) this._sock.destroy();
    cb(err);
  }

  // net.Socket API surface used by http / ws
  setTimeout(ms, cb) { this._sock.setTimeout(ms); if (cb) this.once('timeout', cb); return this; }
  setNoDelay(v) { this._sock.setNoDelay(v); return this; }
  setKeepAlive(e, d) { this._sock.setKeepAlive(e, d); return this; }
  ref() { this._sock.ref(); return this; }
  unref() { this._sock.unref(); return this; }
  address() { return this._sock.address(); }
  get connecting() { return this._sock.connecting; }
  get remoteAddress() { return this._sock.remoteAddress; }
  get remotePort() { return this._sock.remotePort; }
  get remoteFamily() { return this._sock.remoteFamily; }
  get localAddress() { return this._sock.localAddress; }
  get localPort() { return this._sock.localPort; }
  get bytesWritten() { return this._sock.bytesWritten; }
  get bytesRead() { return this._sock.bytesRead; }
}

// Wrap the library's frame writer so every frame it sends is logged.
function hookSender(ws, side) {
  const sender = ws._sender;
  const key = () => ws._socket.key;
  let cur = null; // fragmented message being sent
  const origSend = sender.send.bind(sender);
  sender.send = (data, options, cb) => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (cur === null) cur = { opcode: options.binary ? 'binary' : 'text', parts: [] };
    cur.parts.push(buf);
    if (options.fin) {
      logMsg(key(), side, 'sent', cur.opcode, Buffer.concat(cur.parts));
      cur = null;
    }
    return origSend(data, options, cb);
  };
  for (const op of ['ping', 'pong']) {
    const orig = sender[op].bind(sender);
    sender[op] = (data, mask, cb) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      logMsg(key(), side, 'sent', op, buf);
      return orig(data, mask, cb);
    };
  }
  const origClose = sender.close.bind(sender);
  sender.close = (code, data, mask, cb) => {
    const p = closePayload(code, data);
    logMsg(key(), side, 'sent', 'close', p,
      code === undefined ? null : { code, reason: p.subarray(2).toString('utf8') });
    return origClose(code, data, mask, cb);
  };
}

function app(key, side, role) {
  const k = `${key}|${side}|${role}`;
  if (!appLog.has(k)) appLog.set(k, []);
  return appLog.get(k);
}

// Runs one endpoint: receive everything, play the script, close if we are
// the closer.  Resolves when the WebSocket is closed.  For the client this is
// called right after `new WebSocket()`, before 'open': frames that arrive in
// the same TCP segment as the 101 response are emitted before a promise
// continuation after 'open' could attach listeners.
function runEndpoint(ws, side, route) {
  const opened = ws.readyState === WebSocket.OPEN ? Promise.resolve()
    : new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  if (ws.readyState === WebSocket.OPEN) hookSender(ws, side);
  else ws.once('open', () => hookSender(ws, side));
  const sc = SCRIPTS[route];
  const mine = sc[side];
  const theirs = sc[side === 'client' ? 'server' : 'client'];
  const expected = nData(theirs);
  let got = 0;
  let gotAll;
  const gotAllP = new Promise((r) => { gotAll = r; });
  const pongWaiters = [];
  const closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      if (code !== 1006) {
        const p = closePayload(code, reason);
        logMsg(ws._socket.key, side, 'received', 'close', p,
          code === 1005 ? null : { code, reason: reason.toString('utf8') });
      }
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.from(data);
    logMsg(ws._socket.key, side, 'received', isBinary ? 'binary' : 'text', buf);
    app(ws._socket.key, side, 'received').push([isBinary ? 'binary' : 'text', buf]);
    got += 1;
    if (got === expected) gotAll();
  });
  ws.on('ping', (data) => logMsg(ws._socket.key, side, 'received', 'ping', Buffer.from(data)));
  ws.on('pong', (data) => {
    logMsg(ws._socket.key, side, 'received', 'pong', Buffer.from(data));
    const i = pongWaiters.findIndex((w) => w.data.equals(data));
    if (i >= 0) pongWaiters.splice(i, 1)[0].resolve();
  });
  ws.on('error', (e) => errors.push(`${side} ${route}: ${e.message}`));
  const pingAndWait = (data) => new Promise((resolve) => {
    pongWaiters.push({ data, resolve });
    ws.ping(data);
  });
  const tick = () => new Promise((r) => setImmediate(r));

  const play = async () => {
    await opened;
    const key = ws._socket.key;
    for (const act of mine) {
      if (act[0] === 'send') {
        ws.send(act[1]);
        app(key, side, 'sent').push([typeof act[1] === 'string' ? 'text' : 'binary',
          Buffer.from(act[1])]);
        await tick();
      } else if (act[0] === 'ping') {
        await pingAndWait(act[1]);
      } else if (act[0] === 'pong') {
        ws.pong(act[1]);
      } else if (act[0] === 'frag') {
        const [, parts, binary, ping] = act;
        let pingDone = null;
        for (let i = 0; i < parts.length; i++) {
          ws.send(parts[i], { binary, fin: i === parts.length - 1 });
          await tick();
          if (i === 0 && ping) pingDone = pingAndWait(ping);
        }
        if (pingDone) await pingDone;
        app(key, side, 'sent').push([binary ? 'binary' : 'text', Buffer.concat(parts)]);
      }
    }
    if (sc.closer === side) {
      await gotAllP;
      ws.close(4000, sc.reason);
    }
  };
  return Promise.all([play(), closed]).then(([, c]) => {
    if (got !== expected) errors.push(`${side} ${route}: got ${got} messages, expected ${expected}`);
    return c;
  });
}

// --------------------------------------------------------------- server
const wssByRoute = {};
for (const route of Object.keys(SCRIPTS)) {
  wssByRoute[route] = new WebSocket.Server({ noServer: true, perMessageDeflate: DEFLATE[route],
    maxPayload: 1 << 21 });
}
const serverDone = [];
const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
httpServer.on('upgrade', (req, socket, head) => {
  const route = new URL(req.url, 'http://x').pathname;
  const wss = wssByRoute[route];
  if (!wss) { socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    serverDone.push(runEndpoint(ws, 'server', route));
  });
});
const listeners = ['127.0.0.1', '::1'].map((host) => {
  const srv = net.createServer({ allowHalfOpen: true }, (sock) => {
    httpServer.emit('connection', new LoggedSocket(sock, 'server'));
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(args.port, host, () => resolve(srv));
  });
});

// --------------------------------------------------------------- client
async function runClient(url, route) {
  let wrapped = null;
  const ws = new WebSocket(url, {
    perMessageDeflate: DEFLATE[route],
    maxPayload: 1 << 21,
    createConnection: (opts) => {
      const sock = net.connect({ host: opts.host, port: opts.port, allowHalfOpen: true });
      wrapped = new LoggedSocket(sock, 'client');
      return wrapped;
    },
  });
  let ext = null;
  ws.once('open', () => { ext = ws.extensions; });
  const c = await runEndpoint(ws, 'client', route);
  console.error(`${route}: extensions "${ext}", close ${c.code} "${c.reason}"`);
  return wrapped;
}

function sha256(b) { return crypto.createHash('sha256').update(b).digest('hex'); }

async function main() {
  const servers = await Promise.all(listeners);
  const order = [];
  order.push(await runClient(`ws://127.0.0.1:${args.port}/plain`, '/plain'));
  order.push(await runClient(`ws://[::1]:${args.port}/deflate`, '/deflate'));
  order.push(await runClient(`ws://127.0.0.1:${args.port}/deflate-nct`, '/deflate-nct'));
  await Promise.all(serverDone);
  await new Promise((r) => setTimeout(r, 200));
  for (const s of servers) s.close();

  const byKey = new Map();
  for (const s of sockets) byKey.set(`${s.key}|${s.side}`, s);
  const lines = [];
  const w = (o) => lines.push(JSON.stringify(o));
  order.forEach((c, i) => w({ kind: 'conn', conn: i + 1, client: c.local, server: c.remote }));
  if (args.streams) fs.mkdirSync(args.streams, { recursive: true });
  order.forEach((c, i) => {
    const k = i + 1;
    const srv = byKey.get(`${c.key}|server`);
    if (!srv) { errors.push(`conn ${k}: no server socket`); return; }
    const raw = {
      client: { sent: Buffer.concat(c.sent), received: Buffer.concat(c.received) },
      server: { sent: Buffer.concat(srv.sent), received: Buffer.concat(srv.received) },
    };
    for (const side of ['client', 'server']) {
      for (const role of ['sent', 'received']) {
        const b = raw[side][role];
        w({ kind: 'tcp', conn: k, side, role, dir: dirOf(side, role), len: b.length,
          sha256: sha256(b) });
      }
    }
    for (const [d, snd, rcv] of [['c2s', 'client', 'server'], ['s2c', 'server', 'client']]) {
      const a = raw[snd].sent; const b = raw[rcv].received;
      const same = a.equals(b);
      console.error(`conn ${k} ${d}: ${a.length} bytes sent, ${b.length} received: ${same ? 'ok' : 'DIFFERS'}`);
      if (!same) errors.push(`conn ${k} ${d}: raw bytes differ`);
      if (args.streams) fs.writeFileSync(path.join(args.streams, `${k}.${d}`), a);
    }
    const ev = { };
    for (const [key, o] of events) {
      if (key !== c.key) continue;
      w(Object.assign({ kind: 'msg', conn: k }, o));
      (ev[`${o.side}|${o.role}`] = ev[`${o.side}|${o.role}`] || []).push(o);
    }
    // consistency: sender's and receiver's logs agree; frame-level == app-level
    for (const [snd, rcv] of [['client', 'server'], ['server', 'client']]) {
      const a = (ev[`${snd}|sent`] || []).map((o) => `${o.opcode}:${o.b64}`).join(',');
      const b = (ev[`${rcv}|received`] || []).map((o) => `${o.opcode}:${o.b64}`).join(',');
      if (a !== b) errors.push(`conn ${k}: ${snd} sent msgs != ${rcv} received msgs`);
    }
    for (const side of ['client', 'server']) {
      for (const role of ['sent', 'received']) {
        const fl = (ev[`${side}|${role}`] || []).filter((o) => o.opcode === 'text' || o.opcode === 'binary')
          .map((o) => `${o.opcode}:${o.b64}`).join(',');
        const al = app(c.key, side, role).map(([op, b]) => `${op}:${b.toString('base64')}`).join(',');
        if (fl !== al) errors.push(`conn ${k} ${side} ${role}: app-level != frame-level`);
      }
    }
    const counts = {};
    for (const [key, o] of events) {
      if (key !== c.key) continue;
      const t = `${o.side[0]}:${o.role}:${o.opcode}`;
      counts[t] = (counts[t] || 0) + 1;
    }
    console.error(`conn ${k}: ${JSON.stringify(counts)}`);
  });
  fs.writeFileSync(args.log, lines.join('\n') + '\n');
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exitCode = errors.length ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
