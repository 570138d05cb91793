// The installed package in Node, Bun and Deno (the project package.mjs packed and installed
// into pkg/consumer/app, imported as its code would import it), against the test server. Run
// by scripts/test-js in each runtime twice: with the `ws` package passed as the `WebSocket`
// option (NODE_WS=ws), and with the runtime's own global WebSocket (NODE_WS=global; Node
// needs `--experimental-websocket` for it). Node and Bun run it with `node --test` and
// `bun test`, Deno with `deno test` (each runs node:test's tests).
import { after, test } from 'node:test';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { assertEqual } from './engines.mjs';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test-js does)');
const installed = join(ROOT, 'pkg/consumer/app/node_modules/ws-tether/index.js');
if (!existsSync(installed)) throw new Error('pkg/consumer/app has no ws-tether: run scripts/test-js --package first');
const MODE = process.env.NODE_WS;
const RUNTIME = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const GLOBAL_WS = typeof globalThis.WebSocket === 'function';
if (MODE === 'global' && !GLOBAL_WS) throw new Error('NODE_WS=global needs node --experimental-websocket');
if (MODE !== 'global' && MODE !== 'ws') throw new Error('NODE_WS=ws or NODE_WS=global');

const { default: init, ReconnectingWebSocket } = await import(pathToFileURL(installed));
const { WebSocket: WS } = await import(pathToFileURL(join(ROOT, 'node_modules/ws/wrapper.mjs')));
const base = `ws://${server}`;
// The `WebSocket` option in this run: `ws`'s class, or none (the global one).
const options = (more = {}) => (MODE === 'ws' ? { WebSocket: WS, ...more } : more);
const open = [];
const make = (path, more) => {
  const ws = new ReconnectingWebSocket(`${base}${path}`, undefined, options(more));
  open.push(ws);
  return ws;
};
const next = (ws, type) => new Promise((r) => ws.addEventListener(type, r, { once: true }));
const messages = (ws) => {
  const got = [];
  ws.addEventListener('message', (e) => got.push(typeof e.data === 'string' ? e.data : `bytes:${e.data.byteLength}`));
  return got;
};
const until = async (f) => { while (!f()) await new Promise((r) => setTimeout(r, 10)); };
// Nothing may keep the process alive after the tests.
after(() => { for (const ws of open) ws.close(); });

// The first socket of the process: the wasm is not loaded yet (nothing called init()).
test('without init(): a socket made at once opens, and what is sent right after the constructor is echoed in order', async () => {
  const ws = make('/echo');
  const got = messages(ws);
  const outcomes = ['1', '2', '3'].map((m) => ws.send(m));
  const state = ws.readyState;
  await until(() => got.length === 3);
  ws.close();
  assertEqual({ state, outcomes, got }, { state: 0, outcomes: ['queued', 'queued', 'queued'], got: ['1', '2', '3'] }, 'state, send outcomes, echoes');
});

test('await init() still works, and reads the wasm from the installed package (no fetch of a file: URL)', async () => {
  await init();
});

test(MODE === 'ws' && !GLOBAL_WS ? 'without a global WebSocket or the option: a TypeError naming the option' : 'the global WebSocket is used when no option is given', () => {
  let threw;
  try {
    new ReconnectingWebSocket(`${base}/echo`).close();
  } catch (e) {
    threw = e;
  }
  if (MODE === 'ws' && !GLOBAL_WS) {
    if (!(threw instanceof TypeError) || !threw.message.includes('`WebSocket`')) throw new Error(`got ${threw}`);
  } else if (threw) throw threw;
});

if (MODE === 'ws') {
  test('the `WebSocket` option is the class every connection is made with, over any global one', async () => {
    let made = 0;
    class Counted extends WS {
      constructor(...args) { super(...args); made += 1; }
    }
    const ws = make('/echo', { WebSocket: Counted });
    await next(ws, 'open');
    const closed = next(ws, 'close');
    ws.close();
    await closed;
    assertEqual(made, 1, 'connections made with the class given');
  });
}

test('opens, echoes text and bytes, closes with the code and reason given', async () => {
  const ws = make('/echo');
  ws.binaryType = 'arraybuffer';
  const got = messages(ws);
  await next(ws, 'open');
  assertEqual([ws.readyState, ws.url], [1, `${base}/echo`], 'readyState and url when open');
  ws.send('hello');
  ws.send(new Uint8Array([1, 2, 3]));
  await until(() => got.length === 2);
  const closed = next(ws, 'close');
  ws.close(4000, 'bye');
  const e = await closed;
  assertEqual({ got, code: e.code, reason: e.reason, wasClean: e.wasClean, state: ws.readyState },
    { got: ['hello', 'bytes:3'], code: 4000, reason: 'bye', wasClean: true, state: 3 }, 'echoes and the close');
});

test('the server drops the connection: close 1006, reconnecting, reconnect; what was sent while down is delivered', async () => {
  const id = `${RUNTIME}-${MODE}-drop-${Date.now()}`;
  const ws = make(`/echo?id=${id}`, { minDelay: 200, maxDelay: 300 });
  const log = [];
  ws.addEventListener('close', (e) => log.push(`close:${e.code}:${e.wasClean}`));
  ws.addEventListener('reconnecting', (e) => log.push(`reconnecting:${e.detail.attempt}`));
  ws.addEventListener('reconnect', () => log.push('reconnect'));
  const got = messages(ws);
  await next(ws, 'open');
  ws.send('before');
  await until(() => got.length === 1);
  const reconnecting = next(ws, 'reconnecting');
  await fetch(`http://${server}/control/drop-all?id=${id}`);
  await reconnecting;
  const outcomes = [ws.send('while-down-1'), ws.send('while-down-2')];
  await next(ws, 'reconnect');
  await until(() => got.length === 3);
  ws.close();
  assertEqual({ log, outcomes, got }, {
    log: ['close:1006:false', 'reconnecting:1', 'reconnect'],
    outcomes: ['queued', 'queued'],
    got: ['before', 'while-down-1', 'while-down-2'],
  }, 'events, send outcomes and echoes');
});

test('heartbeat: rtt is reported, by event, by onrtt and by ws.rtt', async () => {
  const ws = make('/echo', { heartbeat: { interval: 50, timeout: 2000 } });
  let byProperty;
  ws.onrtt = (e) => { byProperty = e.detail; };
  const rtt = (await next(ws, 'rtt')).detail;
  const same = byProperty === rtt;
  ws.close();
  if (!(typeof rtt === 'number' && rtt >= 0 && rtt === ws.rtt && same)) throw new Error(`rtt ${rtt}, ws.rtt ${ws.rtt}, onrtt the same: ${same}`);
});

test('resume: nothing lost or repeated across the drops the server makes; flush() waits for the acks', async () => {
  const id = `${RUNTIME}-${MODE}-resume-${Date.now()}`;
  const ws = make(`/resume?id=${id}&drop_every=5`, { resume: true, minDelay: 20, maxDelay: 50 });
  ws.binaryType = 'arraybuffer';
  const got = messages(ws);
  let resumed = 0;
  let lost = 0;
  ws.addEventListener('resumed', () => { resumed += 1; });
  ws.addEventListener('sessionlost', () => { lost += 1; });
  const sent = [];
  for (let i = 1; i <= 30; i += 1) {
    if (i % 3 === 0) { ws.send(new Uint8Array(i)); sent.push(`bytes:${i}`); } else { ws.send(`m${i}`); sent.push(`m${i}`); }
    await new Promise((r) => setTimeout(r, 10)); // paced: most drops find a connection
  }
  await ws.flush();
  await until(() => got.length >= sent.length);
  const closed = next(ws, 'close');
  ws.close();
  const e = await closed;
  assertEqual({ got, resumed: resumed >= 1, lost, clean: e.wasClean }, { got: sent, resumed: true, lost: 0, clean: true }, 'echoes and events');
});

// Node and Bun have no Web Locks: a shared socket connects by itself there. Deno has Web Locks
// and BroadcastChannel: it shares (here with nobody), and says so.
const CAN_SHARE = !!globalThis.navigator?.locks && typeof BroadcastChannel === 'function';
test(`share: ws-tether/share loads here, where a shared socket ${CAN_SHARE ? 'holds the lock and connects' : 'connects by itself'} and says so`, async () => {
  const { default: initShare } = await import(pathToFileURL(join(ROOT, 'pkg/consumer/app/node_modules/ws-tether/share.js')));
  await initShare();
  const ws = make('/echo', { share: true });
  const holder = await next(ws, 'holder');
  const got = messages(ws);
  await next(ws, 'open');
  ws.send('alone');
  await until(() => got.length === 1);
  assertEqual([holder.detail.shared, ws.holder.shared, ws.holder.self, got], [CAN_SHARE, CAN_SHARE, true, ['alone']], 'holder and echo');
  ws.close();  // `share: false` is a socket of its own, as without the option.
  const own = make('/echo', { share: false });
  const ownGot = messages(own);
  await next(own, 'open');
  own.send('own');
  await until(() => ownGot.length === 1);
  assertEqual([own.holder, ownGot], [null, ['own']], 'share: false');
  own.close();
});

test('startClosed: CLOSED until reconnect(), then it dials; debug logs the decisions', async () => {
  const decisions = [];
  const ws = make('/echo', { startClosed: true, debug: (name) => decisions.push(name) });
  const got = messages(ws);
  const before = [ws.readyState, ws.send('held'), decisions.length];
  ws.reconnect();
  await until(() => got.length === 1);
  ws.close();
  assertEqual({ before, got, dialled: decisions.includes('dial') }, { before: [3, 'queued', 0], got: ['held'], dialled: true }, 'state, echo, decisions');
});
