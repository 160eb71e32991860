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
//   session 2  transports: ["websocket"] only.
//
// See samples/README.md ("socketio/sio.js") for the message-by-message script.
//
// Ground truth, logged from inside the endpoints:
// * raw TCP bytes: every TCP socket is wrapped in a stream.Duplex that
//   records what was read from / written to the kernel socket (server:
//   net.createServer + httpServer.emit('connection', wrapper); client: a
//   custom http.Agent whose createConnection returns the wrapper; the
//   client's polling requests and its WebSocket upgrade requests all go
//   through that agent).
// * WebSocket messages: Sender.prototype.sendFrame of both `ws` copies (the
//   server's and engine.io-client's) is wrapped and every frame written is
//   parsed back (header, unmasking) so even socket.io's pre-encoded
//   broadcast frames are logged; received messages/control frames come from
//   the Receiver's events (prepended listeners).
// * Engine.IO packets (app records, proto "socketio"): the transports'
//   own parse results and send calls, on both sides (see samples/README.md).
// * Socket.IO packets: received: the packet returned by socket.io-parser's
//   Decoder#decodeString while the library itself decodes it; sent: the
//   same Decoder#decodeString applied to the string the library's Encoder
//   produced.
// * HTTP long-polling exchanges: server: the http 'request' event
//   (req/res objects); client: the ClientRequest / IncomingMessage objects
//   of the agent.
//
// Usage: node sio.js --port 9961 --log F.jsonl [--streams DIR]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const { performance } = require('perf_hooks');

const { Server } = require('socket.io');
const { Manager } = require('socket.io-client');
const eioServer = require('engine.io');
const eioClient = require('engine.io-client');
const sioParser = require('socket.io-parser');
const eioParser = require('engine.io-parser');

const NM = path.join(__dirname, 'node_modules');
const ServerPolling = require(path.join(NM, 'engine.io/build/transports/polling.js')).Polling;
const ServerWebSocket = eioServer.transports.websocket;
const ServerTransport = eioServer.Transport;
const ServerSocket = eioServer.Socket;
const ClientTransport = eioClient.Transport;
const ClientXHR = eioClient.NodeXHR;
const ClientPolling = Object.getPrototypeOf(Object.getPrototypeOf(ClientXHR.prototype)).constructor;
const ClientBaseWS = Object.getPrototypeOf(eioClient.NodeWebSocket.prototype).constructor;
if (ClientPolling.name !== 'Polling' || ClientBaseWS.name !== 'BaseWS') {
  throw new Error(`unexpected engine.io-client classes ${ClientPolling.name} ${ClientBaseWS.name}`);
}
// the two copies of `ws`: the server's (engine.io, socket.io-adapter) and
// engine.io-client's
const wsCopies = [
  require(require.resolve('ws', { paths: [path.join(NM, 'engine.io')] })),
  require(require.resolve('ws', { paths: [path.join(NM, 'engine.io-client')] })),
];

// ------------------------------------------------------------------ args
const args = { port: 9961, log: null, streams: null };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  args[k] = k === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!args.log) {
  console.error('usage: node sio.js --port 9961 --log F.jsonl [--streams DIR]');
  process.exit(2);
}
const PORT = args.port;
const URL_BASE = `http://127.0.0.1:${PORT}`;

// ------------------------------------------------------------ recording
const T = () => Number(((performance.timeOrigin + performance.now()) / 1000).toFixed(6));
const errors = [];
const rawSockets = []; // LoggedSockets of both sides, creation order
const clientSockets = []; // client LoggedSockets, in connect order
const closedPromises = [];
const msgEvents = []; // {sock, o}
const seqs = new Map();
const appRecs = []; // app records, logging order; {sock|uri, ...}
const httpEx = []; // http_exchange records of both sides

function dirOf(side, role) {
  if (role === 'sent') return side === 'client' ? 'c2s' : 's2c';
  return side === 'client' ? 's2c' : 'c2s';
}

class LoggedSocket extends Duplex {
  constructor(sock, side) {
    super({ allowHalfOpen: true });
    this._sock = sock;
    this.side = side;
    this.sent = [];
    this.received = [];
    this.key = null;
    rawSockets.push(this);
    if (side === 'client') clientSockets.push(this);
    closedPromises.push(new Promise((r) => sock.once('close', r)));
    const setKey = () => {
      // key: the client's port (everything is on 127.0.0.1)
      this.key = String(side === 'client' ? sock.localPort : sock.remotePort);
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

// ------------------------------------------------ WebSocket frame hooks
const OPNAMES = { 0: 'cont', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
function toBuf(x) {
  if (Buffer.isBuffer(x)) return Buffer.from(x);
  if (typeof x === 'string') return Buffer.from(x, 'utf8');
  if (x instanceof ArrayBuffer) return Buffer.from(new Uint8Array(x));
  if (Array.isArray(x)) return Buffer.concat(x.map(toBuf));
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`toBuf: ${typeof x}`);
}
function logMsg(sock, role, opcode, payload) {
  const side = sock.side;
  const o = { kind: 'msg', side, role, dir: dirOf(side, role), seq: 0, opcode,
    len: payload.length, b64: payload.toString('base64') };
  if (opcode === 'close' && payload.length >= 2) {
    o.close_code = payload.readUInt16BE(0);
    o.close_reason = payload.subarray(2).toString('utf8');
  }
  msgEvents.push({ sock, o });
}
// parse one frame exactly as the Sender hands it to the socket
function parseFrame(list) {
  const buf = Buffer.concat(list.map(toBuf));
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) { len = buf.readUInt16BE(2); off = 4; } else if (len === 127) {
    len = Number(buf.readBigUInt64BE(2)); off = 10;
  }
  let mask = null;
  if (masked) { mask = buf.subarray(off, off + 4); off += 4; }
  if (off + len !== buf.length) throw new Error(`frame length mismatch ${off}+${len} != ${buf.length}`);
  const payload = Buffer.from(buf.subarray(off));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  return { fin, opcode, payload };
}
for (const ws of wsCopies) {
  const S = ws.Sender.prototype;
  const origSendFrame = S.sendFrame;
  S.sendFrame = function sendFrame(list, cb) {
    try {
      const f = parseFrame(list);
      const sock = this._socket;
      if (!(sock instanceof LoggedSocket)) throw new Error('sender socket is not a LoggedSocket');
      if (f.opcode >= 8) {
        logMsg(sock, 'sent', OPNAMES[f.opcode], f.payload);
      } else {
        if (f.opcode !== 0) this.__frag = { opcode: OPNAMES[f.opcode], parts: [] };
        this.__frag.parts.push(f.payload);
        if (f.fin) {
          logMsg(sock, 'sent', this.__frag.opcode, Buffer.concat(this.__frag.parts));
          this.__frag = null;
        }
      }
    } catch (e) {
      errors.push(`sendFrame hook: ${e.stack}`);
    }
    return origSendFrame.call(this, list, cb);
  };
  const W = ws.WebSocket.prototype;
  const origSetSocket = W.setSocket;
  W.setSocket = function setSocket(socket, head, options) {
    const r = origSetSocket.call(this, socket, head, options);
    const rc = this._receiver;
    rc.prependListener('message', (data, isBinary) => {
      logMsg(socket, 'received', isBinary ? 'binary' : 'text', toBuf(data));
    });
    rc.prependListener('ping', (data) => logMsg(socket, 'received', 'ping', toBuf(data)));
    rc.prependListener('pong', (data) => logMsg(socket, 'received', 'pong', toBuf(data)));
    rc.prependListener('conclude', (code, reason) => {
      let p = Buffer.alloc(0);
      if (code !== 1005) {
        const rb = toBuf(reason);
        p = Buffer.alloc(2 + rb.length);
        p.writeUInt16BE(code, 0);
        rb.copy(p, 2);
      }
      logMsg(socket, 'received', 'close', p);
    });
    return r;
  };
}

// ------------------------------------------- Socket.IO packet decoding
const PT = sioParser.PacketType;
const origDecodeString = sioParser.Decoder.prototype.decodeString;
const privDecoder = new sioParser.Decoder();
let curRecv = null; // app record of the Engine.IO packet being handled
sioParser.Decoder.prototype.decodeString = function decodeString(str) {
  const p = origDecodeString.call(this, str);
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
function sioDecode(str) {
  try { return sioOf(origDecodeString.call(privDecoder, str)); } catch (e) { return null; }
}

// ------------------------------------------------- Engine.IO packets
const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
const recOfPacket = new WeakMap();
function eioOf(packet) {
  const e = { type: packet.type };
  if (!EIO_TYPES.includes(packet.type)) errors.push(`unexpected eio packet type ${packet.type}`);
  if (packet.data !== undefined && packet.data !== null) {
    if (typeof packet.data === 'string') e.data = packet.data;
    else e.data_b64 = toBuf(packet.data).toString('base64');
  }
  return e;
}
// where: {sock} (LoggedSocket) or {uri} (client polling request, resolved
// to its TCP connection through the agent at the end) or {req} (server
// polling request)
function logApp(side, role, transport, sid, packet, where) {
  const rec = { kind: 'app', conn: null, side, role, dir: dirOf(side, role), t: T(),
    proto: 'socketio', sid: sid || null, transport: transport.name, http_seq: undefined,
    eio: eioOf(packet) };
  if (role === 'sent' && rec.eio.type === 'message' && typeof packet.data === 'string') {
    const s = sioDecode(packet.data);
    if (s) rec.sio = s;
  }
  Object.defineProperty(rec, 'where', { value: where, enumerable: false });
  appRecs.push(rec);
  recOfPacket.set(packet, rec);
  return rec;
}
function resolveAfter(rec) { // received messages: library parse must have been seen
  if (rec.role === 'received' && rec.eio.type === 'message' && rec.eio.data !== undefined && !rec.sio) {
    const s = sioDecode(rec.eio.data);
    if (s) { rec.sio = s; errors.push(`sio of received ${rec.eio.data} not seen in library decode`); }
  }
}

// which transport object we are inside while the library decodes a polling
// payload (engine.io-parser's decodePayload is shared by server and client)
let payloadCtx = null;
const origDecodePayload = eioParser.decodePayload;
eioParser.decodePayload = function decodePayload(...a) {
  const out = origDecodePayload.apply(this, a);
  if (payloadCtx) {
    for (const p of out) logApp(payloadCtx.side, 'received', payloadCtx.transport, payloadCtx.sid(p), p, payloadCtx.where);
  }
  return out;
};

// ---- server side
function srvSid(tr) { return tr.sid || tr.__sid || null; }
const origMaybeUpgrade = ServerSocket.prototype._maybeUpgrade;
ServerSocket.prototype._maybeUpgrade = function _maybeUpgrade(transport) {
  transport.__sid = this.id;
  return origMaybeUpgrade.call(this, transport);
};
{
  const origOnData = ServerPolling.prototype.onData;
  ServerPolling.prototype.onData = function onData(data) {
    const saved = payloadCtx;
    payloadCtx = { side: 'server', transport: this, sid: () => srvSid(this), where: { req: this.dataReq } };
    try { return origOnData.call(this, data); } finally { payloadCtx = saved; }
  };
  const origSend = ServerPolling.prototype.send;
  ServerPolling.prototype.send = function send(packets) {
    const req = this.req; // the pending GET this payload answers
    const r = origSend.call(this, packets); // may append a close packet
    for (const p of packets) logApp('server', 'sent', this, srvSid(this), p, { req });
    return r;
  };
  const origWsSend = ServerWebSocket.prototype.send;
  ServerWebSocket.prototype.send = function send(packets) {
    for (const p of packets) logApp('server', 'sent', this, srvSid(this), p, { sock: this.socket._socket });
    return origWsSend.call(this, packets);
  };
  const origOnPacket = ServerTransport.prototype.onPacket;
  ServerTransport.prototype.onPacket = function onPacket(packet) {
    let rec = recOfPacket.get(packet);
    if (!rec) {
      if (this.name !== 'websocket') errors.push(`server ${this.name} packet not seen in payload`);
      rec = logApp('server', 'received', this, srvSid(this), packet, { sock: this.socket._socket });
    }
    const saved = curRecv;
    curRecv = rec;
    try { return origOnPacket.call(this, packet); } finally { curRecv = saved; resolveAfter(rec); }
  };
}

// ---- client side
function cliSid(tr, packet) {
  if (tr.query && tr.query.sid) return tr.query.sid;
  if (packet && packet.type === 'open') return JSON.parse(packet.data).sid;
  return null;
}
{
  const origOnData = ClientPolling.prototype.onData;
  ClientPolling.prototype.onData = function onData(data) {
    const saved = payloadCtx;
    payloadCtx = { side: 'client', transport: this, sid: (p) => cliSid(this, p),
      where: { uri: this.pollXhr._uri } };
    try { return origOnData.call(this, data); } finally { payloadCtx = saved; }
  };
  const origRequest = ClientXHR.prototype.request;
  ClientXHR.prototype.request = function request(...a) {
    const r = origRequest.apply(this, a);
    this.__lastReq = r;
    return r;
  };
  const origWrite = ClientPolling.prototype.write;
  ClientPolling.prototype.write = function write(packets) {
    this.__lastReq = null;
    const r = origWrite.call(this, packets); // encodes and POSTs synchronously
    if (!this.__lastReq) errors.push('client polling write: no request');
    for (const p of packets) logApp('client', 'sent', this, cliSid(this, p), p, { uri: this.__lastReq._uri });
    return r;
  };
  const origWsWrite = ClientBaseWS.prototype.write;
  ClientBaseWS.prototype.write = function write(packets) {
    for (const p of packets) logApp('client', 'sent', this, cliSid(this, p), p, { sock: this.ws._socket });
    return origWsWrite.call(this, packets);
  };
  const origOnPacket = ClientTransport.prototype.onPacket;
  ClientTransport.prototype.onPacket = function onPacket(packet) {
    let rec = recOfPacket.get(packet);
    if (!rec) {
      if (this.name !== 'websocket') errors.push(`client ${this.name} packet not seen in payload`);
      rec = logApp('client', 'received', this, cliSid(this, packet), packet, { sock: this.ws._socket });
    }
    const saved = curRecv;
    curRecv = rec;
    try { return origOnPacket.call(this, packet); } finally { curRecv = saved; resolveAfter(rec); }
  };
}

// ------------------------------------------------------ client HTTP agent
// keep-alive agent; every TCP connection goes through LoggedSocket; a
// WebSocket upgrade request always gets a fresh connection (never a pooled
// polling connection), so each connection carries one transport.
const cliExByPath = new Map();
class LoggingAgent extends http.Agent {
  createConnection(options, cb) {
    const sock = net.connect({ host: options.host, port: options.port, allowHalfOpen: true });
    return new LoggedSocket(sock, 'client'); // returned: the Agent calls cb itself
  }

  addRequest(req, options) {
    if (String(req.getHeader('upgrade') || '').toLowerCase() === 'websocket') {
      req.onSocket(this.createConnection(options));
      return;
    }
    const ex = { kind: 'http_exchange', conn: null, side: 'client', seq: 0, method: req.method,
      target: req.path, status: null, req_body_b64: '', resp_body_b64: '', t_req: T(), t_resp: null };
    const reqChunks = [];
    const respChunks = [];
    const ow = req.write;
    req.write = function write(chunk, enc, cb) {
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
        reqChunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : Buffer.from(chunk));
      }
      return ow.call(this, chunk, enc, cb);
    };
    const oe = req.end;
    req.end = function end(chunk, enc, cb) {
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
        reqChunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : Buffer.from(chunk));
      }
      return oe.call(this, chunk, enc, cb);
    };
    req.once('socket', (s) => { Object.defineProperty(ex, 'sock', { value: s, enumerable: false }); });
    req.once('response', (res) => {
      ex.status = res.statusCode;
      const rem = res.emit;
      res.emit = function emit(ev, ...a) {
        if (ev === 'data') respChunks.push(Buffer.from(a[0]));
        if (ev === 'end') {
          ex.t_resp = T();
          ex.req_body_b64 = Buffer.concat(reqChunks).toString('base64');
          ex.resp_body_b64 = Buffer.concat(respChunks).toString('base64');
        }
        return rem.call(this, ev, ...a);
      };
    });
    httpEx.push(ex);
    if (!cliExByPath.has(ex.target)) cliExByPath.set(ex.target, []);
    cliExByPath.get(ex.target).push(ex);
    return super.addRequest(req, options);
  }
}

// ------------------------------------------------------------ the server
const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: 300,
  pingTimeout: 2000,
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
});
const srvExOfReq = new WeakMap();
httpServer.prependListener('request', (req, res) => {
  const ex = { kind: 'http_exchange', conn: null, side: 'server', seq: 0, method: req.method,
    target: req.url, status: null, req_body_b64: '', resp_body_b64: '', t_req: T(), t_resp: null };
  Object.defineProperty(ex, 'sock', { value: req.socket, enumerable: false });
  const reqChunks = [];
  const respChunks = [];
  const oe = req.emit;
  req.emit = function emit(ev, ...a) {
    if (ev === 'data') reqChunks.push(Buffer.from(a[0]));
    return oe.call(this, ev, ...a);
  };
  const cap = (chunk, enc) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    respChunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : Buffer.from(chunk));
  };
  const ow = res.write;
  res.write = function write(chunk, enc, cb) { cap(chunk, enc); return ow.call(this, chunk, enc, cb); };
  const oend = res.end;
  res.end = function end(chunk, enc, cb) { cap(chunk, enc); return oend.call(this, chunk, enc, cb); };
  res.once('finish', () => {
    ex.status = res.statusCode;
    ex.t_resp = T();
    ex.req_body_b64 = Buffer.concat(reqChunks).toString('base64');
    ex.resp_body_b64 = Buffer.concat(respChunks).toString('base64');
  });
  httpEx.push(ex);
  srvExOfReq.set(req, ex);
});

// The WebSocket upgrade of an existing (polling) session is held back until
// that session's polling phase is over: the server has written, on polling,
// the CONNECT reply of "/admin" and the ack of "hello".  This makes the
// polling phase deterministic (without it the upgrade races the first
// emits).  New WebSocket-only sessions are not delayed.
const pollingPhase = new Map(); // sid -> {need:Set, resolve, promise}
function phase(sid) {
  if (!pollingPhase.has(sid)) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    pollingPhase.set(sid, { need: new Set(['CONNECT /admin', 'ACK /']), resolve, promise });
  }
  return pollingPhase.get(sid);
}
function notePollingSent(rec) {
  if (rec.side !== 'server' || rec.transport !== 'polling' || !rec.sio) return;
  const ph = phase(rec.sid);
  ph.need.delete(`${rec.sio.type} ${rec.sio.nsp}`);
  if (ph.need.size === 0) ph.resolve();
}
{ // watch the server's polling sends (wraps the logging wrapper above)
  const orig = ServerPolling.prototype.send;
  ServerPolling.prototype.send = function send(packets) {
    const n0 = appRecs.length;
    const r = orig.call(this, packets);
    for (const rec of appRecs.slice(n0)) notePollingSent(rec);
    return r;
  };
}
httpServer.removeAllListeners('upgrade'); // engine.io's handler, re-added below
httpServer.on('upgrade', (req, socket, head) => {
  const sid = new URL(req.url, URL_BASE).searchParams.get('sid');
  const gate = sid ? phase(sid).promise : Promise.resolve();
  const timer = setTimeout(() => errors.push(`upgrade of ${sid} held back for more than 3 s`), 3000);
  gate.then(() => { clearTimeout(timer); io.engine.handleUpgrade(req, socket, head); });
});

// The Engine.IO sockets' own 'packet' (received) and 'packetCreate' (queued
// for sending) events, to cross-check the transport-level app records.
const socketEvents = []; // {side, role, sid, type, data}
function watchEngine(side, es, sid) {
  es.on('packet', (p) => socketEvents.push({ side, role: 'received', sid: sid(), p: eioOf(p) }));
  es.on('packetCreate', (p) => socketEvents.push({ side, role: 'sent', sid: sid(), p: eioOf(p) }));
}
function watchClientEngine(m) { const es = m.engine; watchEngine('client', es, () => es.id || null); }

const serverLog = []; // what the server's handlers saw, for the checks
io.engine.on('connection', (s) => {
  watchEngine('server', s, () => s.id);
  serverLog.push(['engine connection', s.transport.name]);
  s.on('upgrade', (tr) => serverLog.push(['engine upgrade', tr.name]));
});
io.on('connection', (socket) => {
  serverLog.push(['connect /', socket.conn.transport.name, socket.handshake.auth]);
  socket.on('hello', (msg, ack) => {
    serverLog.push(['hello', msg, socket.conn.transport.name]);
    ack({ ok: true, transport: socket.conn.transport.name, echo: msg });
  });
  socket.on('chat', (m) => serverLog.push(['chat', m]));
  socket.on('mixed', (...a) => serverLog.push(['mixed', a]));
  socket.on('sum', (arr, ack) => ack(arr.reduce((x, y) => x + y, 0)));
  socket.on('join', (room, ack) => {
    socket.join(room);
    ack(`joined ${room}`);
    io.to(room).emit('room-news', { room, text: 'welcome to the room 🎉', members: 1 });
  });
  socket.on('upload', (file, ack) => {
    const data = file.data;
    serverLog.push(['upload', file.name, Buffer.isBuffer(data) ? data.toString('base64') : null]);
    ack({ ok: true, name: file.name, size: data.length,
      sha256: crypto.createHash('sha256').update(data).digest('hex'),
      head: Buffer.from(data.subarray(0, 8)).reverse(), tail: Buffer.from('끝 ✅', 'utf8') });
    socket.emit('question', '6 × 7 = ?', (answer) => serverLog.push(['answer', answer]));
  });
  socket.on('disconnect', (reason) => serverLog.push(['disconnect /', reason]));
});
const admin = io.of('/admin');
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === 'adm1n-t0ken') next();
  else next(new Error('bad token'));
});
admin.on('connection', (socket) => {
  serverLog.push(['connect /admin', socket.conn.transport.name]);
  socket.emit('notice', { level: 'info', text: 'admin channel ready' });
  socket.on('stats', (opts, ack) => {
    ack({ verbose: opts.verbose, rooms: ['room-1'], namespaces: ['/', '/admin'], uptime_s: 1.5 });
  });
  socket.on('disconnect', (reason) => serverLog.push(['disconnect /admin', reason]));
});
io.of('/forbidden').use((socket, next) => {
  const err = new Error('not authorized');
  err.data = { code: 403, hint: 'this namespace needs a ticket' };
  next(err);
});

const netServer = net.createServer({ allowHalfOpen: true }, (sock) => {
  httpServer.emit('connection', new LoggedSocket(sock, 'server'));
});

// ------------------------------------------------------------ the client
const clientLog = [];
const waitFor = (emitter, ev, ms = 5000) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`timeout waiting for ${ev}`)), ms);
  emitter.once(ev, (...a) => { clearTimeout(t); resolve(a); });
});
const emitAck = (sock, ...a) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`no ack for ${a[0]}`)), 5000);
  sock.emit(...a, (...r) => { clearTimeout(t); resolve(r); });
});

async function session1(agent) {
  const m = new Manager(URL_BASE, { agent, autoConnect: false, reconnection: false,
    perMessageDeflate: false });
  const s = m.socket('/');
  const a = m.socket('/admin', { auth: { token: 'adm1n-t0ken' } });
  a.on('notice', (n) => clientLog.push(['notice', n]));
  s.on('room-news', (n) => clientLog.push(['room-news', n]));
  s.on('question', (q, ack) => { clientLog.push(['question', q]); ack(42); });
  const question = waitFor(s, 'question');
  const sConnected = waitFor(s, 'connect');
  const aConnected = waitFor(a, 'connect');
  s.connect();
  a.connect();
  watchClientEngine(m);
  // emitted before the connection is up: buffered by socket.io-client and
  // sent right after the CONNECT reply, i.e. on long-polling
  const hello = emitAck(s, 'hello', { client: 'node', lang: 'ko', text: '안녕' });
  await Promise.all([sConnected, aConnected]);
  const engine = m.engine;
  const upgraded = engine.transport.name === 'websocket' ? Promise.resolve() : waitFor(engine, 'upgrade');
  let wsPings = 0;
  engine.on('ping', () => { if (engine.transport.name === 'websocket') wsPings += 1; });
  clientLog.push(['hello ack', ...(await hello), engine.transport.name]);
  await upgraded;
  clientLog.push(['upgraded', engine.transport.name]);

  s.emit('chat', { user: 'alice', text: '안녕하세요 🌍 hi', n: 1 });
  s.emit('mixed', 'a string', 42, 3.14, -7, true, null, [1, [2, [3, 'four']]],
    { nested: { arr: [{ k: 'v' }], emptyObj: {}, emptyArr: [] } }, 'unicode: é ß 한국어 😀 \u2028 "quoted"');
  clientLog.push(['sum ack', ...(await emitAck(s, 'sum', [1, 2, 3, 4]))]);
  const news = waitFor(s, 'room-news');
  clientLog.push(['join ack', ...(await emitAck(s, 'join', 'room-1'))]);
  await news;
  const data = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
  const up = await emitAck(s, 'upload', { name: 'a.bin', data });
  clientLog.push(['upload ack', up[0].ok, up[0].size, up[0].sha256, toBuf(up[0].head).toString('hex'),
    toBuf(up[0].tail).toString('utf8')]);
  await question;
  clientLog.push(['stats ack', ...(await emitAck(a, 'stats', { verbose: true }))]);

  const f = m.socket('/forbidden');
  const ce = waitFor(f, 'connect_error');
  f.connect();
  const [err] = await ce;
  clientLog.push(['connect_error', err.message, err.data]);

  // at least one Engine.IO heartbeat on the WebSocket
  const t0 = Date.now();
  while (wsPings < 1) {
    if (Date.now() - t0 > 3000) throw new Error('no ping on websocket');
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 20)); // let the pong go out
  clientLog.push(['ws pings', wsPings]);

  const closed = waitFor(engine, 'close');
  a.disconnect();
  s.disconnect(); // last namespace: the Manager closes the Engine.IO socket
  const [reason] = await closed;
  clientLog.push(['session 1 closed', reason]);
}

async function session2(agent) {
  const m = new Manager(URL_BASE, { agent, autoConnect: false, reconnection: false,
    perMessageDeflate: false, transports: ['websocket'] });
  const s = m.socket('/', { auth: { user: 'bob' } });
  const connected = waitFor(s, 'connect');
  s.connect();
  watchClientEngine(m);
  await connected;
  clientLog.push(['session 2 transport', m.engine.transport.name]);
  s.emit('chat', { user: 'bob', text: 'websocket only 🚀' });
  clientLog.push(['sum ack 2', ...(await emitAck(s, 'sum', [10, 20, 30]))]);
  const closed = waitFor(m.engine, 'close');
  s.disconnect();
  const [reason] = await closed;
  clientLog.push(['session 2 closed', reason]);
}

// ------------------------------------------------------------ checks + log
function sha256(b) { return crypto.createHash('sha256').update(b).digest('hex'); }
function expect(cond, what) { if (!cond) errors.push(`expectation failed: ${what}`); }
const J = (x) => JSON.stringify(x);

async function main() {
  await new Promise((resolve, reject) => {
    netServer.once('error', reject);
    netServer.listen(PORT, '127.0.0.1', resolve);
  });
  const agent = new LoggingAgent({ keepAlive: true });
  const overall = setTimeout(() => { console.error('ERROR: scenario timed out'); process.exit(1); }, 30000);
  await session1(agent);
  await new Promise((r) => setTimeout(r, 100));
  await session2(agent);
  await new Promise((r) => setTimeout(r, 100));
  agent.destroy(); // closes the idle keep-alive polling connections
  io.close();
  netServer.close();
  await Promise.all(closedPromises);
  clearTimeout(overall);

  // ---- connections
  const connOf = new Map(); // key -> K
  clientSockets.forEach((c, i) => connOf.set(c.key, i + 1));
  const K = (sock) => connOf.get(sock.key);
  const srvByKey = new Map();
  for (const s of rawSockets) if (s.side === 'server') srvByKey.set(s.key, s);
  const lines = [];
  const w = (o) => lines.push(J(o));
  clientSockets.forEach((c, i) => w({ kind: 'conn', conn: i + 1, client: c.local, server: c.remote }));
  if (srvByKey.size !== clientSockets.length) errors.push('server/client connection count differs');
  if (args.streams) fs.mkdirSync(args.streams, { recursive: true });
  clientSockets.forEach((c, i) => {
    const k = i + 1;
    const srv = srvByKey.get(c.key);
    if (!srv) { errors.push(`conn ${k}: no server socket`); return; }
    const raw = {
      client: { sent: Buffer.concat(c.sent), received: Buffer.concat(c.received) },
      server: { sent: Buffer.concat(srv.sent), received: Buffer.concat(srv.received) },
    };
    for (const side of ['client', 'server']) {
      for (const role of ['sent', 'received']) {
        const b = raw[side][role];
        w({ kind: 'tcp', conn: k, side, role, dir: dirOf(side, role), len: b.length, sha256: sha256(b) });
      }
    }
    for (const [d, snd, rcv] of [['c2s', 'client', 'server'], ['s2c', 'server', 'client']]) {
      const a = raw[snd].sent; const b = raw[rcv].received;
      if (!a.equals(b)) errors.push(`conn ${k} ${d}: raw bytes differ`);
      if (args.streams) fs.writeFileSync(path.join(args.streams, `${k}.${d}`), a);
    }
  });

  // ---- WebSocket messages
  for (const { sock, o } of msgEvents) {
    const k = K(sock);
    const sk = `${k}|${o.side}|${o.role}`;
    o.seq = (seqs.get(sk) || 0) + 1;
    seqs.set(sk, o.seq);
  }
  const msgsBy = new Map(); // k|side|role -> [o]
  for (let k = 1; k <= clientSockets.length; k++) {
    for (const { sock, o } of msgEvents) {
      if (K(sock) !== k) continue;
      w(Object.assign({ kind: 'msg', conn: k }, o));
      const sk = `${k}|${o.side}|${o.role}`;
      if (!msgsBy.has(sk)) msgsBy.set(sk, []);
      msgsBy.get(sk).push(o);
    }
  }
  const msgConns = new Set([...msgsBy.keys()].map((x) => Number(x.split('|')[0])));
  for (const k of msgConns) {
    for (const [snd, rcv] of [['client', 'server'], ['server', 'client']]) {
      const a = (msgsBy.get(`${k}|${snd}|sent`) || []).map((o) => `${o.opcode}:${o.b64}`).join(',');
      const b = (msgsBy.get(`${k}|${rcv}|received`) || []).map((o) => `${o.opcode}:${o.b64}`).join(',');
      if (a !== b) errors.push(`conn ${k}: ${snd} sent msgs != ${rcv} received msgs`);
    }
  }

  // ---- HTTP exchanges
  const hseq = new Map();
  const exSorted = httpEx.slice().sort((x, y) => x.t_req - y.t_req);
  for (const ex of exSorted) {
    if (!ex.sock) { errors.push(`http ${ex.side} ${ex.method} ${ex.target}: no socket`); continue; }
    ex.conn = K(ex.sock);
    const sk = `${ex.conn}|${ex.side}`;
    ex.seq = (hseq.get(sk) || 0) + 1;
    hseq.set(sk, ex.seq);
    if (ex.status === null || ex.t_resp === null) errors.push(`http ${ex.side} ${ex.method} ${ex.target}: no response`);
  }
  const exKey = (ex) => J([ex.conn, ex.seq, ex.method, ex.target, ex.status, ex.req_body_b64, ex.resp_body_b64]);
  const cliEx = exSorted.filter((e) => e.side === 'client').map(exKey).sort();
  const srvEx = exSorted.filter((e) => e.side === 'server').map(exKey).sort();
  if (J(cliEx) !== J(srvEx)) errors.push('client and server http_exchange records differ');

  // ---- app records: resolve connections
  for (const rec of appRecs) {
    const wh = rec.where;
    if (wh.sock) {
      rec.conn = K(wh.sock);
    } else if (wh.req) {
      const ex = srvExOfReq.get(wh.req);
      rec.conn = ex.conn;
      rec.http_seq = ex.seq;
    } else if (wh.uri) {
      const u = new URL(wh.uri);
      const cands = (cliExByPath.get(u.pathname + u.search) || []).filter((e) => e.status !== null);
      if (cands.length !== 1) { errors.push(`client polling uri ${wh.uri}: ${cands.length} exchanges`); continue; }
      rec.conn = cands[0].conn;
      rec.http_seq = cands[0].seq;
    }
    if (!rec.conn) errors.push(`app record without connection: ${J(rec)}`);
    if (rec.role === 'received' && rec.eio.type === 'message' && rec.eio.data !== undefined && !rec.sioFromLib) {
      errors.push(`received message without library decode: ${rec.eio.data}`);
    }
    if (rec.sio && rec.role === 'received' && J(rec.sio) !== J(sioDecode(rec.eio.data))) {
      errors.push(`library decode differs from decodeString: ${rec.eio.data}`);
    }
  }
  const appOut = (r) => {
    const o = { kind: 'app', conn: r.conn, side: r.side, role: r.role, dir: r.dir, t: r.t, proto: r.proto,
      sid: r.sid, transport: r.transport };
    if (r.http_seq !== undefined) o.http_seq = r.http_seq;
    o.eio = r.eio;
    if (r.sio) o.sio = r.sio;
    return o;
  };
  for (const ex of exSorted) {
    w({ kind: 'http_exchange', conn: ex.conn, side: ex.side, seq: ex.seq, method: ex.method,
      target: ex.target, status: ex.status, req_body_b64: ex.req_body_b64,
      resp_body_b64: ex.resp_body_b64, t_req: ex.t_req, t_resp: ex.t_resp });
  }
  for (const r of appRecs) w(appOut(r));

  // sender's and receiver's app records agree, per connection and direction
  const appKey = (r) => J([r.conn, r.transport, r.sid, r.http_seq === undefined ? null : r.http_seq, r.eio, r.sio || null]);
  for (const d of ['c2s', 's2c']) {
    const snd = d === 'c2s' ? 'client' : 'server';
    const rcv = d === 'c2s' ? 'server' : 'client';
    for (let k = 1; k <= clientSockets.length; k++) {
      const a = appRecs.filter((r) => r.conn === k && r.side === snd && r.role === 'sent').map(appKey);
      const b = appRecs.filter((r) => r.conn === k && r.side === rcv && r.role === 'received').map(appKey);
      // on one TCP connection, order is preserved
      if (J(a) !== J(b)) errors.push(`conn ${k} ${d}: ${snd} sent app records != ${rcv} received`);
    }
  }
  // WebSocket messages == Engine.IO packets encoded by the library
  const EIO_DIGIT = { open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6' };
  for (const [sk, list] of msgsBy) {
    const [k, side, role] = sk.split('|');
    const ms = list.filter((o) => o.opcode === 'text' || o.opcode === 'binary')
      .map((o) => `${o.opcode}:${o.b64}`);
    const ap = appRecs.filter((r) => r.conn === Number(k) && r.side === side && r.role === role)
      .map((r) => (r.eio.data_b64 !== undefined ? `binary:${r.eio.data_b64}`
        : `text:${Buffer.from(EIO_DIGIT[r.eio.type] + (r.eio.data || '')).toString('base64')}`));
    if (J(ms) !== J(ap)) errors.push(`conn ${k} ${side} ${role}: ws messages != eio packets`);
  }
  // HTTP bodies == Engine.IO payloads encoded by the library
  for (const ex of exSorted) {
    const isOut = (ex.method === 'POST') === (ex.side === 'client');
    const recs = appRecs.filter((r) => r.conn === ex.conn && r.side === ex.side && r.http_seq === ex.seq
      && r.role === (isOut ? 'sent' : 'received'));
    const pk = recs.map((r) => {
      const p = { type: r.eio.type };
      if (r.eio.data !== undefined) p.data = r.eio.data;
      if (r.eio.data_b64 !== undefined) p.data = Buffer.from(r.eio.data_b64, 'base64');
      return p;
    });
    let enc = null;
    eioParser.encodePayload(pk, (s) => { enc = s; });
    const body = Buffer.from(ex.method === 'POST' ? ex.req_body_b64 : ex.resp_body_b64, 'base64').toString('utf8');
    if (ex.method === 'POST') {
      const resp = Buffer.from(ex.resp_body_b64, 'base64').toString();
      if (resp !== 'ok') errors.push(`POST ${ex.target}: response ${resp}`);
    }
    if (recs.length === 0 || enc !== body) {
      errors.push(`http ${ex.side} conn ${ex.conn} seq ${ex.seq}: body != encoded packets (${J(body)} vs ${J(enc)})`);
    }
  }

  // The Engine.IO sockets' 'packet' / 'packetCreate' events are the app
  // records minus what is handled below the socket: the upgrade probe
  // (ping/pong "probe") and the "upgrade" packet, and the server's noop
  // (written straight to the polling transport; the client's socket does
  // see it); the server's "open" is created before io.engine emits
  // 'connection'.
  for (const side of ['client', 'server']) {
    for (const role of ['sent', 'received']) {
      const ev = socketEvents.filter((e) => e.side === side && e.role === role)
        .map((e) => J([e.sid, e.p]));
      const ap = appRecs.filter((r) => r.side === side && r.role === role
        && !(r.eio.data === 'probe' && (r.eio.type === 'ping' || r.eio.type === 'pong'))
        && r.eio.type !== 'upgrade'
        && !(side === 'server' && role === 'sent' && (r.eio.type === 'open' || r.eio.type === 'noop')))
        .map((r) => J([r.sid, r.eio]));
      // the client's own open packet arrives before it knows its sid
      const evFixed = ev.map((x, i) => (JSON.parse(x)[0] === null ? ap[i] : x));
      if (J(evFixed) !== J(ap)) {
        errors.push(`${side} ${role}: Engine.IO socket events != app records`);
        console.error(J(ev), '\n', J(ap));
      }
    }
  }

  // ---- what the scenario must have produced
  const cl = J(clientLog);
  expect(clientLog.some((x) => x[0] === 'hello ack' && x[1].transport === 'polling' && x[2] === 'polling'),
    'hello ack on polling');
  expect(clientLog.some((x) => x[0] === 'sum ack' && x[1] === 10), 'sum ack 10');
  expect(clientLog.some((x) => x[0] === 'join ack' && x[1] === 'joined room-1'), 'join ack');
  expect(clientLog.some((x) => x[0] === 'room-news'), 'room broadcast');
  const upData = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
  expect(clientLog.some((x) => x[0] === 'upload ack' && x[1] === true && x[2] === 64
    && x[3] === sha256(upData) && x[4] === Buffer.from(upData.subarray(0, 8)).reverse().toString('hex')
    && x[5] === '끝 ✅'), 'upload ack');
  expect(clientLog.some((x) => x[0] === 'question'), 'server emit with ack');
  expect(serverLog.some((x) => x[0] === 'answer' && x[1] === 42), 'client ack of question');
  expect(clientLog.some((x) => x[0] === 'stats ack' && x[1].verbose === true), 'admin stats ack');
  expect(clientLog.some((x) => x[0] === 'notice'), 'admin notice');
  expect(clientLog.some((x) => x[0] === 'connect_error' && x[1] === 'not authorized' && x[2].code === 403),
    'connect_error');
  expect(clientLog.some((x) => x[0] === 'ws pings' && x[1] >= 1), 'ping on websocket');
  expect(clientLog.some((x) => x[0] === 'session 2 transport' && x[1] === 'websocket'), 'session 2 websocket');
  expect(clientLog.some((x) => x[0] === 'sum ack 2' && x[1] === 60), 'session 2 sum ack');
  expect(serverLog.some((x) => x[0] === 'upload' && x[2] === Buffer.from(Array.from({ length: 64 },
    (_, i) => (i * 37 + 11) & 0xff)).toString('base64')), 'upload bytes');
  expect(serverLog.filter((x) => x[0] === 'disconnect /').length === 2, 'two "/" disconnects');
  expect(serverLog.filter((x) => x[0] === 'disconnect /admin').length === 1, '"/admin" disconnect');
  const sioTypes = new Set(appRecs.filter((r) => r.sio).map((r) => `${r.side}:${r.role}:${r.sio.type}`));
  for (const t of ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'BINARY_EVENT']) expect(sioTypes.has(`client:sent:${t}`), `client sent ${t}`);
  for (const t of ['CONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_ACK']) expect(sioTypes.has(`server:sent:${t}`), `server sent ${t}`);
  const eioTypes = new Set(appRecs.map((r) => `${r.side}:${r.role}:${r.transport}:${r.eio.type}`));
  for (const t of ['server:sent:polling:open', 'server:sent:polling:noop', 'client:sent:websocket:ping',
    'server:sent:websocket:pong', 'client:sent:websocket:upgrade', 'server:sent:websocket:ping',
    'client:sent:websocket:pong', 'server:sent:websocket:open']) expect(eioTypes.has(t), t);
  expect(appRecs.some((r) => r.transport === 'polling' && r.sio && r.sio.type === 'ACK' && r.side === 'server'),
    'ACK on polling');

  fs.writeFileSync(args.log, lines.join('\n') + '\n');
  console.error(`client log: ${cl}`);
  console.error(`server log: ${J(serverLog)}`);
  // summary
  const transportsOf = new Map();
  for (const r of appRecs) {
    if (!transportsOf.has(r.conn)) transportsOf.set(r.conn, new Set());
    transportsOf.get(r.conn).add(r.transport);
  }
  for (let k = 1; k <= clientSockets.length; k++) {
    const nh = exSorted.filter((e) => e.conn === k && e.side === 'client').length;
    console.error(`conn ${k}: ${[...(transportsOf.get(k) || [])].join('+') || '-'}, ${nh} http exchanges, `
      + `${(msgsBy.get(`${k}|client|sent`) || []).length}/${(msgsBy.get(`${k}|server|sent`) || []).length} ws msgs c2s/s2c`);
  }
  const cnt = {};
  for (const r of appRecs) {
    const t = `${r.dir} ${r.side}:${r.role} ${r.transport} ${r.eio.type}${r.sio ? `/${r.sio.type}` : ''}`;
    cnt[t] = (cnt[t] || 0) + 1;
  }
  for (const t of Object.keys(cnt).sort()) console.error(`  ${cnt[t]}\t${t}`);
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exitCode = errors.length ? 1 : 0;
}


main().catch((e) => { console.error(e); process.exit(1); });
