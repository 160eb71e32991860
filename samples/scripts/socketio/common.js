// Shared endpoint logging of the Socket.IO scenarios: socketio/sio.js
// (Socket.IO 4, Engine.IO v4, samples/sio.pcap) and socketio2/sio2.js
// (Socket.IO 2, Engine.IO v3, samples/sio-v2.pcap).  Only Node built-ins are
// required here: each scenario hands in the classes of its own pinned
// library copies and keeps what differs between the versions (the
// socket.io-parser and engine.io-parser hooks, its long-polling steps and
// namespace handshakes, the checks of its polling bodies).  The steps both
// run alike are here too: the server's "/" handlers (chat, sum, join,
// upload) and "/admin" namespace, session 1 once on WebSocket
// (websocketSteps), session 2 (websocketOnly), and their checks.
//
// Ground truth, logged from inside the endpoints:
// * raw TCP bytes: every TCP socket is wrapped in a stream.Duplex
//   (LoggedSocket) that records what was read from / written to the kernel
//   socket (server: net.createServer + httpServer.emit('connection',
//   wrapper); client: LoggingAgent, a keep-alive http.Agent whose
//   createConnection returns the wrapper; the client's polling requests and
//   its WebSocket upgrade requests all go through that agent).
// * WebSocket messages (hookWs): Sender.prototype.sendFrame of a `ws` copy is
//   wrapped and every frame written is parsed back (header, unmasking), so
//   even pre-encoded frames are logged; received messages/control frames
//   come from the Receiver's events (prepended listeners).
// * Engine.IO packets (app records, proto "socketio"; hookEngineIO): the
//   transports' own parse results and send calls, on both sides.  The
//   scenario wraps engine.io-parser's decodePayload and calls the function
//   pollingLogger() returns for each packet; it also attaches the
//   Socket.IO packet ("sio") of received messages as the library decodes
//   them (receiving() is the record being handled) and passes sioDecode()
//   for sent ones.
// * HTTP long-polling exchanges: server: the http 'request' event
//   (req/res objects, logRequests); client: the ClientRequest /
//   IncomingMessage objects of LoggingAgent.
//
// run() plays the scenario's sessions, then writes the log: conn lines, per
// connection its tcp lines, then msg, http_exchange and app lines, after
// cross-checking both sides' views.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const { performance } = require('perf_hooks');

// ------------------------------------------------------------------ args
function parseArgs(port, script) {
  const args = { port, log: null, streams: null };
  for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, '');
    args[k] = k === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
  }
  if (!args.log) {
    console.error(`usage: node ${script} --port ${port} --log F.jsonl [--streams DIR]`);
    process.exit(2);
  }
  return args;
}

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
const clientLog = []; // what the client saw, for the checks
const serverLog = []; // what the server's handlers saw, for the checks

function sha256(b) { return crypto.createHash('sha256').update(b).digest('hex'); }
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
// an HTTP body chunk as written (string in its encoding, or bytes)
function chunkBuf(chunk, enc) {
  return typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : Buffer.from(chunk);
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
// Sender: the copy's Sender class; WebSocket: its WebSocket class;
// isBinary(data, isBinary): whether a Receiver 'message' event is binary
function hookWs(Sender, WebSocket, isBinary) {
  const S = Sender.prototype;
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
  const W = WebSocket.prototype;
  const origSetSocket = W.setSocket;
  W.setSocket = function setSocket(socket, ...rest) {
    const r = origSetSocket.call(this, socket, ...rest);
    const rc = this._receiver;
    rc.prependListener('message', (data, bin) => {
      logMsg(socket, 'received', isBinary(data, bin) ? 'binary' : 'text', toBuf(data));
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

// ------------------------------------------------- Engine.IO packets
const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
const EIO_DIGIT = { open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6' };
const recOfPacket = new WeakMap();
let sioDecode = () => null; // (side, str) -> sio object or null; set by hookEngineIO
let curRecv = null; // app record of the Engine.IO packet being handled
const receiving = () => curRecv;
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
// writes String(data), i.e. "0".  (Socket.IO 4 never passes an array.)
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
// payload (engine.io-parser's decodePayload is shared by server and client):
// the scenario's decodePayload wrapper logs each packet it decodes with the
// function this returns (null outside a polling transport's onData)
let payloadCtx = null;
function pollingLogger() {
  const ctx = payloadCtx;
  return ctx && ((p) => logApp(ctx.side, 'received', ctx.transport, ctx.sid(p), p, ctx.where));
}

function srvSid(tr) { return tr.sid || tr.__sid || null; }
function cliSid(tr, packet) {
  if (tr.query && tr.query.sid) return tr.query.sid;
  if (packet && packet.type === 'open') return JSON.parse(packet.data).sid;
  return null;
}
// c: the classes of the scenario's engine.io and engine.io-client copies
// (ServerSocket, ServerTransport, ServerPolling, ServerWebSocket,
// ClientTransport, ClientPolling, ClientXHR, ClientWS), maybeUpgrade (the
// name of Socket's method that takes the probe transport), uriOf(req) (the
// URI of an engine.io-client XHR request object), sioDecode(side, str)
function hookEngineIO(c) {
  sioDecode = c.sioDecode;
  // ---- server side
  const origMaybeUpgrade = c.ServerSocket.prototype[c.maybeUpgrade];
  c.ServerSocket.prototype[c.maybeUpgrade] = function maybeUpgrade(transport) {
    transport.__sid = this.id;
    return origMaybeUpgrade.call(this, transport);
  };
  const origSrvOnData = c.ServerPolling.prototype.onData;
  c.ServerPolling.prototype.onData = function onData(data) {
    const saved = payloadCtx;
    payloadCtx = { side: 'server', transport: this, sid: () => srvSid(this), where: { req: this.dataReq } };
    try { return origSrvOnData.call(this, data); } finally { payloadCtx = saved; }
  };
  const origSend = c.ServerPolling.prototype.send;
  c.ServerPolling.prototype.send = function send(packets) {
    const req = this.req; // the pending GET this payload answers
    const r = origSend.call(this, packets); // may append a close packet
    for (const p of packets) logApp('server', 'sent', this, srvSid(this), p, { req });
    return r;
  };
  const origWsSend = c.ServerWebSocket.prototype.send;
  c.ServerWebSocket.prototype.send = function send(packets) {
    for (const p of packets) logApp('server', 'sent', this, srvSid(this), p, { sock: this.socket._socket });
    return origWsSend.call(this, packets);
  };
  hookOnPacket(c.ServerTransport, 'server', (tr) => srvSid(tr), (tr) => tr.socket._socket);

  // ---- client side
  const origCliOnData = c.ClientPolling.prototype.onData;
  c.ClientPolling.prototype.onData = function onData(data) {
    const saved = payloadCtx;
    payloadCtx = { side: 'client', transport: this, sid: (p) => cliSid(this, p),
      where: { uri: c.uriOf(this.pollXhr) } };
    try { return origCliOnData.call(this, data); } finally { payloadCtx = saved; }
  };
  const origRequest = c.ClientXHR.prototype.request;
  c.ClientXHR.prototype.request = function request(...a) {
    const r = origRequest.apply(this, a);
    this.__lastReq = r;
    return r;
  };
  const origWrite = c.ClientPolling.prototype.write;
  c.ClientPolling.prototype.write = function write(packets) {
    this.__lastReq = null;
    const r = origWrite.call(this, packets); // encodes and POSTs synchronously
    if (!this.__lastReq) errors.push('client polling write: no request');
    for (const p of packets) logApp('client', 'sent', this, cliSid(this, p), p, { uri: c.uriOf(this.__lastReq) });
    return r;
  };
  const origWsWrite = c.ClientWS.prototype.write;
  c.ClientWS.prototype.write = function write(packets) {
    for (const p of packets) logApp('client', 'sent', this, cliSid(this, p), p, { sock: this.ws._socket });
    return origWsWrite.call(this, packets);
  };
  hookOnPacket(c.ClientTransport, 'client', (tr, p) => cliSid(tr, p), (tr) => tr.ws._socket);
}
// received: a polling packet was logged as its payload was decoded; a
// WebSocket one is logged here
function hookOnPacket(Transport, side, sidOf, sockOf) {
  const origOnPacket = Transport.prototype.onPacket;
  Transport.prototype.onPacket = function onPacket(packet) {
    let rec = recOfPacket.get(packet);
    if (!rec) {
      if (this.name !== 'websocket') errors.push(`${side} ${this.name} packet not seen in payload`);
      rec = logApp(side, 'received', this, sidOf(this, packet), packet, { sock: sockOf(this) });
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
    const cap = (chunk, enc) => {
      if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') reqChunks.push(chunkBuf(chunk, enc));
    };
    const ow = req.write;
    req.write = function write(chunk, enc, cb) { cap(chunk, enc); return ow.call(this, chunk, enc, cb); };
    const oe = req.end;
    req.end = function end(chunk, enc, cb) { cap(chunk, enc); return oe.call(this, chunk, enc, cb); };
    req.once('socket', (s) => { Object.defineProperty(ex, 'sock', { value: s, enumerable: false }); });
    req.once('response', (res) => {
      ex.status = res.statusCode;
      const rem = res.emit;
      res.emit = function emit(ev, ...a) {
        // xmlhttprequest-ssl 1.x sets the response encoding to utf8: chunks are strings
        if (ev === 'data') respChunks.push(chunkBuf(a[0]));
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
// log the requests of an http.Server as http_exchange records; called after
// engine.io has attached (it takes over the 'request' listeners it finds)
const srvExOfReq = new WeakMap();
function logRequests(httpServer) {
  httpServer.prependListener('request', (req, res) => {
    const ex = { kind: 'http_exchange', conn: null, side: 'server', seq: 0, method: req.method,
      target: req.url, status: null, req_body_b64: '', resp_body_b64: '', t_req: T(), t_resp: null };
    Object.defineProperty(ex, 'sock', { value: req.socket, enumerable: false });
    const reqChunks = [];
    const respChunks = [];
    const oe = req.emit;
    req.emit = function emit(ev, ...a) {
      // engine.io 3 sets the encoding of text POST bodies to utf8
      if (ev === 'data') reqChunks.push(chunkBuf(a[0]));
      return oe.call(this, ev, ...a);
    };
    const cap = (chunk, enc) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      respChunks.push(chunkBuf(chunk, enc));
    };
    // the Content-Type tells Engine.IO v3's binary payloads from text ones
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
}

// A WebSocket upgrade of an existing (polling) session waits for
// gateOf(sid) to resolve before engine.io handles it; new WebSocket-only
// sessions are not delayed.
function holdUpgrades(httpServer, io, gateOf, ms) {
  httpServer.removeAllListeners('upgrade'); // engine.io's handler, re-added below
  httpServer.on('upgrade', (req, socket, head) => {
    const sid = new URL(req.url, 'http://127.0.0.1').searchParams.get('sid');
    const gate = sid ? gateOf(sid) : Promise.resolve();
    const timer = setTimeout(() => errors.push(`upgrade of ${sid} held back for more than ${ms / 1000} s`), ms);
    gate.then(() => { clearTimeout(timer); io.engine.handleUpgrade(req, socket, head); });
  });
}

// The Engine.IO sockets' own 'packet' (received) and 'packetCreate' (queued
// for sending) events, to cross-check the transport-level app records.
const socketEvents = []; // {side, role, sid, p}
function watchEngine(side, es, sid) {
  es.on('packet', (p) => socketEvents.push({ side, role: 'received', sid: sid(), p: eioOf(p) }));
  es.on('packetCreate', (p) => socketEvents.push({ side, role: 'sent', sid: sid(), p: eioOf(p) }));
}
function watchClientEngine(m) { const es = m.engine; watchEngine('client', es, () => es.id || null); }

// ---------------------------------------- the application, server side
// What both scenarios' servers do alike (the scenario adds its own events,
// its namespace checks and its rejected namespace).
const SERVER_OPTIONS = { pingTimeout: 2000, perMessageDeflate: false, httpCompression: false, serveClient: false };
// the 64 bytes uploaded on WebSocket (and, with other numbers, on polling)
const bytes = (n, mul, add) => Buffer.from(Array.from({ length: n }, (_, i) => (i * mul + add) & 0xff));
const WS_UPLOAD = bytes(64, 37, 11);
// "/": chat, sum, join (ack, then the room broadcast), upload (binary ack;
// on WebSocket the server then emits "question" with an ack), disconnect
function serveRoot(io, socket) {
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
    ack({ ok: true, name: file.name, size: data.length, sha256: sha256(data),
      head: Buffer.from(data.subarray(0, 8)).reverse(), tail: Buffer.from('끝 ✅', 'utf8') });
    if (socket.conn.transport.name === 'websocket') {
      socket.emit('question', '6 × 7 = ?', (answer) => serverLog.push(['answer', answer]));
    }
  });
  socket.on('disconnect', (reason) => serverLog.push(['disconnect /', reason]));
}
// "/admin", for clients that authorized(socket) lets in: a "notice" push,
// "stats" with an ack
function serveAdmin(io, authorized) {
  const admin = io.of('/admin');
  admin.use((socket, next) => {
    if (authorized(socket)) next();
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
}

// ------------------------------------------------------------ the client
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const waitFor = (emitter, ev, ms = 5000) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`timeout waiting for ${ev}`)), ms);
  emitter.once(ev, (...a) => { clearTimeout(t); resolve(a); });
});
const emitAck = (sock, ...a) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`no ack for ${a[0]}`)), 5000);
  sock.emit(...a, (...r) => { clearTimeout(t); resolve(r); });
});
// Manager options of both sessions: the logging agent, no reconnection,
// no permessage-deflate offer
const managerOptions = (agent, more) => Object.assign({ agent, autoConnect: false, reconnection: false,
  perMessageDeflate: false }, more);
// session 1's sockets of "/" (s) and "/admin" (a) on Manager m: the
// client's handlers (notice, room-news, question with its ack), then both
// connect; returns the promises of the question and of both connections
function connectSession1(m, s, a) {
  a.on('notice', (n) => clientLog.push(['notice', n]));
  s.on('room-news', (n) => clientLog.push(['room-news', n]));
  s.on('question', (q, ack) => { clientLog.push(['question', q]); ack(42); });
  const question = waitFor(s, 'question');
  const connected = Promise.all([waitFor(s, 'connect'), waitFor(a, 'connect')]);
  s.connect();
  a.connect();
  watchClientEngine(m);
  return { question, connected };
}
// the client's view of an "upload" ack: ok, size, sha256, head (hex), tail
// (text), and the transport it came on
const uploadAck = (a, engine) => [a.ok, a.size, a.sha256, toBuf(a.head).toString('hex'),
  toBuf(a.tail).toString('utf8'), engine.transport.name];
// session 1 on WebSocket, after the scenario's own first emits: sum, join
// and the room broadcast, the binary upload, the server's question
// (`question`: a promise of it), stats on /admin (socket `a`)
async function websocketSteps(engine, s, a, question) {
  clientLog.push(['sum ack', ...(await emitAck(s, 'sum', [1, 2, 3, 4]))]);
  const news = waitFor(s, 'room-news');
  clientLog.push(['join ack', ...(await emitAck(s, 'join', 'room-1'))]);
  await news;
  const up = await emitAck(s, 'upload', { name: 'a.bin', data: WS_UPLOAD });
  clientLog.push(['upload ack', ...uploadAck(up[0], engine)]);
  await question;
  clientLog.push(['stats ack', ...(await emitAck(a, 'stats', { verbose: true }))]);
}
// session 1's end: "/admin" disconnects, then "/", the last namespace, so
// the Manager closes the Engine.IO socket
async function closeSession1(engine, s, a) {
  const closed = waitFor(engine, 'close');
  a.disconnect();
  s.disconnect();
  const [reason] = await closed;
  clientLog.push(['session 1 closed', reason]);
}
// session 2: a new Engine.IO session directly on WebSocket, Manager m,
// socket s of "/"
async function websocketOnly(m, s) {
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
function expect(cond, what) { if (!cond) errors.push(`expectation failed: ${what}`); }
const J = (x) => JSON.stringify(x);
// the outcome of an upload: the client's view of the ack (expected size,
// bytes and transport), and the server's of the bytes
function expectUpload(what, data, transport) {
  expect(clientLog.some((x) => x[0] === what && x[1] === true && x[2] === data.length && x[3] === sha256(data)
    && x[4] === Buffer.from(data.subarray(0, 8)).reverse().toString('hex') && x[5] === '끝 ✅'
    && x[6] === transport), `${what} on ${transport}`);
  expect(serverLog.some((x) => x[0] === 'upload' && x[2] === data.toString('base64') && x[3] === transport),
    `upload bytes on ${transport}`);
}
// the steps of websocketSteps, websocketOnly and the application's server
function expectShared() {
  const has = (pred) => clientLog.some(pred);
  expect(has((x) => x[0] === 'sum ack' && x[1] === 10), 'sum ack 10');
  expect(has((x) => x[0] === 'join ack' && x[1] === 'joined room-1'), 'join ack');
  expect(has((x) => x[0] === 'room-news'), 'room broadcast');
  expectUpload('upload ack', WS_UPLOAD, 'websocket');
  expect(has((x) => x[0] === 'question'), 'server emit with ack');
  expect(serverLog.some((x) => x[0] === 'answer' && x[1] === 42), 'client ack of question');
  expect(has((x) => x[0] === 'stats ack' && x[1].verbose === true), 'admin stats ack');
  expect(has((x) => x[0] === 'notice'), 'admin notice');
  expect(has((x) => x[0] === 'session 2 transport' && x[1] === 'websocket'), 'session 2 websocket');
  expect(has((x) => x[0] === 'sum ack 2' && x[1] === 60), 'session 2 sum ack');
  expect(serverLog.filter((x) => x[0] === 'disconnect /').length === 2, 'two "/" disconnects');
  expect(serverLog.filter((x) => x[0] === 'disconnect /admin').length === 1, '"/admin" disconnect');
}

// Run the scenario and write the log.  o: args, httpServer, io, sessions
// (async functions of the agent, run one after the other), encodeBody(pk,
// binary) (engine.io-parser's encodePayload of a polling body's packets),
// onBody(ex, recs, body, binary) (optional, after a body matched),
// binaryTypeByte (WebSocket binary messages start with the Engine.IO type
// byte), serverOpenEvent (the server's 'packetCreate' events include its
// "open"), expectations() (the scenario's own, after expectShared()) and
// summary() (optional, lines for stderr).
function run(o) {
  main(o).catch((e) => { console.error(e); process.exit(1); });
}

async function main(o) {
  const netServer = net.createServer({ allowHalfOpen: true }, (sock) => {
    o.httpServer.emit('connection', new LoggedSocket(sock, 'server'));
  });
  await new Promise((resolve, reject) => {
    netServer.once('error', reject);
    netServer.listen(o.args.port, '127.0.0.1', resolve);
  });
  const agent = new LoggingAgent({ keepAlive: true });
  const overall = setTimeout(() => { console.error('ERROR: scenario timed out'); process.exit(1); }, 30000);
  for (const session of o.sessions) {
    await session(agent);
    await sleep(100);
  }
  agent.destroy(); // closes the idle keep-alive polling connections
  o.io.close();
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
  const w = (x) => lines.push(J(x));
  clientSockets.forEach((c, i) => w({ kind: 'conn', conn: i + 1, client: c.local, server: c.remote }));
  if (srvByKey.size !== clientSockets.length) errors.push('server/client connection count differs');
  if (o.args.streams) fs.mkdirSync(o.args.streams, { recursive: true });
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
      if (o.args.streams) fs.writeFileSync(path.join(o.args.streams, `${k}.${d}`), a);
    }
  });

  // ---- WebSocket messages
  for (const { sock, o: m } of msgEvents) {
    const k = K(sock);
    const sk = `${k}|${m.side}|${m.role}`;
    m.seq = (seqs.get(sk) || 0) + 1;
    seqs.set(sk, m.seq);
  }
  const msgsBy = new Map(); // k|side|role -> [o]
  for (let k = 1; k <= clientSockets.length; k++) {
    for (const { sock, o: m } of msgEvents) {
      if (K(sock) !== k) continue;
      w(Object.assign({ kind: 'msg', conn: k }, m));
      const sk = `${k}|${m.side}|${m.role}`;
      if (!msgsBy.has(sk)) msgsBy.set(sk, []);
      msgsBy.get(sk).push(m);
    }
  }
  const msgConns = new Set([...msgsBy.keys()].map((x) => Number(x.split('|')[0])));
  for (const k of msgConns) {
    for (const [snd, rcv] of [['client', 'server'], ['server', 'client']]) {
      const a = (msgsBy.get(`${k}|${snd}|sent`) || []).map((m) => `${m.opcode}:${m.b64}`).join(',');
      const b = (msgsBy.get(`${k}|${rcv}|received`) || []).map((m) => `${m.opcode}:${m.b64}`).join(',');
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
  // app records carrying that http_seq
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
    const enc = o.encodeBody(pk, Boolean(binary));
    const same = binary ? Buffer.isBuffer(enc) && enc.equals(body) : enc === body.toString('utf8');
    if (recs.length === 0 || !same) {
      errors.push(`http ${ex.side} conn ${ex.conn} seq ${ex.seq}: body != encoded packets (${J(body.toString('utf8'))} vs ${J(String(enc))})`);
      continue;
    }
    if (o.onBody) o.onBody(ex, recs, body, binary);
  }

  const appOut = (r) => {
    const x = { kind: 'app', conn: r.conn, side: r.side, role: r.role, dir: r.dir, t: r.t, proto: r.proto,
      sid: r.sid, transport: r.transport };
    if (r.http_seq !== undefined) x.http_seq = r.http_seq;
    if (r.wire !== undefined) x.wire = r.wire;
    x.eio = r.eio;
    if (r.sio) x.sio = r.sio;
    return x;
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
  // WebSocket messages == Engine.IO packets encoded by the library: text =
  // type digit + data; binary = the data (Engine.IO v4) or one type byte +
  // the data (v3)
  const binaryMsg = (r) => (o.binaryTypeByte
    ? Buffer.concat([Buffer.from([Number(EIO_DIGIT[r.eio.type])]), Buffer.from(r.eio.data_b64, 'base64')]).toString('base64')
    : r.eio.data_b64);
  for (const [sk, list] of msgsBy) {
    const [k, side, role] = sk.split('|');
    const ms = list.filter((m) => m.opcode === 'text' || m.opcode === 'binary')
      .map((m) => `${m.opcode}:${m.b64}`);
    const ap = appRecs.filter((r) => r.conn === Number(k) && r.side === side && r.role === role)
      .map((r) => (r.eio.data_b64 !== undefined ? `binary:${binaryMsg(r)}`
        : `text:${Buffer.from(EIO_DIGIT[r.eio.type] + (r.eio.data || '')).toString('base64')}`));
    if (J(ms) !== J(ap)) errors.push(`conn ${k} ${side} ${role}: ws messages != eio packets`);
  }

  // The Engine.IO sockets' 'packet' / 'packetCreate' events are the app
  // records minus what is handled below the socket: the upgrade probe
  // (ping/pong "probe") and the "upgrade" packet, and the server's noop
  // (written straight to the polling transport; the client's socket does
  // see it); and the server's "open" unless serverOpenEvent.
  for (const side of ['client', 'server']) {
    for (const role of ['sent', 'received']) {
      const ev = socketEvents.filter((e) => e.side === side && e.role === role)
        .map((e) => J([e.sid, e.p]));
      const ap = appRecs.filter((r) => r.side === side && r.role === role
        && !(r.eio.data === 'probe' && (r.eio.type === 'ping' || r.eio.type === 'pong'))
        && r.eio.type !== 'upgrade'
        && !(side === 'server' && role === 'sent'
          && (r.eio.type === 'noop' || (r.eio.type === 'open' && !o.serverOpenEvent))))
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
  expectShared();
  o.expectations();

  fs.writeFileSync(o.args.log, lines.join('\n') + '\n');
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
  if (o.summary) for (const l of o.summary()) console.error(l);
  const cnt = {};
  for (const r of appRecs) {
    const t = `${r.dir} ${r.side}:${r.role} ${r.transport} ${r.eio.type}${r.sio ? `/${r.sio.type}` : ''}`;
    cnt[t] = (cnt[t] || 0) + 1;
  }
  for (const t of Object.keys(cnt).sort()) console.error(`  ${cnt[t]}\t${t}`);
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exitCode = errors.length ? 1 : 0;
}

module.exports = {
  parseArgs, errors, appRecs, clientLog, serverLog, hookWs, eioOf, receiving, pollingLogger,
  hookEngineIO, logRequests, holdUpgrades, watchEngine, watchClientEngine,
  SERVER_OPTIONS, bytes, serveRoot, serveAdmin,
  sleep, waitFor, emitAck, managerOptions, connectSession1, uploadAck, websocketSteps, closeSession1,
  websocketOnly,
  expect, expectUpload, J, run,
};
