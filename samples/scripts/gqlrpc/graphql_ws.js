#!/usr/bin/env node
// GraphQL over WebSocket scenario (graphql-ws.pcap): both GraphQL
// subprotocols, real libraries on both ends (versions pinned in
// package.json / package-lock.json), all Node, one process.
//
//   port 9991  npm graphql-ws 5.16.2, subprotocol "graphql-transport-ws":
//              useServer() on a `ws` WebSocketServer, createClient() with `ws`
//              as webSocketImpl.
//   port 9992  npm subscriptions-transport-ws 0.11.0, the legacy subprotocol
//              "graphql-ws": SubscriptionServer (graphql execute/subscribe,
//              keepAlive 300 ms) and SubscriptionClient with `ws`.
//
//   conn 1  ws://127.0.0.1:9991/graphql        graphql-ws: init/ack with payloads,
//           named query, anonymous query, query with a resolver error,
//           mutation, subscription completed by the server, subscription
//           completed early by the client, validation error, three operations
//           in flight at once, message-level ping/pong (client keepAlive
//           300 ms) and WebSocket ping/pong (server keepAlive 400 ms);
//           client closes 1000 "Normal Closure".
//   conn 2  ws://127.0.0.1:9991/graphql        graphql-ws: bad token, server
//           onConnect returns false -> close 4403 "Forbidden".
//   conn 3  ws://[::1]:9992/subscriptions      subscriptions-transport-ws:
//           init/ack, `ka` every 300 ms, query, mutation, subscription
//           completed by the server, subscription stopped by the client,
//           validation error (data with errors), syntax error (error), two
//           operations in flight; client connection_terminate + close.
//   conn 4  ws://127.0.0.1:9992/subscriptions  subscriptions-transport-ws: bad
//           token, onConnect throws -> connection_error, server closes 1011.
//
// Logging: see common.js.  App records: proto = the negotiated subprotocol
// ("graphql-transport-ws" or "graphql-ws"), msg = the JSON message; the
// subscribe (graphql-ws) and start (legacy) messages also get
// "operation": {"name": NAME|null, "type": "query"|"mutation"|"subscription"}
// from graphql's parse() + getOperationAST() of the query, run in the
// server's onSubscribe / onOperation hook (null if the query does not parse).
//
// Usage: node graphql_ws.js --log F.jsonl [--streams DIR]
'use strict';

const crypto = require('crypto');
const {
  GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull, GraphQLList, GraphQLID,
  parse, getOperationAST, execute, subscribe,
} = require('graphql');
const { useServer } = require('graphql-ws/lib/use/ws');
const { createClient } = require('graphql-ws');
const { SubscriptionServer, SubscriptionClient } = require('subscriptions-transport-ws');
const { Recorder, parseArgs, WebSocket } = require('./common');

const args = parseArgs({ port: 9991, legacyport: 9992 });
if (!args.log) {
  console.error('usage: node graphql_ws.js --log F.jsonl [--streams DIR]');
  process.exit(2);
}
const PORT = Number(args.port);
const LEGACY_PORT = Number(args.legacyport);
const rec = new Recorder();
const errors = rec.errors;
const expect = (cond, what) => { if (!cond) errors.push(`expectation failed: ${what}`); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- schema
const messages = [{ id: '1', text: 'first message' }];
const Message = new GraphQLObjectType({
  name: 'Message',
  fields: { id: { type: new GraphQLNonNull(GraphQLID) }, text: { type: new GraphQLNonNull(GraphQLString) } },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: {
        type: new GraphQLNonNull(GraphQLString),
        args: { name: { type: GraphQLString } },
        resolve: (_, { name }) => `Hello, ${name || 'world'}!`,
      },
      slow: {
        type: new GraphQLNonNull(GraphQLString),
        args: { ms: { type: new GraphQLNonNull(GraphQLInt) } },
        resolve: async (_, { ms }) => { await sleep(ms); return `slept ${ms} ms`; },
      },
      messages: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Message))), resolve: () => messages },
      boom: { type: GraphQLString, resolve: () => { throw new Error('boom: resolver failed'); } },
    },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: {
      addMessage: {
        type: new GraphQLNonNull(Message),
        args: { text: { type: new GraphQLNonNull(GraphQLString) } },
        resolve: (_, { text }) => {
          const m = { id: String(messages.length + 1), text };
          messages.push(m);
          return m;
        },
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      greetings: {
        type: new GraphQLNonNull(GraphQLString),
        subscribe: async function* greetings() {
          for (const g of ['Hi', 'Bonjour', 'Hola', '안녕하세요', 'Ciao 👋']) {
            await sleep(20);
            yield { greetings: g };
          }
        },
      },
      ticks: {
        type: new GraphQLNonNull(GraphQLInt),
        args: { n: { type: new GraphQLNonNull(GraphQLInt) }, ms: { type: GraphQLInt, defaultValue: 50 } },
        subscribe: async function* ticks(_, { n, ms }) {
          for (let i = 1; i <= n; i++) {
            await sleep(ms);
            yield { ticks: i };
          }
        },
      },
    },
  }),
});

// operation of a query string: graphql's own parse + getOperationAST
function operationOf(query, operationName) {
  let doc;
  try {
    doc = typeof query === 'string' ? parse(query) : query;
  } catch (e) {
    return null; // does not parse; the library reports the syntax error
  }
  const op = getOperationAST(doc, operationName);
  if (!op) return null;
  return { name: op.name ? op.name.value : null, type: op.operation };
}
// attach the operation to the subscribe/start app records (both sides) of
// this connection with this id
const opByKeyId = new Map();
function annotate(key, id, op) {
  opByKeyId.set(`${key}|${id}`, op);
  for (const [k, o] of rec.events) {
    if (k === key && o.kind === 'app' && o.msg && (o.msg.type === 'subscribe' || o.msg.type === 'start')
        && o.msg.id === id) o.operation = op;
  }
}
rec.onApp = (key, o) => { // a start/subscribe logged after the server parsed it (not expected)
  const m = o.msg;
  if (m && (m.type === 'subscribe' || m.type === 'start') && opByKeyId.has(`${key}|${m.id}`)) {
    o.operation = opByKeyId.get(`${key}|${m.id}`);
  }
};

// ------------------------------------------------------- graphql-ws server
const ACK_PAYLOAD = { server: 'graphql-ws 5.16.2', session: 'S-1' };
async function startServers() {
  const wss = new WebSocket.Server({ noServer: true });
  useServer({
    schema,
    onConnect: (ctx) => {
      const p = ctx.connectionParams || {};
      if (p.authToken !== 'demo-token') return false; // -> close 4403 Forbidden
      return ACK_PAYLOAD; // -> connection_ack payload
    },
    onSubscribe: (ctx, msg) => {
      annotate(ctx.extra.socket._socket.key, msg.id, operationOf(msg.payload.query, msg.payload.operationName));
      // returning nothing: the library parses, validates and executes itself
    },
  }, wss, 400);
  await rec.listen(PORT, ['127.0.0.1'], rec.upgradeWith(wss, (ws) => ws.protocol));

  const lwss = new WebSocket.Server({ noServer: true });
  SubscriptionServer.create({
    schema,
    execute,
    subscribe,
    keepAlive: 300,
    onConnect: (params) => {
      if (!params || params.authToken !== 'demo-token') throw new Error('Invalid auth token');
      return { user: 'demo' };
    },
    onOperation: (message, params, socket) => {
      annotate(socket._socket.key, message.id, operationOf(params.query, params.operationName));
      return params;
    },
  }, lwss);
  await rec.listen(LEGACY_PORT, ['127.0.0.1', '::1'], rec.upgradeWith(lwss, (ws) => ws.protocol));
}

// --------------------------------------------------------------- clients
// deterministic UUID-shaped operation ids
let idCounter = 0;
function genId() {
  const h = crypto.createHash('sha256').update(`wscope-gql-${++idCounter}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

// run one graphql-ws operation to its end: {values, error, done, t}
function run(client, payload) {
  return new Promise((resolve) => {
    const r = { values: [], error: null, t0: Date.now() };
    client.subscribe(payload, {
      next: (v) => r.values.push(v),
      error: (e) => { r.error = e; r.t1 = Date.now(); resolve(r); },
      complete: () => { r.t1 = Date.now(); resolve(r); },
    });
  });
}

async function graphqlWsClient() {
  const WS = rec.clientWebSocketClass((ws) => ws.protocol);
  let ackPayload = null;
  let pings = 0; let pongs = 0;
  let connected;
  const connectedP = new Promise((r) => { connected = r; });
  const client = createClient({
    url: `ws://127.0.0.1:${PORT}/graphql`,
    webSocketImpl: WS,
    lazy: false,
    keepAlive: 300,
    retryAttempts: 0,
    generateID: genId,
    connectionParams: { authToken: 'demo-token', client: 'wscope-sample' },
    onNonLazyError: (e) => errors.push(`graphql-ws client: ${e && (e.message || e.code)}`),
    on: {
      connected: (socket, payload) => { ackPayload = payload; connected(); },
      ping: (received) => { if (!received) pings++; },
      pong: (received) => { if (received) pongs++; },
    },
  });
  await connectedP;
  expect(JSON.stringify(ackPayload) === JSON.stringify(ACK_PAYLOAD), 'graphql-ws ack payload');

  const r1 = await run(client, {
    query: 'query Hello($name: String) { hello(name: $name) }',
    operationName: 'Hello', variables: { name: 'wscope' },
  });
  expect(r1.values.length === 1 && r1.values[0].data.hello === 'Hello, wscope!', 'named query');
  const r2 = await run(client, { query: '{ hello messages { id text } }' });
  expect(r2.values.length === 1 && r2.values[0].data.messages.length === 1, 'anonymous query');
  const r2b = await run(client, { query: 'query Partial { hello boom }' });
  expect(r2b.values.length === 1 && r2b.values[0].data.boom === null && r2b.values[0].errors.length === 1,
    'query with resolver error');
  const r3 = await run(client, {
    query: 'mutation AddMessage($text: String!) { addMessage(text: $text) { id text } }',
    operationName: 'AddMessage', variables: { text: 'héllo wörld 👋' },
  });
  expect(r3.values.length === 1 && r3.values[0].data.addMessage.id === '2', 'mutation');
  const r4 = await run(client, { query: 'subscription Greetings { greetings }' });
  expect(r4.values.length === 5 && !r4.error, 'greetings subscription: 5 next + complete');

  // subscription completed early by the client (after 3 values)
  const r5 = await new Promise((resolve) => {
    const got = [];
    const unsubscribe = client.subscribe({
      query: 'subscription Ticks($n: Int!) { ticks(n: $n, ms: 40) }',
      operationName: 'Ticks', variables: { n: 100 },
    }, {
      next: (v) => { got.push(v); if (got.length === 3) { unsubscribe(); resolve(got); } },
      error: (e) => { errors.push(`ticks: ${JSON.stringify(e)}`); resolve(got); },
      complete: () => {},
    });
  });
  expect(r5.length === 3, 'client-completed subscription');
  await sleep(100); // let the server notice the complete

  // validation error -> server "error" message
  const r6 = await run(client, { query: 'query Bad { hello nope }', operationName: 'Bad' });
  expect(Array.isArray(r6.error) && r6.error.length === 1 && /nope/.test(r6.error[0].message),
    'validation error');

  // three operations in flight at once: a slow query, a subscription, a quick query
  const [slow, ticks, quick] = await Promise.all([
    run(client, { query: 'query Slow { slow(ms: 400) }', operationName: 'Slow' }),
    sleep(5).then(() => run(client, { query: 'subscription FourTicks { ticks(n: 4, ms: 60) }' })),
    sleep(10).then(() => run(client, { query: 'query Quick { hello(name: "quick") }' })),
  ]);
  expect(slow.values[0].data.slow === 'slept 400 ms', 'slow query');
  expect(ticks.values.length === 4, 'concurrent subscription');
  expect(quick.t1 < ticks.t1 && ticks.t1 < slow.t1, 'quick < ticks < slow completion order');
  console.error(`graphql-ws concurrent: slow ${slow.t1 - slow.t0} ms, ticks ${ticks.t1 - ticks.t0} ms, quick ${quick.t1 - quick.t0} ms`);

  await sleep(250);
  expect(pings >= 2 && pongs >= 2, `graphql-ws keepAlive pings (${pings} sent, ${pongs} pongs)`);
  await client.dispose();
}

async function graphqlWsForbidden() {
  const WS = rec.clientWebSocketClass((ws) => ws.protocol);
  let closeCode = null;
  await new Promise((resolve) => {
    const client = createClient({
      url: `ws://127.0.0.1:${PORT}/graphql`,
      webSocketImpl: WS,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authToken: 'wrong-token' },
      onNonLazyError: (e) => { closeCode = e && e.code; resolve(); },
      on: { closed: (e) => { closeCode = e.code; setTimeout(resolve, 50); } },
    });
    client.on('connected', () => errors.push('forbidden client got connected'));
  });
  expect(closeCode === 4403, `graphql-ws forbidden close code (${closeCode})`);
}

function legacyRun(sc, payload, stopAfter) {
  return new Promise((resolve) => {
    const r = { values: [], error: null, t0: Date.now() };
    const sub = sc.request(payload).subscribe({
      next: (v) => {
        r.values.push(v);
        if (stopAfter && r.values.length === stopAfter) {
          sub.unsubscribe();
          r.t1 = Date.now();
          resolve(r);
        }
      },
      error: (e) => { r.error = e; r.t1 = Date.now(); resolve(r); },
      complete: () => { r.t1 = Date.now(); resolve(r); },
    });
  });
}

async function legacyClient() {
  const WS = rec.clientWebSocketClass((ws) => ws.protocol);
  let acked;
  const ackedP = new Promise((r) => { acked = r; });
  const sc = new SubscriptionClient(`ws://[::1]:${LEGACY_PORT}/subscriptions`, {
    reconnect: false,
    connectionParams: { authToken: 'demo-token', client: 'wscope-sample' },
    connectionCallback: (err) => { if (err) errors.push(`legacy connection error ${JSON.stringify(err)}`); acked(); },
  }, WS);
  await ackedP;
  const q = await legacyRun(sc, {
    query: 'query Hello($name: String) { hello(name: $name) }', operationName: 'Hello', variables: { name: 'legacy' },
  });
  expect(q.values.length === 1 && q.values[0].data.hello === 'Hello, legacy!', 'legacy query');
  const m = await legacyRun(sc, {
    query: 'mutation AddMessage($text: String!) { addMessage(text: $text) { id text } }',
    operationName: 'AddMessage', variables: { text: 'from the legacy client' },
  });
  expect(m.values.length === 1 && m.values[0].data.addMessage.text === 'from the legacy client', 'legacy mutation');
  const g = await legacyRun(sc, { query: 'subscription Greetings { greetings }', operationName: 'Greetings' });
  expect(g.values.length === 5 && !g.error, 'legacy subscription completed by server');
  const t = await legacyRun(sc, {
    query: 'subscription Ticks($n: Int!) { ticks(n: $n, ms: 60) }', operationName: 'Ticks', variables: { n: 100 },
  }, 3);
  expect(t.values.length === 3, 'legacy subscription stopped by client');
  await sleep(150); // server ends the stopped subscription
  const v = await legacyRun(sc, { query: 'query Bad { hello nope }', operationName: 'Bad' });
  expect(v.values.length === 1 && v.values[0].errors && v.values[0].errors.length === 1, 'legacy validation error');
  const s = await legacyRun(sc, { query: 'query Broken { hello(' });
  expect(s.error && /Syntax Error/.test(s.error.message || JSON.stringify(s.error)), 'legacy syntax error');
  const [slow, quick] = await Promise.all([
    legacyRun(sc, { query: 'query Slow { slow(ms: 300) }', operationName: 'Slow' }),
    sleep(5).then(() => legacyRun(sc, { query: '{ hello }' })),
  ]);
  expect(slow.values[0].data.slow === 'slept 300 ms' && quick.t1 < slow.t1, 'legacy in-flight order');
  console.error(`legacy concurrent: slow ${slow.t1 - slow.t0} ms, quick ${quick.t1 - quick.t0} ms`);
  await sleep(650); // a few more ka
  sc.close();
}

async function legacyRejected() {
  const WS = rec.clientWebSocketClass((ws) => ws.protocol);
  let err = null;
  await new Promise((resolve) => {
    const sc = new SubscriptionClient(`ws://127.0.0.1:${LEGACY_PORT}/subscriptions`, {
      reconnect: false,
      connectionParams: { authToken: 'wrong-token' },
      connectionCallback: (e) => { err = e; },
    }, WS);
    sc.onDisconnected(() => resolve());
  });
  expect(err && err.message === 'Invalid auth token', `legacy connection_error (${JSON.stringify(err)})`);
}

// ------------------------------------------------------------ log checks
function checkLog(conns) {
  const types = (c, side, role) => c.apps.filter((o) => o.side === side && o.role === role).map((o) => o.msg.type);
  const count = (list, t) => list.filter((x) => x === t).length;
  const [c1, c2, c3, c4] = conns;
  if (!c4) { errors.push(`expected 4 connections, got ${conns.length}`); return; }
  for (const c of [c1, c2]) {
    for (const o of c.apps) expect(o.proto === 'graphql-transport-ws', `conn ${c.conn} proto ${o.proto}`);
  }
  for (const c of [c3, c4]) {
    for (const o of c.apps) expect(o.proto === 'graphql-ws', `conn ${c.conn} proto ${o.proto}`);
  }
  for (const c of conns) {
    for (const o of c.apps) {
      if (o.msg.type === 'subscribe' || o.msg.type === 'start') {
        expect('operation' in o, `conn ${c.conn} ${o.side} ${o.role} ${o.msg.type} ${o.msg.id} has operation`);
      }
    }
  }
  // conn 1
  const cs = types(c1, 'client', 'sent'); const ss = types(c1, 'server', 'sent');
  expect(cs[0] === 'connection_init' && ss[0] === 'connection_ack', 'conn 1 init/ack first');
  expect(count(cs, 'subscribe') === 10, `conn 1 10 subscribe (${count(cs, 'subscribe')})`);
  expect(count(cs, 'complete') === 1, 'conn 1 one client complete');
  expect(count(ss, 'error') === 1, 'conn 1 one server error');
  expect(count(ss, 'complete') === 8, `conn 1 8 server complete (${count(ss, 'complete')})`);
  expect(count(cs, 'ping') >= 2 && count(cs, 'ping') === count(ss, 'pong'), 'conn 1 ping == pong');
  const wsPings = c1.msgs.filter((o) => o.side === 'server' && o.role === 'sent' && o.opcode === 'ping').length;
  const wsPongs = c1.msgs.filter((o) => o.side === 'client' && o.role === 'sent' && o.opcode === 'pong').length;
  expect(wsPings >= 1 && wsPings === wsPongs, `conn 1 WebSocket ping/pong (${wsPings}/${wsPongs})`);
  // conn 2: init, then close 4403
  expect(JSON.stringify(types(c2, 'client', 'sent')) === '["connection_init"]'
    && types(c2, 'server', 'sent').length === 0, 'conn 2 only connection_init');
  expect(c2.msgs.some((o) => o.side === 'server' && o.role === 'sent' && o.opcode === 'close' && o.close_code === 4403),
    'conn 2 close 4403');
  // conn 3
  const ls = types(c3, 'server', 'sent'); const lc = types(c3, 'client', 'sent');
  expect(lc[0] === 'connection_init' && ls[0] === 'connection_ack' && ls[1] === 'ka', 'conn 3 init/ack/ka');
  expect(count(ls, 'ka') >= 4, `conn 3 ka (${count(ls, 'ka')})`);
  expect(count(lc, 'start') === 8 && count(lc, 'stop') === 1 && lc[lc.length - 1] === 'connection_terminate',
    'conn 3 client messages');
  expect(count(ls, 'error') === 1, 'conn 3 one error');
  // conn 4
  expect(JSON.stringify(types(c4, 'server', 'sent')) === '["connection_error"]', 'conn 4 connection_error');
  expect(c4.msgs.some((o) => o.side === 'server' && o.role === 'sent' && o.opcode === 'close' && o.close_code === 1011),
    'conn 4 close 1011');
  for (const c of conns) {
    const n = {};
    for (const o of c.apps) {
      const k = `${o.dir} ${o.msg.type}`;
      if (o.role === 'sent') n[k] = (n[k] || 0) + 1;
    }
    console.error(`conn ${c.conn} app units sent: ${JSON.stringify(n)}`);
  }
}

async function main() {
  await startServers();
  await graphqlWsClient();
  await graphqlWsForbidden();
  await legacyClient();
  await legacyRejected();
  const conns = await rec.finish(args);
  checkLog(conns);
  for (const e of errors) console.error(`ERROR: ${e}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
