#!/usr/bin/env node
// STOMP over WebSocket: @stomp/stompjs 7 (Node, `ws` as the WebSocket) as the
// client of RabbitMQ's rabbitmq_web_stomp plugin (ws://127.0.0.1:PORT/ws).
// Versions are pinned in package.json / package-lock.json; the broker is
// started and stopped by make.sh.
//
//   conn 1  the main session (subprotocol offer v12.stomp,v11.stomp,v10.stomp,
//           ws default permessage-deflate offer, heart-beat 500,500 asked):
//           CONNECT, two SUBSCRIBEs with receipts (queue with ack
//           client-individual, topic), eight SENDs to the queue (text, JSON,
//           embedded NUL, a header that needs STOMP 1.2 escaping, a binary
//           body, a 3179-byte body, one with a receipt, one without
//           content-length), two SENDs to the topic (one with a receipt), two
//           SENDs packed into ONE WebSocket message, ACK
//           of every queue MESSAGE, an idle period with heart-beats both ways,
//           two UNSUBSCRIBEs with receipts, DISCONNECT with a receipt.
//   conn 2  CONNECT (no heart-beats), SEND with a receipt to /invalid/x, a
//           destination RabbitMQ does not know: the broker answers ERROR
//           (instead of RECEIPT) but keeps the connection; DISCONNECT.
//   conn 3  no permessage-deflate, splitLargeFrames with
//           maxWebSocketChunkSize 4096: a 20400-byte-body SEND goes out as one
//           STOMP frame in five WebSocket messages; the broker delivers it
//           back (MESSAGE) on a subscription of the same connection.
//
// Only the client can be instrumented (the broker is RabbitMQ), so the log has
// the client's view only (see samples/README.md, "stomp_rabbitmq.js"):
// * tcp: the client's TCP socket is a logging stream.Duplex (createConnection
//   option of `ws`), as in ../ws_node.js.
// * msg: `ws`'s Sender methods are wrapped (every frame the library writes,
//   incl. the close echo); received messages come from the message / ping /
//   pong / close events.
// * app (proto "stomp"): sent frames from stompjs's own FrameImpl.serialize()
//   (the exact serialization it hands to WebSocket.send), received frames
//   from stompjs's FrameImpl.fromRawFrame() (called by stompjs's Parser for
//   every complete frame); heart-beats at the WebSocket layer (a message that
//   consists only of EOLs).
//
// Usage: node stomp_rabbitmq.js --port 9971 --log F.jsonl [--streams DIR]
// (STOMP_DEBUG=1 in the environment prints stompjs's debug output.)
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');
const { Client, FrameImpl, Parser } = require('@stomp/stompjs');

// ------------------------------------------------------------------ args
const args = { port: 9971, log: null, streams: null };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  args[k] = k === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!args.log) {
  console.error('usage: node stomp_rabbitmq.js --port 9971 --log F.jsonl [--streams DIR]');
  process.exit(2);
}
const URL = `ws://127.0.0.1:${args.port}/ws`;
const SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

// ------------------------------------------------------------ recording
const events = []; // log records without "conn", each with a _conn number
const errors = [];
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const conns = []; // per connection: {k, sock, ws, sent:[], received:[], stats}

function dirOf(role) { return role === 'sent' ? 'c2s' : 's2c'; }

function logMsg(c, role, opcode, payload, close) {
  c.seq[role] += 1;
  const o = { kind: 'msg', conn: c.k, side: 'client', role, dir: dirOf(role), seq: c.seq[role],
    opcode, len: payload.length, b64: payload.toString('base64') };
  if (close) { o.close_code = close.code; o.close_reason = close.reason; }
  events.push(o);
  c.msgs[role].push(o);
}

function logApp(c, role, fields) {
  const o = Object.assign({ kind: 'app', conn: c.k, side: 'client', role, dir: dirOf(role),
    t: now(), proto: 'stomp' }, fields);
  events.push(o);
  c.app[role].push(o);
  return o;
}

function closePayload(code, reason) {
  if (code === undefined || code === 1005) return Buffer.alloc(0);
  const r = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// The client's TCP socket, recording every chunk read and written (as in
// ../ws_node.js).
class LoggedSocket extends Duplex {
  constructor(sock) {
    super({ allowHalfOpen: true });
    this._sock = sock;
    this.sent = [];
    this.received = [];
    sock.once('connect', () => {
      this.local = { ip: sock.localAddress, port: sock.localPort };
      this.remote = { ip: sock.remoteAddress, port: sock.remotePort };
      this.emit('connect');
    });
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

  // Only bytes the real socket accepted count as sent.  _writev keeps what
  // `ws` writes under cork() (frame header + payload) in one write, as on a
  // plain net.Socket.
  _write(chunk, enc, cb) {
    const b = Buffer.from(chunk);
    this._sock.write(b, (err) => { if (!err) this.sent.push(b); cb(err); });
  }

  _writev(chunks, cb) {
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), null, cb);
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

// Wrap `ws`'s frame writer so every frame it writes is logged (as in
// ../ws_node.js).
function hookSender(c) {
  const sender = c.ws._sender;
  let cur = null;
  const origSend = sender.send.bind(sender);
  sender.send = (data, options, cb) => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (cur === null) cur = { opcode: options.binary ? 'binary' : 'text', parts: [] };
    cur.parts.push(buf);
    if (options.fin) {
      logMsg(c, 'sent', cur.opcode, Buffer.concat(cur.parts));
      cur = null;
    }
    return origSend(data, options, cb);
  };
  for (const op of ['ping', 'pong']) {
    const orig = sender[op].bind(sender);
    sender[op] = (data, mask, cb) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      logMsg(c, 'sent', op, buf);
      return orig(data, mask, cb);
    };
  }
  const origClose = sender.close.bind(sender);
  sender.close = (code, data, mask, cb) => {
    const p = closePayload(code, data);
    logMsg(c, 'sent', 'close', p,
      code === undefined ? null : { code, reason: p.subarray(2).toString('utf8') });
    return origClose(code, data, mask, cb);
  };
}

// ------------------------------------------------ stompjs frame hooks
// Headers are logged in wire order, with duplicates, and with the values as
// stompjs decodes them (trimmed, STOMP 1.2 escapes undone with stompjs's own
// FrameImpl.hdrValueUnEscape once 1.2 is negotiated, except on CONNECT and
// CONNECTED).
function decodeHeaders(command, rawHeaders, escaped) {
  const trim = (s) => s.replace(/^\s+|\s+$/g, '');
  return rawHeaders.map(([k, v]) => {
    let value = trim(v);
    if (escaped && command !== 'CONNECT' && command !== 'CONNECTED') {
      value = FrameImpl.hdrValueUnEscape(value);
    }
    return [trim(k), value];
  });
}

let rxConn = null; // connection whose WebSocket message is being parsed
const origFromRaw = FrameImpl.fromRawFrame;
FrameImpl.fromRawFrame = function fromRawFrame(rawFrame, escapeHeaderValues) {
  const rawHeaders = rawFrame.headers.map((h) => [h[0], h[1]]); // before stompjs reverses them
  const body = Buffer.from(rawFrame.binaryBody || new Uint8Array(0));
  const frame = origFromRaw.call(this, rawFrame, escapeHeaderValues);
  const c = rxConn;
  if (!c) {
    errors.push(`received ${rawFrame.command} outside a WebSocket message`);
    return frame;
  }
  const headers = decodeHeaders(rawFrame.command, rawHeaders, escapeHeaderValues);
  // stompjs keeps the first value of a repeated header; check our list agrees.
  for (const [k, v] of Object.entries(frame.headers)) {
    if (k === 'content-length' && !headers.some((h) => h[0] === k)) continue;
    const first = headers.find((h) => h[0] === k);
    if (!first || first[1] !== v) errors.push(`conn ${c.k}: header ${k} of ${rawFrame.command} disagrees`);
  }
  logApp(c, 'received', { command: rawFrame.command, headers, body_b64: body.toString('base64') });
  c.rxFramesInMsg += 1;
  c.frames.received.push({ command: rawFrame.command, headers, body, frame });
  return frame;
};

// Sent frames: FrameImpl.serialize() is what stompjs's _transmit() hands to
// WebSocket.send() (possibly in chunks).  The serialization is parsed back
// with stompjs's own Parser to get the headers in wire order (incl. the
// content-length stompjs adds), and checked against the FrameImpl fields.
const txQueue = []; // serialized frames not yet (completely) handed to ws.send
const origSerialize = FrameImpl.prototype.serialize;
FrameImpl.prototype.serialize = function serialize() {
  const out = origSerialize.call(this);
  const bytes = typeof out === 'string' ? Buffer.from(out, 'utf8') : Buffer.from(out);
  const parsed = [];
  const p = new Parser((raw) => parsed.push(raw), () => {});
  p.parseChunk(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  if (parsed.length !== 1) errors.push(`serialize(${this.command}): ${parsed.length} frames`);
  const raw = parsed[0];
  const headers = decodeHeaders(raw.command, raw.headers, this.escapeHeaderValues);
  const body = Buffer.from(raw.binaryBody);
  const mine = Object.entries(this.headers).map(([k, v]) => [k, `${v}`]);
  const wire = headers.filter((h) => h[0] !== 'content-length' || mine.some((m) => m[0] === 'content-length'));
  if (raw.command !== this.command || JSON.stringify(wire) !== JSON.stringify(mine)
      || !body.equals(Buffer.from(this.binaryBody))) {
    errors.push(`serialize(${this.command}): re-parse disagrees with the frame`);
  }
  txQueue.push({ command: raw.command, headers, body, t: now(), bytes, off: 0 });
  return out;
};

const isEOLs = (b) => b.length > 0 && /^(\r?\n)+$/.test(b.toString('latin1'));
const countEOLs = (b) => (b.toString('latin1').match(/\n/g) || []).length;

// How many STOMP frames the previous received data message completed.
function finishRxMsg(c) {
  const last = c.lastRxData;
  if (last && !isEOLs(last)) {
    if (c.rxFramesInMsg > 0) c.trailingEOLs += countEOLs(last.subarray(last.lastIndexOf(0) + 1));
    if (c.rxFramesInMsg > 1) c.multiFrameMsgs += 1;
    if (c.rxFramesInMsg === 0) c.partialMsgs += 1; // part of a frame split over messages
  }
  c.lastRxData = null;
  c.rxFramesInMsg = 0;
}

// ------------------------------------------------------------- one client
function openClient(k, opts) {
  const c = {
    k, sock: null, ws: null, seq: { sent: 0, received: 0 },
    msgs: { sent: [], received: [] }, app: { sent: [], received: [] },
    frames: { sent: [], received: [] }, rxFramesInMsg: 0,
    multiFrameMsgs: 0, partialMsgs: 0, txSplit: [], txPacked: [], trailingEOLs: 0, stompPings: 0, protocol: null,
    extensions: null, closed: null,
  };
  conns.push(c);
  let closedResolve;
  c.closedP = new Promise((r) => { closedResolve = r; });
  const factory = () => {
    if (c.ws) { errors.push(`conn ${k}: stompjs asked for a second WebSocket`); }
    const ws = new WebSocket(URL, SUBPROTOCOLS, Object.assign({
      createConnection: (o) => {
        c.sock = new LoggedSocket(net.connect({ host: o.host, port: o.port, allowHalfOpen: true }));
        return c.sock;
      },
    }, opts.ws || {}));
    c.ws = ws;
    // These listeners are added before stompjs sets onopen / onmessage, so
    // they run first.
    ws.once('open', () => {
      hookSender(c);
      c.protocol = ws.protocol;
      c.extensions = ws.extensions;
    });
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.from(data);
      finishRxMsg(c);
      logMsg(c, 'received', isBinary ? 'binary' : 'text', buf);
      c.lastRxData = buf;
      if (isEOLs(buf)) {
        for (let i = 0; i < countEOLs(buf); i++) logApp(c, 'received', { command: 'heartbeat' });
      }
      rxConn = c; // stompjs's onmessage (next listener) parses synchronously
    });
    ws.on('ping', (d) => logMsg(c, 'received', 'ping', Buffer.from(d)));
    ws.on('pong', (d) => logMsg(c, 'received', 'pong', Buffer.from(d)));
    ws.on('close', (code, reason) => {
      if (code !== 1006) {
        const p = closePayload(code, reason);
        logMsg(c, 'received', 'close', p,
          code === 1005 ? null : { code, reason: reason.toString('utf8') });
      }
      c.closed = { code, reason: reason.toString('utf8') };
      closedResolve(c.closed);
    });
    ws.on('error', (e) => errors.push(`conn ${k}: ws error ${e.message}`));
    // Every STOMP frame / heart-beat stompjs writes goes through ws.send():
    // one serialized frame per call, or (splitLargeFrames) a frame in
    // several calls, or (sendPacked below) several frames in one call.  The
    // bytes sent must be exactly the serialized frames, in order.
    const origWsSend = ws.send.bind(ws);
    ws.send = (data, ...rest) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
      if (txQueue.length === 0 && isEOLs(buf)) {
        for (let i = 0; i < countEOLs(buf); i++) logApp(c, 'sent', { command: 'heartbeat' });
        return origWsSend(data, ...rest);
      }
      let pos = 0;
      let nframes = 0;
      while (pos < buf.length) {
        const f = txQueue[0];
        if (!f) { errors.push(`conn ${k}: ws.send of bytes that are no serialized STOMP frame`); break; }
        if (f.off === 0) {
          const o = logApp(c, 'sent', { command: f.command, headers: f.headers,
            body_b64: f.body.toString('base64') });
          o.t = f.t;
          c.frames.sent.push(f);
          f.chunks = [];
        }
        const n = Math.min(f.bytes.length - f.off, buf.length - pos);
        if (!buf.subarray(pos, pos + n).equals(f.bytes.subarray(f.off, f.off + n))) {
          errors.push(`conn ${k}: ${f.command} sent differently`);
        }
        f.chunks.push(n);
        f.off += n;
        pos += n;
        if (f.off === f.bytes.length) {
          txQueue.shift();
          nframes += 1;
          if (f.chunks.length > 1) c.txSplit.push({ command: f.command, chunks: f.chunks });
        }
      }
      if (nframes > 1) c.txPacked.push(nframes);
      return origWsSend(data, ...rest);
    };
    return ws;
  };
  const client = new Client(Object.assign({
    webSocketFactory: factory,
    connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
    reconnectDelay: 0,
    debug: process.env.STOMP_DEBUG ? (s) => console.error(`[${k}] ${s}`) : () => {},
    onHeartbeatReceived: () => { c.stompPings += 1; },
    onUnhandledMessage: (m) => errors.push(`conn ${k}: unhandled MESSAGE ${m.headers.subscription}`),
    onUnhandledReceipt: (f) => c.receipts.push(f.headers['receipt-id']),
    onUnhandledFrame: (f) => errors.push(`conn ${k}: unhandled frame ${f.command}`),
    onWebSocketError: () => {},
  }, opts.stomp));
  c.client = client;
  c.receipts = [];
  return c;
}

function waitFor(cond, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const iv = setInterval(() => {
      if (cond()) { clearInterval(iv); resolve(); } else if (Date.now() - t0 > ms) {
        clearInterval(iv); reject(new Error(`timeout waiting for ${what}`));
      }
    }, 5);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function receiptP(c, id) {
  return new Promise((resolve) => c.client.watchForReceipt(id, (f) => { c.receipts.push(id); resolve(f); }));
}

// ---------------------------------------------------------- the scenario
const LONG = Array.from({ length: 60 }, (_, i) => `line ${String(i).padStart(2, '0')}: the quick brown fox jumps over the lazy dog`).join('\n');
const BIG = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(4, '0')} 0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGH\n`).join('');
const NOTE = 'a:b\nc\\d'; // needs STOMP 1.2 escaping: a\cb\nc\\d

const QUEUE_SENDS = [
  { body: 'hello from stompjs ✓', headers: { 'content-type': 'text/plain;charset=utf-8' } },
  { body: JSON.stringify({ type: 'chat', from: 'alice', text: 'hi bob', n: 1, tags: ['a', 'b'] }),
    headers: { 'content-type': 'application/json' } },
  { body: 'before\u0000after (embedded NUL)' },
  { body: 'custom header with escapes', headers: { 'x-note': NOTE } },
  { binaryBody: new Uint8Array(Buffer.from('binary body \u0000\u0001\u0002 ✓ end', 'utf8')),
    headers: { 'content-type': 'application/octet-stream' } },
  { body: LONG, headers: { 'content-type': 'text/plain' } },
  { body: 'please confirm', headers: { receipt: 'rcpt-send-7' } },
  { body: 'no content-length header', skipContentLengthHeader: true },
];
const TOPIC_SENDS = [
  { body: JSON.stringify({ sym: 'ABC', px: 101.25 }), headers: { 'content-type': 'application/json' } },
  { body: JSON.stringify({ sym: 'XYZ', px: 7.5 }),
    headers: { 'content-type': 'application/json', receipt: 'rcpt-price-2' } },
];

const PACKED = ['packed frame 1 of 2', 'packed frame 2 of 2'];

// Several frames in ONE WebSocket message.  stompjs itself never does this,
// so the frames are built and serialized by stompjs's FrameImpl (with STOMP
// 1.2 header escaping, as stompjs's _transmit would) and their
// serializations sent together through the same WebSocket.
function sendPacked(c, frames) {
  const parts = frames.map((f) => new FrameImpl(Object.assign({ escapeHeaderValues: true }, f)).serialize());
  c.ws.send(parts.join(''));
}

async function conn1() {
  const c = openClient(1, { stomp: { heartbeatIncoming: 500, heartbeatOutgoing: 500,
    disconnectHeaders: { receipt: 'rcpt-disconnect' } } });
  const got = { 'sub-0': [], 'sub-1': [] };
  const connected = new Promise((resolve) => { c.client.onConnect = resolve; });
  c.client.onStompError = (f) => errors.push(`conn 1: ERROR ${f.headers.message}`);
  c.client.activate();
  await connected;
  const r0 = receiptP(c, 'rcpt-sub-0');
  c.client.subscribe('/queue/chat', (m) => { got['sub-0'].push(m); m.ack(); },
    { id: 'sub-0', ack: 'client-individual', receipt: 'rcpt-sub-0' });
  const r1 = receiptP(c, 'rcpt-sub-1');
  c.client.subscribe('/topic/prices', (m) => { got['sub-1'].push(m); },
    { id: 'sub-1', receipt: 'rcpt-sub-1' });
  await Promise.all([r0, r1]);
  const rs = [receiptP(c, 'rcpt-send-7'), receiptP(c, 'rcpt-price-2')];
  for (const s of QUEUE_SENDS) c.client.publish(Object.assign({ destination: '/queue/chat' }, s));
  for (const s of TOPIC_SENDS) c.client.publish(Object.assign({ destination: '/topic/prices' }, s));
  sendPacked(c, PACKED.map((body) => ({ command: 'SEND', headers: { destination: '/queue/chat' }, body })));
  await Promise.all(rs);
  await waitFor(() => got['sub-0'].length === QUEUE_SENDS.length + PACKED.length && got['sub-1'].length === TOPIC_SENDS.length,
    'conn 1 MESSAGEs');
  // idle: only heart-beats (the broker granted 1000 ms each way)
  await sleep(4000);
  const ru1 = receiptP(c, 'rcpt-unsub-1');
  c.client.unsubscribe('sub-1', { receipt: 'rcpt-unsub-1' });
  await ru1;
  const ru0 = receiptP(c, 'rcpt-unsub-0');
  c.client.unsubscribe('sub-0', { receipt: 'rcpt-unsub-0' });
  await ru0;
  await c.client.deactivate();
  await c.closedP;

  // what arrived is what was sent
  const sends = QUEUE_SENDS.map((s) => Buffer.from(s.binaryBody || Buffer.from(s.body, 'utf8')))
    .concat(PACKED.map((b) => Buffer.from(b, 'utf8')));
  got['sub-0'].forEach((m, i) => {
    if (!Buffer.from(m.binaryBody).equals(sends[i])) errors.push(`conn 1: queue MESSAGE ${i + 1} body differs`);
    if (m.headers.destination !== '/queue/chat') errors.push('conn 1: queue MESSAGE destination');
  });
  if (got['sub-0'][3].headers['x-note'] !== NOTE) errors.push('conn 1: x-note did not round-trip');
  got['sub-1'].forEach((m, i) => {
    if (m.body !== TOPIC_SENDS[i].body) errors.push(`conn 1: topic MESSAGE ${i + 1} body differs`);
  });
  const acks = c.frames.sent.filter((f) => f.command === 'ACK').map((f) => f.headers.find((h) => h[0] === 'id')[1]);
  const ackIds = got['sub-0'].map((m) => m.headers.ack);
  if (JSON.stringify(acks) !== JSON.stringify(ackIds)) errors.push('conn 1: ACK ids != MESSAGE ack headers');
  return c;
}

async function conn2() {
  const c = openClient(2, { stomp: { heartbeatIncoming: 0, heartbeatOutgoing: 0,
    disconnectHeaders: { receipt: 'rcpt-disconnect-2' } } });
  const connected = new Promise((resolve) => { c.client.onConnect = resolve; });
  const errored = new Promise((resolve) => { c.client.onStompError = resolve; });
  c.client.activate();
  await connected;
  c.client.publish({ destination: '/invalid/x', body: 'nobody will get this',
    headers: { receipt: 'rcpt-invalid' } });
  const err = await errored;
  // RabbitMQ keeps the connection open after this ERROR (until cowboy's 60 s
  // idle timeout), so the client ends the session itself.
  await sleep(200);
  await c.client.deactivate();
  await c.closedP;
  console.error(`conn 2: ERROR message:${JSON.stringify(err.headers.message)}`);
  return c;
}

async function conn3() {
  const c = openClient(3, { ws: { perMessageDeflate: false },
    stomp: { heartbeatIncoming: 0, heartbeatOutgoing: 0, splitLargeFrames: true,
      maxWebSocketChunkSize: 4096, disconnectHeaders: { receipt: 'rcpt-disconnect-3' } } });
  const got = [];
  const connected = new Promise((resolve) => { c.client.onConnect = resolve; });
  c.client.onStompError = (f) => errors.push(`conn 3: ERROR ${f.headers.message}`);
  c.client.activate();
  await connected;
  const rsub = receiptP(c, 'rcpt-sub-big');
  c.client.subscribe('/queue/big', (m) => got.push(m), { id: 'sub-big', receipt: 'rcpt-sub-big' });
  await rsub;
  const rbig = receiptP(c, 'rcpt-big');
  c.client.publish({ destination: '/queue/big', body: BIG, headers: { receipt: 'rcpt-big' } });
  await rbig;
  await waitFor(() => got.length === 1, 'conn 3 MESSAGE');
  if (got[0].body !== BIG) errors.push('conn 3: big MESSAGE body differs');
  await c.client.deactivate();
  await c.closedP;
  return c;
}

// Number of complete messages / control frames in the bytes the client
// actually wrote (after the HTTP request): a frame whose write failed because
// the broker had already reset the connection must not be logged as sent.
function wireMessages(stream) {
  let pos = stream.indexOf('\r\n\r\n') + 4;
  let n = 0;
  while (pos + 2 <= stream.length) {
    const b0 = stream[pos];
    const b1 = stream[pos + 1];
    let len = b1 & 0x7f;
    let hdr = 2;
    if (len === 126) { if (pos + 4 > stream.length) break; len = stream.readUInt16BE(pos + 2); hdr = 4; }
    if (len === 127) { if (pos + 10 > stream.length) break; len = Number(stream.readBigUInt64BE(pos + 2)); hdr = 10; }
    if (b1 & 0x80) hdr += 4;
    if (pos + hdr + len > stream.length) break;
    if ((b0 & 0x80) || (b0 & 0x08)) n += 1; // FIN data frame or control frame
    pos += hdr + len;
  }
  return { n, trailing: stream.length - pos };
}

function sha256(b) { return crypto.createHash('sha256').update(b).digest('hex'); }

function summarize(c) {
  const count = (list) => {
    const o = {};
    for (const a of list) o[a.command] = (o[a.command] || 0) + 1;
    return JSON.stringify(o);
  };
  finishRxMsg(c);
  console.error(`conn ${c.k}: subprotocol "${c.protocol}", extensions "${c.extensions}", `
    + `close ${c.closed && c.closed.code} "${c.closed && c.closed.reason}"`);
  console.error(`conn ${c.k}: app sent ${count(c.app.sent)}`);
  console.error(`conn ${c.k}: app received ${count(c.app.received)}`);
  const ops = (l) => { const o = {}; for (const m of l) o[m.opcode] = (o[m.opcode] || 0) + 1; return JSON.stringify(o); };
  console.error(`conn ${c.k}: ws sent ${ops(c.msgs.sent)}, received ${ops(c.msgs.received)}`);
  console.error(`conn ${c.k}: receipts ${JSON.stringify(c.receipts)}; `
    + `received ws messages with >1 frame: ${c.multiFrameMsgs}, with a partial frame: ${c.partialMsgs}; `
    + `sent frames split over several messages: ${c.txSplit.map((s) => `${s.command} in ${s.chunks.length} (${s.chunks.join('+')} bytes)`).join(', ') || 'none'}; `
    + `sent messages with several frames: ${c.txPacked.length ? c.txPacked.join(', ') + ' frames' : 'none'}; `
    + `stompjs onHeartbeatReceived calls ${c.stompPings} (${c.trailingEOLs} EOLs after frames)`);
  // stompjs counts every EOL between frames as a heart-beat: the EOL-only
  // messages (logged as "heartbeat") plus the EOLs RabbitMQ puts after each frame.
  if (c.stompPings !== c.app.received.filter((a) => a.command === 'heartbeat').length + c.trailingEOLs) {
    errors.push(`conn ${c.k}: stompjs heart-beat count disagrees`);
  }
}

async function main() {
  const all = [await conn1(), await conn2(), await conn3()];
  await sleep(200);
  const lines = [];
  const w = (o) => lines.push(JSON.stringify(o));
  for (const c of all) w({ kind: 'conn', conn: c.k, client: c.sock.local, server: c.sock.remote });
  if (args.streams) fs.mkdirSync(args.streams, { recursive: true });
  for (const c of all) {
    const raw = { sent: Buffer.concat(c.sock.sent), received: Buffer.concat(c.sock.received) };
    for (const role of ['sent', 'received']) {
      w({ kind: 'tcp', conn: c.k, side: 'client', role, dir: dirOf(role), len: raw[role].length,
        sha256: sha256(raw[role]) });
      if (args.streams) fs.writeFileSync(path.join(args.streams, `${c.k}.${dirOf(role)}`), raw[role]);
    }
    const wm = wireMessages(raw.sent);
    if (wm.n < c.msgs.sent.length) {
      const lost = c.msgs.sent.slice(wm.n);
      if (lost.length === 1 && lost[0].opcode === 'close') {
        console.error(`conn ${c.k}: the close echo did not reach the wire completely `
          + `(${wm.trailing} bytes of it written); not logged as sent`);
        events.splice(events.indexOf(lost[0]), 1);
        c.msgs.sent.pop();
      } else {
        errors.push(`conn ${c.k}: ${lost.length} logged messages are not on the wire`);
      }
    } else if (wm.n > c.msgs.sent.length || wm.trailing) {
      errors.push(`conn ${c.k}: wire has ${wm.n} messages + ${wm.trailing} bytes, log ${c.msgs.sent.length}`);
    }
    for (const o of events) if (o.conn === c.k) w(o);

    // consistency: the sent STOMP frames + heart-beats are exactly the sent
    // data messages; every received data message is either EOLs or was fed
    // to stompjs's parser (frames counted above).
    const sentData = Buffer.concat(c.msgs.sent.filter((m) => m.opcode === 'text' || m.opcode === 'binary')
      .map((m) => Buffer.from(m.b64, 'base64')));
    const fromApp = Buffer.concat(c.app.sent.map((a) => (a.command === 'heartbeat' ? Buffer.from('\n')
      : c.frames.sent.shift().bytes)));
    if (!sentData.equals(fromApp)) errors.push(`conn ${c.k}: sent frames != sent ws data`);
    if (c.msgs.sent.some((m) => m.opcode === 'text'
      && !Buffer.from(Buffer.from(m.b64, 'base64').toString('utf8'), 'utf8').equals(Buffer.from(m.b64, 'base64')))) {
      errors.push(`conn ${c.k}: a sent text message is not valid UTF-8`);
    }
    const lastSent = c.msgs.sent[c.msgs.sent.length - 1];
    const lastRecv = c.msgs.received[c.msgs.received.length - 1];
    if (!lastRecv || lastRecv.opcode !== 'close') {
      errors.push(`conn ${c.k}: no closing handshake`);
    }
    summarize(c);
  }
  const cmds = (c, role) => c.app[role].map((a) => a.command);
  const [c1, c2, c3] = all;
  const n = (c, role, cmd) => cmds(c, role).filter((x) => x === cmd).length;
  if (c1.protocol !== 'v12.stomp') errors.push(`conn 1: subprotocol ${c1.protocol}`);
  if (n(c1, 'received', 'CONNECTED') !== 1 || n(c1, 'received', 'MESSAGE') !== 12
      || n(c1, 'sent', 'ACK') !== 10 || n(c1, 'sent', 'SEND') !== 12) errors.push('conn 1: frame counts');
  if (c1.txPacked.length !== 1) errors.push('conn 1: the packed SENDs did not go out in one message');
  for (const id of ['rcpt-sub-0', 'rcpt-sub-1', 'rcpt-send-7', 'rcpt-price-2', 'rcpt-unsub-1', 'rcpt-unsub-0']) {
    if (!c1.receipts.includes(id)) errors.push(`conn 1: no RECEIPT ${id}`);
  }
  if (n(c1, 'received', 'heartbeat') < 2 || n(c1, 'sent', 'heartbeat') < 2) errors.push('conn 1: too few heart-beats');
  if (n(c2, 'received', 'ERROR') !== 1) errors.push('conn 2: no ERROR');
  if (c3.txSplit.length !== 1 || c3.txSplit[0].chunks.length < 2) errors.push('conn 3: the big SEND was not split');
  fs.writeFileSync(args.log, lines.join('\n') + '\n');
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exitCode = errors.length ? 1 : 0;
}

main().catch((e) => { console.error(e); for (const x of errors) console.error(`ERROR: ${x}`); process.exit(1); });
