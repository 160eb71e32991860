#!/usr/bin/env node
// Socket.IO v4 scenario (npm `socket.io` server + Node `socket.io-client`,
// versions pinned in package.json / package-lock.json) for samples/sio.pcap.
//
// One process runs a Socket.IO server on 127.0.0.1:PORT and two client
// sessions, one after the other:
//
//   session 1  default transports: Engine.IO handshake and Socket.IO traffic
//              over HTTP long-polling, then the upgrade to WebSocket
//              (2probe / 3probe / 5), then WebSocket.  Namespaces "/" and
//              "/admin" are multiplexed on the one Engine.IO session;
//              "/forbidden" is rejected by middleware (CONNECT_ERROR).
//              Two requests cross the upgrade: "slow" (client -> server)
//              and "slowq" (server -> client) are asked on long-polling
//              and answered, on WebSocket, once the answering side's
//              Engine.IO socket has upgraded.
//   session 2  transports: ["websocket"] only.
//
// See samples/README.md ("socketio/sio.js") for the message-by-message script.
//
// Ground truth, logged from inside the endpoints by common.js (shared with
// ../socketio2/sio2.js: raw TCP bytes, WebSocket frames, Engine.IO packets,
// HTTP long-polling exchanges, the log and its cross-checks).  Here, what
// is particular to these versions:
// * WebSocket messages: both `ws` copies (the server's and
//   engine.io-client's) are hooked, so even socket.io's pre-encoded
//   broadcast frames are logged.
// * Engine.IO packets: engine.io-parser 5's decodePayload returns the
//   packets of a polling payload.
// * Socket.IO packets: received: the packet returned by socket.io-parser's
//   Decoder#decodeString while the library itself decodes it; sent: the
//   same Decoder#decodeString applied to the string the library's Encoder
//   produced.
//
// Usage: node sio.js --port 9961 --log F.jsonl [--streams DIR]
'use strict';

const http = require('http');
const path = require('path');

const C = require('./common.js');
const { Server } = require('socket.io');
const { Manager } = require('socket.io-client');
const eioServer = require('engine.io');
const eioClient = require('engine.io-client');
const sioParser = require('socket.io-parser');
const eioParser = require('engine.io-parser');

const NM = path.join(__dirname, 'node_modules');
const ServerPolling = require(path.join(NM, 'engine.io/build/transports/polling.js')).Polling;
const ClientXHR = eioClient.NodeXHR;
const ClientPolling = Object.getPrototypeOf(Object.getPrototypeOf(ClientXHR.prototype)).constructor;
const ClientBaseWS = Object.getPrototypeOf(eioClient.NodeWebSocket.prototype).constructor;
if (ClientPolling.name !== 'Polling' || ClientBaseWS.name !== 'BaseWS') {
  throw new Error(`unexpected engine.io-client classes ${ClientPolling.name} ${ClientBaseWS.name}`);
}
// the two copies of `ws`: the server's (engine.io, socket.io-adapter) and
// engine.io-client's
for (const from of ['engine.io', 'engine.io-client']) {
  const ws = require(require.resolve('ws', { paths: [path.join(NM, from)] }));
  C.hookWs(ws.Sender, ws.WebSocket, (data, isBinary) => isBinary);
}

const args = C.parseArgs(9961, 'sio.js');
const URL_BASE = `http://127.0.0.1:${args.port}`;
const { appRecs, clientLog, serverLog, waitFor, emitAck, expect } = C;

// ------------------------------------------- Socket.IO packet decoding
const PT = sioParser.PacketType;
const origDecodeString = sioParser.Decoder.prototype.decodeString;
const privDecoder = new sioParser.Decoder();
sioParser.Decoder.prototype.decodeString = function decodeString(str) {
  const p = origDecodeString.call(this, str);
  const curRecv = C.receiving();
  if (curRecv && curRecv.eio.type === 'message' && curRecv.eio.data === str && !curRecv.sio) {
    curRecv.sio = sioOf(p); // snapshot: Decoder#add mutates the packet later
    curRecv.sioFromLib = true;
  }
  return p;
};
function sioOf(p) {
  const o = { type: PT[p.type], nsp: p.nsp, id: p.id === undefined ? null : p.id };
  if ('data' in p) o.data = JSON.parse(JSON.stringify(p.data));
  o.attachments = p.attachments || 0;
  return o;
}
function sioDecode(side, str) {
  try { return sioOf(origDecodeString.call(privDecoder, str)); } catch (e) { return null; }
}

// ------------------------------------------------- Engine.IO packets
// engine.io-parser 5's decodePayload (shared by server and client) returns
// the packets
const origDecodePayload = eioParser.decodePayload;
eioParser.decodePayload = function decodePayload(...a) {
  const log = C.pollingLogger();
  const out = origDecodePayload.apply(this, a);
  if (log) for (const p of out) log(p);
  return out;
};
C.hookEngineIO({
  ServerSocket: eioServer.Socket,
  maybeUpgrade: '_maybeUpgrade',
  ServerTransport: eioServer.Transport,
  ServerPolling,
  ServerWebSocket: eioServer.transports.websocket,
  ClientTransport: eioClient.Transport,
  ClientPolling,
  ClientXHR,
  ClientWS: ClientBaseWS,
  uriOf: (req) => req._uri,
  sioDecode,
});

// ------------------------------------------------------------ the server
const httpServer = http.createServer();
const io = new Server(httpServer, Object.assign({ pingInterval: 300 }, C.SERVER_OPTIONS));
C.logRequests(httpServer);

// The WebSocket upgrade of an existing (polling) session is held back until
// that session's polling phase is over: the server has written, on polling,
// the CONNECT reply of "/admin", its "slowq" question (EVENT on "/") and the
// ack of "hello", and its "slow" handler has been called (the event came
// on polling).  This makes the polling phase deterministic (without it the
// upgrade races the first emits).  New WebSocket-only sessions are not
// delayed.
const pollingPhase = new Map(); // sid -> {need:Set, resolve, promise}
function phase(sid) {
  if (!pollingPhase.has(sid)) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    pollingPhase.set(sid, { need: new Set(['CONNECT /admin', 'EVENT /', 'ACK /', 'asked slow']), resolve, promise });
  }
  return pollingPhase.get(sid);
}
function phaseDone(sid, what) {
  const ph = phase(sid);
  ph.need.delete(what);
  if (ph.need.size === 0) ph.resolve();
}
function notePollingSent(rec) {
  if (rec.side !== 'server' || rec.transport !== 'polling' || !rec.sio) return;
  phaseDone(rec.sid, `${rec.sio.type} ${rec.sio.nsp}`);
}
{ // watch the server's polling sends (wraps the logging wrapper of common.js)
  const orig = ServerPolling.prototype.send;
  ServerPolling.prototype.send = function send(packets) {
    const n0 = appRecs.length;
    const r = orig.call(this, packets);
    for (const rec of appRecs.slice(n0)) notePollingSent(rec);
    return r;
  };
}
C.holdUpgrades(httpServer, io, (sid) => phase(sid).promise, 3000);

io.engine.on('connection', (s) => {
  C.watchEngine('server', s, () => s.id);
  serverLog.push(['engine connection', s.transport.name]);
  s.on('upgrade', (tr) => serverLog.push(['engine upgrade', tr.name]));
});
io.on('connection', (socket) => {
  serverLog.push(['connect /', socket.conn.transport.name, socket.handshake.auth]);
  socket.on('hello', (msg, ack) => {
    serverLog.push(['hello', msg, socket.conn.transport.name]);
    ack({ ok: true, transport: socket.conn.transport.name, echo: msg });
  });
  socket.on('mixed', (...a) => serverLog.push(['mixed', a]));
  // asked on long-polling, answered once this Engine.IO socket has
  // upgraded: the ack goes out on the WebSocket
  socket.on('slow', (job, ack) => {
    const asked = socket.conn.transport.name;
    serverLog.push(['slow', job, asked]);
    const answer = () => {
      serverLog.push(['slow answered', socket.conn.transport.name]);
      ack({ done: true, job: job.job, asked_on: asked, answered_on: socket.conn.transport.name });
    };
    if (asked === 'websocket') answer();
    else socket.conn.once('upgrade', answer);
    phaseDone(socket.conn.id, 'asked slow');
  });
  // the server's question asked on long-polling (the client answers it
  // once its own Engine.IO socket has upgraded)
  if (socket.conn.transport.name === 'polling') {
    socket.emit('slowq', { q: 'still there after the upgrade?' }, (answer) => {
      serverLog.push(['slowq answer', answer, socket.conn.transport.name]);
    });
  }
  C.serveRoot(io, socket);
});
// Socket.IO v4: the token is in the CONNECT packet's auth payload
C.serveAdmin(io, (socket) => socket.handshake.auth && socket.handshake.auth.token === 'adm1n-t0ken');
io.of('/forbidden').use((socket, next) => {
  const err = new Error('not authorized');
  err.data = { code: 403, hint: 'this namespace needs a ticket' };
  next(err);
});

// ------------------------------------------------------------ the client
async function session1(agent) {
  const m = new Manager(URL_BASE, C.managerOptions(agent));
  const s = m.socket('/');
  const a = m.socket('/admin', { auth: { token: 'adm1n-t0ken' } });
  // the server's "slowq", asked on long-polling: answered once the
  // client's Engine.IO socket has upgraded, so the ack goes on the WebSocket
  const slowq = new Promise((resolve) => {
    s.on('slowq', (q, ack) => {
      const asked = m.engine.transport.name;
      const answer = () => {
        ack({ ok: true, asked_on: asked, answered_on: m.engine.transport.name });
        resolve([q, asked, m.engine.transport.name]);
      };
      if (asked === 'websocket') answer();
      else m.engine.once('upgrade', answer);
    });
  });
  const { question, connected } = C.connectSession1(m, s, a);
  // emitted before the connection is up: buffered by socket.io-client and
  // sent right after the CONNECT reply, i.e. on long-polling.  The server
  // answers "slow" only once it has upgraded (on the WebSocket).
  const hello = emitAck(s, 'hello', { client: 'node', lang: 'ko', text: '안녕' });
  const slow = emitAck(s, 'slow', { job: 'report', pages: 3 });
  await connected;
  const engine = m.engine;
  const upgraded = engine.transport.name === 'websocket' ? Promise.resolve() : waitFor(engine, 'upgrade');
  let wsPings = 0;
  engine.on('ping', () => { if (engine.transport.name === 'websocket') wsPings += 1; });
  clientLog.push(['hello ack', ...(await hello), engine.transport.name]);
  await upgraded;
  clientLog.push(['upgraded', engine.transport.name]);
  clientLog.push(['slowq', ...(await slowq)]);
  clientLog.push(['slow ack', ...(await slow), engine.transport.name]);

  s.emit('chat', { user: 'alice', text: '안녕하세요 🌍 hi', n: 1 });
  s.emit('mixed', 'a string', 42, 3.14, -7, true, null, [1, [2, [3, 'four']]],
    { nested: { arr: [{ k: 'v' }], emptyObj: {}, emptyArr: [] } }, 'unicode: é ß 한국어 😀 \u2028 "quoted"');
  await C.websocketSteps(engine, s, a, question);

  const f = m.socket('/forbidden');
  const ce = waitFor(f, 'connect_error');
  f.connect();
  const [err] = await ce;
  clientLog.push(['connect_error', err.message, err.data]);

  // at least one Engine.IO heartbeat on the WebSocket
  const t0 = Date.now();
  while (wsPings < 1) {
    if (Date.now() - t0 > 3000) throw new Error('no ping on websocket');
    await C.sleep(10);
  }
  await C.sleep(20); // let the pong go out
  clientLog.push(['ws pings', wsPings]);

  await C.closeSession1(engine, s, a);
}

async function session2(agent) {
  const m = new Manager(URL_BASE, C.managerOptions(agent, { transports: ['websocket'] }));
  await C.websocketOnly(m, m.socket('/', { auth: { user: 'bob' } }));
}

// ------------------------------------------------------------ checks
// besides the shared steps' (common.js expectShared)
function expectations() {
  expect(clientLog.some((x) => x[0] === 'hello ack' && x[1].transport === 'polling' && x[2] === 'polling'),
    'hello ack on polling');
  expect(clientLog.some((x) => x[0] === 'connect_error' && x[1] === 'not authorized' && x[2].code === 403),
    'connect_error');
  expect(clientLog.some((x) => x[0] === 'ws pings' && x[1] >= 1), 'ping on websocket');
  const sioTypes = new Set(appRecs.filter((r) => r.sio).map((r) => `${r.side}:${r.role}:${r.sio.type}`));
  for (const t of ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'BINARY_EVENT']) expect(sioTypes.has(`client:sent:${t}`), `client sent ${t}`);
  for (const t of ['CONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_ACK']) expect(sioTypes.has(`server:sent:${t}`), `server sent ${t}`);
  const eioTypes = new Set(appRecs.map((r) => `${r.side}:${r.role}:${r.transport}:${r.eio.type}`));
  for (const t of ['server:sent:polling:open', 'server:sent:polling:noop', 'client:sent:websocket:ping',
    'server:sent:websocket:pong', 'client:sent:websocket:upgrade', 'server:sent:websocket:ping',
    'client:sent:websocket:pong', 'server:sent:websocket:open']) expect(eioTypes.has(t), t);
  expect(appRecs.some((r) => r.transport === 'polling' && r.sio && r.sio.type === 'ACK' && r.side === 'server'),
    'ACK on polling');
  // the requests that cross the upgrade: asked on polling, answered on the
  // WebSocket, as the handlers saw it and as the packets went
  expect(clientLog.some((x) => x[0] === 'slow ack' && x[1].done === true && x[1].asked_on === 'polling'
    && x[1].answered_on === 'websocket' && x[2] === 'websocket'), 'slow ack: asked on polling, answered on websocket');
  expect(serverLog.some((x) => x[0] === 'slow' && x[2] === 'polling')
    && serverLog.some((x) => x[0] === 'slow answered' && x[1] === 'websocket'), 'server: slow asked on polling, answered on websocket');
  expect(clientLog.some((x) => x[0] === 'slowq' && x[2] === 'polling' && x[3] === 'websocket'),
    'client: slowq asked on polling, answered on websocket');
  expect(serverLog.some((x) => x[0] === 'slowq answer' && x[1].ok === true && x[1].asked_on === 'polling'
    && x[1].answered_on === 'websocket' && x[2] === 'websocket'), 'server: slowq answer on websocket');
  // and per side, from the app records: the EVENT on polling, its ACK (same
  // sid, namespace and id) on the WebSocket, later
  for (const [ev, asker] of [['slow', 'client'], ['slowq', 'server']]) {
    for (const side of ['client', 'server']) {
      const [qRole, aRole] = side === asker ? ['sent', 'received'] : ['received', 'sent'];
      const q = appRecs.filter((r) => r.side === side && r.role === qRole && r.sio && r.sio.type === 'EVENT'
        && r.sio.nsp === '/' && r.sio.data[0] === ev);
      const ok = q.length === 1 && q[0].transport === 'polling' && q[0].sio.id !== null;
      expect(ok, `${ev}: ${side} ${qRole} its EVENT on polling`);
      if (!ok) continue;
      const a = appRecs.filter((r) => r.side === side && r.role === aRole && r.sid === q[0].sid && r.sio
        && r.sio.type === 'ACK' && r.sio.nsp === '/' && r.sio.id === q[0].sio.id);
      expect(a.length === 1 && a[0].transport === 'websocket' && a[0].t > q[0].t,
        `${ev}: ${side} ${aRole} its ACK ${q[0].sio.id} on websocket, after the EVENT`);
    }
  }
}

C.run({
  args,
  httpServer,
  io,
  sessions: [session1, session2],
  // Engine.IO v4 polling bodies are text: packets joined by \x1e
  encodeBody: (pk) => {
    let enc = null;
    eioParser.encodePayload(pk, (s) => { enc = s; });
    return enc;
  },
  binaryTypeByte: false,
  serverOpenEvent: false, // created before io.engine emits 'connection'
  expectations,
});
