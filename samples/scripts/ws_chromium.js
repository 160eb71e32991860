#!/usr/bin/env node
// WebSocket scenario with headless Chromium as the client and a Node `ws`
// server (ws version pinned in package.json / package-lock.json).
//
// The process runs two listeners:
//   * 127.0.0.1:PORT      the WebSocket server (this is what is captured);
//                          perMessageDeflate is enabled (ws defaults: context
//                          takeover both ways, threshold 1024), so Chromium
//                          negotiates permessage-deflate as browsers do.
//   * 127.0.0.1:PAGE_PORT a plain HTTP server (NOT captured) that serves the
//                          test page and receives the page's own log (POST
//                          /log).  Keeping it on another port keeps the page
//                          load, favicon request and log upload out of the
//                          capture, so the capture holds exactly one TCP
//                          connection: the WebSocket.
// It then starts Debian's /usr/bin/chromium headless on the page URL.  The
// page's JS opens ws://127.0.0.1:PORT/chromium, sends text (empty, ASCII,
// Korean, emoji, a 102400-byte mixed string) and binary ArrayBuffers (0, 1,
// 125, 126, 127, 3000, 65536 bytes), receives 13 server messages of various
// sizes, echoes 7 of them back, and when it has sent and received everything
// closes with 4001 and a UTF-8 reason.  The server echoes the close (ws does
// that itself) and ends the TCP connection.  The page then POSTs its log and
// the server kills Chromium.
//
// Ground truth (see samples/README.md):
// * side "server": raw TCP bytes both ways (every TCP socket accepted on PORT
//   is wrapped in a logging stream.Duplex, as in ws_node.js) and every
//   message / control frame the server sent (ws's Sender methods are wrapped)
//   and received ('message', 'ping', 'pong', 'close' events).
// * side "client": what the page itself saw through the browser WebSocket
//   API: every send() call (in call order), every 'message' event, the
//   close() it requested, and the close code/reason of the CloseEvent.  A
//   browser cannot see raw bytes, pings or pongs, so there are no client-side
//   "tcp" lines; no pings or pongs are sent in this scenario (the server
//   log would show any that Chromium sent on its own; the run fails then).
// The script checks that client sent == server received and server sent ==
// client received, message by message.
//
// Usage: node ws_chromium.js --port 9711 --page-port 9712 --log F.jsonl
//        [--chromium /usr/bin/chromium]
'use strict';

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { Duplex } = require('stream');
const WebSocket = require('ws');

// ------------------------------------------------------------------ args
const args = { port: 9711, 'page-port': 9712, log: null, chromium: '/usr/bin/chromium' };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  args[k] = process.argv[i + 1];
}
args.port = Number(args.port);
args['page-port'] = Number(args['page-port']);
if (!args.log) {
  console.error('usage: node ws_chromium.js --port 9711 --page-port 9712 --log F.jsonl [--chromium PATH]');
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
  const out = []; let left = n;
  while (left > 0) {
    let c = MIXED[rng.int(MIXED.length)];
    if (Buffer.byteLength(c) > left) c = 'x';
    out.push(c); left -= Buffer.byteLength(c);
  }
  const s = out.join('');
  if (Buffer.byteLength(s) !== n) throw new Error('textBytes');
  return s;
}
function textCompressible(n) {
  const unit = '크로미움 웹소켓 압축 🎉 browser compressible text, 반복. ';
  let s = '';
  while (Buffer.byteLength(s) + Buffer.byteLength(unit) <= n) s += unit;
  s += 'x'.repeat(n - Buffer.byteLength(s));
  return s;
}
function binCompressible(n) {
  const unit = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.alloc(64)]);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += unit.length) unit.copy(b, i, 0, Math.min(unit.length, n - i));
  return b;
}

// The page's messages and the server's messages.  [opcode, Buffer]
function makePlan() {
  const r = new Rng('ws-chromium');
  const T = (s) => ['text', Buffer.from(s, 'utf8')];
  const B = (b) => ['binary', b];
  const client = [
    T(''),
    T('hello from headless chromium (plain ASCII)'),
    T('안녕하세요, 크로미움 웹소켓 클라이언트입니다'),
    T('emoji 🎉😀🌍✅🚀👋🏽 끝'),
    B(Buffer.alloc(0)),
    B(r.bytes(1)),
    B(r.bytes(125)),
    B(r.bytes(126)),
    B(r.bytes(127)),
    B(binCompressible(3000)),
    B(r.bytes(65536)),
    T(textBytes(102400, r)),
    T('client done ✅'),
  ];
  const server = [
    T('서버 인사 😀 hello from node ws'),
    T(''),
    T(textBytes(125, r)),
    T(textBytes(126, r)),
    T(textBytes(127, r)),
    B(Buffer.alloc(0)),
    B(r.bytes(126)),
    B(r.bytes(1000)),
    T(textCompressible(5000)),
    B(r.bytes(65535)),
    T(textCompressible(40000)),
    B(binCompressible(20000)),
    T('server done ✅'),
  ];
  // 1-based indices of received server messages the page echoes back
  const echo = [1, 2, 3, 6, 7, 9, 12];
  return { client, server, echo, closeCode: 4001, closeReason: '브라우저가 닫습니다 👋 bye' };
}
const PLAN = makePlan();

// ------------------------------------------------------------ recording
const events = []; // msg objects in observation order (server side)
const seqs = new Map();
const errors = [];
const dirOf = (side, role) => ((role === 'sent') === (side === 'client') ? 'c2s' : 's2c');

function msgObj(side, role, seq, opcode, payload, close) {
  const o = { kind: 'msg', side, role, dir: dirOf(side, role), seq, opcode,
    len: payload.length, b64: payload.toString('base64') };
  if (close) { o.close_code = close.code; o.close_reason = close.reason; }
  return o;
}
function logMsg(side, role, opcode, payload, close) {
  const sk = `${side}|${role}`;
  const seq = (seqs.get(sk) || 0) + 1;
  seqs.set(sk, seq);
  events.push(msgObj(side, role, seq, opcode, payload, close));
}
function closePayload(code, reason) {
  if (code === undefined || code === 1005) return Buffer.alloc(0);
  const r = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// Same wrapper as ws_node.js: records every chunk read from / written to
// the real socket.
const sockets = [];
class LoggedSocket extends Duplex {
  constructor(sock) {
    super({ allowHalfOpen: true });
    this._sock = sock;
    this.sent = [];
    this.received = [];
    this.local = { ip: sock.localAddress, port: sock.localPort };
    this.remote = { ip: sock.remoteAddress, port: sock.remotePort };
    this.closedP = new Promise((r) => sock.once('close', r));
    sockets.push(this);
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

// Same Sender hook as ws_node.js: logs every frame ws writes.
function hookSender(ws, side) {
  const sender = ws._sender;
  let cur = null;
  const origSend = sender.send.bind(sender);
  sender.send = (data, options, cb) => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (cur === null) cur = { opcode: options.binary ? 'binary' : 'text', parts: [] };
    cur.parts.push(buf);
    if (options.fin) {
      logMsg(side, 'sent', cur.opcode, Buffer.concat(cur.parts));
      cur = null;
    }
    return origSend(data, options, cb);
  };
  for (const op of ['ping', 'pong']) {
    const orig = sender[op].bind(sender);
    sender[op] = (data, mask, cb) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      logMsg(side, 'sent', op, buf);
      return orig(data, mask, cb);
    };
  }
  const origClose = sender.close.bind(sender);
  sender.close = (code, data, mask, cb) => {
    const p = closePayload(code, data);
    logMsg(side, 'sent', 'close', p,
      code === undefined ? null : { code, reason: p.subarray(2).toString('utf8') });
    return origClose(code, data, mask, cb);
  };
}

// ------------------------------------------------------------- the page
function pageHtml() {
  const enc = (l) => l.map(([op, b]) => [op, b.toString('base64')]);
  const plan = {
    url: `ws://127.0.0.1:${args.port}/chromium`,
    client: enc(PLAN.client),
    nServer: PLAN.server.length,
    echo: PLAN.echo,
    closeCode: PLAN.closeCode,
    closeReason: PLAN.closeReason,
  };
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>wscope chromium sample</title></head>
<body><pre id="status">running</pre>
<script>
'use strict';
const PLAN = ${JSON.stringify(plan)};
const log = [];       // what this page saw, in order
const notes = [];
function b64ToBytes(s) {
  const bin = atob(s); const u = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
  return u;
}
function bytesToB64(u) {
  let s = '';
  for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode.apply(null, u.subarray(i, i + 8192));
  return btoa(s);
}
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });
function entry(role, data) {
  if (typeof data === 'string') return { role, opcode: 'text', b64: bytesToB64(te.encode(data)) };
  return { role, opcode: 'binary', b64: bytesToB64(new Uint8Array(data)) };
}
function closeEntry(role, code, reason) {
  const r = te.encode(reason); const u = new Uint8Array(2 + r.length);
  u[0] = code >> 8; u[1] = code & 255; u.set(r, 2);
  return { role, opcode: 'close', b64: bytesToB64(u), close_code: code, close_reason: reason };
}
let posted = false;
function post(final) {
  if (posted) return; posted = true;
  document.getElementById('status').textContent = 'posting';
  fetch('/log', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ log, notes, final }) })
    .then(() => { document.getElementById('status').textContent = 'done'; });
}
const ws = new WebSocket(PLAN.url);
ws.binaryType = 'arraybuffer';
let received = 0, sentAll = false, closing = false;
function send(data) { log.push(entry('sent', data)); ws.send(data); }
function maybeClose() {
  if (closing || !sentAll || received !== PLAN.nServer) return;
  closing = true;
  log.push(closeEntry('sent', PLAN.closeCode, PLAN.closeReason));
  ws.close(PLAN.closeCode, PLAN.closeReason);
}
ws.onopen = async () => {
  notes.push({ open: true, extensions: ws.extensions, protocol: ws.protocol });
  for (const [op, b64] of PLAN.client) {
    const u = b64ToBytes(b64);
    send(op === 'text' ? td.decode(u) : u.buffer);
    await new Promise((r) => setTimeout(r, 3));
  }
  sentAll = true;
  maybeClose();
};
ws.onmessage = (e) => {
  log.push(entry('received', e.data));
  received += 1;
  if (PLAN.echo.includes(received)) send(e.data);
  maybeClose();
};
ws.onerror = () => notes.push({ error: true });
ws.onclose = (e) => {
  notes.push({ close: true, wasClean: e.wasClean, code: e.code, reason: e.reason });
  if (e.wasClean && e.code !== 1005) log.push(closeEntry('received', e.code, e.reason));
  post(true);
};
setTimeout(() => post(false), 60000);
</script></body></html>
`;
}

// ----------------------------------------------------------------- main
function sha256(b) { return crypto.createHash('sha256').update(b).digest('hex'); }

async function main() {
  let pageLog; const pageLogP = new Promise((r) => { pageLog = r; });
  let wsDone; const wsDoneP = new Promise((r) => { wsDone = r; });
  const serverApp = { sent: [], received: [] };
  let wsSock = null;

  // WebSocket server (captured port)
  const wss = new WebSocket.Server({ noServer: true, perMessageDeflate: { threshold: 1024 },
    maxPayload: 1 << 21 });
  const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  httpServer.on('upgrade', (req, socket, head) => {
    if (req.url !== '/chromium' || wsSock !== null) {
      errors.push(`unexpected upgrade ${req.url}`);
      socket.destroy();
      return;
    }
    wsSock = socket;
    wss.handleUpgrade(req, socket, head, (ws) => {
      console.error(`ws: User-Agent "${req.headers['user-agent']}"`);
      console.error(`ws: offered "${req.headers['sec-websocket-extensions']}", negotiated "${ws.extensions}"`);
      hookSender(ws, 'server');
      let got = 0;
      const expected = PLAN.client.length + PLAN.echo.length;
      ws.on('message', (data, isBinary) => {
        const buf = Buffer.from(data);
        logMsg('server', 'received', isBinary ? 'binary' : 'text', buf);
        serverApp.received.push([isBinary ? 'binary' : 'text', buf]);
        got += 1;
      });
      ws.on('ping', (d) => logMsg('server', 'received', 'ping', Buffer.from(d)));
      ws.on('pong', (d) => logMsg('server', 'received', 'pong', Buffer.from(d)));
      ws.on('error', (e) => errors.push(`server ws: ${e.message}`));
      ws.on('close', (code, reason) => {
        if (code !== 1006) {
          logMsg('server', 'received', 'close', closePayload(code, reason),
            code === 1005 ? null : { code, reason: reason.toString('utf8') });
        }
        if (got !== expected) errors.push(`server got ${got} messages, expected ${expected}`);
        console.error(`ws: close ${code} "${reason.toString('utf8')}", ${got} messages received`);
        wsDone();
      });
      // Play the server's messages with small gaps so they interleave with
      // the page's.
      (async () => {
        for (const [op, b] of PLAN.server) {
          if (ws.readyState !== WebSocket.OPEN) { errors.push('server: closed early'); return; }
          ws.send(op === 'text' ? b.toString('utf8') : b, { binary: op === 'binary' });
          serverApp.sent.push([op, b]);
          await new Promise((r) => setTimeout(r, 4));
        }
      })();
    });
  });
  const wsListener = net.createServer({ allowHalfOpen: true }, (sock) => {
    httpServer.emit('connection', new LoggedSocket(sock));
  });
  await new Promise((resolve, reject) => {
    wsListener.once('error', reject);
    wsListener.listen(args.port, '127.0.0.1', resolve);
  });

  // Page server (not captured)
  const html = pageHtml();
  const pageServer = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else if (req.method === 'POST' && req.url === '/log') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204); res.end();
        pageLog(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
    } else {
      res.writeHead(404); res.end();
    }
  });
  await new Promise((resolve, reject) => {
    pageServer.once('error', reject);
    pageServer.listen(args['page-port'], '127.0.0.1', resolve);
  });

  // Chromium
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wscope-chromium-'));
  const chromeArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-extensions', '--disable-default-apps',
    '--no-default-browser-check', '--mute-audio', `--user-data-dir=${profile}`,
    `http://127.0.0.1:${args['page-port']}/`];
  const errFile = path.join(profile, 'chromium.stderr');
  const errFd = fs.openSync(errFile, 'w');
  const chrome = spawn(args.chromium, chromeArgs, { detached: true, stdio: ['ignore', errFd, errFd] });
  const chromeExit = new Promise((r) => chrome.once('exit', r));
  console.error(`chromium pid ${chrome.pid}`);

  let timer;
  const timeout = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timeout')), 90000); });
  let page;
  try {
    [page] = await Promise.race([Promise.all([pageLogP, wsDoneP]), timeout]);
    await Promise.race([wsSock ? wsSock.closedP : Promise.resolve(), timeout]);
  } catch (e) {
    errors.push(`${e.message}: chromium stderr follows`);
    try { console.error(fs.readFileSync(errFile, 'utf8')); } catch (_) { /* ignore */ }
  }
  clearTimeout(timer);
  // Stop Chromium: its own process group (spawned detached).
  try { process.kill(-chrome.pid, 'SIGTERM'); } catch (_) { /* already gone */ }
  const killTimer = setTimeout(() => { try { process.kill(-chrome.pid, 'SIGKILL'); } catch (_) { /* gone */ } }, 5000);
  await chromeExit;
  clearTimeout(killTimer);
  fs.rmSync(profile, { recursive: true, force: true });
  wsListener.close(); pageServer.close();
  await new Promise((r) => setTimeout(r, 100));

  if (!page || !wsSock) {
    for (const e of errors) console.error(`ERROR: ${e}`);
    process.exitCode = 1;
    return;
  }
  console.error(`page notes: ${JSON.stringify(page.notes)}`);
  if (!page.final) errors.push('page log was not final (page timed out)');
  if (sockets.length !== 1) errors.push(`${sockets.length} TCP connections on the WebSocket port, expected 1`);

  // client-side msg lines from the page's log
  const cseq = { sent: 0, received: 0 };
  const clientEvents = page.log.map((e) => {
    cseq[e.role] += 1;
    const p = Buffer.from(e.b64, 'base64');
    return msgObj('client', e.role, cseq[e.role], e.opcode, p,
      e.opcode === 'close' ? { code: e.close_code, reason: e.close_reason } : null);
  });

  const s = wsSock;
  const lines = [];
  const w = (o) => lines.push(JSON.stringify(o));
  w({ kind: 'conn', conn: 1, client: s.remote, server: s.local });
  const raw = { sent: Buffer.concat(s.sent), received: Buffer.concat(s.received) };
  for (const role of ['sent', 'received']) {
    w({ kind: 'tcp', conn: 1, side: 'server', role, dir: dirOf('server', role),
      len: raw[role].length, sha256: sha256(raw[role]) });
  }
  console.error(`conn 1: server sent ${raw.sent.length} bytes, received ${raw.received.length} bytes`);
  const all = [...events, ...clientEvents];
  for (const o of all) w(Object.assign({ kind: 'msg', conn: 1 }, o));

  // consistency: each sender's log == the receiver's log; frame level == app level
  const view = (side, role, dataOnly) => all.filter((o) => o.side === side && o.role === role
    && (!dataOnly || o.opcode === 'text' || o.opcode === 'binary'))
    .map((o) => `${o.opcode}:${o.b64}`).join(',');
  for (const [snd, rcv] of [['client', 'server'], ['server', 'client']]) {
    if (view(snd, 'sent') !== view(rcv, 'received')) errors.push(`${snd} sent msgs != ${rcv} received msgs`);
  }
  const app = (l) => l.map(([op, b]) => `${op}:${b.toString('base64')}`).join(',');
  if (view('server', 'sent', true) !== app(serverApp.sent)) errors.push('server sent: app-level != frame-level');
  if (view('server', 'received', true) !== app(serverApp.received)) errors.push('server received: app-level != frame-level');
  // the page sent exactly the plan (plus echoes of what it received)
  const planned = PLAN.client.map(([op, b]) => `${op}:${b.toString('base64')}`);
  const pageSent = all.filter((o) => o.side === 'client' && o.role === 'sent' && o.opcode !== 'close')
    .map((o) => `${o.opcode}:${o.b64}`);
  const srvSent = PLAN.server.map(([op, b]) => `${op}:${b.toString('base64')}`);
  const expectSet = [...planned, ...PLAN.echo.map((i) => srvSent[i - 1])].sort().join(',');
  if (pageSent.slice().sort().join(',') !== expectSet) errors.push('page did not send plan + echoes');
  if (/ping|pong/.test(all.map((o) => o.opcode).join(','))) errors.push('unexpected ping/pong');
  const counts = {};
  for (const o of all) { const t = `${o.side[0]}:${o.role}:${o.opcode}`; counts[t] = (counts[t] || 0) + 1; }
  console.error(`conn 1: ${JSON.stringify(counts)}`);

  fs.writeFileSync(args.log, lines.join('\n') + '\n');
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exitCode = errors.length ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
