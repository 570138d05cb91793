// The event model of the npm glue (issue #25), in one browser engine (ENGINE, see
// engines.mjs): each case runs a sequence on the engine's own WebSocket and on ours, with two
// logging listeners, and requires the same log. The second listener queues a microtask after
// each event: the browser runs it before its next event (one event per task, never nested),
// and so must we. Run by scripts/test-js under node:test with the test server up.
import { after, before, test } from 'node:test';
import { assertEqual, launch } from './engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test does)');
const origin = `http://${server}`;
const wsOrigin = `ws://${server}`;

let browser;
let page;
before(async () => {
  browser = await launch();
  page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.evaluate(async () => {
    const m = await import('/pkg/index.js');
    await m.default();
    window.RWS = m.ReconnectingWebSocket;
    const TYPES = ['open', 'message', 'error', 'close', 'reconnecting', 'reconnect', 'dropped', 'sessionlost', 'resumed'];
    // A close's reason, except for 1006, which no peer sends: its reason is ours to explain.
    const describe = (type, e) => {
      if (type === 'close') return `close:${e.code}:${e.code === 1006 ? '' : e.reason}:${e.wasClean}`;
      if (type === 'message') return `message:${typeof e.data === 'string' ? e.data : e.data.constructor.name}`;
      return type;
    };
    // Runs `source` (a function body) for our socket (`ours`) or the browser's; it creates the
    // socket, adds its own listeners and then `attach`es the two logging ones. Done 300 ms after
    // the final close (for the browser's socket its only one), to catch anything late.
    window.trace = (ours, source, args) => new Promise((resolve) => {
      const log = [];
      let finished = false;
      const unhandled = () => log.push('unhandled rejection');
      window.addEventListener('unhandledrejection', unhandled);
      const finish = () => {
        if (finished) return;
        finished = true;
        setTimeout(() => {
          window.removeEventListener('unhandledrejection', unhandled);
          clearTimeout(timeout);
          resolve(log);
        }, 300);
      };
      const timeout = setTimeout(() => { log.push('timed out'); finish(); }, 8000);
      const attach = (ws, skip = []) => {
        const types = TYPES.filter((t) => !skip.includes(t));
        for (const type of types) ws.addEventListener(type, (e) => log.push(describe(type, e)));
        for (const type of types) {
          ws.addEventListener(type, (e) => {
            log.push(`B:${type}`);
            queueMicrotask(() => log.push('µ'));
            if (type === 'close' && (!ours || e.stopReason)) finish();
          });
        }
      };
      try {
        new Function('ours', 'RWS', 'attach', 'log', 'args', source)(ours, window.RWS, attach, log, args);
      } catch (e) {
        log.push(`threw:${e.name}:${e.message}`);
        finish();
      }
    });
  });
});
after(() => browser?.close());

/** `log` without the events of `type` (both listeners' entries and the microtask after). */
const without = (type) => (log) => log.filter((e, i, a) => !(e.startsWith(`${type}`) || e === `B:${type}` || (e === 'µ' && a[i - 1] === `B:${type}`)));

const trace = (ours, source, args) => page.evaluate(([ours, source, args]) => window.trace(ours, source, args), [ours, source, args]);

/**
 * Runs `source` on the browser's socket (with `args.browser`) and on ours (`args.ours`) and
 * compares `pick(log)` of each; `pick` keeps what must agree where ours differs on purpose.
 */
async function compare(source, args = {}, pickBrowser = (l) => l, pickOurs = pickBrowser) {
  const theirs = await trace(false, source, { ...args, ...args.browser });
  const ours = await trace(true, source, { ...args, ...args.ours });
  assertEqual(pickOurs(ours), pickBrowser(theirs), 'ReconnectingWebSocket (got) vs the browser\'s WebSocket (expected)');
  return { theirs, ours };
}

// 1. close() never dispatches inside itself, and a later listener sees events in order.
test('event order: close() in a refused attempt\'s error handler gives error, then close 1006, each in its own turn', async () => {
  await compare(`
    const ws = ours ? new RWS(args.url, [], { minDelay: 60000, maxDelay: 60000 }) : new WebSocket(args.url);
    ws.addEventListener('error', () => { ws.close(); log.push('returned:' + ws.readyState); }, { once: true });
    attach(ws);`, { url: `${wsOrigin}/reject?status=403` }, (l) => l.map((e) => e.replace(/^returned:[23]$/, 'returned')));
});

test('event order: close() in a lost connection\'s close handler: a later listener sees that close first, the final one after', async () => {
  const { theirs, ours } = await compare(`
    const ws = ours ? new RWS(args.url, [], { minDelay: 60000, maxDelay: 60000 }) : new WebSocket(args.url);
    let closed = false;
    ws.addEventListener('close', () => { if (!closed) { closed = true; ws.close(); log.push('returned'); } });
    attach(ws);`, { url: `${wsOrigin}/close?code=4001&reason=kick` }, (l) => l.slice(0, 7));
  // Ours closes for good once more (its lost connection's close was not final): after the rest.
  assertEqual(ours.slice(theirs.length), ['close:1005::true', 'B:close', 'µ'], 'our final close');
});

test('event order: close() while the URL provider is pending returns CLOSING; its close comes in a later task', async () => {
  // The browser's socket is connecting: it fails with error and close 1006; ours has no socket
  // yet and closes with 1005. What must agree: nothing inside close(), one close, after.
  await compare(`
    const ws = ours ? new RWS(() => new Promise(() => {})) : new WebSocket(args.url);
    attach(ws);
    ws.close();
    log.push('returned:' + ws.readyState);
    queueMicrotask(() => log.push('microtask after close()'));`, { url: `${wsOrigin}/echo` },
  (l) => without('error')(l).map((e) => e.replace(/^close:.*/, 'close')));
});

// 2. What was sent before open is written before a close() in onopen.
test('event order: messages sent before open are all written when onopen calls close()', async () => {
  const id = `early-${Date.now()}`;
  await compare(`
    const ws = ours ? new RWS(args.url) : new WebSocket(args.url);
    const send = () => { for (const m of ['a', 'b', 'c']) ws.send(m); };
    let early = true;
    try { send(); } catch { early = false; } // the browser's socket throws before open
    ws.addEventListener('open', () => {
      if (!early) send();
      log.push('buffered:' + ws.bufferedAmount);
      ws.close(1000, 'done');
    });
    attach(ws);`, { browser: { url: `${wsOrigin}/echo?id=${id}-browser` }, ours: { url: `${wsOrigin}/echo?id=${id}-ours` } });
  for (const who of ['browser', 'ours']) {
    const stats = await (await fetch(`${origin}/stats?id=${id}-${who}`)).json();
    assertEqual(stats.messages, ['a', 'b', 'c'], `what the server received from ${who}`);
  }
});

// 3. A close() from a heartbeat function is applied whole.
test('event order: close() in a heartbeat pong function closes for good, as close() in onmessage does', async () => {
  await compare(`
    let ws;
    const pong = (d) => {
      if (d !== 'ping?') return false;
      try { ws.close(1000, 'pong'); } catch (e) { log.push('threw:' + e.name); }
      return true;
    };
    ws = ours ? new RWS(args.url, [], { heartbeat: { interval: 100, timeout: 5000, ping: 'ping?', pong } }) : new WebSocket(args.url);
    if (!ours) {
      ws.addEventListener('open', () => setTimeout(() => ws.send('ping?'), 100));
      ws.addEventListener('message', (e) => pong(e.data));
    }
    attach(ws);`, { url: `${wsOrigin}/echo` },
  // The browser's app sees its pong as a message; ours is consumed by the heartbeat.
  without('message'));
});

// 4. No announcement after close().
test('event order: close() in onopen of a reconnection: no reconnect event follows', async () => {
  await compare(`
    let n = 0;
    const ws = ours ? new RWS(() => (n++ === 0 ? args.drop : args.url), [], { minDelay: 20, maxDelay: 40 }) : new WebSocket(args.url);
    let first = !ours;
    ws.addEventListener('open', () => {
      // Ours: the first connection echoes one message, then the server drops it.
      if (!first) { first = true; ws.send('x'); return; }
      log.length = 0; // compare from the open that closes
      ws.close(1000);
    });
    attach(ws);`, { url: `${wsOrigin}/echo`, drop: `${wsOrigin}/drop?after=1` });
});

// 5. flush() settles for every kind of send.
test('event order: flush() settles after send(Blob) (the browser: bufferedAmount drains)', async () => {
  await compare(`
    const ws = ours ? new RWS(args.url) : new WebSocket(args.url);
    const drained = () => new Promise((resolve) => {
      const t = setInterval(() => { if (ws.bufferedAmount === 0) { clearInterval(t); resolve(); } }, 10);
    });
    ws.addEventListener('open', async () => {
      ws.send(new Blob(['blob!']));
      const late = new Promise((resolve) => setTimeout(() => resolve('not settled in 3 s'), 3000));
      log.push(await Promise.race([(ours ? ws.flush() : drained()).then(() => 'flushed'), late]));
      ws.close(1000);
    });
    attach(ws, ['message']);`, { url: `${wsOrigin}/silent?hold=1` }); // nothing comes back to settle it by chance
});

// 6. An exception in JavaScript never wedges the core.
test('event order: a fixed ping whose buffer was transferred does not wedge the socket', async () => {
  await compare(`
    const ping = new Uint8Array([1]);
    const ws = ours
      ? new RWS(args.url, [], { heartbeat: { interval: 50, timeout: 5000, ping, pong: (d) => typeof d !== 'string' } })
      : new WebSocket(args.url);
    ws.addEventListener('open', () => {
      setTimeout(() => structuredClone(ping.buffer, { transfer: [ping.buffer] }), 100);
      setTimeout(() => {
        log.push('state:' + ws.readyState);
        try { ws.send('x'); } catch (e) { log.push('send:' + e.name); }
      }, 400);
    });
    ws.addEventListener('message', (e) => { if (e.data === 'x') ws.close(1000); });
    attach(ws);`, { url: `${wsOrigin}/echo` });
});

// 7. A user function failing with a value that has no text fails the attempt at once.
for (const [what, option] of [
  ['URL provider', 'url: () => Promise.reject(Object.create(null))'],
  ['handshake hook', 'handshake: () => Promise.reject(Object.create(null))'],
]) {
  test(`event order: a ${what} rejecting with Object.create(null) fails the attempt at once, like a refused one`, async () => {
    await compare(`
      const o = { ${option} };
      const ws = ours ? new RWS(o.url ?? args.echo, [], { maxRetries: 0, connectTimeout: 30000, handshake: o.handshake }) : new WebSocket(args.url);
      attach(ws);`, { url: `${wsOrigin}/reject?status=403`, echo: `${wsOrigin}/echo` });
  });
}

// 8. bufferedAmount keeps counting after close().
for (const resume of [false, true]) {
  test(`event order: bufferedAmount after close() still counts what was sent${resume ? ' (ours with resume: what is unacknowledged)' : ''}`, async () => {
    await compare(`
      const ws = ours ? new RWS(args.url, [], { resume: args.resume }) : new WebSocket(args.url);
      ws.addEventListener('open', () => {
        const chunk = new Uint8Array(200 * 1024); // the queue's bound (1 MiB) covers them with resume
        for (let i = 0; i < 4; i += 1) ws.send(chunk);
        log.push('before close:' + (ws.bufferedAmount >= 4 * chunk.length));
        ws.close(1000);
        log.push('after close():' + (ws.bufferedAmount >= 4 * chunk.length));
      });
      attach(ws, ['message']);`, {
      browser: { url: `${wsOrigin}/echo` },
      ours: { url: resume ? `${wsOrigin}/resume?id=buffered-${Date.now()}` : `${wsOrigin}/echo`, resume },
    });
  });
}
