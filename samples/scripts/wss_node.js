#!/usr/bin/env node
// WebSocket over TLS (wss://) with Node `ws` on both ends (ws pinned in
// package.json / package-lock.json) and Node's own TLS (OpenSSL 3.0 in Node
// 20).  One scenario per run:
//
//   --scenario tls12         TLS 1.2, one connection per cipher suite (port P)
//   --scenario tls12-resume  TLS 1.2 full handshake + session-ticket
//                            resumption (port P), full handshake +
//                            session-ID resumption (port P+1)
//   --scenario tls13         TLS 1.3, one connection per cipher suite plus a
//                            PSK (ticket) resumption, SNI and ALPN http/1.1
//   --scenario alpn-h2       TLS 1.3 with the ECDSA certificate; client and
//                            server offer h2,http/1.1 and the server selects
//                            "h2"; the client sends the HTTP/2 connection
//                            preface + SETTINGS (+ SETTINGS ACK), the server
//                            SETTINGS, SETTINGS ACK and GOAWAY, and both
//                            close (no WebSocket)
//
// Connections are made one after the other; each runs a small scripted
// WebSocket exchange (see makeExchange in wss_common.js).  Every endpoint logs
// the ciphertext TCP bytes ("tcp"), its own view of the TLS session ("tls"),
// the decrypted application bytes ("plain") and every WebSocket message
// ("msg"); the NSS key log lines that Node's 'keylog' events give are written
// to the --keys file.  See samples/README.md.
//
// Usage: node wss_node.js --scenario S --port P --log F.jsonl --keys F.keys
//        [--streams DIR]
'use strict';

const crypto = require('crypto');
const http = require('http');
const net = require('net');
const tls = require('tls');
const WebSocket = require('ws');
const C = require('./wss_common');

const USAGE = 'usage: node wss_node.js --scenario tls12|tls12-resume|tls13|alpn-h2 --port P --log F.jsonl --keys F.keys [--streams DIR]';
const args = C.parseArgs({ scenario: undefined, port: 0, log: undefined, keys: undefined, streams: null }, USAGE);
const NO_ETM = crypto.constants.SSL_OP_NO_ENCRYPT_THEN_MAC;
const NO_TICKET = crypto.constants.SSL_OP_NO_TICKET;
if (NO_ETM === undefined || NO_TICKET === undefined) throw new Error('crypto.constants lacks SSL_OP_NO_ENCRYPT_THEN_MAC / SSL_OP_NO_TICKET');

// ------------------------------------------------------------- scenarios
// Each connection: { server: name of the server config, port offset,
// client TLS options, closer, session: index of the connection whose
// session the client resumes }.
const TLS12 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
const TLS13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
function scenario(name) {
  if (name === 'tls12') {
    const suites = [
      ['ECDHE-RSA-AES128-GCM-SHA256', 0],
      ['ECDHE-RSA-AES256-GCM-SHA384', 0],
      ['ECDHE-RSA-CHACHA20-POLY1305', 0],
      ['ECDHE-RSA-AES128-SHA', 0],
      ['ECDHE-RSA-AES128-SHA256', 0],
      ['ECDHE-RSA-AES256-SHA384', 0],
      ['ECDHE-RSA-AES128-SHA', NO_ETM],
      ['ECDHE-RSA-AES256-SHA384', NO_ETM],
    ];
    return {
      servers: Object.fromEntries(suites.map(([c, o], i) => [`s${i + 1}`,
        Object.assign({ ciphers: c, secureOptions: o }, TLS12)])),
      conns: suites.map((s, i) => ({ server: `s${i + 1}`, offset: 0,
        client: Object.assign({}, TLS12) })),
    };
  }
  if (name === 'tls12-resume') {
    const tick = { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' };
    const sid = { ciphers: 'ECDHE-RSA-AES128-SHA256', secureOptions: NO_TICKET };
    return {
      servers: { tickets: Object.assign(tick, TLS12), ids: Object.assign(sid, TLS12) },
      conns: [
        { server: 'tickets', offset: 0, client: Object.assign({}, TLS12) },
        { server: 'tickets', offset: 0, client: Object.assign({}, TLS12), session: 1 },
        { server: 'ids', offset: 1, client: Object.assign({}, TLS12) },
        { server: 'ids', offset: 1, client: Object.assign({}, TLS12), session: 3 },
      ],
    };
  }
  if (name === 'tls13') {
    const suites = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
    const alpn = { ALPNProtocols: ['http/1.1'] };
    const servers = Object.fromEntries(suites.map((c, i) => [`s${i + 1}`,
      Object.assign({ ciphers: c }, TLS13, alpn)]));
    const conns = suites.map((c, i) => ({ server: `s${i + 1}`, offset: 0,
      client: Object.assign({}, TLS13, alpn) }));
    conns.push({ server: 's1', offset: 0, client: Object.assign({}, TLS13, alpn), session: 1 });
    return { servers, conns };
  }
  if (name === 'alpn-h2') {
    return {
      // (the only server with the ECDSA P-256 certificate)
      servers: { h2: Object.assign({ ALPNProtocols: ['h2', 'http/1.1'], cert: 'ecdsa' }, TLS13) },
      conns: [{ server: 'h2', offset: 0, client: Object.assign({ ALPNProtocols: ['h2', 'http/1.1'] }, TLS13),
        h2: true }],
    };
  }
  throw new Error(`unknown scenario ${name}\n${USAGE}`);
}

const SC = scenario(args.scenario);
const rec = new C.Recorder();
const certs = C.makeCerts();

// ----------------------------------------------------------------- server
const serverDone = [];
const wss = new WebSocket.Server({ noServer: true, perMessageDeflate: false, maxPayload: 1 << 21 });
const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const exchanges = new Map(); // path -> exchange
httpServer.on('upgrade', (req, socket, head) => {
  const sc = exchanges.get(req.url);
  if (!sc) { rec.errors.push(`unexpected upgrade ${req.url}`); socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    serverDone.push(C.runEndpoint(rec, ws, 'server', sc, () => socket.key));
  });
});

const tlsServers = {};
for (const [name, o] of Object.entries(SC.servers)) {
  const kc = certs[o.cert || 'rsa'];
  tlsServers[name] = C.makeTlsServer(rec, Object.assign({}, o, { key: kc.key, cert: kc.cert }));
}

let accepted = 0;
function onAccept(raw) {
  const idx = accepted++;
  const conn = SC.conns[idx];
  if (!conn) { rec.errors.push('unexpected connection'); raw.destroy(); return; }
  C.serverTls(rec, raw, tlsServers[conn.server], `wss/${args.scenario}/server/${idx + 1}`, (plain) => {
    if (conn.h2) serverDone.push(h2Server(plain));
    else httpServer.emit('connection', plain);
  });
}
const ports = [...new Set(SC.conns.map((c) => c.offset))].map((o) => args.port + o);
const listeners = ports.map((port) => new Promise((resolve, reject) => {
  const l = net.createServer({ allowHalfOpen: true }, onAccept);
  l.once('error', reject);
  l.listen(port, '127.0.0.1', () => resolve(l));
}));

// ------------------------------------------------------ ALPN h2 (no ws)
// HTTP/2 frames (RFC 9113) written by hand: enough to show the connection
// really speaks h2 after ALPN, not a full HTTP/2 implementation.
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
function h2Frame(type, flags, stream, payload) {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3); b[3] = type; b[4] = flags; b.writeUInt32BE(stream, 5);
  payload.copy(b, 9);
  return b;
}
const H2_SETTINGS = (pairs) => {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => { p.writeUInt16BE(id, 6 * i); p.writeUInt32BE(v, 6 * i + 2); });
  return h2Frame(4, 0, 0, p);
};
const H2_SETTINGS_ACK = h2Frame(4, 1, 0, Buffer.alloc(0));
const H2_GOAWAY = (() => { const p = Buffer.alloc(8); return h2Frame(7, 0, 0, p); })(); // last id 0, NO_ERROR
function readAll(sock) {
  return new Promise((resolve) => {
    const parts = [];
    sock.on('data', (d) => parts.push(d));
    sock.on('end', () => resolve(Buffer.concat(parts)));
  });
}
async function h2Server(plain) {
  const got = readAll(plain);
  // server connection preface: SETTINGS (ENABLE_CONNECT_PROTOCOL=1, RFC 8441)
  plain.write(H2_SETTINGS([[0x8, 1], [0x3, 100]]));
  await C.sleep(50);
  plain.write(H2_SETTINGS_ACK);
  plain.end(H2_GOAWAY);
  const data = await got;
  if (!data.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) rec.errors.push('h2: no client preface');
}
async function h2Client(plain) {
  const got = readAll(plain);
  plain.write(Buffer.concat([H2_PREFACE, H2_SETTINGS([[0x2, 0], [0x4, 65535]])]));
  await C.sleep(50);
  plain.write(H2_SETTINGS_ACK);
  const data = await got;
  plain.end();
  await plain.closedP;
  if (data.length < 9 || data[3] !== 4) rec.errors.push('h2: server did not answer with SETTINGS');
}

// ----------------------------------------------------------------- client
const sessions = {}; // conn index -> last session the client got
async function runClient(k, conn) {
  const port = args.port + conn.offset;
  const raw = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise((resolve, reject) => { raw.once('connect', resolve); raw.once('error', reject); });
  raw.setNoDelay(true);
  const key = C.rawKey(raw, 'client');
  const cipher = new C.LoggedSocket(rec, raw, { side: 'client', layer: 'tcp',
    splitter: C.makeSplitter(`wss/${args.scenario}/client/${k}`) });
  const opts = Object.assign({ socket: cipher, servername: C.SERVER_NAME,
    ca: [certs.rsa.cert, certs.ecdsa.cert] }, conn.client);
  if (conn.session) {
    opts.session = sessions[conn.session];
    if (!opts.session) throw new Error(`conn ${k}: no session from conn ${conn.session}`);
  }
  const t = tls.connect(opts);
  t.on('keylog', (line) => rec.keylogLine('client', key, line));
  t.on('session', (s) => { sessions[k] = s; });
  t.on('error', (e) => rec.errors.push(`client tls conn ${k}: ${e.message}`));
  const secure = new Promise((resolve) => t.once('secureConnect', () => {
    rec.tlsInfo.push([key, C.tlsLine(t, 'client', C.SERVER_NAME,
      C.parseServerHello(Buffer.concat(cipher.received)))]);
    resolve();
  }));
  const plain = new C.LoggedSocket(rec, t, { side: 'client', layer: 'plain', raw });
  const entry = { key, client: { ip: raw.localAddress, port: raw.localPort },
    server: { ip: raw.remoteAddress, port: raw.remotePort } };
  if (conn.h2) {
    await secure;
    await h2Client(plain);
  } else {
    const route = `/${args.scenario}/${k}`;
    const sc = C.makeExchange(`wss/${args.scenario}/${k}`, k, k % 2 ? 'client' : 'server');
    exchanges.set(route, sc);
    const ws = new WebSocket(`wss://${C.SERVER_NAME}:${port}${route}`, {
      perMessageDeflate: false, maxPayload: 1 << 21, createConnection: () => plain });
    const c = await C.runEndpoint(rec, ws, 'client', sc, () => key);
    await Promise.all([cipher.closedP, plain.closedP]);
    console.error(`conn ${k} ${route}: close ${c.code} "${c.reason}"`);
  }
  // the client's session ticket(s) for TLS 1.3 arrive after the handshake;
  // wait for the server side to finish as well
  await Promise.all(serverDone);
  return entry;
}

async function main() {
  const ls = await Promise.all(listeners);
  const conns = [];
  try {
    for (let i = 0; i < SC.conns.length; i++) conns.push(await runClient(i + 1, SC.conns[i]));
    await C.sleep(200);
  } finally {
    for (const l of ls) l.close();
    certs.cleanup();
  }
  for (const [key, o] of rec.tlsInfo) {
    const k = conns.findIndex((c) => c.key === key) + 1;
    console.error(`conn ${k} ${o.side}: ${o.version} ${o.cipher} (${o.cipher_suite}) sni=${o.sni} alpn=${o.alpn} resumed=${o.resumed}` +
      (o.version === 'TLSv1.2' ? ` etm=${o.encrypt_then_mac} ems=${o.extended_master_secret}` : ''));
  }
  // consistency of the TLS views: both ends agree; each connection got what
  // the scenario asked for
  conns.forEach((c, i) => {
    const k = i + 1; const want = SC.conns[i];
    const v = rec.tlsInfo.filter(([key]) => key === c.key).map(([, o]) => o);
    if (v.length !== 2) { rec.errors.push(`conn ${k}: ${v.length} tls lines`); return; }
    // (OpenSSL reports no SNI on the server side of a resumed TLS 1.2
    // connection, though the client sent one: the lines keep each view)
    const strip = (o) => JSON.stringify(Object.assign({}, o, { side: null },
      o.resumed && o.version === 'TLSv1.2' ? { sni: null } : {}));
    if (strip(v[0]) !== strip(v[1])) rec.errors.push(`conn ${k}: client and server TLS views differ`);
    const srvOpts = SC.servers[want.server];
    if (srvOpts.ciphers && v[0].cipher !== srvOpts.ciphers) rec.errors.push(`conn ${k}: cipher ${v[0].cipher}, wanted ${srvOpts.ciphers}`);
    if (v[0].version !== srvOpts.maxVersion) rec.errors.push(`conn ${k}: version ${v[0].version}`);
    if (v[0].resumed !== Boolean(want.session)) rec.errors.push(`conn ${k}: resumed=${v[0].resumed}`);
    if (v[0].version === 'TLSv1.2' && v[0].encrypt_then_mac !== (!/GCM|CHACHA/.test(v[0].cipher) && !(srvOpts.secureOptions & NO_ETM))) {
      rec.errors.push(`conn ${k}: encrypt_then_mac=${v[0].encrypt_then_mac}`);
    }
    const wantAlpn = srvOpts.ALPNProtocols ? srvOpts.ALPNProtocols[0] : null;
    if (v[0].alpn !== wantAlpn) rec.errors.push(`conn ${k}: alpn ${v[0].alpn}, wanted ${wantAlpn}`);
  });
  C.writeLog(rec, conns, args.log, args.streams, { noWs: args.scenario === 'alpn-h2' });
  C.writeKeys(rec, args.keys, 'client');
  for (const e of rec.errors) console.error(`ERROR: ${e}`);
  process.exitCode = rec.errors.length ? 1 : 0;
}

main().catch((e) => { console.error(e); process.exit(1); });
