#!/usr/bin/env node
// WebSocket over TLS with headless Chromium as the client (the wss://
// counterpart of ws_chromium.js) and a Node `ws` server over Node TLS.
//
// The process runs two listeners:
//   * 127.0.0.1:PORT       the wss:// server (the only captured port): Node
//                          TLS (TLS 1.2-1.3, ALPN: only "http/1.1" offered)
//                          with the logging stack of wss_common.js, then a
//                          ws server with perMessageDeflate (ws defaults, as
//                          in ws_chromium.js);
//   * 127.0.0.1:PAGE_PORT  plain HTTP, NOT captured: serves the test page and
//                          receives the page's log (POST /log).
// Chromium is started headless with SSLKEYLOGFILE=<keys file> in its
// environment, --ignore-certificate-errors (throwaway self-signed cert),
// --host-resolver-rules="MAP wscope.test 127.0.0.1" (so it sends SNI
// wscope.test and connects to 127.0.0.1 only) and --log-net-log (Chromium's
// own record of the TLS handshake, for the client "tls" line).  The page
// opens wss://wscope.test:PORT/chromium, sends text (empty, ASCII, Korean,
// emoji), binary (0, 1, 126, 20000 bytes), echoes two of the server's
// messages, and closes with 4001 and a UTF-8 reason.
//
// Ground truth (see samples/README.md):
// * side "server": ciphertext TCP bytes ("tcp"), its TLS view ("tls"), the
//   decrypted bytes ("plain") and every message/control frame ("msg");
// * side "client": the page's own record of its WebSocket API calls and
//   events ("msg"; no pings/pongs are sent, the page cannot see them), and a
//   "tls" line from Chromium's NetLog (SSL_CONNECT: version, cipher suite,
//   ALPN, resumption).  No client "tcp" or "plain" lines: a page cannot see
//   its socket.
// * the key log is Chromium's SSLKEYLOGFILE output, verbatim; the Node
//   server's 'keylog' lines must be the same set.
//
// Usage: node wss_chromium.js --port 9941 --page-port 9942 --log F.jsonl
//        --keys F.keys [--chromium /usr/bin/chromium]
'use strict';

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');
const C = require('./wss_common');

const USAGE = 'usage: node wss_chromium.js --port 9941 --page-port 9942 --log F.jsonl --keys F.keys [--streams DIR] [--chromium PATH]';
const args = C.parseArgs({ port: 0, 'page-port': 0, log: undefined, keys: undefined, streams: null,
  chromium: '/usr/bin/chromium' }, USAGE);

// The page's messages and the server's messages.  [opcode, Buffer]
function makePlan() {
  const r = new C.Rng('wss-chromium');
  const T = (s) => ['text', Buffer.from(s, 'utf8')];
  const B = (b) => ['binary', b];
  return {
    client: [
      T(''),
      T('hello from headless chromium over wss:// (plain ASCII)'),
      T('안녕하세요, 크로미움 TLS 웹소켓 클라이언트입니다 🔐'),
      T('emoji 🎉😀🌍✅🚀👋🏽 끝'),
      B(Buffer.alloc(0)),
      B(r.bytes(1)),
      B(r.bytes(126)),
      B(r.bytes(20000)),
      T('client done ✅'),
    ],
    server: [
      T('서버 인사 😀 hello from node ws over TLS'),
      T(C.textBytes(125, r)),
      B(r.bytes(300)),
      T(C.textBytes(3000, r)),
      B(r.bytes(20000)),
      T('server done ✅'),
    ],
    echo: [1, 3], // 1-based indices of received server messages the page echoes
    closeCode: 4001,
    closeReason: '브라우저가 닫습니다 🔐👋 bye',
  };
}
const PLAN = makePlan();
const rec = new C.Recorder();
const certs = C.makeCerts();

// ------------------------------------------------------------- the page
function pageHtml() {
  const enc = (l) => l.map(([op, b]) => [op, b.toString('base64')]);
  const plan = { url: `wss://${C.SERVER_NAME}:${args.port}/chromium`, client: enc(PLAN.client),
    nServer: PLAN.server.length, echo: PLAN.echo, closeCode: PLAN.closeCode, closeReason: PLAN.closeReason };
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>wscope chromium wss sample</title></head>
<body><pre id="status">running</pre>
<script>
'use strict';
const PLAN = ${JSON.stringify(plan)};
const log = [];
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

// TLS 1.3 / 1.2 suite ids -> IANA names, for the NetLog's numeric suite.
const SUITES = { 0x1301: 'TLS_AES_128_GCM_SHA256', 0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256', 0xC02F: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xC030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 0xCCA8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256' };

// Chromium's view of the handshake: the SSL_CONNECT end event of the socket
// to PORT in the NetLog.
function netlogTls(file) {
  let j;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    // Chromium killed before it finished the file: close the JSON by hand
    const t = fs.readFileSync(file, 'utf8').replace(/,\s*$/, '');
    j = JSON.parse(`${t}]}`);
  }
  const types = Object.fromEntries(Object.entries(j.constants.logEventTypes).map(([k, v]) => [v, k]));
  const phases = j.constants.logEventPhase;
  const ends = j.events.filter((e) => types[e.type] === 'SSL_CONNECT' && e.phase === phases.PHASE_END && e.params);
  return ends.map((e) => e.params);
}

// ----------------------------------------------------------------- main
async function main() {
  let pageLog; const pageLogP = new Promise((r) => { pageLog = r; });
  let wsDone; const wsDoneP = new Promise((r) => { wsDone = r; });
  const serverApp = { sent: [], received: [] };
  let wsPlain = null; let raw0 = null;
  const keyOf = () => C.rawKey(raw0, 'server');

  const tlsSrv = C.makeTlsServer(rec, { key: certs.rsa.key, cert: certs.rsa.cert, ALPNProtocols: ['http/1.1'] });
  const wss = new WebSocket.Server({ noServer: true, perMessageDeflate: { threshold: 1024 }, maxPayload: 1 << 21 });
  const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  httpServer.on('upgrade', (req, socket, head) => {
    if (req.url !== '/chromium' || socket !== wsPlain) {
      rec.errors.push(`unexpected upgrade ${req.url}`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      console.error(`ws: User-Agent "${req.headers['user-agent']}"`);
      console.error(`ws: offered "${req.headers['sec-websocket-extensions']}", negotiated "${ws.extensions}"`);
      C.hookSender(rec, ws, 'server', keyOf);
      let got = 0;
      const expected = PLAN.client.length + PLAN.echo.length;
      ws.on('message', (data, isBinary) => {
        const buf = Buffer.from(data);
        rec.logMsg(keyOf(), 'server', 'received', isBinary ? 'binary' : 'text', buf);
        serverApp.received.push([isBinary ? 'binary' : 'text', buf]);
        got += 1;
      });
      ws.on('ping', (d) => rec.logMsg(keyOf(), 'server', 'received', 'ping', Buffer.from(d)));
      ws.on('pong', (d) => rec.logMsg(keyOf(), 'server', 'received', 'pong', Buffer.from(d)));
      ws.on('error', (e) => rec.errors.push(`server ws: ${e.message}`));
      ws.on('close', (code, reason) => {
        if (code !== 1006) {
          rec.logMsg(keyOf(), 'server', 'received', 'close', C.closePayload(code, reason),
            code === 1005 ? null : { code, reason: reason.toString('utf8') });
        }
        if (got !== expected) rec.errors.push(`server got ${got} messages, expected ${expected}`);
        console.error(`ws: close ${code} "${reason.toString('utf8')}", ${got} messages received`);
        wsDone();
      });
      (async () => {
        for (const [op, b] of PLAN.server) {
          if (ws.readyState !== WebSocket.OPEN) { rec.errors.push('server: closed early'); return; }
          ws.send(op === 'text' ? b.toString('utf8') : b, { binary: op === 'binary' });
          serverApp.sent.push([op, b]);
          await C.sleep(4);
        }
      })();
    });
  });
  let nConn = 0;
  const wsListener = net.createServer({ allowHalfOpen: true }, (raw) => {
    nConn += 1;
    if (raw0) { rec.errors.push('more than one TCP connection to the wss port'); raw.destroy(); return; }
    raw0 = raw;
    C.serverTls(rec, raw, tlsSrv, 'wss/chromium/server', (plain) => {
      wsPlain = plain;
      httpServer.emit('connection', plain);
    });
  });
  await new Promise((resolve, reject) => {
    wsListener.once('error', reject);
    wsListener.listen(args.port, '127.0.0.1', resolve);
  });

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
  const keyFile = path.join(profile, 'sslkeylog.txt');
  const netlog = path.join(profile, 'netlog.json');
  const chromeArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-extensions', '--disable-default-apps',
    '--no-default-browser-check', '--mute-audio', '--ignore-certificate-errors',
    `--host-resolver-rules=MAP ${C.SERVER_NAME} 127.0.0.1`, `--log-net-log=${netlog}`,
    `--user-data-dir=${profile}`, `http://127.0.0.1:${args['page-port']}/`];
  const errFile = path.join(profile, 'chromium.stderr');
  const errFd = fs.openSync(errFile, 'w');
  const env = Object.assign({}, process.env, { SSLKEYLOGFILE: keyFile });
  const chrome = spawn(args.chromium, chromeArgs, { detached: true, env, stdio: ['ignore', errFd, errFd] });
  const chromeExit = new Promise((r) => chrome.once('exit', r));
  console.error(`chromium pid ${chrome.pid}, SSLKEYLOGFILE=${keyFile}`);

  let timer;
  const timeout = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('timeout')), 90000); });
  let page;
  try {
    [page] = await Promise.race([Promise.all([pageLogP, wsDoneP]), timeout]);
    await Promise.race([wsPlain.closedP, timeout]);
  } catch (e) {
    rec.errors.push(`${e.message}: chromium stderr follows`);
    try { console.error(fs.readFileSync(errFile, 'utf8')); } catch (_) { /* ignore */ }
  }
  clearTimeout(timer);
  // Stop Chromium (its own process group, spawned detached); SIGTERM lets
  // it finish the NetLog file.
  try { process.kill(-chrome.pid, 'SIGTERM'); } catch (_) { /* already gone */ }
  const killTimer = setTimeout(() => { try { process.kill(-chrome.pid, 'SIGKILL'); } catch (_) { /* gone */ } }, 5000);
  await chromeExit;
  clearTimeout(killTimer);
  wsListener.close(); pageServer.close();
  await C.sleep(100);
  if (!page || !wsPlain) {
    for (const e of rec.errors) console.error(`ERROR: ${e}`);
    process.exitCode = 1;
    return;
  }
  console.error(`page notes: ${JSON.stringify(page.notes)}`);
  if (!page.final) rec.errors.push('page log was not final (page timed out)');
  if (nConn !== 1) rec.errors.push(`${nConn} TCP connections on the wss port, expected 1`);
  const key = keyOf();

  // client-side msg lines from the page's log
  for (const e of page.log) {
    const p = Buffer.from(e.b64, 'base64');
    rec.logMsg(key, 'client', e.role, e.opcode, p,
      e.opcode === 'close' ? { code: e.close_code, reason: e.close_reason } : null);
    if (e.opcode !== 'close') rec.appLog(key, 'client', e.role).push([e.opcode, p]);
  }
  for (const [role, l] of [['sent', serverApp.sent], ['received', serverApp.received]]) {
    for (const m of l) rec.appLog(key, 'server', role).push(m);
  }

  // client tls line from the NetLog
  const nl = netlogTls(netlog);
  console.error(`netlog SSL_CONNECT: ${JSON.stringify(nl)}`);
  if (nl.length !== 1) {
    rec.errors.push(`${nl.length} SSL_CONNECT events in the NetLog, expected 1`);
  } else {
    const p = nl[0];
    const suite = p.cipher_suite;
    const version = { 'TLS 1.3': 'TLSv1.3', 'TLS 1.2': 'TLSv1.2' }[p.version] || p.version;
    rec.tlsInfo.push([key, { kind: 'tls', side: 'client', version, cipher: SUITES[suite] || String(suite),
      cipher_iana: SUITES[suite] || null, sni: C.SERVER_NAME, alpn: p.next_proto || null,
      resumed: Boolean(p.is_resumed),
      cipher_suite: `0x${suite.toString(16).padStart(4, '0').toUpperCase()}` }]);
    const s = rec.tlsInfo.find(([, o]) => o.side === 'server')[1];
    const c = rec.tlsInfo.find(([, o]) => o.side === 'client')[1];
    for (const f of ['version', 'cipher_iana', 'cipher_suite', 'alpn', 'resumed', 'sni']) {
      if (s[f] !== c[f]) rec.errors.push(`Chromium and server disagree on ${f}: ${c[f]} vs ${s[f]}`);
    }
  }

  const conns = [{ key, client: raw0.wsRemote, server: raw0.wsLocal }];
  C.writeLog(rec, conns, args.log, args.streams);

  // the page sent exactly the plan plus the echoes; no ping/pong
  const all = rec.events.map(([, o]) => o);
  const planned = PLAN.client.map(([op, b]) => `${op}:${b.toString('base64')}`);
  const srvSent = PLAN.server.map(([op, b]) => `${op}:${b.toString('base64')}`);
  const pageSent = all.filter((o) => o.side === 'client' && o.role === 'sent' && o.opcode !== 'close')
    .map((o) => `${o.opcode}:${o.b64}`);
  const expectSet = [...planned, ...PLAN.echo.map((i) => srvSent[i - 1])].sort().join(',');
  if (pageSent.slice().sort().join(',') !== expectSet) rec.errors.push('page did not send plan + echoes');
  if (/ping|pong/.test(all.map((o) => o.opcode).join(','))) rec.errors.push('unexpected ping/pong');

  // key log: Chromium's SSLKEYLOGFILE, verbatim
  const kl = fs.readFileSync(keyFile, 'latin1');
  for (const l of kl.split('\n')) if (l.trim() && !l.startsWith('#')) rec.keylog.client.push([key, l]);
  fs.writeFileSync(args.keys, kl);
  const a = [...new Set(rec.keylog.client.map(([, l]) => l))].sort().join('\n');
  const b = [...new Set(rec.keylog.server.map(([, l]) => l))].sort().join('\n');
  console.error(`key log: ${rec.keylog.client.length} Chromium lines, ${rec.keylog.server.length} server lines: ${a === b ? 'same set' : 'DIFFER'}`);
  if (a !== b) rec.errors.push('Chromium and server key logs differ');
  fs.rmSync(profile, { recursive: true, force: true });
  certs.cleanup();
  for (const e of rec.errors) console.error(`ERROR: ${e}`);
  process.exitCode = rec.errors.length ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
