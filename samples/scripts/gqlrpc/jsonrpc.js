#!/usr/bin/env node
// JSON-RPC over WebSocket scenario (jsonrpc.pcap), all Node, one process.
// Versions pinned in package.json / package-lock.json.
//
//   conn 1  ws://127.0.0.1:9995/     npm rpc-websockets 10.0.1 Server + Client
//           (JSON-RPC 2.0, numeric ids 1..12): positional and named params, a
//           notification, three requests in flight answered out of order
//           (slow method), method not found (-32601), invalid params
//           (-32602), application errors with data (a thrown error object and
//           a thrown Error -> -32000), event subscription (rpc.on / rpc.off)
//           and server->client events, which rpc-websockets sends in its own
//           non-standard form {"notification": NAME, "params": ...};
//           client closes 1000.
//   conn 2  ws://[::1]:9996/rpc      npm json-rpc-2.0 1.8.1 JSONRPCServerAndClient
//           on both ends over `ws` (the glue is ours: JSON.stringify to
//           ws.send, ws 'message' to JSON.parse to receiveAndSend).  String ids
//           "c-1".. from the client, numeric ids from the server: batches
//           (requests + a notification + errors -> batch response; a batch
//           with one request and one notification, which json-rpc-2.0
//           answers with a single object, not an array; a batch of only
//           notifications -> no response), requests in flight answered out of
//           order, an application error with data, server->client
//           notifications and a server->client request; client closes 1000.
//   conn 3  ws://127.0.0.1:9996/v1   JSON-RPC 1.0 (no "jsonrpc" member,
//           "params" always an array, responses with both "result" and
//           "error", notifications with "id": null), HAND-ROLLED on both ends
//           over plain `ws`, because no maintained JSON-RPC 1.0 library
//           exists: requests answered out of order, a notification, an error,
//           a server->client notification and a server->client request;
//           client closes 1000.
//
// Logging: see common.js.  App records: proto "jsonrpc", msg = the parsed
// JSON message (an object, or an array for a batch).
//
// Usage: node jsonrpc.js --log F.jsonl [--streams DIR]
'use strict';

const { Server: RpcServer, Client: RpcClient } = require('rpc-websockets');
const {
  JSONRPCServer, JSONRPCClient, JSONRPCServerAndClient, JSONRPCErrorException,
  createJSONRPCRequest, createJSONRPCNotification,
} = require('json-rpc-2.0');
const { Recorder, parseArgs, WebSocket } = require('./common');

const args = parseArgs({ port: 9995, port2: 9996 });
if (!args.log) {
  console.error('usage: node jsonrpc.js --log F.jsonl [--streams DIR]');
  process.exit(2);
}
const PORT = Number(args.port);
const PORT2 = Number(args.port2);
const rec = new Recorder();
const errors = rec.errors;
const expect = (cond, what) => { if (!cond) errors.push(`expectation failed: ${what}`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PROTO = 'jsonrpc';

// ---------------------------------------------------------------- servers
async function startServers() {
  // rpc-websockets
  const rs = new RpcServer({ noServer: true });
  rs.register('sum', (params) => {
    if (!Array.isArray(params) || params.some((x) => typeof x !== 'number')) {
      throw { code: -32602, message: 'Invalid params', data: 'sum expects an array of numbers' };
    }
    return params.reduce((a, b) => a + b, 0);
  });
  rs.register('greet', ({ name, lang }) => (lang === 'ko' ? `안녕하세요, ${name}!` : `Hello, ${name}!`));
  rs.register('slow', async ({ ms, tag }) => { await sleep(ms); return { tag, slept: ms }; });
  rs.register('divide', ([a, b]) => {
    if (b === 0) throw { code: -32010, message: 'Division by zero', data: { dividend: a, divisor: b } };
    return a / b;
  });
  rs.register('fail', () => { throw new Error('something went wrong'); });
  rs.register('log', () => true);
  rs.event('tick');
  rs.event('status');
  rs.register('startTicks', ({ count }) => {
    (async () => {
      for (let i = 1; i <= count; i++) {
        await sleep(30);
        rs.emit('tick', { n: i, of: count });
      }
      rs.emit('status', 'idle', count);
    })();
    return 'started';
  });
  await rec.listen(PORT, ['127.0.0.1'], rec.upgradeWith(rs.wss, PROTO));

  // port 9996: /rpc json-rpc-2.0, /v1 hand-rolled JSON-RPC 1.0
  const wss2 = new WebSocket.Server({ noServer: true });
  wss2.on('connection', (ws) => {
    let n = 0;
    const sac = new JSONRPCServerAndClient(
      new JSONRPCServer({ errorListener: () => {} }),
      new JSONRPCClient((payload) => new Promise((resolve, reject) => {
        ws.send(JSON.stringify(payload), (e) => (e ? reject(e) : resolve()));
      }), () => ++n),
      { errorListener: (m, p) => errors.push(`json-rpc-2.0 server: ${m} ${JSON.stringify(p)}`) },
    );
    sac.addMethod('echo', (params) => ({ echo: params.text, length: [...params.text].length }));
    sac.addMethod('sum', (params) => {
      const xs = Array.isArray(params) ? params : [params.a, params.b];
      if (xs.some((x) => typeof x !== 'number')) {
        throw new JSONRPCErrorException('Invalid params', -32602, { expected: 'numbers', got: params });
      }
      return xs.reduce((a, b) => a + b, 0);
    });
    sac.addMethod('slow', async ({ ms }) => { await sleep(ms); return { slept: ms }; });
    sac.addMethod('log', () => null);
    sac.addMethod('withdraw', ({ amount }) => {
      throw new JSONRPCErrorException('Insufficient funds', 4001, { balance: 10, requested: amount });
    });
    sac.addMethod('startPush', ({ count }) => {
      (async () => {
        await sleep(20);
        for (let i = 1; i <= count; i++) sac.notify('news', { seq: i, headline: `headline ${i} ✓` });
        const r = await sac.request('confirm', { question: 'still there?' });
        sac.notify('news', { seq: count + 1, headline: `confirmed: ${r.confirmed}` });
      })().catch((e) => errors.push(`startPush: ${e.message}`));
      return 'ok';
    });
    ws.on('message', (data) => {
      sac.receiveAndSend(JSON.parse(data.toString()))
        .catch((e) => errors.push(`json-rpc-2.0 server receiveAndSend: ${e.message}`));
    });
    ws.on('close', () => sac.rejectAllPendingRequests('connection closed'));
  });

  const wss1 = new WebSocket.Server({ noServer: true });
  wss1.on('connection', (ws) => {
    // JSON-RPC 1.0 peer (hand-rolled)
    const send = (o) => ws.send(JSON.stringify(o));
    const methods = {
      echo: ([s]) => s,
      sum: (xs) => xs.reduce((a, b) => a + b, 0),
      slow: async ([ms]) => { await sleep(ms); return `slept ${ms} ms`; },
      log: () => null,
      callMeBack: () => {
        setTimeout(() => {
          send({ method: 'announce', params: ['server says hello', 1], id: null });
          send({ method: 'ping', params: [], id: 's1' });
        }, 20);
        return true;
      },
    };
    ws.on('message', async (data) => {
      const m = JSON.parse(data.toString());
      if (!('method' in m)) return; // a response to our request: nothing to do
      const f = methods[m.method];
      let result = null; let error = null;
      if (!f) error = { code: -32601, message: `Method not found: ${m.method}` };
      else {
        try { result = await f(m.params); } catch (e) { error = { code: -32000, message: e.message }; }
      }
      if (m.id !== null && m.id !== undefined) send({ result, error, id: m.id });
    });
  });

  await rec.listen(PORT2, ['127.0.0.1', '::1'], (req, socket, head) => {
    const p = new URL(req.url, 'http://x').pathname;
    const wss = p === '/rpc' ? wss2 : p === '/v1' ? wss1 : null;
    if (!wss) { socket.destroy(); return; }
    rec.upgradeWith(wss, PROTO)(req, socket, head);
  });
}

// ---------------------------------------------------------------- clients
async function rpcWebsocketsClient() {
  const client = new RpcClient(`ws://127.0.0.1:${PORT}/`, {
    reconnect: false, createConnection: rec.createConnection(),
  });
  rec.instrument(client.socket, 'client', PROTO);
  await new Promise((resolve, reject) => { client.once('open', resolve); client.once('error', reject); });
  const call = (m, p) => client.call(m, p).then((result) => ({ result, t: Date.now() }),
    (error) => ({ error, t: Date.now() }));

  const r1 = await call('sum', [1, 2, 3, 4]);
  expect(r1.result === 10, 'rpc-websockets positional params');
  const r2 = await call('greet', { name: 'wscope', lang: 'ko' });
  expect(r2.result === '안녕하세요, wscope!', 'rpc-websockets named params');
  await client.notify('log', ['client started', { level: 'info' }]);
  const t0 = Date.now();
  const [a, b, c] = await Promise.all([
    call('slow', { ms: 300, tag: 'A' }), call('slow', { ms: 100, tag: 'B' }), call('sum', [5, 5])]);
  expect(a.result.tag === 'A' && b.result.tag === 'B' && c.result === 10, 'rpc-websockets concurrent results');
  expect(c.t <= b.t && b.t < a.t, 'rpc-websockets out-of-order answers');
  console.error(`rpc-websockets in flight: sum ${c.t - t0} ms, slow B ${b.t - t0} ms, slow A ${a.t - t0} ms`);
  const e1 = await call('nope');
  expect(e1.error && e1.error.code === -32601, 'rpc-websockets method not found');
  const e2 = await call('sum', [1, 'two']);
  expect(e2.error && e2.error.code === -32602, 'rpc-websockets invalid params');
  const e3 = await call('divide', [1, 0]);
  expect(e3.error && e3.error.code === -32010 && e3.error.data.divisor === 0, 'rpc-websockets app error with data');
  const e4 = await call('fail');
  expect(e4.error && e4.error.code === -32000 && e4.error.data === 'something went wrong', 'rpc-websockets thrown Error');
  const ticks = []; let status = null;
  let done;
  const doneP = new Promise((r) => { done = r; });
  client.on('tick', (p) => ticks.push(p));
  client.on('status', (...p) => { status = p; done(); });
  const s = await call('rpc.on', ['tick', 'status']);
  expect(s.result && s.result.tick === 'ok' && s.result.status === 'ok', 'rpc-websockets rpc.on');
  const st = await call('startTicks', { count: 3 });
  expect(st.result === 'started', 'rpc-websockets startTicks');
  await doneP;
  expect(ticks.length === 3 && ticks[2].n === 3, 'rpc-websockets tick events');
  expect(JSON.stringify(status) === '["idle",3]', `rpc-websockets status event ${JSON.stringify(status)}`);
  const off = await call('rpc.off', ['tick']);
  expect(off.result && off.result.tick === 'ok', 'rpc-websockets rpc.off');
  const closed = new Promise((r) => client.once('close', r));
  client.close(1000, 'bye');
  await closed;
}

async function jsonRpc2Client() {
  const ws = new WebSocket(`ws://[::1]:${PORT2}/rpc`, { createConnection: rec.createConnection() });
  rec.instrument(ws, 'client', PROTO);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let n = 0;
  const nextId = () => `c-${++n}`;
  const sac = new JSONRPCServerAndClient(
    new JSONRPCServer({ errorListener: () => {} }),
    new JSONRPCClient((payload) => new Promise((resolve, reject) => {
      ws.send(JSON.stringify(payload), (e) => (e ? reject(e) : resolve()));
    }), nextId),
    { errorListener: (m, p) => errors.push(`json-rpc-2.0 client: ${m} ${JSON.stringify(p)}`) },
  );
  const news = [];
  let confirmed;
  const confirmedP = new Promise((r) => { confirmed = r; });
  let lastNews;
  const lastNewsP = new Promise((r) => { lastNews = r; });
  sac.addMethod('news', (p) => { news.push(p); if (p.seq === 3) lastNews(); return null; });
  sac.addMethod('confirm', () => { confirmed(); return { confirmed: true }; });
  ws.on('message', (data) => {
    sac.receiveAndSend(JSON.parse(data.toString()))
      .catch((e) => errors.push(`json-rpc-2.0 client receiveAndSend: ${e.message}`));
  });
  const req = (m, p) => sac.request(m, p).then((result) => ({ result, t: Date.now() }),
    (error) => ({ error, t: Date.now() }));

  const r1 = await req('echo', { text: 'hello, JSON-RPC 2.0 ✓' });
  expect(r1.result && r1.result.echo === 'hello, JSON-RPC 2.0 ✓', 'json-rpc-2.0 named params');
  const r2 = await req('sum', [1, 2, 3]);
  expect(r2.result === 6, 'json-rpc-2.0 positional params');
  // batch: 4 requests + 1 notification -> array of 4 responses
  const batch = await sac.requestAdvanced([
    createJSONRPCRequest(nextId(), 'sum', { a: 2, b: 40 }),
    createJSONRPCNotification('log', { level: 'info', text: 'batch notification' }),
    createJSONRPCRequest(nextId(), 'nope', [1]),
    createJSONRPCRequest(nextId(), 'sum', { a: 'x', b: 1 }),
    createJSONRPCRequest(nextId(), 'slow', { ms: 50 }),
  ]);
  expect(batch.length === 4 && batch[0].result === 42 && batch[1].error.code === -32601
    && batch[2].error.code === -32602 && batch[3].result.slept === 50, 'json-rpc-2.0 batch');
  // batch: 1 request + 1 notification -> json-rpc-2.0 answers with one object
  const b2 = await sac.requestAdvanced([
    createJSONRPCRequest(nextId(), 'echo', { text: 'one' }),
    createJSONRPCNotification('log', { level: 'debug', text: 'second batch' }),
  ]);
  expect(b2.length === 1 && b2[0].result.echo === 'one', 'json-rpc-2.0 small batch');
  // batch of notifications only -> no response
  await sac.requestAdvanced([
    createJSONRPCNotification('log', { level: 'debug', text: 'n1' }),
    createJSONRPCNotification('log', { level: 'debug', text: 'n2' }),
  ]);
  await sleep(30);
  // requests in flight, answered out of order
  const t0 = Date.now();
  const [s1, s2, e] = await Promise.all([
    req('slow', { ms: 250 }), req('slow', { ms: 80 }), req('echo', { text: 'quick' })]);
  expect(s1.result.slept === 250 && s2.result.slept === 80 && e.result.echo === 'quick', 'json-rpc-2.0 concurrent');
  expect(e.t <= s2.t && s2.t < s1.t, 'json-rpc-2.0 out-of-order answers');
  console.error(`json-rpc-2.0 in flight: echo ${e.t - t0} ms, slow 80 ${s2.t - t0} ms, slow 250 ${s1.t - t0} ms`);
  const w = await req('withdraw', { amount: 25 });
  expect(w.error && w.error.code === 4001 && w.error.data.requested === 25, 'json-rpc-2.0 app error with data');
  const p = await req('startPush', { count: 2 });
  expect(p.result === 'ok', 'json-rpc-2.0 startPush');
  await confirmedP;
  await lastNewsP;
  expect(news.length === 3, 'json-rpc-2.0 server notifications');
  const closed = new Promise((r) => ws.once('close', r));
  ws.close(1000, 'done');
  await closed;
}

async function jsonRpc1Client() {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT2}/v1`, { createConnection: rec.createConnection() });
  rec.instrument(ws, 'client', PROTO);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const send = (o) => ws.send(JSON.stringify(o));
  const pending = new Map();
  const got = [];
  let serverRequest;
  const serverRequestP = new Promise((r) => { serverRequest = r; });
  let announce = null;
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if ('method' in m) {
      if (m.method === 'announce') announce = m.params;
      if (m.id !== null) {
        send({ result: m.method === 'ping' ? 'pong' : null, error: null, id: m.id });
        serverRequest(m);
      }
      return;
    }
    got.push(m.id);
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (p) p(m);
  });
  const call = (method, params, id) => new Promise((resolve) => {
    pending.set(id, resolve);
    send({ method, params, id });
  });
  const r1 = await call('echo', ['hello 1.0'], 1);
  expect(r1.result === 'hello 1.0' && r1.error === null, 'json-rpc 1.0 echo');
  const [slow, sum] = await Promise.all([call('slow', [150], 2), call('sum', [17, 25], 'r3')]);
  expect(slow.result === 'slept 150 ms' && sum.result === 42, 'json-rpc 1.0 concurrent');
  send({ method: 'log', params: ['client says hi'], id: null });
  const nf = await call('nope', [], 4);
  expect(nf.result === null && nf.error && nf.error.code === -32601, 'json-rpc 1.0 error');
  const cb = await call('callMeBack', [], 5);
  expect(cb.result === true, 'json-rpc 1.0 callMeBack');
  const sr = await serverRequestP;
  expect(sr.method === 'ping' && sr.id === 's1', 'json-rpc 1.0 server request');
  expect(JSON.stringify(announce) === '["server says hello",1]', 'json-rpc 1.0 server notification');
  expect(JSON.stringify(got) === '[1,"r3",2,4,5]', `json-rpc 1.0 response order ${JSON.stringify(got)}`);
  await sleep(20);
  const closed = new Promise((r) => ws.once('close', r));
  ws.close(1000, 'done');
  await closed;
}

// ------------------------------------------------------------ log checks
// Pair requests with responses per direction of the request.
function checkPairs(c) {
  const units = (side, role) => c.apps.filter((o) => o.side === side && o.role === role);
  const flat = (u) => (Array.isArray(u.msg) ? u.msg : [u.msg]);
  const summary = [];
  for (const [req, resp] of [['client', 'server'], ['server', 'client']]) {
    const reqs = []; const resps = []; let notes = 0; const events = [];
    for (const u of units(req, 'sent')) {
      for (const m of flat(u)) {
        if ('method' in m) {
          if (m.id === undefined || m.id === null) notes++; else reqs.push(m.id);
        }
      }
    }
    for (const u of units(resp, 'sent')) {
      for (const m of flat(u)) {
        if (!('method' in m) && ('result' in m || 'error' in m)) resps.push(m.id);
        if ('notification' in m) events.push(m.notification);
      }
    }
    const a = JSON.stringify([...reqs].map(String).sort()); const b = JSON.stringify([...resps].map(String).sort());
    expect(a === b, `conn ${c.conn} ${req}->${resp} requests ${a} answered ${b}`);
    summary.push(`${req} requests ${reqs.length} (ids ${JSON.stringify(reqs)}), notifications ${notes}; `
      + `${resp} responses ${resps.length} (ids ${JSON.stringify(resps)})${events.length ? `, events ${JSON.stringify(events)}` : ''}`);
  }
  console.error(`conn ${c.conn}: ${summary.join(' | ')}`);
}

function checkLog(conns) {
  if (conns.length !== 3) { errors.push(`expected 3 connections, got ${conns.length}`); return; }
  for (const c of conns) {
    for (const o of c.apps) expect(o.proto === PROTO, `conn ${c.conn} proto`);
    checkPairs(c);
    const dirs = {};
    for (const o of c.apps) if (o.role === 'sent') dirs[o.dir] = (dirs[o.dir] || 0) + 1;
    console.error(`conn ${c.conn} app units sent: ${JSON.stringify(dirs)}`);
  }
  const [c1, c2, c3] = conns;
  const sentBy = (c, side) => c.apps.filter((o) => o.side === side && o.role === 'sent').map((o) => o.msg);
  // conn 1: response order of the in-flight requests: 5, 4, 3
  const ids1 = sentBy(c1, 'server').filter((m) => 'id' in m).map((m) => m.id);
  expect(JSON.stringify(ids1.slice(2, 5)) === '[5,4,3]', `conn 1 out-of-order ids ${JSON.stringify(ids1)}`);
  expect(sentBy(c1, 'server').filter((m) => m.notification).length === 4, 'conn 1 4 events');
  expect(sentBy(c1, 'client').some((m) => m.method === 'log' && !('id' in m)), 'conn 1 notification');
  // conn 2: batches
  const cs2 = sentBy(c2, 'client'); const ss2 = sentBy(c2, 'server');
  expect(cs2.filter(Array.isArray).length === 3, 'conn 2 3 client batches');
  expect(ss2.filter(Array.isArray).length === 1 && ss2.find(Array.isArray).length === 4, 'conn 2 one batch response of 4');
  const ids2 = ss2.filter((m) => !Array.isArray(m) && 'id' in m && !('method' in m)).map((m) => m.id);
  expect(JSON.stringify(ids2.slice(3, 6)) === '["c-10","c-9","c-8"]', `conn 2 out-of-order ids ${JSON.stringify(ids2)}`);
  expect(ss2.filter((m) => m.method === 'news' && !('id' in m)).length === 3
    && ss2.filter((m) => m.method === 'confirm' && m.id === 1).length === 1, 'conn 2 server->client');
  // conn 3: JSON-RPC 1.0
  for (const m of [...sentBy(c3, 'client'), ...sentBy(c3, 'server')]) {
    expect(!('jsonrpc' in m) && 'id' in m, 'conn 3 1.0 shape');
    if ('method' in m) expect(Array.isArray(m.params), 'conn 3 params array');
    else expect('result' in m && 'error' in m, 'conn 3 result and error');
  }
}

async function main() {
  await startServers();
  await rpcWebsocketsClient();
  await jsonRpc2Client();
  await jsonRpc1Client();
  const conns = await rec.finish(args);
  checkLog(conns);
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
