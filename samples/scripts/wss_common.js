// Shared pieces of the WebSocket-over-TLS (wss://) scenarios: wss_node.js,
// wss_keyupdate.js and wss_chromium.js.  See samples/README.md.
//
// Layering on each Node endpoint (both sides, unless noted):
//
//   net.Socket  (the kernel TCP socket)
//     -> LoggedSocket layer 'tcp'    logs every ciphertext byte written to /
//                                    read from the TCP socket ("tcp" lines);
//                                    writes can be split into several
//                                    write() calls (see Splitter) so that TLS
//                                    records straddle TCP segments
//     -> tls.TLSSocket               the TLS endpoint (tls.connect({socket})
//                                    on the client; a tls.Server that is fed
//                                    with server.emit('connection', ...) on
//                                    the server); 'keylog' events give the
//                                    NSS key log lines
//     -> LoggedSocket layer 'plain'  logs every decrypted application byte
//                                    written to / read from the TLS socket
//                                    ("plain" lines)
//     -> http / ws                   the client's http.request (via ws's
//                                    createConnection option) or the
//                                    server's http.Server (emit('connection'))
//
// ws messages are logged exactly as in ws_node.js (Sender hooks + events).
'use strict';

const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Duplex } = require('stream');
const tls = require('tls');
const WebSocket = require('ws');

// ------------------------------------------------------------------ args
function parseArgs(defaults, usage) {
  const args = Object.assign({}, defaults);
  for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, '');
    if (!(k in defaults)) { console.error(`unknown option --${k}\n${usage}`); process.exit(2); }
    args[k] = process.argv[i + 1];
  }
  for (const [k, v] of Object.entries(defaults)) {
    if (typeof v === 'number') args[k] = Number(args[k]);
  }
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined) { console.error(usage); process.exit(2); }
  }
  return args;
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

const MIXED = ['a', 'Z', '7', ' ', 'é', 'ß', '한', '국', '어', '안', '녕', '😀', '🎉', '🌍', '✅', '🔐'];
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

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const dirOf = (side, role) => ((role === 'sent') === (side === 'client') ? 'c2s' : 's2c');
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------- certificates
// Throwaway, test-only certificates, generated with the openssl CLI into a
// temporary directory at run time (nothing secret is stored in the repo; the
// key logs are enough to decrypt the captures).
const SERVER_NAME = 'wscope.test';
function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wscope-wss-certs-'));
  const san = `subjectAltName=DNS:${SERVER_NAME},DNS:localhost,IP:127.0.0.1,IP:::1`;
  const gen = (name, keyArgs) => {
    const key = path.join(dir, `${name}.key`);
    const crt = path.join(dir, `${name}.crt`);
    execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', key, '-out', crt,
      '-days', '30', '-subj', `/CN=${SERVER_NAME}/O=wscope samples TEST ONLY`, '-addext', san,
      '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { key: fs.readFileSync(key), cert: fs.readFileSync(crt), keyFile: key, certFile: crt };
  };
  const certs = {
    dir,
    rsa: gen('rsa', ['-newkey', 'rsa:2048']),
    ecdsa: gen('ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']),
  };
  certs.cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  return certs;
}

// ------------------------------------------------------------ splitting
// Splits one write into several write() calls (sizes from a seeded Rng):
// about one piece in six is 1..8 bytes, the rest 300..7999 bytes.  With
// TCP_NODELAY each piece leaves as its own TCP segment, so TLS records (and
// record headers) straddle segment boundaries.
function makeSplitter(seed) {
  const r = new Rng(seed);
  return (n) => {
    const sizes = []; let left = n;
    while (left > 0) {
      const s = Math.min(left, r.int(6) === 0 ? 1 + r.int(8) : 300 + r.int(7700));
      sizes.push(s); left -= s;
    }
    return sizes;
  };
}

// ------------------------------------------------------------ recording
class Recorder {
  constructor() {
    this.sockets = [];     // LoggedSockets
    this.events = [];      // [key, msg object] in observation order
    this.seqs = new Map();
    this.app = new Map();  // key|side|role -> [[opcode, Buffer]]
    this.tlsInfo = [];     // [key, tls object]
    this.keylog = { client: [], server: [] }; // [key|null, line] (line without '\n')
    this.keyupdates = [];  // [key, object]
    this.errors = [];
  }

  logMsg(key, side, role, opcode, payload, close) {
    const sk = `${key}|${side}|${role}`;
    const seq = (this.seqs.get(sk) || 0) + 1;
    this.seqs.set(sk, seq);
    const o = { kind: 'msg', side, role, dir: dirOf(side, role), seq, opcode,
      len: payload.length, b64: payload.toString('base64') };
    if (close) { o.close_code = close.code; o.close_reason = close.reason; }
    this.events.push([key, o]);
  }

  appLog(key, side, role) {
    const k = `${key}|${side}|${role}`;
    if (!this.app.has(k)) this.app.set(k, []);
    return this.app.get(k);
  }

  keylogLine(side, key, line) {
    const s = Buffer.isBuffer(line) ? line.toString('latin1') : String(line);
    for (const l of s.split('\n')) if (l.trim() !== '') this.keylog[side].push([key, l]);
  }
}

function closePayload(code, reason) {
  if (code === undefined || code === 1005) return Buffer.alloc(0);
  const r = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// The connection key: the client's address and port, as seen by either end
// (cached on the raw socket: a closed net.Socket forgets its addresses).
function rawKey(raw, side) {
  if (raw.wsKey) return raw.wsKey;
  if (raw.connecting || raw.localPort === undefined) return null;
  raw.wsKey = side === 'client' ? `${raw.localAddress}|${raw.localPort}`
    : `${raw.remoteAddress}|${raw.remotePort}`;
  raw.wsLocal = { ip: raw.localAddress, port: raw.localPort };
  raw.wsRemote = { ip: raw.remoteAddress, port: raw.remotePort };
  return raw.wsKey;
}

// A Duplex around a socket-like stream that records every chunk read from
// and written to it.  layer 'tcp': inner is the net.Socket; layer 'plain':
// inner is the TLSSocket, and `raw` the net.Socket underneath (used for the
// key, addresses and socket options).
class LoggedSocket extends Duplex {
  constructor(rec, inner, { side, layer, raw, splitter }) {
    super({ allowHalfOpen: true });
    this.rec = rec;
    this._sock = inner;
    this._raw = raw || inner;
    this.side = side;
    this.layer = layer;
    this.splitter = splitter || null;
    this.sent = [];
    this.received = [];
    this.closedP = new Promise((r) => inner.once('close', r));
    rec.sockets.push(this);
    if (this._raw.connecting) {
      this._raw.once('connect', () => { rawKey(this._raw, side); if (layer === 'tcp') this.emit('connect'); });
    } else {
      rawKey(this._raw, side);
    }
    inner.on('data', (d) => {
      this.received.push(Buffer.from(d));
      if (!this.push(d)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (e) => this.destroy(e));
    inner.on('close', () => { if (!this.destroyed) this.destroy(); });
    inner.on('timeout', () => this.emit('timeout'));
    if (layer === 'plain' && side === 'client') inner.once('secureConnect', () => this.emit('connect'));
  }

  get key() { return rawKey(this._raw, this.side); }

  _read() { this._sock.resume(); }

  _write(chunk, enc, cb) {
    const buf = Buffer.from(chunk);
    this.sent.push(buf);
    if (!this.splitter || buf.length < 2) { this._sock.write(buf, cb); return; }
    const sizes = this.splitter(buf.length);
    let off = 0;
    const next = (err) => {
      if (err) { cb(err); return; }
      if (off >= buf.length) { cb(); return; }
      const n = sizes.shift();
      const part = buf.subarray(off, off + n);
      off += n;
      this._sock.write(part, next);
    };
    next();
  }

  _final(cb) { this._sock.end(() => cb()); }

  _destroy(err, cb) {
    if (!this._sock.destroyed) this._sock.destroy();
    cb(err);
  }

  // net.Socket API surface used by http / ws; socket options go to the
  // kernel socket.
  setTimeout(ms, cb) { this._sock.setTimeout(ms); if (cb) this.once('timeout', cb); return this; }
  setNoDelay(v) { this._raw.setNoDelay(v); return this; }
  setKeepAlive(e, d) { this._raw.setKeepAlive(e, d); return this; }
  ref() { this._raw.ref(); return this; }
  unref() { this._raw.unref(); return this; }
  address() { return this._raw.address(); }
  get connecting() { return this._sock.connecting; }
  get remoteAddress() { return this._raw.remoteAddress; }
  get remotePort() { return this._raw.remotePort; }
  get remoteFamily() { return this._raw.remoteFamily; }
  get localAddress() { return this._raw.localAddress; }
  get localPort() { return this._raw.localPort; }
  get bytesWritten() { return this._sock.bytesWritten; }
  get bytesRead() { return this._sock.bytesRead; }
}

// --------------------------------------------------------- TLS handshake
// Parse the ServerHello at the start of a raw TLS byte stream (the server's
// sent bytes or the client's received bytes): cipher suite id, negotiated
// version and extension types.
function parseServerHello(buf) {
  let off = 0; let hs = Buffer.alloc(0);
  while (off + 5 <= buf.length && buf[off] === 22) {
    const len = buf.readUInt16BE(off + 3);
    hs = Buffer.concat([hs, buf.subarray(off + 5, off + 5 + len)]);
    off += 5 + len;
    if (hs.length >= 4 && hs.length >= 4 + hs.readUIntBE(1, 3)) break;
  }
  if (hs.length < 4 || hs[0] !== 2) return null;
  return parseServerHelloBody(hs.subarray(4, 4 + hs.readUIntBE(1, 3)));
}
function parseServerHelloBody(body) {
  let p = 0;
  let version = body.readUInt16BE(p); p += 2 + 32;
  const sid = body.subarray(p + 1, p + 1 + body[p]); p += 1 + body[p];
  const suite = body.readUInt16BE(p); p += 3;
  const exts = new Map();
  if (p + 2 <= body.length) {
    const end = p + 2 + body.readUInt16BE(p); p += 2;
    while (p + 4 <= end) {
      const t = body.readUInt16BE(p); const l = body.readUInt16BE(p + 2);
      exts.set(t, body.subarray(p + 4, p + 4 + l));
      p += 4 + l;
    }
  }
  if (exts.has(43)) version = exts.get(43).readUInt16BE(0); // supported_versions
  return { version, suite, sessionId: sid, exts };
}
const VERSION_NAMES = { 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };

// One "tls" line from a Node TLSSocket, from that endpoint's own view.
// `hello` is the ServerHello parsed from this endpoint's own raw bytes
// (adds the suite id and, for TLS 1.2, encrypt_then_mac /
// extended_master_secret).
function tlsLine(sock, side, sni, hello) {
  const c = sock.getCipher();
  const o = { kind: 'tls', side, version: sock.getProtocol(), cipher: c.name,
    cipher_iana: c.standardName, sni: sni || null, alpn: sock.alpnProtocol || null,
    resumed: sock.isSessionReused() };
  if (hello) {
    o.cipher_suite = `0x${hello.suite.toString(16).padStart(4, '0').toUpperCase()}`;
    if (o.version === 'TLSv1.2') {
      o.encrypt_then_mac = hello.exts.has(22);
      o.extended_master_secret = hello.exts.has(23);
    }
  }
  return o;
}

// ------------------------------------------------------ server TLS stack
// A tls.Server that holds one server configuration: it receives the
// session-ID cache events (with SSL_OP_NO_TICKET) and is
// the `server` of the TLSSockets made by serverTls().  It never listens
// itself: the scripts accept TCP connections with net.createServer, wrap the
// socket (layer 'tcp') and build the TLSSocket on top, so that the
// TLSSocket can be matched to its TCP connection.
function makeTlsServer(rec, opts) {
  const srv = tls.createServer(opts);
  srv.wsOpts = opts;
  srv.wsContext = tls.createSecureContext(opts);
  if (opts.secureOptions & crypto.constants.SSL_OP_NO_TICKET) {
    const cache = new Map();
    srv.on('newSession', (id, data, cb) => { cache.set(id.toString('hex'), data); cb(); });
    srv.on('resumeSession', (id, cb) => cb(null, cache.get(id.toString('hex')) || null));
  }
  return srv;
}

// Server side of one accepted TCP connection: raw -> LoggedSocket 'tcp' ->
// TLSSocket -> (after the handshake) LoggedSocket 'plain', handed to
// onPlain(plain, tlsSocket).  Logs the server's "tls" line.
function serverTls(rec, raw, srv, splitSeed, onPlain) {
  raw.setNoDelay(true);
  const cipher = new LoggedSocket(rec, raw, { side: 'server', layer: 'tcp',
    splitter: splitSeed ? makeSplitter(splitSeed) : null });
  const t = new tls.TLSSocket(cipher, { isServer: true, server: srv, secureContext: srv.wsContext,
    ALPNProtocols: srv.wsOpts.ALPNProtocols, requestCert: false, rejectUnauthorized: false });
  t.wsKey = () => rawKey(raw, 'server');
  t.on('keylog', (line) => rec.keylogLine('server', t.wsKey(), line));
  t.on('error', (e) => rec.errors.push(`server tls ${t.wsKey()}: ${e.message}`));
  t.once('secure', () => {
    rec.tlsInfo.push([t.wsKey(), tlsLine(t, 'server', t.servername,
      parseServerHello(Buffer.concat(cipher.sent)))]);
    onPlain(new LoggedSocket(rec, t, { side: 'server', layer: 'plain', raw }), t);
  });
  return { cipher, tls: t };
}

// --------------------------------------------------------------- ws hooks
// Wrap ws's frame writer so every frame it sends is logged (as ws_node.js).
function hookSender(rec, ws, side, keyOf) {
  const sender = ws._sender;
  let cur = null; // fragmented message being sent
  const origSend = sender.send.bind(sender);
  sender.send = (data, options, cb) => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (cur === null) cur = { opcode: options.binary ? 'binary' : 'text', parts: [] };
    cur.parts.push(buf);
    if (options.fin) {
      rec.logMsg(keyOf(), side, 'sent', cur.opcode, Buffer.concat(cur.parts));
      cur = null;
    }
    return origSend(data, options, cb);
  };
  for (const op of ['ping', 'pong']) {
    const orig = sender[op].bind(sender);
    sender[op] = (data, mask, cb) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      rec.logMsg(keyOf(), side, 'sent', op, buf);
      return orig(data, mask, cb);
    };
  }
  const origClose = sender.close.bind(sender);
  sender.close = (code, data, mask, cb) => {
    const p = closePayload(code, data);
    rec.logMsg(keyOf(), side, 'sent', 'close', p,
      code === undefined ? null : { code, reason: p.subarray(2).toString('utf8') });
    return origClose(code, data, mask, cb);
  };
}

// Runs one endpoint of a scripted exchange (as ws_node.js).  `sc` is
// { client: [...], server: [...], closer, code, reason }.  Actions:
//   ['send', data]                    string => text, Buffer => binary
//   ['ping', Buffer]                  ping and wait for the matching pong
//   ['pong', Buffer]                  unsolicited pong
//   ['frag', [parts], binary, ping]   fragmented message, ping after part 1
//   ['hook', fn]                      await fn() (the script's own step)
// Call it right after `new WebSocket()` on the client, before 'open'.
const nData = (s) => s.filter((a) => a[0] === 'send' || a[0] === 'frag').length;
function runEndpoint(rec, ws, side, sc, keyOf) {
  const opened = ws.readyState === WebSocket.OPEN ? Promise.resolve()
    : new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  if (ws.readyState === WebSocket.OPEN) hookSender(rec, ws, side, keyOf);
  else ws.once('open', () => hookSender(rec, ws, side, keyOf));
  const mine = sc[side];
  const expected = nData(sc[side === 'client' ? 'server' : 'client']);
  let got = 0;
  let gotAll;
  const gotAllP = new Promise((r) => { gotAll = r; });
  if (expected === 0) gotAll();
  const pongWaiters = [];
  const closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      if (code !== 1006) {
        rec.logMsg(keyOf(), side, 'received', 'close', closePayload(code, reason),
          code === 1005 ? null : { code, reason: reason.toString('utf8') });
      }
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.from(data);
    rec.logMsg(keyOf(), side, 'received', isBinary ? 'binary' : 'text', buf);
    rec.appLog(keyOf(), side, 'received').push([isBinary ? 'binary' : 'text', buf]);
    got += 1;
    if (got === expected) gotAll();
  });
  ws.on('ping', (data) => rec.logMsg(keyOf(), side, 'received', 'ping', Buffer.from(data)));
  ws.on('pong', (data) => {
    rec.logMsg(keyOf(), side, 'received', 'pong', Buffer.from(data));
    const i = pongWaiters.findIndex((w) => w.data.equals(data));
    if (i >= 0) pongWaiters.splice(i, 1)[0].resolve();
  });
  ws.on('error', (e) => rec.errors.push(`${side}: ${e.message}`));
  const pingAndWait = (data) => new Promise((resolve) => {
    pongWaiters.push({ data, resolve });
    ws.ping(data);
  });

  const play = async () => {
    await opened;
    const key = keyOf();
    for (const act of mine) {
      if (act[0] === 'send') {
        ws.send(act[1]);
        rec.appLog(key, side, 'sent').push([typeof act[1] === 'string' ? 'text' : 'binary',
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
        rec.appLog(key, side, 'sent').push([binary ? 'binary' : 'text', Buffer.concat(parts)]);
      } else if (act[0] === 'hook') {
        await act[1]();
      }
    }
    if (sc.closer === side) {
      await gotAllP;
      ws.close(sc.code, sc.reason);
    }
  };
  return Promise.all([play(), closed]).then(([, c]) => {
    if (got !== expected) rec.errors.push(`${side}: got ${got} messages, expected ${expected}`);
    return c;
  });
}

// A small scripted exchange for one connection: text with Korean / emoji, a
// 20000-byte message (binary or text), a ping, a fragmented text message
// with a ping between fragments, binary, and a close with code and reason.
function makeExchange(seed, k, closer) {
  const r = new Rng(seed);
  const greet = Buffer.from(`조각난 TLS 메시지 #${k} 🔐 (fragmented)`);
  const client = [
    ['send', `안녕하세요 TLS 연결 #${k} 🌍🔐 hello over wss`],
    ['send', k % 2 ? r.bytes(20000) : textBytes(20000, r)],
    ['ping', Buffer.from(`핑 🏓 #${k}`)],
    ['frag', [greet.subarray(0, 4), greet.subarray(4, 11), greet.subarray(11)], false,
      Buffer.from('ping between fragments')],
    ['send', r.bytes(126)],
    ['send', 'client done ✅'],
  ];
  const server = [
    ['send', `서버 인사 😀 #${k} from node ws over TLS`],
    ['send', textBytes(3000, r)],
    ['send', r.bytes(300)],
    ['ping', Buffer.from(`server ping #${k}`)],
    ['pong', Buffer.from('unsolicited pong 퐁')],
    ['send', 'server done ✅'],
  ];
  return { client, server, closer, code: closer === 'client' ? 4000 + k : 4100 + k,
    reason: closer === 'client' ? `클라이언트 종료 #${k} 👋 bye` : `서버가 닫습니다 #${k} ✨` };
}

// ------------------------------------------------------------ log output
// conns: [{ key, client: {ip, port}, server: {ip, port} }] in client
// connect order.  Writes NAME.endpoints.jsonl (and the stream files when
// streamsDir is set) and runs the self-checks.  Returns the lines.
function writeLog(rec, conns, logPath, streamsDir, opts = {}) {
  const lines = [];
  const w = (o) => lines.push(JSON.stringify(o));
  const byKey = new Map();
  for (const s of rec.sockets) {
    const k = `${s.key}|${s.side}|${s.layer}`;
    if (byKey.has(k)) rec.errors.push(`two ${s.side} ${s.layer} sockets for ${s.key}`);
    byKey.set(k, s);
  }
  conns.forEach((c, i) => w({ kind: 'conn', conn: i + 1, client: c.client, server: c.server }));
  if (streamsDir) fs.mkdirSync(streamsDir, { recursive: true });
  conns.forEach((c, i) => {
    const k = i + 1;
    for (const layer of ['tcp', 'plain']) {
      const raw = {};
      for (const side of ['client', 'server']) {
        const s = byKey.get(`${c.key}|${side}|${layer}`);
        if (!s) continue;
        raw[side] = { sent: Buffer.concat(s.sent), received: Buffer.concat(s.received) };
        for (const role of ['sent', 'received']) {
          const b = raw[side][role];
          w({ kind: layer, conn: k, side, role, dir: dirOf(side, role), len: b.length, sha256: sha256(b) });
        }
      }
      if (!raw.server) rec.errors.push(`conn ${k}: no server ${layer} log`);
      for (const [d, snd, rcv] of [['c2s', 'client', 'server'], ['s2c', 'server', 'client']]) {
        const a = raw[snd] && raw[snd].sent; const b = raw[rcv] && raw[rcv].received;
        if (a && b) {
          const same = a.equals(b);
          console.error(`conn ${k} ${layer} ${d}: ${a.length} bytes sent, ${b.length} received: ${same ? 'ok' : 'DIFFERS'}`);
          if (!same) rec.errors.push(`conn ${k} ${layer} ${d}: bytes differ`);
        } else {
          console.error(`conn ${k} ${layer} ${d}: ${a ? `${a.length} bytes sent` : `${b.length} bytes received`} (one side only)`);
        }
        if (streamsDir) {
          fs.writeFileSync(path.join(streamsDir, `${k}.${d}${layer === 'plain' ? '.plain' : ''}`), a || b);
        }
      }
    }
    for (const [key, o] of rec.tlsInfo) if (key === c.key) w(Object.assign({ kind: 'tls', conn: k }, o));
    for (const [key, o] of rec.keyupdates) if (key === c.key) w(Object.assign({ kind: 'keyupdate', conn: k }, o));
    const ev = {};
    for (const [key, o] of rec.events) {
      if (key !== c.key) continue;
      w(Object.assign({ kind: 'msg', conn: k }, o));
      (ev[`${o.side}|${o.role}`] = ev[`${o.side}|${o.role}`] || []).push(o);
    }
    // consistency: sender's and receiver's logs agree; frame-level == app-level
    for (const [snd, rcv] of [['client', 'server'], ['server', 'client']]) {
      const a = (ev[`${snd}|sent`] || []).map((o) => `${o.opcode}:${o.b64}`).join(',');
      const b = (ev[`${rcv}|received`] || []).map((o) => `${o.opcode}:${o.b64}`).join(',');
      if (a !== b) rec.errors.push(`conn ${k}: ${snd} sent msgs != ${rcv} received msgs`);
      if (!a && !opts.noWs) rec.errors.push(`conn ${k}: no ${snd} messages`);
    }
    for (const side of opts.appSides || ['client', 'server']) {
      for (const role of ['sent', 'received']) {
        const fl = (ev[`${side}|${role}`] || []).filter((o) => o.opcode === 'text' || o.opcode === 'binary')
          .map((o) => `${o.opcode}:${o.b64}`).join(',');
        const al = rec.appLog(c.key, side, role).map(([op, b]) => `${op}:${b.toString('base64')}`).join(',');
        if (fl !== al) rec.errors.push(`conn ${k} ${side} ${role}: app-level != frame-level`);
      }
    }
    const counts = {};
    for (const [key, o] of rec.events) {
      if (key !== c.key) continue;
      const t = `${o.side[0]}:${o.role}:${o.opcode}`;
      counts[t] = (counts[t] || 0) + 1;
    }
    console.error(`conn ${k}: ${JSON.stringify(counts)}`);
  });
  fs.writeFileSync(logPath, lines.join('\n') + '\n');
  return lines;
}

// Write the key log: the lines one endpoint emitted, in emission order,
// exactly as emitted (NSS key log format).  The other endpoint's lines (if
// it logged any) must be the same set.
function writeKeys(rec, keysPath, primary, header) {
  const mine = rec.keylog[primary].map(([, l]) => l);
  const other = rec.keylog[primary === 'client' ? 'server' : 'client'].map(([, l]) => l);
  if (mine.length === 0) rec.errors.push(`no ${primary} key log lines`);
  if (other.length === 0) rec.errors.push('no key log lines from the other endpoint');
  {
    const a = [...new Set(mine)].sort().join('\n');
    const b = [...new Set(other)].sort().join('\n');
    console.error(`key log: ${mine.length} ${primary} lines, ${other.length} other lines: ${a === b ? 'same set' : 'DIFFER'}`);
    if (a !== b) rec.errors.push('client and server key logs differ');
  }
  fs.writeFileSync(keysPath, (header || '') + mine.join('\n') + '\n');
}

module.exports = {
  parseArgs, Rng, textBytes, sha256, dirOf, tick, sleep, SERVER_NAME, makeCerts, makeSplitter,
  Recorder, LoggedSocket, closePayload, rawKey, parseServerHello, parseServerHelloBody,
  VERSION_NAMES, tlsLine, makeTlsServer, serverTls, hookSender, runEndpoint, makeExchange, writeLog, writeKeys, nData,
};
