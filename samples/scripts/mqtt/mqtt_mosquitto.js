#!/usr/bin/env node
// MQTT over WebSocket: mqtt.js clients (npm `mqtt`, pinned in package.json)
// talking to Debian 12's mosquitto 2.0.11 broker on ws://127.0.0.1:PORT
// (subprotocol "mqtt").  The broker is started by make.sh; this script only
// runs the clients, one after the other, and writes the endpoint log.
//
//   conn 1  sub-v311   MQTT 3.1.1 subscriber (keepalive 1 s, pings)
//   conn 2  pub-v311   MQTT 3.1.1 publisher (username/password, will), clean DISCONNECT
//   conn 3  dying-v311 MQTT 3.1.1, will; closes the WebSocket without DISCONNECT,
//                      so the broker publishes its will to sub-v311
//   conn 4  sub-v5     MQTT 5 subscriber/responder, clean=false, session expiry 300
//   conn 5  pub-v5     MQTT 5 publisher/requester; DISCONNECT reason 0x04 (with will)
//   conn 6  sub-v5     reconnects: sessionPresent, gets the messages queued while away
//   conn 7  dup-v5     MQTT 5; taken over by conn 8 (mosquitto 2.0.11 just closes
//                      the TCP connection: no DISCONNECT 0x8E, no close frame)
//   conn 8  dup-v5     same client id, normal DISCONNECT
//
// Only the client side can be instrumented (mosquitto is a C program), so
// the log has client-side records only, both roles:
// * tcp: every chunk the client's net.Socket wrote / read (a stream.Duplex
//   wrapper passed to `ws` through createConnection, as in ../ws_node.js);
// * msg: every WebSocket frame the client's `ws` Sender wrote (send / ping /
//   pong / close hooks) and every message / control frame it received;
// * app: every MQTT control packet mqtt.js reported with its own
//   `packetsend` / `packetreceive` events, proto "mqtt", field "packet" =
//   the mqtt.js packet object, Buffers as {"b64": "..."}.
//
// The scenario checks itself: the WebSocket payloads of each direction,
// parsed with mqtt-packet, give exactly the packets mqtt.js reported; every
// client got exactly the expected PUBLISHes (topic, payload, QoS, retain);
// the expected return / reason codes came back; and the per-client counts of
// each packet type agree with mosquitto's log (--broker-log).
//
// Usage: node mqtt_mosquitto.js --port 9981 --log F.jsonl
//          [--broker-log /tmp/wscope-mqtt/mosquitto.log] [--streams DIR]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');
const mqtt = require('mqtt');
const mqttPacket = require('mqtt-packet');

// ------------------------------------------------------------------ args
const args = { port: 9981, log: null, streams: null, 'broker-log': null };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  args[k] = k === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!args.log) {
  console.error('usage: node mqtt_mosquitto.js --port 9981 --log F.jsonl [--broker-log F] [--streams DIR]');
  process.exit(2);
}
const URL_ = `ws://127.0.0.1:${args.port}`;

// ------------------------------------------------------------ recording
const conns = []; // one per TCP connection, in the order the client connected
const events = []; // msg and app records in observation order
const errors = [];
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1e6;

// mqtt.js packet object -> JSON-able copy, Buffers as {"b64": ...}
function conv(v) {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return { b64: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(conv);
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) if (v[k] !== undefined && typeof v[k] !== 'function') o[k] = conv(v[k]);
    return o;
  }
  return v;
}

function dirOf(role) { return role === 'sent' ? 'c2s' : 's2c'; }
function logMsg(c, role, opcode, payload, close) {
  c.seq[role] += 1;
  const o = { kind: 'msg', conn: c.k, side: 'client', role, dir: dirOf(role), seq: c.seq[role], opcode,
    len: payload.length, b64: payload.toString('base64') };
  if (close) { o.close_code = close.code; o.close_reason = close.reason; }
  events.push(o);
  c.msgs[role].push(o);
}
function logApp(c, role, packet) {
  const o = { kind: 'app', conn: c.k, side: 'client', role, dir: dirOf(role), t: now(), proto: 'mqtt',
    packet: conv(packet) };
  events.push(o);
  c.app[role].push(o);
}
function closePayload(code, reason) {
  if (code === undefined || code === 1005) return Buffer.alloc(0);
  const r = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// net.Socket wrapper recording every chunk written and read (see ws_node.js)
class LoggedSocket extends Duplex {
  constructor(sock) {
    super({ allowHalfOpen: true });
    this._sock = sock;
    this.sent = [];
    this.received = [];
    const setAddr = () => {
      this.local = { ip: sock.localAddress, port: sock.localPort };
      this.remote = { ip: sock.remoteAddress, port: sock.remotePort };
    };
    if (sock.connecting) sock.once('connect', () => { setAddr(); this.emit('connect'); });
    else setAddr();
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

// Wrap ws's frame writer so every frame the client sends is logged.
function hookSender(ws, c) {
  const sender = ws._sender;
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

// One mqtt.js client = one TCP/WebSocket connection (reconnectPeriod 0).
function connectClient(name, opts) {
  const c = { name, k: null, ws: null, sock: null, version: opts.protocolVersion,
    clientId: opts.clientId, seq: { sent: 0, received: 0 }, msgs: { sent: [], received: [] },
    app: { sent: [], received: [] }, messages: [], wsClosed: null, mqttErrors: [] };
  let wsClosedResolve;
  c.wsClosed = new Promise((r) => { wsClosedResolve = r; });
  const client = mqtt.connect(URL_, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    manualConnect: true, // so that the listeners below see the CONNECT packet
    ...opts,
    createWebsocket: (url, protocols) => {
      if (c.ws) throw new Error(`${name}: second WebSocket`);
      c.k = conns.length + 1;
      conns.push(c);
      const ws = new WebSocket(url, protocols, {
        createConnection: (co) => {
          const sock = net.connect({ host: co.host, port: co.port, allowHalfOpen: true });
          c.sock = new LoggedSocket(sock);
          return c.sock;
        },
      });
      c.ws = ws;
      // attached before mqtt.js's createWebSocketStream adds its own listeners
      ws.once('open', () => { c.subprotocol = ws.protocol; hookSender(ws, c); });
      ws.on('message', (data, isBinary) => logMsg(c, 'received', isBinary ? 'binary' : 'text', Buffer.from(data)));
      ws.on('ping', (d) => logMsg(c, 'received', 'ping', Buffer.from(d)));
      ws.on('pong', (d) => logMsg(c, 'received', 'pong', Buffer.from(d)));
      ws.on('close', (code, reason) => {
        if (code !== 1006) {
          const p = closePayload(code, reason);
          logMsg(c, 'received', 'close', p, code === 1005 ? null : { code, reason: reason.toString('utf8') });
        }
        c.closeCode = code;
        wsClosedResolve(code);
      });
      return ws;
    },
  });
  client.on('packetsend', (p) => logApp(c, 'sent', p));
  client.on('packetreceive', (p) => logApp(c, 'received', p));
  client.on('message', (topic, payload, packet) => c.messages.push({ topic, payload: Buffer.from(payload), packet }));
  client.on('error', (e) => c.mqttErrors.push(e.message));
  c.client = client;
  c.connack = new Promise((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  client.connect();
  return c;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, label, ms = 5000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${label}`);
    await sleep(5);
  }
}
// subscribe / unsubscribe / publish keeping the error (failure codes are expected here)
const sub = (c, t, o) => new Promise((r) => c.client.subscribe(t, o || {}, (err, granted) => r({ err, granted })));
const unsub = (c, t, o) => new Promise((r) => c.client.unsubscribe(t, o || {}, (err, packet) => r({ err, packet })));
const pub = (c, t, p, o) => new Promise((r) => c.client.publish(t, p, o || {}, (err, packet) => r({ err, packet })));
const end = (c, opts) => new Promise((r) => c.client.end(false, opts || {}, () => r()));
function check(cond, what) { if (!cond) errors.push(what); }
// PUBLISH packets received, in wire order ('message' events for QoS 2 come
// at PUBREL, so their order can differ)
const delivered = (c) => c.app.received.filter((x) => x.packet.cmd === 'publish')
  .map((x) => [x.packet.topic, Buffer.from(x.packet.payload.b64, 'base64'), x.packet.qos, x.packet.retain]);
const got = (c, topic, payload) => c.messages.filter((m) => m.topic === topic
  && (payload === undefined || m.payload.equals(Buffer.from(payload))));
const sentCount = (c, cmd) => c.app.sent.filter((a) => a.packet.cmd === cmd).length;
const recvCount = (c, cmd) => c.app.received.filter((a) => a.packet.cmd === cmd).length;

// deterministic payloads
const BIN256 = Buffer.from([...Array(256).keys()]);
const BIN256R = Buffer.from([...Array(256).keys()].reverse());
function bigPayload(n, seed) {
  const parts = []; let i = 0;
  while (parts.reduce((a, b) => a + b.length, 0) < n) {
    parts.push(crypto.createHash('sha256').update(`${seed}/${i++}`).digest('hex'));
  }
  return Buffer.from(parts.join('').slice(0, n));
}
const BIG5K = bigPayload(5000, 'mqtt-v311');
const BIG5K5 = bigPayload(5120, 'mqtt-v5');

// -------------------------------------------------------- MQTT 3.1.1 part
async function v311() {
  // conn 1: subscriber
  const A = connectClient('A', { protocolVersion: 4, clientId: 'sub-v311', keepalive: 1, clean: true });
  await A.connack;
  let r = await sub(A, { 'sensors/+/temp': { qos: 2 }, 'alerts/#': { qos: 1 }, 'status/plain': { qos: 0 } });
  check(!r.err && r.granted.map((g) => g.qos).join() === '2,1,0', `A sub 1 granted ${JSON.stringify(r)}`);
  r = await sub(A, '센서/거실/온도', { qos: 1 });
  check(!r.err && r.granted[0].qos === 1, 'A sub utf8');
  r = await sub(A, ['bin/data', 'will/v311'], { qos: 2 });
  check(!r.err && r.granted.map((g) => g.qos).join() === '2,2', 'A sub bin/will');
  r = await sub(A, 'forbidden/secret', { qos: 1 });
  check(r.err && r.err.packet && r.err.packet.granted[0] === 0x80,
    `A sub forbidden: expected failure 0x80, got ${r.err && r.err.message}`);

  // conn 2: publisher with username/password and a will (not published: clean DISCONNECT)
  const B = connectClient('B', { protocolVersion: 4, clientId: 'pub-v311', keepalive: 30, clean: true,
    username: 'wscope', password: Buffer.from('pa55-wörd'),
    will: { topic: 'will/v311', payload: Buffer.from('pub-v311 vanished'), qos: 1, retain: false } });
  await B.connack;
  const plan = [ // topic, payload, publish qos, delivered qos to A (null: not delivered)
    ['sensors/kitchen/temp', '21.5', 0, 0],
    ['sensors/kitchen/temp', '21.7', 1, 1],
    ['sensors/bedroom/temp', '19.0', 2, 2],
    ['alerts/fire', 'smoke detected', 2, 1],
    ['status/plain', 'online', 1, 0],
    ['bin/data', BIN256, 1, 1],
    ['status/plain', Buffer.alloc(0), 0, 0],
    ['sensors/big/temp', BIG5K, 1, 1],
    ['센서/거실/온도', '22.5 °C 😀', 2, 1],
    ['forbidden/secret', 'nope', 1, null],
  ];
  for (const [t, p, q] of plan) {
    r = await pub(B, t, Buffer.from(p), { qos: q });
    check(!r.err, `B pub ${t}: ${r.err && r.err.message}`);
  }
  // retained message, then A subscribes and gets it with the retain flag
  r = await pub(B, 'retained/config', Buffer.from('{"interval":5}'), { qos: 1, retain: true });
  check(!r.err, 'B pub retained');
  await until(() => got(A, 'sensors/big/temp').length === 1 && got(A, '센서/거실/온도').length === 1
    && got(A, 'bin/data').length === 1, 'A deliveries');
  r = await sub(A, 'retained/config', { qos: 1 });
  check(!r.err && r.granted[0].qos === 1, 'A sub retained');
  await until(() => got(A, 'retained/config').length === 1, 'A retained');
  check(got(A, 'retained/config')[0].packet.retain === true, 'A retained flag');
  // a burst of small QoS 0 publishes written in one go
  for (let i = 0; i < 20; i++) B.client.publish('sensors/loop/temp', Buffer.from(`t=${i}`), { qos: 0 });
  await until(() => got(A, 'sensors/loop/temp').length === 20, 'A loop');
  // unsubscribe; the next sensors/ message must not arrive, alerts/done must
  r = await unsub(A, ['sensors/+/temp', 'status/plain']);
  check(!r.err, 'A unsub');
  r = await pub(B, 'sensors/kitchen/temp', Buffer.from('after unsubscribe'), { qos: 1 });
  r = await pub(B, 'retained/config', Buffer.alloc(0), { qos: 0, retain: true }); // clears the retained message
  r = await pub(B, 'alerts/done', Buffer.from('last'), { qos: 1 });
  await until(() => got(A, 'alerts/done').length === 1 && got(A, 'retained/config').length === 2, 'A alerts/done');
  check(got(A, 'sensors/kitchen/temp', 'after unsubscribe').length === 0, 'A got message after unsubscribe');
  await end(B);
  await B.wsClosed;

  // conn 3: a client with a will that leaves without DISCONNECT
  const C = connectClient('C', { protocolVersion: 4, clientId: 'dying-v311', keepalive: 30, clean: true,
    will: { topic: 'will/v311', payload: Buffer.from('dying-v311 lost its connection'), qos: 2, retain: false } });
  await C.connack;
  await sleep(50);
  C.ws.close(1000, 'no MQTT DISCONNECT');
  await C.wsClosed;
  await until(() => got(A, 'will/v311').length === 1, 'A will');
  check(got(A, 'will/v311', 'dying-v311 lost its connection').length === 1, 'A will payload');

  // keepalive 1 s: wait for two PINGREQ/PINGRESP rounds
  await until(() => recvCount(A, 'pingresp') >= 2, 'A pings', 6000);
  await end(A);
  await A.wsClosed;

  // what A must have received (topic, payload, qos, retain)
  const want = plan.filter((x) => x[3] !== null).map(([t, p, , q]) => [t, Buffer.from(p), q, false]);
  want.push(['retained/config', Buffer.from('{"interval":5}'), 1, true]);
  for (let i = 0; i < 20; i++) want.push(['sensors/loop/temp', Buffer.from(`t=${i}`), 0, false]);
  want.push(['retained/config', Buffer.alloc(0), 0, false], ['alerts/done', Buffer.from('last'), 1, false],
    ['will/v311', Buffer.from('dying-v311 lost its connection'), 2, false]);
  const have = delivered(A);
  const key = (x) => `${x[0]}|${x[1].toString('base64')}|${x[2]}|${x[3]}`;
  check(have.map(key).join('\n') === want.map(key).join('\n'),
    `A messages differ:\n${have.map(key).join('\n')}\n--- want\n${want.map(key).join('\n')}`);
  return [A, B, C];
}

// ------------------------------------------------------------ MQTT 5 part
async function v5() {
  // conn 4: subscriber and responder, persistent session
  const A = connectClient('A5', { protocolVersion: 5, clientId: 'sub-v5', keepalive: 1, clean: false,
    properties: { sessionExpiryInterval: 300, receiveMaximum: 20, maximumPacketSize: 65536,
      topicAliasMaximum: 5, requestProblemInformation: true, userProperties: { client: 'wscope-A' } } });
  const connackA = await A.connack;
  check(connackA.sessionPresent === false, 'A5 first connect sessionPresent');
  const respond = (c) => c.client.on('message', (topic, payload, packet) => {
    if (topic !== 'v5/req') return;
    const pr = packet.properties || {};
    c.client.publish(pr.responseTopic, Buffer.from('{"temp":21.6}'), { qos: 1,
      properties: { correlationData: pr.correlationData, contentType: 'application/json',
        userProperties: { status: 'ok' } } });
  });
  respond(A);
  let r = await sub(A, 'v5/sensors/+/temp', { qos: 2, properties: { subscriptionIdentifier: 7 } });
  check(!r.err, 'A5 sub 1');
  r = await sub(A, { 'v5/alerts/#': { qos: 1 }, 'v5/req': { qos: 1 }, 'will/v5': { qos: 1 }, 'v5/utf8/#': { qos: 2 } },
    { properties: { subscriptionIdentifier: 42, userProperties: { why: 'several filters' } } });
  check(!r.err && r.granted.map((g) => g.qos).join() === '1,1,1,2', `A5 sub 2 ${JSON.stringify(r)}`);
  r = await sub(A, 'v5/chat/#', { qos: 1, nl: true });
  check(!r.err, 'A5 sub nl');
  r = await sub(A, 'forbidden/v5', { qos: 1 });
  check(r.err && r.err.packet && r.err.packet.granted[0] === 0x87,
    `A5 sub forbidden: expected 0x87, got ${r.err && r.err.message}`);

  // conn 5: publisher / requester, will sent on DISCONNECT 0x04
  const B = connectClient('B5', { protocolVersion: 5, clientId: 'pub-v5', keepalive: 30, clean: true,
    properties: { sessionExpiryInterval: 0, requestResponseInformation: true },
    will: { topic: 'will/v5', payload: Buffer.from('pub-v5 left with reason 0x04'), qos: 1, retain: false,
      properties: { willDelayInterval: 0, payloadFormatIndicator: true, messageExpiryInterval: 120,
        contentType: 'text/plain', responseTopic: 'v5/will/ack', correlationData: Buffer.from([1, 2, 3]),
        userProperties: { w: '1' } } } });
  const connackB = await B.connack;
  check(connackB.sessionPresent === false, 'B5 sessionPresent');
  r = await sub(B, { 'v5/resp/pub-v5': { qos: 1 }, 'v5/chat/#': { qos: 0 } });
  check(!r.err, 'B5 sub');
  // retained with expiry; A subscribes with retain-as-published afterwards
  r = await pub(B, 'v5/retained/cfg', Buffer.from('{"mode":"eco"}'), { qos: 1, retain: true,
    properties: { messageExpiryInterval: 600, contentType: 'application/json', payloadFormatIndicator: true } });
  check(!r.err, 'B5 retained');
  r = await sub(A, 'v5/retained/#', { qos: 1, rap: true, rh: 0 });
  check(!r.err, 'A5 sub retained');
  await until(() => got(A, 'v5/retained/cfg').length === 1, 'A5 retained');

  const plan = [ // topic, payload, options
    ['v5/sensors/kitchen/temp', '21.5', { qos: 0, properties: { userProperties: { unit: 'C', 'k한': 'v😀' } } }],
    ['v5/sensors/kitchen/temp', '21.6', { qos: 1, properties: { userProperties: { multi: ['a', 'b'] } } }],
    ['v5/sensors/attic/temp', '30.1', { qos: 2, properties: { contentType: 'text/plain',
      payloadFormatIndicator: true, messageExpiryInterval: 3600 } }],
    ['v5/sensors/alias/temp', 'a1', { qos: 1, properties: { topicAlias: 3 } }],
    ['', 'a2', { qos: 1, properties: { topicAlias: 3 } }],
    ['', 'a3', { qos: 2, properties: { topicAlias: 3 } }],
    ['v5/alerts/bin', BIN256R, { qos: 1 }],
    ['v5/alerts/empty', Buffer.alloc(0), { qos: 2 }],
    ['v5/alerts/big', BIG5K5, { qos: 1 }],
    ['v5/utf8/센서/温度', 'héllo 🌍', { qos: 2, properties: { payloadFormatIndicator: true } }],
  ];
  for (const [t, p, o] of plan) {
    r = await pub(B, t, Buffer.from(p), o);
    check(!r.err, `B5 pub ${t}: ${r.err && r.err.message}`);
  }
  // no matching subscribers: PUBACK / PUBREC reason code 0x10
  r = await pub(B, 'v5/nobody', Buffer.from('anyone?'), { qos: 1 });
  check(!r.err, 'B5 nobody qos1');
  r = await pub(B, 'v5/nobody', Buffer.from('anyone at all?'), { qos: 2 });
  check(!r.err, 'B5 nobody qos2');
  // not authorized: PUBACK 0x87
  r = await pub(B, 'forbidden/v5', Buffer.from('secret'), { qos: 1 });
  check(r.err && r.err.code === 135, `B5 forbidden publish: ${r.err && r.err.message}`);
  // request / response
  const corr = Buffer.from('c0ffee0142', 'hex');
  r = await pub(B, 'v5/req', Buffer.from('{"room":"kitchen"}'), { qos: 1, properties: {
    responseTopic: 'v5/resp/pub-v5', correlationData: corr, contentType: 'application/json',
    userProperties: { method: 'getTemp' } } });
  check(!r.err, 'B5 request');
  await until(() => got(B, 'v5/resp/pub-v5').length === 1, 'B5 response');
  const resp = got(B, 'v5/resp/pub-v5')[0].packet.properties || {};
  check(Buffer.isBuffer(resp.correlationData) && resp.correlationData.equals(corr), 'B5 correlation data');
  // no local: A publishes to a topic it is subscribed to, only B gets it
  r = await pub(A, 'v5/chat/room1', Buffer.from('hi from sub-v5'), { qos: 1 });
  check(!r.err, 'A5 chat');
  await until(() => got(B, 'v5/chat/room1').length === 1, 'B5 chat');
  // burst of QoS 0
  for (let i = 0; i < 20; i++) B.client.publish('v5/sensors/loop/temp', Buffer.from(`t=${i}`), { qos: 0 });
  await until(() => got(A, 'v5/sensors/loop/temp').length === 20 && got(A, 'v5/utf8/센서/温度').length === 1
    && got(A, 'v5/alerts/big').length === 1, 'A5 loop');
  // unsubscribe: one existing filter, one that never existed (0x11)
  r = await unsub(A, ['v5/alerts/#', 'v5/never/subscribed']);
  check(!r.err && r.packet && JSON.stringify(r.packet.granted) === '[0,17]',
    `A5 unsuback ${JSON.stringify(r.packet && r.packet.granted)}`);
  await until(() => recvCount(A, 'pingresp') >= 2, 'A5 pings', 6000);
  check(got(A, 'v5/chat/room1').length === 0, 'A5 got its own no-local message');
  await end(A, { reasonCode: 0, properties: { reasonString: 'back soon' } });
  await A.wsClosed;

  // while A is away: QoS 1 and 2 are queued in its session, QoS 0 is not
  r = await pub(B, 'v5/sensors/garage/temp', Buffer.from('12.0'), { qos: 1 });
  r = await pub(B, 'v5/sensors/garage/temp', Buffer.from('12.1'), { qos: 2 });
  r = await pub(B, 'v5/sensors/garage/temp', Buffer.from('12.2'), { qos: 0 });

  // conn 6: A comes back
  const A2 = connectClient('A5b', { protocolVersion: 5, clientId: 'sub-v5', keepalive: 30, clean: false,
    properties: { sessionExpiryInterval: 300 } });
  respond(A2);
  const connackA2 = await A2.connack;
  check(connackA2.sessionPresent === true, 'A5b sessionPresent');
  await until(() => got(A2, 'v5/sensors/garage/temp').length === 2, 'A5b queued');
  await sleep(100);
  check(got(A2, 'v5/sensors/garage/temp', '12.2').length === 0, 'A5b got QoS 0 sent while offline');
  await end(B, { reasonCode: 4, properties: { reasonString: 'leaving, send my will' } });
  await B.wsClosed;
  await until(() => got(A2, 'will/v5').length === 1, 'A5b will');

  // conn 7 and 8: session takeover.  mosquitto 2.0.11 closes the old
  // WebSocket connection without a DISCONNECT (0x8E would be MQTT 5's
  // "Session taken over") and without a WebSocket close frame.
  const D = connectClient('D5', { protocolVersion: 5, clientId: 'dup-v5', keepalive: 30, clean: true });
  await D.connack;
  const D2 = connectClient('D5b', { protocolVersion: 5, clientId: 'dup-v5', keepalive: 30, clean: true });
  await D2.connack;
  const dCode = await D.wsClosed;
  const dDisc = D.app.received.filter((x) => x.packet.cmd === 'disconnect');
  check(dDisc.every((x) => x.packet.reasonCode === 0x8e), 'D5 DISCONNECT reason code');
  console.error(`takeover: old connection got ${dDisc.length} DISCONNECT, WebSocket close code ${dCode}`);
  await end(D2);
  await D2.wsClosed;

  await end(A2, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
  await A2.wsClosed;

  // what A (conn 4) must have received
  const wantA = [['v5/retained/cfg', '{"mode":"eco"}', 1, true]];
  plan.forEach(([t, p, o], i) => {
    if (i >= 3 && i <= 5) t = 'v5/sensors/alias/temp';
    wantA.push([t, Buffer.from(p), Math.min(o.qos, t.startsWith('v5/sensors/') ? 2 : (t.startsWith('v5/utf8') ? 2 : 1)), false]);
  });
  wantA.push(['v5/req', '{"room":"kitchen"}', 1, false]);
  for (let i = 0; i < 20; i++) wantA.push(['v5/sensors/loop/temp', `t=${i}`, 0, false]);
  const key = (x) => `${x[0]}|${Buffer.from(x[1]).toString('base64')}|${x[2]}|${x[3]}`;
  const haveA = delivered(A);
  check(haveA.map(key).join('\n') === wantA.map(key).join('\n'),
    `A5 messages differ:\n${haveA.map(key).join('\n')}\n--- want\n${wantA.map(key).join('\n')}`);
  // subscription identifiers on the deliveries
  for (const m of A.messages) {
    const sid = m.packet.properties && m.packet.properties.subscriptionIdentifier;
    const exp = m.topic.startsWith('v5/sensors/') ? 7 : (m.topic.startsWith('v5/retained') ? undefined : 42);
    check(sid === exp, `A5 ${m.topic}: subscriptionIdentifier ${sid}, expected ${exp}`);
  }
  const haveA2 = delivered(A2).map((m) => `${m[0]}|${m[1]}|${m[2]}`);
  check(haveA2.join() === 'v5/sensors/garage/temp|12.0|1,v5/sensors/garage/temp|12.1|2,will/v5|pub-v5 left with reason 0x04|1',
    `A5b messages ${haveA2.join()}`);
  return [A, B, A2, D, D2];
}

// ------------------------------------------------------------ analysis
// Split a byte stream into MQTT control packets (fixed header + remaining
// length); returns [{start, end, type}].
function packetBounds(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const type = buf[i] >> 4;
    let mul = 1; let len = 0; let j = i + 1; let b;
    do {
      if (j >= buf.length) throw new Error('truncated remaining length');
      b = buf[j++]; len += (b & 0x7f) * mul; mul *= 128;
    } while (b & 0x80);
    out.push({ start: i, end: j + len, type });
    i = j + len;
  }
  if (i !== buf.length) throw new Error('trailing bytes');
  return out;
}

// Parse the concatenated WebSocket payloads of one direction with
// mqtt-packet's parser (the one mqtt.js uses).
function parseStream(buf, version) {
  const p = mqttPacket.parser({ protocolVersion: version });
  const pk = [];
  p.on('packet', (x) => pk.push(x));
  p.on('error', (e) => { throw e; });
  p.parse(buf);
  return pk;
}
// mqtt.js gives QoS 0 PUBLISH objects it sends "messageId": 0 (no packet
// identifier is on the wire)
const mid = (p) => (p.messageId === undefined || (p.cmd === 'publish' && !p.qos) ? '' : p.messageId);
const sig = (p) => [p.cmd, mid(p),
  p.cmd === 'publish' ? `${p.topic}|${Buffer.from(p.payload).toString('base64')}` : ''].join(':');
const sigLogged = (p) => [p.cmd, mid(p),
  p.cmd === 'publish' ? `${p.topic}|${p.payload.b64 !== undefined ? p.payload.b64
    : Buffer.from(p.payload).toString('base64')}` : ''].join(':');

function sha256(b) { return crypto.createHash('sha256').update(b).digest('hex'); }

async function main() {
  const all = [...await v311(), ...await v5()];
  await sleep(200);
  for (const c of all) {
    if (c.mqttErrors.length) errors.push(`${c.name}: mqtt.js errors ${c.mqttErrors.join('; ')}`);
  }

  const lines = [];
  const w = (o) => lines.push(JSON.stringify(o));
  for (const c of conns) w({ kind: 'conn', conn: c.k, client: c.sock.local, server: c.sock.remote });
  if (args.streams) fs.mkdirSync(args.streams, { recursive: true });
  const layout = {};
  for (const c of conns) {
    const raw = { sent: Buffer.concat(c.sock.sent), received: Buffer.concat(c.sock.received) };
    for (const role of ['sent', 'received']) {
      w({ kind: 'tcp', conn: c.k, side: 'client', role, dir: dirOf(role), len: raw[role].length,
        sha256: sha256(raw[role]) });
      if (args.streams) fs.writeFileSync(path.join(args.streams, `${c.k}.${dirOf(role)}`), raw[role]);
    }
    for (const o of events) if (o.conn === c.k) w(o);

    check(c.subprotocol === 'mqtt', `conn ${c.k}: subprotocol ${c.subprotocol}`);
    // WebSocket payloads -> MQTT packets, compared with mqtt.js's own events
    layout[c.k] = {};
    for (const role of ['sent', 'received']) {
      const data = c.msgs[role].filter((m) => m.opcode === 'binary' || m.opcode === 'text');
      check(data.every((m) => m.opcode === 'binary'), `conn ${c.k} ${role}: non-binary data message`);
      const bufs = data.map((m) => Buffer.from(m.b64, 'base64'));
      const all_ = Buffer.concat(bufs);
      const parsed = parseStream(all_, c.version);
      const a = parsed.map(sig).join('\n');
      const b = c.app[role].map((x) => sigLogged(x.packet)).join('\n');
      check(a === b, `conn ${c.k} ${role}: WebSocket payloads parse to\n${a}\nbut mqtt.js reported\n${b}`);
      // how packets map onto WebSocket messages
      const bounds = packetBounds(all_);
      const msgStart = []; let off = 0;
      for (const x of bufs) { msgStart.push(off); off += x.length; }
      const msgOf = (pos) => { let lo = 0; let hi = msgStart.length - 1; while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (msgStart[mid] <= pos) lo = mid; else hi = mid - 1; } return lo; };
      let spanning = 0; let maxSpan = 0;
      const perMsg = new Array(bufs.length).fill(0);
      for (const pb of bounds) {
        const m0 = msgOf(pb.start); const m1 = msgOf(pb.end - 1);
        perMsg[m0] += 1;
        if (m1 > m0) { spanning += 1; maxSpan = Math.max(maxSpan, m1 - m0 + 1); }
      }
      // a message holding more than one packet start, or a packet start that is not at a message start
      const multi = perMsg.filter((n) => n > 1).length;
      const emptyMsgs = bufs.filter((x) => x.length === 0).length;
      layout[c.k][role] = { ws_messages: bufs.length, mqtt_packets: bounds.length, packets_spanning_messages: spanning,
        max_messages_per_packet: maxSpan, messages_with_several_packets: multi, empty_messages: emptyMsgs };
    }
    const counts = {};
    for (const role of ['sent', 'received']) {
      for (const x of c.app[role]) {
        const t = `${role === 'sent' ? '>' : '<'}${x.packet.cmd}`;
        counts[t] = (counts[t] || 0) + 1;
      }
    }
    const wsCounts = {};
    for (const role of ['sent', 'received']) for (const m of c.msgs[role]) {
      const t = `${role === 'sent' ? '>' : '<'}${m.opcode}`;
      wsCounts[t] = (wsCounts[t] || 0) + 1;
    }
    console.error(`conn ${c.k} ${c.name} (${c.clientId}, MQTT ${c.version === 5 ? '5.0' : '3.1.1'}) `
      + `${c.sock.local.ip}:${c.sock.local.port}: tcp c2s ${c.sock.sent.reduce((n, b) => n + b.length, 0)} B, `
      + `s2c ${c.sock.received.reduce((n, b) => n + b.length, 0)} B`);
    console.error(`  ws: ${JSON.stringify(wsCounts)}`);
    console.error(`  mqtt: ${JSON.stringify(counts)}`);
    console.error(`  layout c2s: ${JSON.stringify(layout[c.k].sent)}`);
    console.error(`  layout s2c: ${JSON.stringify(layout[c.k].received)}`);
  }

  // cross-check with the broker's own log ("Received X from id" / "Sending X to id")
  if (args['broker-log']) {
    const txt = fs.readFileSync(args['broker-log'], 'utf8');
    const broker = {};
    for (const m of txt.matchAll(/: (Received|Denied|Sending) ([A-Z]+) (?:from|to) (\S+)/g)) {
      const k = `${m[3]}|${m[1] === 'Sending' ? 's2c' : 'c2s'}|${m[2].toLowerCase()}`;
      broker[k] = (broker[k] || 0) + 1;
    }
    const ours = {};
    for (const c of conns) {
      for (const role of ['sent', 'received']) {
        for (const x of c.app[role]) {
          if (x.packet.cmd === 'connect') continue; // the broker logs "New client connected" instead
          const k = `${c.clientId}|${dirOf(role)}|${x.packet.cmd}`;
          ours[k] = (ours[k] || 0) + 1;
        }
      }
    }
    const keys = [...new Set([...Object.keys(broker), ...Object.keys(ours)])].sort();
    for (const k of keys) {
      if ((broker[k] || 0) !== (ours[k] || 0)) {
        errors.push(`broker log: ${k}: broker ${broker[k] || 0}, client ${ours[k] || 0}`);
      }
    }
    console.error(`broker log cross-check: ${keys.length} (client id, direction, packet type) counts compared`);
  }

  fs.writeFileSync(args.log, lines.join('\n') + '\n');
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exitCode = errors.length ? 1 : 0;
}

main().catch((e) => { console.error(e); for (const x of errors) console.error(`ERROR: ${x}`); process.exit(1); });
