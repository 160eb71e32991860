#!/usr/bin/env node
// Socket.IO v2 / Engine.IO protocol v3 scenario (npm `socket.io` 2.5.0
// server + Node `socket.io-client` 2.5.0, versions pinned in package.json /
// package-lock.json) for samples/sio-v2.pcap.  Modelled on
// ../socketio/sio.js (Socket.IO 4); the log has the same record shapes.
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
// Ground truth, logged from inside the endpoints (as in sio.js):
// * raw TCP bytes: every TCP socket is wrapped in a stream.Duplex that
//   records what was read from / written to the kernel socket (server:
//   net.createServer + httpServer.emit('connection', wrapper); client: a
//   custom http.Agent whose createConnection returns the wrapper; the
//   client's polling requests (xmlhttprequest-ssl) and its WebSocket upgrade
//   requests (ws) all go through that agent).
// * WebSocket messages: Sender.prototype.sendFrame of `ws` 7 (one copy,
//   shared by engine.io and engine.io-client) is wrapped and every frame
//   written is parsed back (header, unmasking); received messages/control
//   frames come from the Receiver's events (prepended listeners).
// * Engine.IO packets (app records, proto "socketio"): the transports' own
//   parse results (engine.io-parser 2.x decodePayload callbacks, decodePacket
//   results) and send calls, on both sides.
// * Socket.IO packets: received: the packet socket.io-parser 3.x's
//   Decoder#add produced while the library itself decoded the string (its
//   'decoded' event, or the BinaryReconstructor's packet for BINARY_*);
//   sent: a private Decoder of the sender's socket.io-parser copy applied to
//   the string the library's Encoder produced.
// * HTTP long-polling exchanges: server: the http 'request' event
//   (req/res objects); client: the ClientRequest / IncomingMessage objects
//   of the agent.
//
// Usage: node sio2.js --port 9962 --log F.jsonl [--streams DIR]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const { performance } = require('perf_hooks');

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

const ServerPolling = require(path.join(NM, 'engine.io/lib/transports/polling.js'));
const ServerWebSocket = require(path.join(NM, 'engine.io/lib/transports/websocket.js'));
const ServerTransport = require(path.join(NM, 'engine.io/lib/transport.js'));
const ServerSocket = require(path.join(NM, 'engine.io/lib/socket.js'));
const ClientTransport = require(path.join(NM, 'engine.io-client/lib/transport.js'));
const ClientPolling = require(path.join(NM, 'engine.io-client/lib/transports/polling.js'));
const ClientXHR = require(path.join(NM, 'engine.io-client/lib/transports/polling-xhr.js'));
const ClientWS = require(path.join(NM, 'engine.io-client/lib/transports/websocket.js'));
if (!(Object.create(ClientXHR.prototype) instanceof ClientPolling)) throw new Error('unexpected engine.io-client classes');

// ------------------------------------------------------------------ args
const args = { port: 9962, log: null, streams: null };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  args[k] = k === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!args.log) {
  console.error('usage: node sio2.js --port 9962 --log F.jsonl [--streams DIR]');
  process.exit(2);
}
const PORT = args.port;
const URL_BASE = `http://127.0.0.1:${PORT}`;
const PING_INTERVAL = 1000; // Engine.IO v3: the client pings, the server pongs

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
{
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
  const W = ws.prototype;
  const origSetSocket = W.setSocket;
  W.setSocket = function setSocket(socket, ...rest) {
    const r = origSetSocket.call(this, socket, ...rest);
    const rc = this._receiver;
    // ws 7: text messages arrive as strings, binary ones as Buffer/ArrayBuffer
    rc.prependListener('message', (data) => {
      logMsg(socket, 'received', typeof data === 'string' ? 'text' : 'binary', toBuf(data));
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
// socket.io-parser 3.x keeps decodeString private; Decoder#add calls it and
// then either emits 'decoded' (plain packets) or keeps the packet in a
// BinaryReconstructor until the attachments arrive (BINARY_*).
let curRecv = null; // app record of the Engine.IO packet being handled
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
const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
const recOfPacket = new WeakMap();
function eioOf(packet) {
  const e = { type: packet.type };
  if (!EIO_TYPES.includes(packet.type)) errors.push(`unexpected eio packet type ${packet.type}`);
  if (packet.data !== undefined && packet.data !== null) {
    if (typeof packet.data === 'string') e.data = packet.data;
    else if (isStringArray(packet.data)) e.data = String(packet.data);
    else e.data_b64 = toBuf(packet.data).toString('base64');
  }
  return e;
}
// socket.io 2 hands engine.io its pre-encoded CONNECT for "/" (the
// `initialPacket`) as the Encoder's output array ['0']; engine.io-parser
// writes String(data), i.e. "0"
function isStringArray(x) { return Array.isArray(x) && x.every((y) => typeof y === 'string'); }
function dataString(packet) {
  if (typeof packet.data === 'string') return packet.data;
  if (isStringArray(packet.data)) return String(packet.data);
  return null;
}
// where: {sock} (LoggedSocket) or {uri} (client polling request, resolved
// to its TCP connection through the agent at the end) or {req} (server
// polling request)
function logApp(side, role, transport, sid, packet, where) {
  const rec = { kind: 'app', conn: null, side, role, dir: dirOf(side, role), t: T(),
    proto: 'socketio', sid: sid || null, transport: transport.name, http_seq: undefined,
    eio: eioOf(packet) };
  if (role === 'sent' && rec.eio.type === 'message' && dataString(packet) !== null) {
    const s = sioDecode(side, dataString(packet));
    if (s) rec.sio = s;
  }
  Object.defineProperty(rec, 'where', { value: where, enumerable: false });
  appRecs.push(rec);
  recOfPacket.set(packet, rec);
  return rec;
}
function resolveAfter(rec) { // received messages: library parse must have been seen
  if (rec.role === 'received' && rec.eio.type === 'message' && rec.eio.data !== undefined && !rec.sio) {
    const s = sioDecode(rec.side, rec.eio.data);
    if (s) { rec.sio = s; errors.push(`sio of received ${rec.eio.data} not seen in library decode`); }
  }
}

// which transport object we are inside while the library decodes a polling
// payload (engine.io-parser 2.x's decodePayload is shared by server and
// client and hands each packet to a callback)
let payloadCtx = null;
const origDecodePayload = eioParser.decodePayload;
eioParser.decodePayload = function decodePayload(data, binaryType, callback) {
  if (typeof binaryType === 'function') { callback = binaryType; binaryType = null; }
  const ctx = payloadCtx;
  const cb = !ctx ? callback : function (packet, index, total) {
    logApp(ctx.side, 'received', ctx.transport, ctx.sid(packet), packet, ctx.where);
    return callback(packet, index, total);
  };
  return origDecodePayload.call(this, data, binaryType, cb);
};

// ---- server side
function srvSid(tr) { return tr.sid || tr.__sid || null; }
const origMaybeUpgrade = ServerSocket.prototype.maybeUpgrade;
ServerSocket.prototype.maybeUpgrade = function maybeUpgrade(transport) {
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
      where: { uri: this.pollXhr.uri } };
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
    for (const p of packets) logApp('client', 'sent', this, cliSid(this, p), p, { uri: this.__lastReq.uri });
    return r;
  };
  const origWsWrite = ClientWS.prototype.write;
  ClientWS.prototype.write = function write(packets) {
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
        // xmlhttprequest-ssl sets the response encoding to utf8: chunks are strings
        if (ev === 'data') respChunks.push(typeof a[0] === 'string' ? Buffer.from(a[0], 'utf8') : Buffer.from(a[0]));
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
const io = SocketIOServer(httpServer, {
  pingInterval: PING_INTERVAL,
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
    // engine.io 3 sets the encoding of text POST bodies to utf8
    if (ev === 'data') reqChunks.push(typeof a[0] === 'string' ? Buffer.from(a[0], 'utf8') : Buffer.from(a[0]));
    return oe.call(this, ev, ...a);
  };
  const cap = (chunk, enc) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    respChunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : Buffer.from(chunk));
  };
  const owh = res.writeHead;
  res.writeHead = function writeHead(code, ...rest) {
    const h = rest.find((x) => x && typeof x === 'object');
    if (h) for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === 'content-type') ex.content_type = v;
    return owh.call(this, code, ...rest);
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

// The WebSocket upgrade of the polling session (engine.io-client 3 opens the
// probe WebSocket right after the handshake) is held back until the client
// has finished its long-polling steps: this makes the polling phase the same
// on every run.  New WebSocket-only sessions are not delayed.
let releaseUpgrade;
const upgradeGate = new Promise((r) => { releaseUpgrade = r; });
httpServer.removeAllListeners('upgrade'); // engine.io's handler, re-added below
httpServer.on('upgrade', (req, socket, head) => {
  const sid = new URL(req.url, URL_BASE).searchParams.get('sid');
  const gate = sid ? upgradeGate : Promise.resolve();
  const timer = setTimeout(() => errors.push(`upgrade of ${sid} held back for more than 5 s`), 5000);
  gate.then(() => { clearTimeout(timer); io.engine.handleUpgrade(req, socket, head); });
});

// The Engine.IO sockets' own 'packet' (received) and 'packetCreate' (queued
// for sending) events, to cross-check the transport-level app records.
const socketEvents = []; // {side, role, sid, p}
function watchEngine(side, es, sid) {
  es.on('packet', (p) => socketEvents.push({ side, role: 'received', sid: sid(), p: eioOf(p) }));
  es.on('packetCreate', (p) => socketEvents.push({ side, role: 'sent', sid: sid(), p: eioOf(p) }));
}
function watchClientEngine(m) { const es = m.engine; watchEngine('client', es, () => es.id || null); }
{ // server: watch from before the open packet (and socket.io's initial "40")
  const origOnOpen = ServerSocket.prototype.onOpen;
  ServerSocket.prototype.onOpen = function onOpen() {
    watchEngine('server', this, () => this.id);
    return origOnOpen.call(this);
  };
}

const serverLog = []; // what the server's handlers saw, for the checks
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
  socket.on('chat', (m) => serverLog.push(['chat', m]));
  socket.on('sum', (arr, ack) => ack(arr.reduce((x, y) => x + y, 0)));
  socket.on('join', (room, ack) => {
    socket.join(room);
    ack(`joined ${room}`);
    io.to(room).emit('room-news', { room, text: 'welcome to the room 🎉', members: 1 });
  });
  socket.on('upload', (file, ack) => {
    const data = file.data;
    serverLog.push(['upload', file.name, Buffer.isBuffer(data) ? data.toString('base64') : null,
      socket.conn.transport.name]);
    ack({ ok: true, name: file.name, size: data.length,
      sha256: crypto.createHash('sha256').update(data).digest('hex'),
      head: Buffer.from(data.subarray(0, 8)).reverse(), tail: Buffer.from('끝 ✅', 'utf8') });
    if (socket.conn.transport.name === 'websocket') {
      socket.emit('question', '6 × 7 = ?', (answer) => serverLog.push(['answer', answer]));
    }
  });
  socket.on('disconnect', (reason) => serverLog.push(['disconnect /', reason]));
});
const admin = io.of('/admin');
admin.use((socket, next) => {
  // Socket.IO v2: a namespace's query travels in its CONNECT packet
  if (socket.handshake.query && socket.handshake.query.token === 'adm1n-t0ken') next();
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
  next(new Error('not authorized')); // v2: ERROR packet with the message as its data
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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
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
  const m = new Manager(URL_BASE, { agent, autoConnect: false, reconnection: false,
    perMessageDeflate: false });
  const s = m.socket('/');
  const a = m.socket('/admin', { query: { token: 'adm1n-t0ken' } });
  const ticks = [];
  a.on('notice', (n) => clientLog.push(['notice', n]));
  s.on('tick', (t) => ticks.push(t));
  s.on('room-news', (n) => clientLog.push(['room-news', n]));
  s.on('question', (q, ack) => { clientLog.push(['question', q]); ack(42); });
  const question = waitFor(s, 'question');
  const notice = waitFor(a, 'notice');
  const sConnected = waitFor(s, 'connect');
  const aConnected = waitFor(a, 'connect');
  s.open();
  a.open();
  watchClientEngine(m);
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
  await Promise.all([sConnected, aConnected, notice]);
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
  const data1 = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 29 + 3) & 0xff));
  s.emit('progress', { step: 'upload', pct: 0 });
  const up1 = await emitAck(s, 'upload', { name: 'poll.bin', data: data1 });
  clientLog.push(['upload ack polling', up1[0].ok, up1[0].size, up1[0].sha256,
    toBuf(up1[0].head).toString('hex'), toBuf(up1[0].tail).toString('utf8'), engine.transport.name]);

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
  clientLog.push(['sum ack', ...(await emitAck(s, 'sum', [1, 2, 3, 4]))]);
  const news = waitFor(s, 'room-news');
  clientLog.push(['join ack', ...(await emitAck(s, 'join', 'room-1'))]);
  await news;
  const data = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
  const up = await emitAck(s, 'upload', { name: 'a.bin', data });
  clientLog.push(['upload ack', up[0].ok, up[0].size, up[0].sha256, toBuf(up[0].head).toString('hex'),
    toBuf(up[0].tail).toString('utf8'), engine.transport.name]);
  await question;
  clientLog.push(['stats ack', ...(await emitAck(a, 'stats', { verbose: true }))]);

  // at least one Engine.IO heartbeat on the WebSocket (v3: client ping, server pong)
  const t0 = Date.now();
  while (wsPongs < 1) {
    if (Date.now() - t0 > 3000) throw new Error('no ping/pong on websocket');
    await sleep(10);
  }
  clientLog.push(['ws pings', wsPings, wsPongs]);

  const closed = waitFor(engine, 'close');
  f.close(); // never connected: no packet, only leaves the Manager's list
  a.disconnect();
  s.disconnect(); // last namespace: the Manager closes the Engine.IO socket
  const [reason] = await closed;
  clientLog.push(['session 1 closed', reason]);
}

async function session2(agent) {
  const m = new Manager(URL_BASE, { agent, autoConnect: false, reconnection: false,
    perMessageDeflate: false, transports: ['websocket'], query: { user: 'bob' } });
  const s = m.socket('/');
  const connected = waitFor(s, 'connect');
  s.open();
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
  await sleep(100);
  await session2(agent);
  await sleep(100);
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
  // binary payloads are sent as application/octet-stream (server responses;
  // the server's view decides for both sides' records)
  const binaryResp = new Map(); // conn|seq -> bool
  for (const ex of exSorted) {
    if (ex.side === 'server') binaryResp.set(`${ex.conn}|${ex.seq}`, ex.content_type === 'application/octet-stream');
  }

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
    if (rec.sio && rec.role === 'received' && J(rec.sio) !== J(sioDecode(rec.side, rec.eio.data))) {
      errors.push(`library decode differs from a private decode: ${rec.eio.data}`);
    }
  }

  // ---- polling bodies: exactly engine.io-parser's encodePayload of the
  // app records carrying that http_seq; and each packet's framing ("wire")
  const wireStats = { text: 0, binary: 0, b64: 0, multiGet: 0, multiPost: 0 };
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
    const body = Buffer.from(ex.method === 'POST' ? ex.req_body_b64 : ex.resp_body_b64, 'base64');
    if (ex.method === 'POST') {
      const resp = Buffer.from(ex.resp_body_b64, 'base64').toString();
      if (resp !== 'ok') errors.push(`POST ${ex.target}: response ${resp}`);
    }
    const binary = ex.method === 'GET' && binaryResp.get(`${ex.conn}|${ex.seq}`);
    let enc = null;
    eioParser.encodePayload(pk, Boolean(binary), (s) => { enc = s; });
    const same = binary ? Buffer.isBuffer(enc) && enc.equals(body) : enc === body.toString('utf8');
    if (recs.length === 0 || !same) {
      errors.push(`http ${ex.side} conn ${ex.conn} seq ${ex.seq}: body != encoded packets (${J(body.toString('utf8'))} vs ${J(String(enc))})`);
      continue;
    }
    let parts;
    try { parts = splitBody(body, binary); } catch (e) { errors.push(`split ${ex.target}: ${e.message}`); continue; }
    if (parts.length !== recs.length) { errors.push(`split ${ex.target}: ${parts.length} packets, ${recs.length} records`); continue; }
    parts.forEach((p, i) => {
      if (J(eioOf(p.packet)) !== J(recs[i].eio)) errors.push(`split ${ex.target} packet ${i}: ${J(eioOf(p.packet))} != ${J(recs[i].eio)}`);
      recs[i].wire = p.wire;
    });
    if (ex.side === 'server') {
      wireStats[binary ? 'binary' : 'text'] += 1;
      wireStats.b64 += parts.filter((p) => p.wire.b64).length;
      if (parts.length > 1) wireStats[ex.method === 'GET' ? 'multiGet' : 'multiPost'] += 1;
    }
  }

  const appOut = (r) => {
    const o = { kind: 'app', conn: r.conn, side: r.side, role: r.role, dir: r.dir, t: r.t, proto: r.proto,
      sid: r.sid, transport: r.transport };
    if (r.http_seq !== undefined) o.http_seq = r.http_seq;
    if (r.wire !== undefined) o.wire = r.wire;
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
  const appKey = (r) => J([r.conn, r.transport, r.sid, r.http_seq === undefined ? null : r.http_seq,
    r.wire || null, r.eio, r.sio || null]);
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
  // WebSocket messages == Engine.IO packets encoded by the library.  EIO v3
  // on WebSocket: text = type digit + data; binary = one type byte (4 for a
  // message) + the data.
  const EIO_DIGIT = { open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6' };
  for (const [sk, list] of msgsBy) {
    const [k, side, role] = sk.split('|');
    const ms = list.filter((o) => o.opcode === 'text' || o.opcode === 'binary')
      .map((o) => `${o.opcode}:${o.b64}`);
    const ap = appRecs.filter((r) => r.conn === Number(k) && r.side === side && r.role === role)
      .map((r) => (r.eio.data_b64 !== undefined
        ? `binary:${Buffer.concat([Buffer.from([Number(EIO_DIGIT[r.eio.type])]), Buffer.from(r.eio.data_b64, 'base64')]).toString('base64')}`
        : `text:${Buffer.from(EIO_DIGIT[r.eio.type] + (r.eio.data || '')).toString('base64')}`));
    if (J(ms) !== J(ap)) errors.push(`conn ${k} ${side} ${role}: ws messages != eio packets`);
  }

  // The Engine.IO sockets' 'packet' / 'packetCreate' events are the app
  // records minus what is handled below the socket: the upgrade probe
  // (ping/pong "probe") and the "upgrade" packet, and the server's noop
  // (written straight to the polling transport; the client's socket does
  // see it).
  for (const side of ['client', 'server']) {
    for (const role of ['sent', 'received']) {
      const ev = socketEvents.filter((e) => e.side === side && e.role === role)
        .map((e) => J([e.sid, e.p]));
      const ap = appRecs.filter((r) => r.side === side && r.role === role
        && !(r.eio.data === 'probe' && (r.eio.type === 'ping' || r.eio.type === 'pong'))
        && r.eio.type !== 'upgrade'
        && !(side === 'server' && role === 'sent' && r.eio.type === 'noop'))
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
  const has = (pred) => clientLog.some(pred);
  expect(has((x) => x[0] === 'hello ack' && x[1].transport === 'polling' && x[1].echo === '안녕하세요 😀'
    && x[2] === 'polling'), 'hello ack on polling');
  expect(has((x) => x[0] === 'ticks' && x[1].length === 3 && x[2] === 'polling'), 'three ticks on polling');
  const data1 = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 29 + 3) & 0xff));
  expect(has((x) => x[0] === 'upload ack polling' && x[1] === true && x[2] === 16 && x[3] === sha256(data1)
    && x[4] === Buffer.from(data1.subarray(0, 8)).reverse().toString('hex') && x[5] === '끝 ✅'
    && x[6] === 'polling'), 'binary upload ack on polling');
  expect(has((x) => x[0] === 'forbidden error' && x[1] === 'not authorized' && x[2] === 'polling'),
    'ERROR for /forbidden on polling');
  expect(has((x) => x[0] === 'polling pings' && x[1] === 0), 'no heartbeat during the polling phase');
  expect(has((x) => x[0] === 'sum ack' && x[1] === 10), 'sum ack 10');
  expect(has((x) => x[0] === 'join ack' && x[1] === 'joined room-1'), 'join ack');
  expect(has((x) => x[0] === 'room-news'), 'room broadcast');
  const upData = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
  expect(has((x) => x[0] === 'upload ack' && x[1] === true && x[2] === 64
    && x[3] === sha256(upData) && x[4] === Buffer.from(upData.subarray(0, 8)).reverse().toString('hex')
    && x[5] === '끝 ✅' && x[6] === 'websocket'), 'upload ack on websocket');
  expect(has((x) => x[0] === 'question'), 'server emit with ack');
  expect(serverLog.some((x) => x[0] === 'answer' && x[1] === 42), 'client ack of question');
  expect(has((x) => x[0] === 'stats ack' && x[1].verbose === true), 'admin stats ack');
  expect(has((x) => x[0] === 'notice'), 'admin notice');
  expect(has((x) => x[0] === 'ws pings' && x[1] >= 1 && x[2] >= 1), 'ping/pong on websocket');
  expect(has((x) => x[0] === 'session 2 transport' && x[1] === 'websocket'), 'session 2 websocket');
  expect(has((x) => x[0] === 'sum ack 2' && x[1] === 60), 'session 2 sum ack');
  expect(serverLog.some((x) => x[0] === 'upload' && x[2] === data1.toString('base64') && x[3] === 'polling'),
    'upload bytes on polling');
  expect(serverLog.some((x) => x[0] === 'upload' && x[2] === upData.toString('base64') && x[3] === 'websocket'),
    'upload bytes on websocket');
  expect(serverLog.filter((x) => x[0] === 'disconnect /').length === 2, 'two "/" disconnects');
  expect(serverLog.filter((x) => x[0] === 'disconnect /admin').length === 1, '"/admin" disconnect');
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

  fs.writeFileSync(args.log, lines.join('\n') + '\n');
  console.error(`client log: ${J(clientLog)}`);
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
  console.error(`polling bodies: ${J(wireStats)}`);
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
