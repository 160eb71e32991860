// Shared endpoint logging for the gqlrpc scenarios (graphql_ws.js,
// jsonrpc.js).  The logging layers are the same as in ../ws_node.js:
//
// * raw TCP bytes: every TCP socket (accepted by net.createServer, or created
//   through the `createConnection` option of the client's `ws` WebSocket) is
//   wrapped in a stream.Duplex that records every chunk read from and written
//   to the real socket.  The server side injects the wrapper into a Node
//   http.Server with httpServer.emit('connection', duplex) and upgrades it
//   with `ws`'s WebSocketServer.handleUpgrade().
// * WebSocket messages: the Sender of every `ws` WebSocket (both ends are
//   Node `ws` 8.18.3 objects, whichever library drives them) is wrapped, so
//   every frame the library writes is logged (send / ping / pong / close,
//   including automatic pong replies and close echoes).  Received frames come
//   from the 'message', 'ping', 'pong' and 'close' events, with listeners
//   prepended so they run before the library's own listeners.
// * application units (kind "app"): one per text message, JSON.parse()d
//   ("msg"), logged at the same moment as the message, with `t` taken from
//   performance.timeOrigin + performance.now().  Scenario code can add fields
//   to an app record afterwards (graphql: "operation").
//
// The log is written at the end, connection by connection: the conn lines,
// then per connection its 4 tcp lines, its msg lines and its app lines (each
// in observation order).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { Duplex } = require('stream');
const WebSocket = require('ws');

const nowSec = () => (performance.timeOrigin + performance.now()) / 1000;
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
function dirOf(side, role) {
  if (role === 'sent') return side === 'client' ? 'c2s' : 's2c';
  return side === 'client' ? 's2c' : 'c2s';
}
function closePayload(code, reason) {
  if (code === undefined || code === 1005) return Buffer.alloc(0);
  const r = reason === undefined ? Buffer.alloc(0) : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

function parseArgs(defaults) {
  const args = Object.assign({ log: null, streams: null }, defaults);
  for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, '');
    args[k] = process.argv[i + 1];
  }
  return args;
}

class Recorder {
  constructor() {
    this.sockets = []; // every LoggedSocket
    this.clients = []; // client LoggedSockets in connect order (= conn number)
    this.events = []; // [key, record] in observation order (msg and app)
    this.seqs = new Map();
    this.errors = [];
    this.closed = []; // promises, one per instrumented WebSocket
    this.servers = [];
    const rec = this;

    this.LoggedSocket = class LoggedSocket extends Duplex {
      constructor(sock, side) {
        super({ allowHalfOpen: true });
        this._sock = sock;
        this.side = side;
        this.sent = [];
        this.received = [];
        this.key = null;
        rec.sockets.push(this);
        if (side === 'client') rec.clients.push(this);
        const setKey = () => {
          this.key = side === 'client'
            ? `${sock.localAddress}|${sock.localPort}` : `${sock.remoteAddress}|${sock.remotePort}`;
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
    };
  }

  // `createConnection` option for a `ws` client WebSocket.
  createConnection() {
    return (opts) => {
      const sock = net.connect({ host: opts.host, port: opts.port, allowHalfOpen: true });
      return new this.LoggedSocket(sock, 'client');
    };
  }

  // A `ws` WebSocket subclass whose connections are logged and whose frames
  // are instrumented from the start (for libraries that take a WebSocket
  // implementation: graphql-ws createClient's webSocketImpl,
  // subscriptions-transport-ws' SubscriptionClient).
  clientWebSocketClass(proto) {
    const rec = this;
    return class LoggedClientWebSocket extends WebSocket {
      constructor(address, protocols, options) {
        if (protocols && typeof protocols === 'object' && !Array.isArray(protocols)) {
          options = protocols; protocols = undefined;
        }
        super(address, protocols,
          Object.assign({}, options, { createConnection: rec.createConnection() }));
        rec.instrument(this, 'client', proto);
      }
    };
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

  logApp(key, side, role, proto, buf) {
    let msg;
    try {
      msg = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      this.errors.push(`${key} ${side} ${role}: message is not JSON: ${e.message}`);
      return null;
    }
    const o = { kind: 'app', side, role, dir: dirOf(side, role), t: nowSec(),
      proto, msg };
    this.events.push([key, o]);
    if (this.onApp) this.onApp(key, o);
    return o;
  }

  // Log every frame of `ws` (a `ws` 8 WebSocket) as `side`; `proto` is the
  // app-level protocol name (string, or function of ws evaluated when logging).
  instrument(ws, side, proto) {
    const key = () => ws._socket.key;
    const pname = () => (typeof proto === 'function' ? proto(ws) : proto);
    const hookSender = () => {
      const sender = ws._sender;
      let cur = null; // fragmented message being sent
      const origSend = sender.send.bind(sender);
      sender.send = (data, options, cb) => {
        const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
        if (cur === null) cur = { opcode: options.binary ? 'binary' : 'text', parts: [] };
        cur.parts.push(buf);
        if (options.fin) {
          const whole = Buffer.concat(cur.parts);
          this.logMsg(key(), side, 'sent', cur.opcode, whole);
          if (cur.opcode === 'text') this.logApp(key(), side, 'sent', pname(), whole);
          else this.errors.push(`${key()} ${side}: binary message sent`);
          cur = null;
        }
        return origSend(data, options, cb);
      };
      for (const op of ['ping', 'pong']) {
        const orig = sender[op].bind(sender);
        sender[op] = (data, mask, cb) => {
          const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
          this.logMsg(key(), side, 'sent', op, buf);
          return orig(data, mask, cb);
        };
      }
      const origClose = sender.close.bind(sender);
      sender.close = (code, data, mask, cb) => {
        const p = closePayload(code, data);
        this.logMsg(key(), side, 'sent', 'close', p,
          code === undefined ? null : { code, reason: p.subarray(2).toString('utf8') });
        return origClose(code, data, mask, cb);
      };
    };
    if (ws.readyState === WebSocket.OPEN) hookSender();
    else ws.prependOnceListener('open', hookSender);
    ws.prependListener('message', (data, isBinary) => {
      const buf = Buffer.from(data);
      this.logMsg(key(), side, 'received', isBinary ? 'binary' : 'text', buf);
      if (!isBinary) this.logApp(key(), side, 'received', pname(), buf);
      else this.errors.push(`${key()} ${side}: binary message received`);
    });
    ws.prependListener('ping', (d) => this.logMsg(key(), side, 'received', 'ping', Buffer.from(d)));
    ws.prependListener('pong', (d) => this.logMsg(key(), side, 'received', 'pong', Buffer.from(d)));
    this.closed.push(new Promise((resolve) => {
      ws.prependListener('close', (code, reason) => {
        if (code !== 1006) {
          const p = closePayload(code, reason);
          this.logMsg(key(), side, 'received', 'close', p,
            code === 1005 ? null : { code, reason: reason.toString('utf8') });
        }
        resolve({ side, code, reason: reason.toString('utf8') });
      });
    }));
  }

  // Listen on host:port with an http.Server that hands every upgrade request
  // (with its logged socket) to onUpgrade(req, socket, head).
  async listen(port, hosts, onUpgrade) {
    const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
    httpServer.on('upgrade', onUpgrade);
    for (const host of hosts) {
      const srv = net.createServer({ allowHalfOpen: true }, (sock) => {
        httpServer.emit('connection', new this.LoggedSocket(sock, 'server'));
      });
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, host, resolve);
      });
      this.servers.push(srv);
    }
    return httpServer;
  }

  // Upgrade with `wss` (a noServer WebSocketServer), instrument the new
  // WebSocket, then emit 'connection' so the library attached to wss runs.
  upgradeWith(wss, proto) {
    return (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.instrument(ws, 'server', proto);
        wss.emit('connection', ws, req);
      });
    };
  }

  // Wait for every WebSocket to close, then check and write the log.
  // Returns the per-connection record lists (for scenario checks).
  async finish(args) {
    await Promise.all(this.closed);
    await new Promise((r) => setTimeout(r, 200));
    for (const s of this.servers) s.close();

    const byKey = new Map();
    for (const s of this.sockets) byKey.set(`${s.key}|${s.side}`, s);
    const lines = [];
    const w = (o) => lines.push(JSON.stringify(o));
    const conns = [];
    this.clients.forEach((c, i) => w({ kind: 'conn', conn: i + 1, client: c.local, server: c.remote }));
    if (args.streams) fs.mkdirSync(args.streams, { recursive: true });
    this.clients.forEach((c, i) => {
      const k = i + 1;
      const srv = byKey.get(`${c.key}|server`);
      if (!srv) { this.errors.push(`conn ${k}: no server socket`); return; }
      const raw = {
        client: { sent: Buffer.concat(c.sent), received: Buffer.concat(c.received) },
        server: { sent: Buffer.concat(srv.sent), received: Buffer.concat(srv.received) },
      };
      for (const side of ['client', 'server']) {
        for (const role of ['sent', 'received']) {
          const b = raw[side][role];
          w({ kind: 'tcp', conn: k, side, role, dir: dirOf(side, role), len: b.length,
            sha256: sha256(b) });
        }
      }
      for (const [d, snd, rcv] of [['c2s', 'client', 'server'], ['s2c', 'server', 'client']]) {
        const a = raw[snd].sent; const b = raw[rcv].received;
        const same = a.equals(b);
        console.error(`conn ${k} ${d}: ${a.length} bytes sent, ${b.length} received: ${same ? 'ok' : 'DIFFERS'}`);
        if (!same) this.errors.push(`conn ${k} ${d}: raw bytes differ`);
        if (args.streams) fs.writeFileSync(path.join(args.streams, `${k}.${d}`), a);
      }
      const mine = this.events.filter(([key]) => key === c.key).map(([, o]) => Object.assign({ conn: k }, o));
      const msgs = mine.filter((o) => o.kind === 'msg');
      const apps = mine.filter((o) => o.kind === 'app');
      for (const o of msgs) w(Object.assign({ kind: 'msg', conn: k }, o));
      for (const o of apps) w(Object.assign({ kind: 'app', conn: k }, o));
      const pick = (list, side, role) => list.filter((o) => o.side === side && o.role === role);
      for (const [snd, rcv] of [['client', 'server'], ['server', 'client']]) {
        const a = pick(msgs, snd, 'sent').map((o) => `${o.opcode}:${o.b64}`).join(',');
        const b = pick(msgs, rcv, 'received').map((o) => `${o.opcode}:${o.b64}`).join(',');
        if (a !== b) this.errors.push(`conn ${k}: ${snd} sent msgs != ${rcv} received msgs`);
        const x = pick(apps, snd, 'sent').map((o) => JSON.stringify([o.proto, o.msg, o.operation])).join('\n');
        const y = pick(apps, rcv, 'received').map((o) => JSON.stringify([o.proto, o.msg, o.operation])).join('\n');
        if (x !== y) this.errors.push(`conn ${k}: ${snd} sent app units != ${rcv} received app units`);
      }
      for (const side of ['client', 'server']) {
        for (const role of ['sent', 'received']) {
          const fl = pick(msgs, side, role).filter((o) => o.opcode === 'text');
          const al = pick(apps, side, role);
          if (fl.length !== al.length) this.errors.push(`conn ${k} ${side} ${role}: ${fl.length} text msgs, ${al.length} app units`);
          fl.forEach((o, j) => {
            if (al[j] && JSON.stringify(JSON.parse(Buffer.from(o.b64, 'base64').toString())) !== JSON.stringify(al[j].msg)) {
              this.errors.push(`conn ${k} ${side} ${role}: app unit ${j + 1} != text message`);
            }
          });
        }
      }
      const counts = {};
      for (const o of msgs) {
        const t = `${o.side[0]}:${o.role}:${o.opcode}`;
        counts[t] = (counts[t] || 0) + 1;
      }
      console.error(`conn ${k}: ${JSON.stringify(counts)}`);
      conns.push({ conn: k, msgs, apps, client: c.local, server: c.remote });
    });
    fs.writeFileSync(args.log, lines.join('\n') + '\n');
    return conns;
  }
}

module.exports = { Recorder, parseArgs, nowSec, WebSocket };
