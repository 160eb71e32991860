#!/usr/bin/env node
// Socket.IO v2 / Engine.IO protocol v3 scenario (npm `socket.io` 2.5.0
// server + Node `socket.io-client` 2.5.0, versions pinned in package.json /
// package-lock.json) for samples/sio-v2.pcap.  The endpoint logging is
// ../socketio/common.js, shared with ../socketio/sio.js (Socket.IO 4); the
// log has the same record shapes.
//
// One process runs a Socket.IO server on 127.0.0.1:PORT and two client
// sessions, one after the other:
//
//   session 1  default transports: Engine.IO handshake and Socket.IO traffic
//              over HTTP long-polling (the EIO v3 payload framing
//              `<length>:<packet>`, binary attachments base64-encoded as
//              `b4...` because the Node client's XMLHttpRequest cannot do
//              binary), then the upgrade to WebSocket (2probe / 3probe / 5),
//              then WebSocket.  Namespaces "/" and "/admin" are multiplexed
//              on the one Engine.IO session; "/forbidden" is rejected by
//              middleware (an ERROR packet, Socket.IO v2's type 4).
//   session 2  transports: ["websocket"] only.
//
// See samples/README.md ("socketio2/sio2.js") for the message-by-message
// script.
//
// Ground truth, logged from inside the endpoints by common.js (raw TCP
// bytes, WebSocket frames, Engine.IO packets, HTTP long-polling exchanges,
// the log and its cross-checks).  Here, what is particular to these
// versions:
// * the client's polling requests are made by xmlhttprequest-ssl (through
//   the logging agent too).
// * WebSocket messages: `ws` 7 (one copy, shared by engine.io and
//   engine.io-client) is hooked.
// * Engine.IO packets: engine.io-parser 2.x's decodePayload hands each
//   packet of a polling payload to a callback; each polling body is also
//   split by its framing ("wire" of the app records).
// * Socket.IO packets: received: the packet socket.io-parser 3.x's
//   Decoder#add produced while the library itself decoded the string (its
//   'decoded' event, or the BinaryReconstructor's packet for BINARY_*);
//   sent: a private Decoder of the sender's socket.io-parser copy applied to
//   the string the library's Encoder produced.
//
// Usage: node sio2.js --port 9962 --log F.jsonl [--streams DIR]
'use strict';

const http = require('http');
const path = require('path');

const C = require('../socketio/common.js');

const NM = path.join(__dirname, 'node_modules');
const reqFrom = (pkg, from) => require(require.resolve(pkg, { paths: [path.join(NM, from)] }));

const SocketIOServer = require('socket.io');
const ioClient = require('socket.io-client');
const { Manager } = ioClient;
const eioParser = require('engine.io-parser');
// the two socket.io-parser copies: the server's (3.4.x) and the client's (3.3.x)
const sioParsers = { server: reqFrom('socket.io-parser', 'socket.io'), client: reqFrom('socket.io-parser', 'socket.io-client') };
if (reqFrom('engine.io-parser', 'engine.io') !== eioParser || reqFrom('engine.io-parser', 'engine.io-client') !== eioParser) {
  throw new Error('expected one engine.io-parser copy shared by engine.io and engine.io-client');
}
const ws = reqFrom('ws', 'engine.io');
if (reqFrom('ws', 'engine.io-client') !== ws) throw new Error('expected one ws copy');

const ServerSocket = require(path.join(NM, 'engine.io/lib/socket.js'));
const ClientPolling = require(path.join(NM, 'engine.io-client/lib/transports/polling.js'));
const ClientXHR = require(path.join(NM, 'engine.io-client/lib/transports/polling-xhr.js'));
if (!(Object.create(ClientXHR.prototype) instanceof ClientPolling)) throw new Error('unexpected engine.io-client classes');

// ws 7: text messages arrive as strings, binary ones as Buffer/ArrayBuffer
C.hookWs(ws.Sender, ws, (data) => typeof data !== 'string');

const args = C.parseArgs(9962, 'sio2.js');
const URL_BASE = `http://127.0.0.1:${args.port}`;
const PING_INTERVAL = 1000; // Engine.IO v3: the client pings, the server pongs
const POLL_UPLOAD = C.bytes(16, 29, 3); // uploaded on long-polling
const { errors, appRecs, clientLog, serverLog, waitFor, emitAck, sleep, expect, J } = C;

// ------------------------------------------- Socket.IO packet decoding
// socket.io-parser 3.x keeps decodeString private; Decoder#add calls it and
// then either emits 'decoded' (plain packets) or keeps the packet in a
// BinaryReconstructor until the attachments arrive (BINARY_*).
let decodingRec = null; // the record whose string the library is decoding
function sioOf(P, p) {
  const o = { type: P.types[p.type], nsp: p.nsp, id: p.id === undefined ? null : p.id };
  if ('data' in p && p.data !== undefined) o.data = JSON.parse(JSON.stringify(p.data));
  o.attachments = p.attachments || 0;
  return o;
}
for (const P of new Set(Object.values(sioParsers))) {
  const D = P.Decoder.prototype;
  const origAdd = D.add;
  D.add = function add(obj) {
    if (this.__private) return origAdd.call(this, obj);
    const curRecv = C.receiving();
    const rec = (typeof obj === 'string' && curRecv && curRecv.eio.type === 'message'
      && curRecv.eio.data === obj && !curRecv.sio) ? curRecv : null;
    const saved = decodingRec;
    const prevRecon = this.reconstructor;
    decodingRec = rec;
    try {
      return origAdd.call(this, obj);
    } finally {
      decodingRec = saved;
      if (rec && !rec.sio && this.reconstructor && this.reconstructor !== prevRecon) {
        rec.sio = sioOf(P, this.reconstructor.reconPack); // snapshot: reconstructPacket rewrites it later
        rec.sioFromLib = true;
      }
    }
  };
  const origEmit = D.emit;
  D.emit = function emit(ev, packet) {
    if (ev === 'decoded' && !this.__private && decodingRec && !decodingRec.sio) {
      decodingRec.sio = sioOf(P, packet); // snapshot before the listeners (onevent pushes the ack fn)
      decodingRec.sioFromLib = true;
    }
    return origEmit.apply(this, arguments);
  };
}
function sioDecode(side, str) {
  const P = sioParsers[side];
  const d = new P.Decoder();
  d.__private = true;
  let out = null;
  d.on('decoded', (p) => { out = sioOf(P, p); });
  try { d.add(str); } catch (e) { return null; }
  if (!out && d.reconstructor) out = sioOf(P, d.reconstructor.reconPack);
  return out;
}

// ------------------------------------------------- Engine.IO packets
// engine.io-parser 2.x's decodePayload (shared by server and client) hands
// each packet to a callback
const origDecodePayload = eioParser.decodePayload;
eioParser.decodePayload = function decodePayload(data, binaryType, callback) {
  if (typeof binaryType === 'function') { callback = binaryType; binaryType = null; }
  const log = C.pollingLogger();
  const cb = !log ? callback : function (packet, index, total) {
    log(packet);
    return callback(packet, index, total);
  };
  return origDecodePayload.call(this, data, binaryType, cb);
};
C.hookEngineIO({
  ServerSocket,
  maybeUpgrade: 'maybeUpgrade',
  ServerTransport: require(path.join(NM, 'engine.io/lib/transport.js')),
  ServerPolling: require(path.join(NM, 'engine.io/lib/transports/polling.js')),
  ServerWebSocket: require(path.join(NM, 'engine.io/lib/transports/websocket.js')),
  ClientTransport: require(path.join(NM, 'engine.io-client/lib/transport.js')),
  ClientPolling,
  ClientXHR,
  ClientWS: require(path.join(NM, 'engine.io-client/lib/transports/websocket.js')),
  uriOf: (req) => req.uri,
  sioDecode,
});

// ------------------------------------------------------------ the server
const httpServer = http.createServer();
const io = SocketIOServer(httpServer, Object.assign({ pingInterval: PING_INTERVAL }, C.SERVER_OPTIONS));
C.logRequests(httpServer);

// The WebSocket upgrade of the polling session (engine.io-client 3 opens the
// probe WebSocket right after the handshake) is held back until the client
// has finished its long-polling steps: this makes the polling phase the same
// on every run.  New WebSocket-only sessions are not delayed.
let releaseUpgrade;
const upgradeGate = new Promise((r) => { releaseUpgrade = r; });
C.holdUpgrades(httpServer, io, () => upgradeGate, 5000);

{ // server: watch from before the open packet (and socket.io's initial "40")
  const origOnOpen = ServerSocket.prototype.onOpen;
  ServerSocket.prototype.onOpen = function onOpen() {
    C.watchEngine('server', this, () => this.id);
    return origOnOpen.call(this);
  };
}

io.engine.on('connection', (s) => {
  serverLog.push(['engine connection', s.transport.name]);
  s.on('upgrade', (tr) => serverLog.push(['engine upgrade', tr.name]));
});
io.on('connection', (socket) => {
  serverLog.push(['connect /', socket.conn.transport.name, socket.handshake.query.user || null]);
  socket.on('hello', (msg, ack) => {
    serverLog.push(['hello', msg, socket.conn.transport.name]);
    ack({ ok: true, transport: socket.conn.transport.name, echo: msg.text });
  });
  // three packets in one tick: the pending GET takes the first, the next
  // GET the other two (or all three, if no GET was pending)
  socket.on('burst', (n) => {
    serverLog.push(['burst', n, socket.conn.transport.name]);
    socket.emit('tick', { n: 1, text: '하나' });
    socket.emit('tick', { n: 2, text: '둘 🎈' });
    socket.emit('tick', { n: 3, text: 'three' });
  });
  socket.on('progress', (p) => serverLog.push(['progress', p]));
  C.serveRoot(io, socket);
});
// Socket.IO v2: a namespace's query travels in its CONNECT packet
C.serveAdmin(io, (socket) => socket.handshake.query && socket.handshake.query.token === 'adm1n-t0ken');
io.of('/forbidden').use((socket, next) => {
  next(new Error('not authorized')); // v2: ERROR packet with the message as its data
});

// ------------------------------------------------------------ the client
// wait until the engine has nothing queued and its transport is writable
// (no POST in flight), so the next emit starts a fresh POST
async function idle(engine) {
  const t0 = Date.now();
  while (!(engine.transport.writable && engine.writeBuffer.length === 0)) {
    if (Date.now() - t0 > 3000) throw new Error('engine not idle');
    await sleep(2);
  }
}

async function session1(agent) {
  const m = new Manager(URL_BASE, C.managerOptions(agent));
  const s = m.socket('/');
  const a = m.socket('/admin', { query: { token: 'adm1n-t0ken' } });
  const ticks = [];
  s.on('tick', (t) => ticks.push(t));
  const notice = waitFor(a, 'notice');
  const { question, connected } = C.connectSession1(m, s, a);
  const engine = m.engine;
  let wsPings = 0;
  let wsPongs = 0;
  let pollPings = 0;
  engine.on('ping', () => { if (engine.transport.name === 'websocket') wsPings += 1; else pollPings += 1; });
  engine.on('pong', () => { if (engine.transport.name === 'websocket') wsPongs += 1; });
  const upgraded = waitFor(engine, 'upgrade');
  // emitted before "/" is connected: buffered by socket.io-client and sent
  // right after the server's CONNECT (which v2 puts in the handshake body)
  const hello = emitAck(s, 'hello', { client: 'node', lang: 'ko', text: '안녕하세요 😀' });
  await Promise.all([connected, notice]);
  clientLog.push(['hello ack', ...(await hello), engine.transport.name]);

  // a server push of three packets while a GET is pending
  await idle(engine);
  const gotTicks = new Promise((resolve) => { const iv = setInterval(() => { if (ticks.length >= 3) { clearInterval(iv); resolve(); } }, 2); });
  s.emit('burst', 3);
  await gotTicks;
  clientLog.push(['ticks', ticks, engine.transport.name]);

  // binary attachment during polling, both ways: "progress" takes the POST,
  // the BINARY_EVENT and its attachment are queued together for the next one
  await idle(engine);
  s.emit('progress', { step: 'upload', pct: 0 });
  const up1 = await emitAck(s, 'upload', { name: 'poll.bin', data: POLL_UPLOAD });
  clientLog.push(['upload ack polling', ...C.uploadAck(up1[0], engine)]);

  // a namespace rejected by middleware: ERROR packet (type 4)
  await idle(engine);
  const f = m.socket('/forbidden');
  const ferr = waitFor(f, 'error');
  f.open();
  const [err] = await ferr;
  clientLog.push(['forbidden error', err, engine.transport.name]);
  clientLog.push(['polling pings', pollPings]);

  // end of the long-polling phase: let the upgrade through
  await idle(engine);
  releaseUpgrade();
  await upgraded;
  clientLog.push(['upgraded', engine.transport.name]);

  s.emit('chat', { user: 'alice', text: '안녕하세요 🌍 hi', n: 1 });
  await C.websocketSteps(engine, s, a, question);

  // at least one Engine.IO heartbeat on the WebSocket (v3: client ping, server pong)
  const t0 = Date.now();
  while (wsPongs < 1) {
    if (Date.now() - t0 > 3000) throw new Error('no ping/pong on websocket');
    await sleep(10);
  }
  clientLog.push(['ws pings', wsPings, wsPongs]);

  f.close(); // never connected: no packet, only leaves the Manager's list
  await C.closeSession1(engine, s, a);
}

async function session2(agent) {
  const m = new Manager(URL_BASE, C.managerOptions(agent, { transports: ['websocket'], query: { user: 'bob' } }));
  await C.websocketOnly(m, m.socket('/'));
}

// ------------------------------------------------- polling body framing
// Split a polling body into its packets exactly as Engine.IO v3 frames
// them: text payload `<length>:<packet>` (length in UTF-16 code units of
// the JavaScript string, binary data as `b<type><base64>`), or the binary
// payload (<0|1><length digits as bytes 0-9><0xff><packet>).
function splitBody(body, binary) {
  const out = [];
  if (!binary) {
    const str = body.toString('utf8');
    let i = 0;
    while (i < str.length) {
      const c = str.indexOf(':', i);
      if (c < 0) throw new Error(`no ':' in ${JSON.stringify(str.slice(i))}`);
      const n = Number(str.slice(i, c));
      const seg = str.substr(c + 1, n);
      if (seg.length !== n) throw new Error('short packet');
      out.push({ wire: { format: 'text', len: n, b64: seg[0] === 'b' }, packet: eioParser.decodePacket(seg) });
      i = c + 1 + n;
    }
    return out;
  }
  let i = 0;
  while (i < body.length) {
    const isString = body[i] === 0;
    let j = i + 1;
    let digits = '';
    while (body[j] !== 255) { digits += String(body[j]); j += 1; }
    const n = Number(digits);
    const seg = body.subarray(j + 1, j + 1 + n);
    const pk = isString ? eioParser.decodePacket(seg.toString('latin1'), undefined, true) : eioParser.decodePacket(Buffer.from(seg));
    out.push({ wire: { format: 'binary', len: n, string: isString }, packet: pk });
    i = j + 1 + n;
  }
  return out;
}

// each polling body that matched its app records: split it and give each
// record its packet's framing ("wire")
const wireStats = { text: 0, binary: 0, b64: 0, multiGet: 0, multiPost: 0 };
function onBody(ex, recs, body, binary) {
  let parts;
  try { parts = splitBody(body, binary); } catch (e) { errors.push(`split ${ex.target}: ${e.message}`); return; }
  if (parts.length !== recs.length) { errors.push(`split ${ex.target}: ${parts.length} packets, ${recs.length} records`); return; }
  parts.forEach((p, i) => {
    if (J(C.eioOf(p.packet)) !== J(recs[i].eio)) errors.push(`split ${ex.target} packet ${i}: ${J(C.eioOf(p.packet))} != ${J(recs[i].eio)}`);
    recs[i].wire = p.wire;
  });
  if (ex.side === 'server') {
    wireStats[binary ? 'binary' : 'text'] += 1;
    wireStats.b64 += parts.filter((p) => p.wire.b64).length;
    if (parts.length > 1) wireStats[ex.method === 'GET' ? 'multiGet' : 'multiPost'] += 1;
  }
}

// ------------------------------------------------------------ checks
// besides the shared steps' (common.js expectShared)
function expectations() {
  const has = (pred) => clientLog.some(pred);
  expect(has((x) => x[0] === 'hello ack' && x[1].transport === 'polling' && x[1].echo === '안녕하세요 😀'
    && x[2] === 'polling'), 'hello ack on polling');
  expect(has((x) => x[0] === 'ticks' && x[1].length === 3 && x[2] === 'polling'), 'three ticks on polling');
  C.expectUpload('upload ack polling', POLL_UPLOAD, 'polling');
  expect(has((x) => x[0] === 'forbidden error' && x[1] === 'not authorized' && x[2] === 'polling'),
    'ERROR for /forbidden on polling');
  expect(has((x) => x[0] === 'polling pings' && x[1] === 0), 'no heartbeat during the polling phase');
  expect(has((x) => x[0] === 'ws pings' && x[1] >= 1 && x[2] >= 1), 'ping/pong on websocket');
  const sioTypes = new Set(appRecs.filter((r) => r.sio).map((r) => `${r.side}:${r.role}:${r.transport}:${r.sio.type}`));
  for (const t of ['polling:CONNECT', 'polling:EVENT', 'polling:BINARY_EVENT', 'websocket:DISCONNECT',
    'websocket:EVENT', 'websocket:ACK', 'websocket:BINARY_EVENT']) expect(sioTypes.has(`client:sent:${t}`), `client sent ${t}`);
  for (const t of ['polling:CONNECT', 'polling:EVENT', 'polling:ACK', 'polling:ERROR', 'polling:BINARY_ACK',
    'websocket:CONNECT', 'websocket:EVENT', 'websocket:ACK', 'websocket:BINARY_ACK']) {
    expect(sioTypes.has(`server:sent:${t}`), `server sent ${t}`);
  }
  const eioTypes = new Set(appRecs.map((r) => `${r.side}:${r.role}:${r.transport}:${r.eio.type}`));
  for (const t of ['server:sent:polling:open', 'server:sent:polling:noop', 'client:sent:websocket:ping',
    'server:sent:websocket:pong', 'client:sent:websocket:upgrade', 'server:sent:websocket:open']) expect(eioTypes.has(t), t);
  expect(appRecs.some((r) => r.transport === 'polling' && r.side === 'server' && r.role === 'sent' && r.eio.data_b64),
    'server binary packet on polling');
  expect(appRecs.some((r) => r.transport === 'polling' && r.side === 'client' && r.role === 'sent' && r.eio.data_b64),
    'client binary packet on polling');
  expect(wireStats.multiGet > 0, 'a GET response with several packets');
  expect(wireStats.multiPost > 0, 'a POST with several packets');
}

C.run({
  args,
  httpServer,
  io,
  sessions: [session1, session2],
  // Engine.IO v3: `<length>:<packet>` text payloads, or the binary payload
  // (application/octet-stream) for a client that supports binary
  encodeBody: (pk, binary) => {
    let enc = null;
    eioParser.encodePayload(pk, binary, (s) => { enc = s; });
    return enc;
  },
  onBody,
  binaryTypeByte: true,
  serverOpenEvent: true, // watched from Socket#onOpen
  expectations,
  summary: () => [`polling bodies: ${J(wireStats)}`],
});
