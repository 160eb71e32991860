#!/usr/bin/env node
// WebSocket over TLS 1.3 with KeyUpdate messages in the middle of the
// exchange.  Node has no KeyUpdate API, so the client transport is
// `openssl s_client` (Debian's OpenSSL 3.0 CLI):
//
//   openssl s_client -connect 127.0.0.1:PORT -servername wscope.test
//     -verify_hostname wscope.test -CAfile CERT -verify_return_error
//     -tls1_3 -alpn http/1.1 -brief -keylogfile KEYS -msg -msgfile MSGS
//
// * -brief: s_client prints only a short summary (to stderr) and writes the
//   decrypted application data it receives, and nothing else, to stdout.
//   Unlike -quiet it does not imply -ign_eof, so the interactive command
//   letters stay on: a stdin read whose FIRST byte is 'k' makes s_client
//   send a KeyUpdate (update_not_requested), 'K' a KeyUpdate with
//   update_requested (the server then updates its own sending key before its
//   next record), 'Q' quits and 'R' renegotiates; the rest of such a read is
//   discarded.  Any other read is sent as one TLS record.
// * The script writes the WebSocket client's bytes (HTTP upgrade request,
//   masked frames built here per RFC 6455) to s_client's stdin one chunk at
//   a time: each chunk is at most 4000 bytes, never starts with Q, R, k or K
//   (chunk boundaries are moved by a byte where needed), and the next write
//   happens only after the server has received the whole chunk, so that
//   every read() s_client does returns exactly one chunk.  A KeyUpdate is
//   "k\n" or "K\n" written alone, and the script waits for s_client's
//   "KEYUPDATE" on stderr before it writes anything else.
// * The server is Node `ws` over Node TLS with the same logging stack as
//   wss_node.js (ciphertext TCP bytes, tls, plaintext, messages).  The
//   script drives both ends from one process, step by step, so it knows
//   where each KeyUpdate falls in the plaintext streams.
//
// Client-side ground truth: "plain" lines from the bytes written to
// s_client's stdin (c2s) and read from its stdout (s2c); "msg" lines from the
// frames built here and parsed from stdout; "tls" from -brief's summary and
// the ServerHello / EncryptedExtensions in the -msg trace; "keyupdate" lines
// from the -msg trace (each KeyUpdate s_client sent or received, and how many
// application-data bytes came before it in that direction).  s_client owns
// its TCP socket, so there are no client "tcp" lines (as in ws-chromium).
// The key log is s_client's -keylogfile, verbatim.
//
// Usage: node wss_keyupdate.js --port 9931 --log F.jsonl --keys F.keys
//        [--streams DIR] [--openssl /usr/bin/openssl]
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

const USAGE = 'usage: node wss_keyupdate.js --port 9931 --log F.jsonl --keys F.keys [--streams DIR] [--openssl PATH]';
const args = C.parseArgs({ port: 0, log: undefined, keys: undefined, streams: null,
  openssl: '/usr/bin/openssl' }, USAGE);

const rec = new C.Recorder();
const certs = C.makeCerts();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wscope-keyupdate-'));
const msgFile = path.join(work, 's_client.msg');

// --------------------------------------------------------- WebSocket bits
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPS = { text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
const OPNAMES = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
const maskRng = new C.Rng('wss-keyupdate/masks');
function clientFrame(opcode, payload, fin = true) {
  const n = payload.length;
  const hdr = [((fin ? 0x80 : 0) | opcode)];
  if (n < 126) hdr.push(0x80 | n);
  else if (n < 65536) hdr.push(0x80 | 126, n >> 8, n & 255);
  else { hdr.push(0x80 | 127, 0, 0, 0, 0); for (const s of [24, 16, 8, 0]) hdr.push((n >>> s) & 255); }
  const mask = maskRng.bytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([Buffer.from(hdr), mask, body]);
}
// Incremental parser for the server's (unmasked) frames on s_client's stdout.
class FrameParser {
  constructor(onMsg) { this.buf = Buffer.alloc(0); this.onMsg = onMsg; this.frag = null; }
  push(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let n = b[1] & 127; let off = 2;
      if (b[1] & 0x80) throw new Error('server frame is masked');
      if (n === 126) { if (b.length < 4) return; n = b.readUInt16BE(2); off = 4; }
      if (n === 127) { if (b.length < 10) return; n = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b.length < off + n) return;
      const fin = Boolean(b[0] & 0x80); const op = b[0] & 15;
      if (b[0] & 0x70) throw new Error('RSV bits set');
      const payload = Buffer.from(b.subarray(off, off + n));
      this.buf = b.subarray(off + n);
      if (op >= 8) { this.onMsg(OPNAMES[op], payload); continue; }
      if (op !== 0) this.frag = { op: OPNAMES[op], parts: [] };
      this.frag.parts.push(payload);
      if (fin) { const f = this.frag; this.frag = null; this.onMsg(f.op, Buffer.concat(f.parts)); }
    }
  }
}

// ------------------------------------------------------------- server
const tlsSrv = C.makeTlsServer(rec, { key: certs.rsa.key, cert: certs.rsa.cert,
  minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ALPNProtocols: ['http/1.1'] });
const wss = new WebSocket.Server({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 21 });
const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
let srv = null; // { ws, plain, key, closed }
let srvReady;
const srvReadyP = new Promise((r) => { srvReady = r; });
const serverRecv = []; // [opcode, Buffer] data messages the server received
httpServer.on('upgrade', (req, socket, head) => {
  if (req.url !== '/keyupdate' || srv) { rec.errors.push(`unexpected upgrade ${req.url}`); socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const keyOf = () => socket.key;
    C.hookSender(rec, ws, 'server', keyOf);
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.from(data);
      rec.logMsg(keyOf(), 'server', 'received', isBinary ? 'binary' : 'text', buf);
      rec.appLog(keyOf(), 'server', 'received').push([isBinary ? 'binary' : 'text', buf]);
      serverRecv.push([isBinary ? 'binary' : 'text', buf]);
    });
    ws.on('ping', (d) => rec.logMsg(keyOf(), 'server', 'received', 'ping', Buffer.from(d)));
    ws.on('pong', (d) => rec.logMsg(keyOf(), 'server', 'received', 'pong', Buffer.from(d)));
    ws.on('error', (e) => rec.errors.push(`server ws: ${e.message}`));
    const closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      if (code !== 1006) {
        rec.logMsg(keyOf(), 'server', 'received', 'close', C.closePayload(code, reason),
          code === 1005 ? null : { code, reason: reason.toString('utf8') });
      }
      resolve();
    }));
    srv = { ws, plain: socket, key: keyOf(), closed };
    srvReady();
  });
});
let serverRaw = null;
let serverPlain = null;
const listener = net.createServer({ allowHalfOpen: true }, (raw) => {
  if (serverRaw) { rec.errors.push('second TCP connection'); raw.destroy(); return; }
  serverRaw = raw;
  C.serverTls(rec, raw, tlsSrv, 'wss/keyupdate/server', (plain) => {
    serverPlain = plain;
    httpServer.emit('connection', plain);
  });
});

// ------------------------------------------------------------- helpers
async function until(cond, what, ms = 10000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${what}`);
    await C.sleep(2);
  }
}
const total = (l) => l.reduce((n, b) => n + b.length, 0);

async function main() {
  await new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(args.port, '127.0.0.1', resolve);
  });
  const sArgs = ['s_client', '-connect', `127.0.0.1:${args.port}`, '-servername', C.SERVER_NAME,
    '-verify_hostname', C.SERVER_NAME, '-CAfile', certs.rsa.certFile, '-verify_return_error',
    '-tls1_3', '-alpn', 'http/1.1', '-brief', '-keylogfile', args.keys, '-msg', '-msgfile', msgFile];
  fs.rmSync(args.keys, { force: true });
  console.error(`client: ${args.openssl} ${sArgs.join(' ')}`);
  const sc = spawn(args.openssl, sArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  const scExit = new Promise((r) => sc.once('exit', (code) => r(code)));
  let stderr = '';
  sc.stderr.on('data', (d) => { stderr += d.toString('utf8'); });
  let key = null;
  const cSent = []; const cRecv = [];
  const cMsgs = []; // [opcode, Buffer] received by the client
  let httpDone = false; let httpBuf = Buffer.alloc(0); let accept = null;
  const parser = new FrameParser((op, payload) => {
    const close = op === 'close' && payload.length >= 2
      ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') } : null;
    rec.logMsg(key, 'client', 'received', op, payload, close);
    if (op === 'text' || op === 'binary') rec.appLog(key, 'client', 'received').push([op, payload]);
    cMsgs.push([op, payload]);
  });
  sc.stdout.on('data', (d) => {
    cRecv.push(Buffer.from(d));
    if (httpDone) { parser.push(d); return; }
    httpBuf = Buffer.concat([httpBuf, d]);
    const i = httpBuf.indexOf('\r\n\r\n');
    if (i < 0) return;
    const head = httpBuf.subarray(0, i).toString('latin1');
    httpDone = true;
    const m = /\r\nsec-websocket-accept: *(\S+)/i.exec(head);
    if (!/^HTTP\/1\.1 101 /.test(head) || !m) rec.errors.push(`bad upgrade response: ${head}`);
    else accept = m[1];
    parser.push(httpBuf.subarray(i + 4));
  });

  await until(() => /CONNECTION ESTABLISHED/.test(stderr) || sc.exitCode !== null, 'TLS handshake');
  await until(() => serverRaw && C.rawKey(serverRaw, 'server'), 'server socket');
  key = C.rawKey(serverRaw, 'server');

  // -- client primitives
  const serverGot = () => (serverPlain ? total(serverPlain.received) : 0);
  const BAD_FIRST = new Set([...'QRkK'].map((c) => c.charCodeAt(0)));
  const chunkRng = new C.Rng('wss-keyupdate/chunks');
  async function write(buf, maxChunk = 4000) {
    let off = 0;
    while (off < buf.length) {
      let n = Math.min(buf.length - off, 1 + chunkRng.int(maxChunk));
      // never start a chunk with a command letter: move the boundary
      while (off + n < buf.length && BAD_FIRST.has(buf[off + n])) n += 1;
      if (off === 0 && BAD_FIRST.has(buf[0])) throw new Error('write starts with a command letter');
      const part = buf.subarray(off, off + n);
      const want = total(cSent) + part.length;
      cSent.push(Buffer.from(part));
      sc.stdin.write(part);
      await until(() => serverGot() >= want, `server to receive ${want} bytes`);
      if (serverGot() !== want) throw new Error('server received more than was sent');
      off += n;
    }
  }
  let kuCount = 0;
  async function keyUpdate(letter) {
    kuCount += 1;
    sc.stdin.write(`${letter}\n`);
    await until(() => (stderr.match(/^KEYUPDATE$/mg) || []).length === kuCount, 'KEYUPDATE');
  }
  async function send(op, payload, { fragments = null, between = null } = {}) {
    const parts = fragments || [payload];
    for (let i = 0; i < parts.length; i++) {
      const opc = i === 0 ? OPS[op] : 0;
      await write(clientFrame(opc, parts[i], i === parts.length - 1));
      if (i === 0 && between) await between();
    }
    const whole = Buffer.concat(parts);
    const close = op === 'close' ? { code: whole.readUInt16BE(0), reason: whole.subarray(2).toString('utf8') } : null;
    rec.logMsg(key, 'client', 'sent', op, whole, close);
    if (op === 'text' || op === 'binary') rec.appLog(key, 'client', 'sent').push([op, whole]);
  }
  // the client sends a pong for every ping it read (after the caller's step)
  let pongsSent = 0;
  async function answerPings() {
    const pings = cMsgs.filter(([op]) => op === 'ping');
    while (pongsSent < pings.length) await send('pong', pings[pongsSent++][1]);
  }
  const clientHas = (n) => until(() => cMsgs.length >= n, `client to receive ${n} frames`);
  const serverHas = (n) => until(() => serverRecv.length >= n, `server to receive ${n} messages`);
  async function serverSend(data) {
    const n = cMsgs.length;
    srv.ws.send(data);
    rec.appLog(srv.key, 'server', 'sent').push([typeof data === 'string' ? 'text' : 'binary', Buffer.from(data)]);
    await clientHas(n + 1);
  }

  // -- the exchange
  const r = new C.Rng('wss-keyupdate');
  const wsKey = crypto.randomBytes(16).toString('base64');
  await write(Buffer.from(`GET /keyupdate HTTP/1.1\r\nHost: ${C.SERVER_NAME}:${args.port}\r\n` +
    'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${wsKey}\r\nSec-WebSocket-Version: 13\r\n` +
    'User-Agent: wss_keyupdate.js via openssl s_client\r\n\r\n', 'latin1'));
  await srvReadyP;
  await until(() => accept !== null, '101 response');
  if (accept !== crypto.createHash('sha1').update(wsKey + GUID).digest('base64')) rec.errors.push('bad Sec-WebSocket-Accept');

  await send('text', Buffer.from('안녕하세요 🔑 before any KeyUpdate'));
  await serverHas(1);
  await serverSend('서버: 키 업데이트 전 😀 (server, before any KeyUpdate)');
  await keyUpdate('k');                                   // c2s KeyUpdate 1
  await send('text', Buffer.from('after the first client KeyUpdate 🔄 첫 번째'));
  await serverHas(2);
  // a 20000-byte binary frame written in several records, with a KeyUpdate
  // between two records of the same frame
  const big = r.bytes(20000);
  {
    const f = clientFrame(OPS.binary, big);
    await write(f.subarray(0, 9000));
    await keyUpdate('k');                                 // c2s KeyUpdate 2 (inside a frame)
    await write(f.subarray(9000));
    rec.logMsg(key, 'client', 'sent', 'binary', big);
    rec.appLog(key, 'client', 'sent').push(['binary', big]);
  }
  await serverHas(3);
  await serverSend(C.textBytes(3000, r));
  // a fragmented text message; KeyUpdate with update_requested between the
  // fragments: the server answers with its own KeyUpdate before its next
  // record (the ping below)
  const frag = Buffer.from('조각 하나, 🧩 then fragment two after KeyUpdate(update_requested)');
  await send('text', null, { fragments: [frag.subarray(0, 10), frag.subarray(10)],
    between: () => keyUpdate('K') });                     // c2s KeyUpdate 3 (requested)
  await serverHas(4);
  {
    const n = cMsgs.length;
    const data = Buffer.from('server ping after KeyUpdate 🏓');
    srv.ws.ping(data);                                   // s2c KeyUpdate 1, then the ping
    await clientHas(n + 1);
    await answerPings();
  }
  await serverSend(r.bytes(20000));
  await send('ping', Buffer.from('client ping 핑'));
  await until(() => cMsgs.filter(([op]) => op === 'pong').length === 1, 'client to get the pong');
  await keyUpdate('k');                                   // c2s KeyUpdate 4
  await send('text', Buffer.from('client done ✅'));
  await serverHas(5);
  await serverSend('server done ✅');
  // close: client sends 4000 + reason; ws echoes it and ends TLS + TCP; then
  // s_client sees the close_notify, answers with its own and exits
  const reason = '키 업데이트 끝 👋 bye';
  const cp = Buffer.concat([Buffer.from([4000 >> 8, 4000 & 255]), Buffer.from(reason)]);
  await send('close', cp);
  await until(() => cMsgs.some(([op]) => op === 'close'), 'close echo');
  await srv.closed;
  const code = await Promise.race([scExit, C.sleep(10000).then(() => 'timeout')]);
  sc.stdin.end();
  if (code === 'timeout') { rec.errors.push('s_client did not exit'); sc.kill('SIGTERM'); await scExit; }
  await Promise.race([new Promise((r2) => serverRaw.once('close', r2)), C.sleep(2000)]);
  listener.close();
  await C.sleep(100);
  console.error(`s_client exit ${code}; stderr:\n${stderr.replace(/^/mg, '  | ')}`);

  // -- client views from s_client's own output
  const addr = { client: { ip: serverRaw.wsRemote.ip, port: serverRaw.wsRemote.port },
    server: { ip: serverRaw.wsLocal.ip, port: serverRaw.wsLocal.port } };
  const trace = parseMsgTrace(fs.readFileSync(msgFile, 'utf8'));
  const version = (/^Protocol version: (\S+)/m.exec(stderr) || [])[1];
  const cipher = (/^Ciphersuite: (\S+)/m.exec(stderr) || [])[1];
  const hello = trace.serverHello ? C.parseServerHelloBody(trace.serverHello) : null;
  rec.tlsInfo.push([key, { kind: 'tls', side: 'client', version, cipher, cipher_iana: cipher,
    sni: C.SERVER_NAME, alpn: trace.alpn, resumed: !trace.sawCertificate,
    cipher_suite: hello ? `0x${hello.suite.toString(16).padStart(4, '0').toUpperCase()}` : null }]);
  for (const ku of trace.keyUpdates) rec.keyupdates.push([key, ku]);
  console.error(`client keyupdates: ${JSON.stringify(trace.keyUpdates)}`);
  const planned = [['c2s', false], ['c2s', false], ['c2s', true], ['s2c', false], ['c2s', false]];
  const got = trace.keyUpdates.map((u) => [u.dir, u.request_update]);
  if (JSON.stringify(got) !== JSON.stringify(planned)) rec.errors.push(`KeyUpdates ${JSON.stringify(got)}, planned ${JSON.stringify(planned)}`);
  for (const d of ['c2s', 's2c']) {
    const n = trace.appBytes[d]; const want = total(d === 'c2s' ? cSent : cRecv);
    if (n !== want) rec.errors.push(`-msg trace: ${n} application bytes ${d}, client plain ${want}`);
  }
  const srvInfo = rec.tlsInfo.find(([k2, o]) => k2 === key && o.side === 'server');
  for (const f of ['version', 'cipher', 'alpn', 'cipher_suite', 'resumed']) {
    if (!srvInfo || srvInfo[1][f] !== rec.tlsInfo.find(([, o]) => o.side === 'client')[1][f]) {
      rec.errors.push(`client and server disagree on ${f}`);
    }
  }

  // client plain bytes: what went into stdin (no command lines) and came out
  // of stdout; pseudo-socket for writeLog
  rec.sockets.push({ key, side: 'client', layer: 'plain', sent: cSent, received: cRecv });
  C.writeLog(rec, [Object.assign({ key }, addr)], args.log, args.streams);
  // key log: s_client's file as written (comment line included); the server's
  // Node 'keylog' lines must be the same secrets
  const kl = fs.readFileSync(args.keys, 'latin1');
  for (const l of kl.split('\n')) if (l.trim() && !l.startsWith('#')) rec.keylog.client.push([key, l]);
  const a = [...new Set(rec.keylog.client.map(([, l]) => l))].sort().join('\n');
  const b = [...new Set(rec.keylog.server.map(([, l]) => l))].sort().join('\n');
  console.error(`key log: ${rec.keylog.client.length} s_client lines, ${rec.keylog.server.length} server lines: ${a === b ? 'same set' : 'DIFFER'}`);
  if (a !== b) rec.errors.push('s_client and server key logs differ');
  fs.chmodSync(args.keys, 0o644);
  certs.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
  for (const e of rec.errors) console.error(`ERROR: ${e}`);
  process.exitCode = rec.errors.length ? 1 : 0;
}

// Parse s_client's -msg trace: the records each way (RecordHeader), the
// inner content type of each encrypted TLS 1.3 record (InnerContent), the
// handshake messages (ServerHello, EncryptedExtensions, Certificate,
// KeyUpdate).  Application data is not printed; its length is the record
// length minus the 16-byte AEAD tag and the 1-byte inner content type
// (s_client and Node add no padding).
function parseMsgTrace(text) {
  const blocks = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const m = /^(<<<|>>>) (\S+ [\d.]+), (\w+)(?: \[length [0-9a-f]+\])?(?:, (\w+))?/.exec(line);
    if (m) {
      cur = { dir: m[1] === '>>>' ? 'c2s' : 's2c', what: m[3], msg: m[4] || null, hex: '' };
      blocks.push(cur);
    } else if (cur && /^ {4}[0-9a-f]{2}( |$)/.test(line)) {
      cur.hex += line.replace(/\s+/g, '');
    } else if (line.trim()) {
      cur = null;
    }
  }
  const out = { keyUpdates: [], appBytes: { c2s: 0, s2c: 0 }, serverHello: null, alpn: null, sawCertificate: false };
  const pending = { c2s: null, s2c: null };
  const seq = { c2s: 0, s2c: 0 };
  for (const b of blocks) {
    const bytes = Buffer.from(b.hex, 'hex');
    if (b.what === 'RecordHeader') {
      pending[b.dir] = { type: bytes[0], len: bytes.readUInt16BE(3) };
    } else if (b.what === 'InnerContent') {
      const rcd = pending[b.dir];
      if (rcd && rcd.type === 23 && bytes[0] === 23) out.appBytes[b.dir] += rcd.len - 17;
    } else if (b.what === 'Handshake') {
      if (b.msg === 'ServerHello') out.serverHello = bytes.subarray(4);
      if (b.msg === 'Certificate' && b.dir === 's2c') out.sawCertificate = true;
      if (b.msg === 'EncryptedExtensions') {
        const body = bytes.subarray(4);
        let p = 2;
        while (p + 4 <= body.length) {
          const t = body.readUInt16BE(p); const l = body.readUInt16BE(p + 2);
          if (t === 16) out.alpn = body.subarray(p + 7, p + 7 + body[p + 6]).toString('latin1');
          p += 4 + l;
        }
      }
      if (b.msg === 'KeyUpdate') {
        seq[b.dir] += 1;
        out.keyUpdates.push({ side: 'client', role: b.dir === 'c2s' ? 'sent' : 'received', dir: b.dir,
          seq: seq[b.dir], request_update: bytes[4] === 1, offset: out.appBytes[b.dir] });
      }
    }
  }
  return out;
}

main().catch((e) => { console.error(e); process.exit(1); });
