// No init step (issue #23), in one browser engine (ENGINE; see engines.mjs): a socket created
// before the wasm is loaded, each case on a fresh page that imports the package and never
// calls init() (or calls it the ways the README allows), against the engine's own WebSocket
// where it has an answer. Run by scripts/test-js under node:test with the test server up.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './browser.mjs';
import { ENGINE, assertEqual, launch } from './engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test does)');
const origin = `http://${server}`;
const wsOrigin = `ws://${server}`;

// A page of the server's origin that loads nothing (the demo page at / calls init()); under
// pkg/ (git-ignored), which the server serves at /pkg/, one per engine (the lanes run at once).
const blank = `no-init-${ENGINE}.html`;
writeFileSync(join(ROOT, 'pkg', blank), '<!doctype html><meta charset="utf-8"><title>blank</title>');
// The same under a Content Security Policy, with and without what the README says it needs.
const csp = (policy) => `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${policy}"><title>csp</title>`;
writeFileSync(join(ROOT, 'pkg', `no-init-csp-${ENGINE}.html`), csp("script-src 'self'"));
writeFileSync(join(ROOT, 'pkg', `no-init-wasm-csp-${ENGINE}.html`), csp("script-src 'self' 'wasm-unsafe-eval'"));

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

/** Runs `fn(arg)` on a page of its own, where the package is imported and nothing else:
 * `window.m` is the module, `window.wasmFetched()` whether the wasm was requested yet. */
async function fresh(fn, arg, file = blank) {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/pkg/${file}`);
    await page.evaluate(async () => {
      window.m = await import('/pkg/index.js');
      window.wasmFetched = () => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm'));
      // A socket's log: each event with readyState, and a microtask a second listener queues
      // (it runs before the next event, as in the browser's own order).
      window.record = (ws, log, onEvent = () => {}) => {
        for (const type of ['open', 'message', 'error', 'close']) {
          ws.addEventListener(type, (e) => {
            const what = type === 'message' ? `:${e.data}` : type === 'close' ? `:${e.code}:${e.wasClean}` : '';
            log.push(`${type}${what}:${ws.readyState}`);
            queueMicrotask(() => log.push('µ'));
            onEvent(e);
          });
        }
      };
    });
    return await page.evaluate(fn, arg);
  } finally {
    await page.close();
  }
}

test('before the wasm is loaded: the socket connects at once; sends right after the constructor arrive in order; the events are the browser\'s', async () => {
  const got = await fresh(async (url) => {
    const run = (ours) => new Promise((resolve) => {
      const log = [];
      const ws = ours ? new window.m.ReconnectingWebSocket(url) : new WebSocket(url);
      // The browser's own socket can't send before open; ours queues.
      const outcomes = ours ? ['1', '2', '3'].map((m) => ws.send(m)) : [];
      const loaded = window.wasmFetched();
      let n = 0;
      window.record(ws, log, (e) => {
        if (e.type === 'open' && !ours) ['1', '2', '3'].forEach((m) => ws.send(m));
        if (e.type === 'message' && ++n === 3) ws.close(1000);
        if (e.type === 'close') setTimeout(() => resolve({ log, outcomes, loaded, url: ws.url }));
      });
      log.push(`state:${ws.readyState}`);
    });
    return { ours: await run(true), browser: await run(false) };
  }, `${wsOrigin}/echo`);
  assertEqual([got.ours.loaded, got.ours.outcomes], [false, ['queued', 'queued', 'queued']], 'wasm requested at construction, send outcomes');
  assertEqual(got.ours.log, got.browser.log, `ReconnectingWebSocket before init vs ${ENGINE}'s WebSocket`);
  assertEqual(got.ours.url, got.browser.url, 'url');
});

test('what the server sends before the wasm is ready is delivered in order, before the echoes of what was sent', async () => {
  const id = `noinit-flood-${ENGINE}-${Date.now()}`;
  const got = await fresh(async (url) => {
    // The wasm is held back (init() takes a promise of a Response) until the socket's own
    // WebSocket has opened and received the whole flood: a real socket, counted as it goes.
    let release;
    window.m.default(new Promise((r) => { release = () => r(fetch('/pkg/ws_tether_bg.wasm')); }));
    let received = 0;
    let opened = false;
    class Counted extends WebSocket {
      constructor(...args) {
        super(...args);
        this.addEventListener('open', () => { opened = true; });
        this.addEventListener('message', () => { received += 1; });
      }
    }
    const log = [];
    const ws = new window.m.ReconnectingWebSocket(url, [], { WebSocket: Counted });
    ws.send('a');
    ws.send('b');
    const states = [ws.readyState];
    while (!(opened && received === 3)) await new Promise((r) => setTimeout(r, 5));
    states.push(ws.readyState);
    const done = new Promise((resolve) => {
      window.record(ws, log, (e) => {
        if (e.data === 'b') ws.close(1000);
        if (e.type === 'close') setTimeout(resolve);
      });
    });
    release();
    await done;
    return { states, log };
  }, `${wsOrigin}/flood?n=3&size=4&id=${id}`);
  assertEqual(got, {
    states: [0, 0],
    log: ['open:1', 'µ', 'message:0:xx:1', 'µ', 'message:1:xx:1', 'µ', 'message:2:xx:1', 'µ', 'message:a:1', 'µ', 'message:b:1', 'µ', 'close:1000:true:3', 'µ'],
  }, 'readyState while the wasm was held back, then the events');
});

test('before the wasm is loaded: a bad URL or protocol list throws what the browser\'s WebSocket throws', async () => {
  const got = await fresh(async (url) => {
    const attempt = (make) => {
      try { make().close(); return 'accepted'; } catch (e) { return `${e.constructor.name}:${e.name}`; }
    };
    const cases = (Ctor) => [
      ...['ftp://127.0.0.1/', `${url}#frag`, 'ws://[::1', 'http://', 'ws://exa mple.com/'].map((u) => attempt(() => new Ctor(u))),
      ...[['a', 'a'], ['a b'], [''], ['chat', 'a,b'], ['é']].map((p) => attempt(() => new Ctor(url, p))),
      attempt(() => new Ctor(Symbol('url'))),
      attempt(() => new Ctor(url, [Symbol('protocol')])),
    ];
    const ours = cases(window.m.ReconnectingWebSocket);
    return { ours, browser: cases(WebSocket), loaded: window.wasmFetched() };
  }, `${wsOrigin}/echo`);
  assertEqual(got.ours, got.browser, `ReconnectingWebSocket before init vs ${ENGINE}'s WebSocket`);
  assertEqual(got.loaded, false, 'wasm requested by a constructor that threw');
});

test('before the wasm is loaded: a wrong option throws at once, naming it', async () => {
  const got = await fresh(async (url) => {
    const out = [];
    for (const options of [{ minDelay: 'soon' }, { jitter: 'lots' }, { bogus: 1 }, { heartbeat: { interval: 1000 } }]) {
      try { new window.m.ReconnectingWebSocket(url, [], options).close(); out.push('accepted'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
    }
    return out;
  }, `${wsOrigin}/echo`);
  ['minDelay', 'jitter', 'bogus', 'heartbeat'].forEach((field, i) => {
    if (!got[i].startsWith('TypeError') || !got[i].includes(`\`${field}\``)) throw new Error(`option ${field}: ${got[i]}`);
  });
});

test('before the wasm is loaded: what only the core checks (maxDelay below minDelay) ends the socket when it is ready: reported, error, close', async () => {
  const got = await fresh(async (url) => {
    const reported = [];
    window.addEventListener('error', (e) => { reported.push(`${e.error?.name}: ${e.error?.message}`); e.preventDefault(); });
    const log = [];
    const ws = new window.m.ReconnectingWebSocket(url, [], { maxDelay: 100 });
    const sent = ws.send('lost');
    await new Promise((resolve) => window.record(ws, log, (e) => { if (e.type === 'close') setTimeout(resolve); }));
    let after;
    try { ws.send('x'); after = 'sent'; } catch (e) { after = e.name; }
    return { sent, log, reported, after };
  }, `${wsOrigin}/echo`);
  assertEqual([got.sent, got.log, got.after], ['queued', ['error:3', 'µ', 'close:1006:false:3', 'µ'], 'InvalidStateError'], 'send, events, send after');
  if (got.reported.length !== 1 || !got.reported[0].startsWith('TypeError') || !got.reported[0].includes('`maxDelay`')) {
    throw new Error(`reported: ${got.reported}`);
  }
});

test('init() not awaited, then a socket: it works', async () => {
  const got = await fresh(async (url) => {
    window.m.default();
    const ws = new window.m.ReconnectingWebSocket(url);
    ws.send('hi');
    return new Promise((resolve) => { ws.onmessage = (e) => { ws.close(); resolve(e.data); }; });
  }, `${wsOrigin}/echo`);
  assertEqual(got, 'hi', 'echo');
});

test('init({ module_or_path }) loads the wasm from there', async () => {
  const got = await fresh(async (url) => {
    await window.m.default({ module_or_path: '/pkg/ws_tether_bg.wasm' });
    const ws = new window.m.ReconnectingWebSocket(url);
    ws.send('hi');
    return new Promise((resolve) => { ws.onmessage = (e) => { ws.close(); resolve(e.data); }; });
  }, `${wsOrigin}/echo`);
  assertEqual(got, 'hi', 'echo');
});

test('close() and reconnect() before the wasm is loaded', async () => {
  const got = await fresh(async (url) => {
    const closed = new window.m.ReconnectingWebSocket(url);
    closed.send('never');
    closed.close(4000, 'early');
    const closedLog = [`state:${closed.readyState}`];
    let threw;
    try { closed.send('x'); } catch (e) { threw = e.name; }
    const reconnected = new window.m.ReconnectingWebSocket(url);
    reconnected.send('once');
    reconnected.reconnect();
    const log = [];
    await Promise.all([
      new Promise((resolve) => window.record(closed, closedLog, (e) => { if (e.type === 'close') setTimeout(resolve); })),
      new Promise((resolve) => window.record(reconnected, log, (e) => { if (e.type === 'message') { reconnected.close(1000); } if (e.type === 'close') setTimeout(resolve); })),
    ]);
    return { closedLog, threw, log };
  }, `${wsOrigin}/echo`);
  // The browser's own socket closed while connecting: error, then close 1006.
  assertEqual(got, {
    closedLog: ['state:2', 'error:3', 'µ', 'close:1006:false:3', 'µ'],
    threw: 'InvalidStateError',
    log: ['open:1', 'µ', 'message:once:1', 'µ', 'close:1000:true:3', 'µ'],
  }, 'close() before the wasm, reconnect() before the wasm');
});

/** A socket on a page that loads the wasm from `source` (or the default) under page `file`:
 * its events, the close's stopReason and unsent, and how many errors were reported. */
const ending = (file, source) => fresh(async ([url, source]) => {
  const reported = [];
  window.addEventListener('error', (e) => { reported.push(e.error?.name); e.preventDefault(); });
  if (source) window.m.default(source).catch(() => {});
  const log = [];
  const ws = new window.m.ReconnectingWebSocket(url);
  ws.send('held');
  const close = await new Promise((resolve) => window.record(ws, log, (e) => {
    if (e.type === 'message') ws.close();
    if (e.type === 'close') setTimeout(() => resolve(e));
  }));
  return { log, stop: [close.stopReason, close.unsent], reported: reported.length };
}, [`${wsOrigin}/echo`, source], file);

const FAILED = { log: ['error:3', 'µ', 'close:1006:false:3', 'µ'], stop: ['gave-up', 1], reported: 1 };

test('a wasm that can\'t be loaded (a 404) ends the socket made before: error, close, the error reported', async () => {
  assertEqual(await ending(blank, '/pkg/missing.wasm'), FAILED, 'events, stopReason and unsent, errors reported');
});

test('Content Security Policy: without \'wasm-unsafe-eval\' the wasm is blocked and the socket ends; with it, it works', async () => {
  assertEqual(await ending(`no-init-csp-${ENGINE}.html`), FAILED, "script-src 'self'");
  assertEqual(await ending(`no-init-wasm-csp-${ENGINE}.html`), {
    log: ['open:1', 'µ', 'message:held:1', 'µ', 'close:1005:true:3', 'µ'], stop: ['user', 0], reported: 0,
  }, "script-src 'self' 'wasm-unsafe-eval'");
});

test('before the wasm is loaded: a Blob keeps its place, bufferedAmount counts what is held, flush() waits for it; replay: false throws; a held message the queue has no room for is reported; startClosed, a URL function and a refused connection work as after', async () => {
  const got = await fresh(async (base) => {
    const RWS = window.m.ReconnectingWebSocket;
    const received = (ws, n) => new Promise((resolve) => {
      const data = [];
      ws.binaryType = 'arraybuffer';
      ws.addEventListener('message', (e) => {
        data.push(typeof e.data === 'string' ? e.data : `bytes:${e.data.byteLength}`);
        if (data.length === n) { ws.close(); resolve(data); }
      });
    });
    // All made in this task: none of them has a core yet.
    const blob = new RWS(`${base}/echo`);
    const outcomes = [blob.send('a'), blob.send(new Blob(['bb'])), blob.send('c')];
    const buffered = blob.bufferedAmount;
    const flushed = blob.flush().then(() => 'flushed');
    const strict = new RWS(`${base}/echo`, [], { replay: false });
    let strictSend;
    try { strict.send('x'); strictSend = 'sent'; } catch (e) { strictSend = e.name; }
    strict.close();
    const later = new RWS(`${base}/echo`, [], { startClosed: true });
    const laterState = later.readyState;
    later.send('held');
    later.reconnect();
    const provided = new RWS(() => `${base}/protocols`, ['chat.v1']);
    provided.send('from a URL function');
    const small = new RWS(`${base}/echo`, [], { queueMaxBytes: 4, overflow: 'drop-newest' });
    const smallOutcomes = [small.send('aaa'), small.send('bbb')];
    const smallDropped = new Promise((r) => small.addEventListener('dropped', (e) => r(e.detail)));
    const refused = new RWS(`${base}/reject?status=403`, [], { maxRetries: 1, minDelay: 10, maxDelay: 10 });
    const refusedLog = [];
    for (const type of ['open', 'error', 'close', 'reconnecting']) refused.addEventListener(type, () => refusedLog.push(type));
    const refusedDone = new Promise((r) => refused.addEventListener('close', () => { if (refused.readyState === 3) r(); }));
    // Listening to all of them now: the wasm may load while one is awaited.
    const [blobGot, laterGot, providedGot, smallGot] = [received(blob, 3), received(later, 1), received(provided, 1), received(small, 1)];
    return {
      outcomes, buffered, strictSend, laterState, smallOutcomes,
      small: [await smallGot, await smallDropped],
      blob: await blobGot, flushed: await flushed, later: await laterGot, provided: await providedGot,
      refused: await refusedDone.then(() => refusedLog),
    };
  }, wsOrigin);
  assertEqual(got, {
    outcomes: ['queued', 'queued', 'queued'], buffered: 4, strictSend: 'InvalidStateError', laterState: 3,
    // Held, then in the core's queue when it starts: the one with no room is reported.
    smallOutcomes: ['queued', 'queued'], small: [['aaa'], { reason: 'overflow', count: 1, data: 'bbb' }],
    blob: ['a', 'bytes:2', 'c'], flushed: 'flushed', later: ['held'], provided: ['from a URL function'],
    refused: ['error', 'reconnecting', 'error', 'close'],
  }, 'what each socket did');
});
