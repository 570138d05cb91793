// The npm package against servers this project did not write (scripts/interop): a JSON
// ping/pong echo (Node ws), a push-only feed (Python websockets), graphql-ws, engine.io and
// an auth handshake the server can refuse. Each scenario runs in the same page, all at
// once; node:test reports each. Usage: node scripts/js/interop.mjs http://TEST_SERVER '<ports JSON>'
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './browser.mjs';

const origin = process.argv[2]?.replace(/\/$/, '');
const ports = JSON.parse(process.argv[3] ?? process.env.WS_TETHER_INTEROP ?? 'null');
if (!origin || !ports) throw new Error('usage: node scripts/js/interop.mjs http://127.0.0.1:PORT \'{"ws":..}\'');

const browser = await launch();
const page = await browser.newPage();
await page.goto(`${origin}/`);
await page.evaluate(async () => {
  const m = await import('/pkg/index.js');
  await m.default();
  window.RWS = m.ReconnectingWebSocket;
});
after(() => browser.close());

// The scenarios take 30 s each: they run side by side.
describe('the npm package against servers we did not write', { concurrency: true }, () => {

const host = '127.0.0.1';
const control = (path) => fetch(`http://${host}:${ports.control}${path}`).then((r) => assert.equal(r.status, 200, path));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('JSON ping/pong echo (Node ws): the app never sees a ping or pong; rtt is reported', async () => {
  const got = await page.evaluate(async (url) => {
    const ws = new window.RWS(url, [], {
      heartbeat: { interval: 200, timeout: 1000, ping: '{"type":"ping"}', pong: (d) => d === '{"type":"pong"}' },
    });
    const received = [];
    let rtts = 0;
    ws.addEventListener('message', (e) => received.push(e.data));
    ws.addEventListener('rtt', () => { rtts += 1; });
    ws.send('a');
    await new Promise((r) => setTimeout(r, 2500));
    ws.send('b');
    // Its echo, or 5 s (not a fixed wait: a loaded machine is slow).
    for (const end = Date.now() + 5000; received.length < 2 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ws.close();
    return { received, rtts, rtt: typeof ws.rtt };
  }, `ws://${host}:${ports.ws}/json-echo`);
  assert.deepEqual(got.received, ['a', 'b']);
  assert.ok(got.rtts >= 3, `${got.rtts} round trips`);
  assert.equal(got.rtt, 'number');
});

test('plain echo (Node ws) with the default heartbeat: the echoed ping answers it and is never delivered', async () => {
  const got = await page.evaluate(async (url) => {
    const ws = new window.RWS(url, [], { heartbeat: { interval: 200, timeout: 1000 } });
    const received = [];
    let rtts = 0;
    let drops = 0;
    ws.addEventListener('message', (e) => received.push(e.data));
    ws.addEventListener('rtt', () => { rtts += 1; });
    ws.addEventListener('reconnecting', () => { drops += 1; });
    ws.send('a');
    await new Promise((r) => setTimeout(r, 2500));
    ws.close();
    return { received, rtts, drops };
  }, `ws://${host}:${ports.ws}/json-echo`);
  assert.deepEqual(got.received, ['a']);
  assert.ok(got.rtts >= 3, `${got.rtts} round trips`);
  assert.equal(got.drops, 0);
});

test('push-only feed (Python websockets) with silence 3 s: no reconnect in 30 s; a silent feed is found', async () => {
  const got = await page.evaluate(async ([live, quiet]) => {
    const options = { heartbeat: { timeout: 3000, mode: 'silence' } };
    const ws = new window.RWS(live, [], options);
    let ticks = 0;
    let drops = 0;
    ws.addEventListener('message', () => { ticks += 1; });
    ws.addEventListener('reconnecting', () => { drops += 1; });
    // The other feed goes quiet after 2 ticks: the heartbeat must find it.
    const silent = new window.RWS(quiet, [], options);
    let lastTick = 0;
    silent.addEventListener('message', () => { lastTick = performance.now(); });
    const found = new Promise((r) => silent.addEventListener('close', (e) => r([e.code, performance.now() - lastTick]), { once: true }));
    await new Promise((r) => setTimeout(r, 30000));
    const [code, after] = await found;
    ws.close();
    silent.close();
    return { ticks, drops, code, after };
  }, [`ws://${host}:${ports.feed}/`, `ws://${host}:${ports.feed}/?silent_after=2`]);
  assert.equal(got.drops, 0);
  assert.ok(got.ticks >= 13, `${got.ticks} ticks in 30 s`);
  assert.equal(got.code, 4000);
  // Found after the 3 s of silence, plus at most a timer's lateness.
  assert.ok(got.after >= 2900 && got.after < 6000, `found ${got.after} ms after the last tick`);
});

const graphqlOptions = `({
  heartbeat: {
    interval: 1000, timeout: 2000, ping: '{"type":"ping"}',
    pong: (d) => typeof d === 'string' && JSON.parse(d).type === 'pong',
  },
  handshake: async (c) => {
    c.send(JSON.stringify({ type: 'connection_init' }));
    while (JSON.parse(await c.receive()).type !== 'connection_ack');
    c.send(JSON.stringify({ id: 'ticks', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
  },
})`;

test('graphql-ws with its own heartbeat: no close in 30 s; after a server restart the subscription receives again', async () => {
  const url = `ws://${host}:${ports.graphql}/graphql`;
  await page.evaluate(async ([url, options]) => {
    const ws = new window.RWS(url, 'graphql-transport-ws', (0, eval)(options));
    window.gql = { ws, ticks: [], closes: [], opens: 0 };
    ws.addEventListener('message', (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'next') window.gql.ticks.push(m.payload.data.tick);
    });
    ws.addEventListener('close', (e) => window.gql.closes.push(e.code));
    // Where the second connection's ticks start: the old server may still send a few
    // between the count read below and the restart.
    ws.addEventListener('open', () => { window.gql.opens += 1; if (window.gql.opens === 2) window.gql.mark = window.gql.ticks.length; });
  }, [url, graphqlOptions]);
  await sleep(30000);
  const before = await page.evaluate(() => ({ ticks: window.gql.ticks.length, closes: window.gql.closes, opens: window.gql.opens }));
  assert.deepEqual(before.closes, []);
  assert.equal(before.opens, 1);
  assert.ok(before.ticks >= 100, `${before.ticks} ticks`);
  await control('/restart/graphql');
  const afterRestart = await page.evaluate(async () => {
    while (window.gql.opens < 2 || window.gql.ticks.length < window.gql.mark + 5) await new Promise((r) => setTimeout(r, 50));
    window.gql.ws.close();
    const { mark } = window.gql;
    return { closes: window.gql.closes, restartedAt: window.gql.ticks.slice(mark, mark + 5) };
  });
  // A fresh server counts from 0 again: the resubscription came from the handshake hook.
  assert.equal(afterRestart.restartedAt[0], 0);
  assert.ok(afterRestart.closes.length >= 1);
});

test('engine.io (server pings, we answer): up across 3+ ping intervals; a server that stops pinging is found', async () => {
  const got = await page.evaluate(async (url) => {
    const ws = new window.RWS(url, [], {
      heartbeat: { timeout: 4000, answer: (d) => (d === '2' ? '3' : null) },
      handshake: async (c) => {
        const open = await c.receive();
        if (!open.startsWith('0')) throw new Error(`no open packet: ${open}`);
      },
    });
    const received = [];
    const closes = [];
    ws.addEventListener('message', (e) => received.push(e.data));
    ws.addEventListener('close', (e) => closes.push(e.code));
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    await new Promise((r) => setTimeout(r, 4500));
    ws.send('4hello');
    // The echo, or 5 s (a fixed 300 ms ran out on a loaded machine).
    for (const end = Date.now() + 5000; received.length === 0 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    window.eio = ws;
    return { received, closes };
  }, `ws://${host}:${ports.engineio}/engine.io/?EIO=4&transport=websocket`);
  assert.deepEqual(got.received, ['4hello']);
  assert.deepEqual(got.closes, []);
  await control('/stop/engineio');
  try {
    const code = await page.evaluate(() => new Promise((r) => window.eio.addEventListener('close', (e) => r(e.code), { once: true })));
    assert.equal(code, 4000);
  } finally {
    await control('/cont/engineio');
    await page.evaluate(() => window.eio.close());
  }
});

test('a protocol handshake the server refuses: a typed failure, retried per backoff; the right token opens first', async () => {
  const got = await page.evaluate(async (url) => {
    const hook = (token) => async (c) => {
      c.send(JSON.stringify({ type: 'auth', token }));
      const reply = JSON.parse(await c.receive());
      if (reply.type !== 'auth_ok') throw new Error(`auth refused (${reply.type})`);
    };
    const bad = new window.RWS(url, [], { minDelay: 50, maxDelay: 100, handshake: hook('bad') });
    const failures = [];
    bad.addEventListener('reconnecting', (e) => failures.push(`${e.detail.attempt}:${e.detail.wasOpen}:${e.detail.reason}`));
    let opened = false;
    bad.addEventListener('open', () => { opened = true; });
    while (failures.length < 3) await new Promise((r) => setTimeout(r, 20));
    bad.close();
    const good = new window.RWS(url, [], { handshake: hook('good') });
    good.send('queued before open');
    const echo = await new Promise((r) => good.addEventListener('message', (e) => r(e.data), { once: true }));
    good.close();
    return { failures: failures.slice(0, 3), opened, echo };
  }, `ws://${host}:${ports.ws}/auth`);
  assert.deepEqual(got.failures, [1, 2, 3].map((n) => `${n}:false:handshake failed: auth refused (auth_error)`));
  assert.equal(got.opened, false);
  assert.equal(got.echo, 'queued before open');
});
});
