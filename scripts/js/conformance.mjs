// The JavaScript package in one browser engine (ENGINE: chromium, firefox or webkit; see
// engines.mjs): each WebSocket API case run against that engine's own WebSocket and our
// ReconnectingWebSocket must give the same observable result there; then the features
// beyond the drop-in. Run by scripts/test-js under node:test with the test server up.
import { after, before, test } from 'node:test';
import { ENGINE, assertEqual, launch } from './engines.mjs';

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
    // A stray close() on a stale handle would land on window: catch it instead of losing the page.
    window.closeCalls = [];
    window.close = (...args) => window.closeCalls.push(`${JSON.stringify(args)} ${new Error().stack}`);
    const m = await import('/pkg/index.js');
    await m.default();
    window.RWS = m.ReconnectingWebSocket;
    // Runs one scenario with a constructor; returns what a script could observe.
    window.observe = (Ctor, url, protocols, options, script) => new Promise((resolve) => {
      const log = [];
      let ws;
      const make = () => (Ctor === WebSocket ? new WebSocket(url, protocols) : new Ctor(url, protocols, options));
      try { ws = make(); } catch (e) { resolve({ threw: e.name }); return; }
      log.push(`state:${ws.readyState}`);
      const done = () => resolve({ log, url: ws.url, protocol: ws.protocol });
      ws.addEventListener('open', () => log.push(`open:${ws.readyState}`));
      ws.addEventListener('error', () => log.push(`error:${ws.readyState}`));
      ws.addEventListener('message', (e) => log.push(`message:${typeof e.data === 'string' ? e.data : e.data.constructor.name}`));
      ws.addEventListener('close', (e) => { log.push(`close:${e.code}:${e.reason}:${e.wasClean}:${ws.readyState}`); done(); });
      script(ws, log, done);
    });
  });
});
after(() => browser?.close());

// `defect`: { [engine]: [why, what ours must observe instead] } for a case where an engine's
// own WebSocket breaks the standard and ours does not copy the breakage; or [why, f] where
// the engine's own result varies from run to run: f(result) keeps what must still agree.
function both(name, url, protocols, options, scriptSource, defect = {}) {
  test(`conformance: ${name}`, async () => {
    const run = (which) => page.evaluate(async ([which, url, protocols, options, scriptSource]) => {
      const script = new Function('ws', 'log', 'done', scriptSource);
      return window.observe(which === 'browser' ? WebSocket : window.RWS, url, protocols, options, script);
    }, [which, url, protocols, options, scriptSource]);
    const browserResult = await run('browser');
    const ours = await run('ours');
    const [why, expected] = defect[ENGINE] ?? [];
    if (typeof expected === 'function') {
      assertEqual(expected(ours), expected(browserResult), `ReconnectingWebSocket vs ${ENGINE}'s WebSocket (${why})`);
    } else if (expected) {
      assertEqual(ours, expected, `ReconnectingWebSocket in ${ENGINE} (its own WebSocket ${why})`);
    } else {
      assertEqual(ours, browserResult, `ReconnectingWebSocket vs ${ENGINE}'s WebSocket`);
    }
  });
}

// Constructor errors and URL handling.
for (const url of ['ftp://127.0.0.1/', `${wsOrigin}/echo#frag`, 'ws://[::1', 'http://', 'ws://exa mple.com/']) {
  both(`constructor rejects ${url}`, url, undefined, undefined, 'done()');
}
both('http URLs become ws, relative URLs resolve', `${origin}/echo`, undefined, undefined, 'ws.close(1000); ');
both('relative URL', '/echo', undefined, undefined, 'ws.close(1000)');
for (const protocols of [['a', 'a'], ['a b'], [''], ['chat', 'a,b']]) {
  both(`constructor rejects protocols ${JSON.stringify(protocols)}`, `${wsOrigin}/echo`, protocols, undefined, 'done()');
}
// close() argument errors, checked while connecting as browsers do.
both('close argument errors', `${wsOrigin}/echo`, undefined, undefined, `
  for (const args of [[1001], [999], [2999], [5000], [0], [1000, 'x'.repeat(124)], [3000, '€'.repeat(42)]]) {
    try { ws.close(...args); log.push('closed?'); } catch (e) { log.push(args[0] + ':' + e.name); }
  }
  ws.close(1000);`);
// readyState sequence and event order in a whole session.
both('readyState and event order', `${wsOrigin}/echo`, undefined, { maxRetries: 0 }, `
  ws.addEventListener('open', () => ws.send('hi'));
  ws.addEventListener('message', () => { ws.close(4000, 'bye'); log.push('after close():' + ws.readyState); });`);
both('close() with no code while open', `${wsOrigin}/echo`, undefined, undefined, `
  ws.addEventListener('open', () => ws.close());`);
both('close() while connecting', `${wsOrigin}/echo`, undefined, undefined, 'ws.close()');
both('server close with an application code', `${wsOrigin}/close?code=4001&reason=kick`, undefined, { maxRetries: 0 }, '');
both('refused handshake', `${wsOrigin}/reject?status=403`, undefined, { maxRetries: 0 }, '');
both('subprotocol selection', `${wsOrigin}/protocols`, ['chat.v2', 'chat.v1'], undefined, `
  ws.addEventListener('open', () => { log.push('protocol:' + ws.protocol); ws.close(1000); });`);
both('binaryType blob (default) and arraybuffer', `${wsOrigin}/echo`, undefined, undefined, `
  log.push('type:' + ws.binaryType);
  ws.binaryType = 'nonsense';
  log.push('type:' + ws.binaryType);
  let n = 0;
  ws.addEventListener('open', () => ws.send(new Uint8Array([1, 2, 3])));
  ws.addEventListener('message', () => {
    n += 1;
    if (n === 1) { ws.binaryType = 'arraybuffer'; ws.send(new Uint8Array([4]).buffer); }
    else ws.close(1000);
  });`);
both('send before open (ours with replay: false)', `${wsOrigin}/echo`, undefined, { replay: false }, `
  try { ws.send('early'); log.push('sent'); } catch (e) { log.push('send:' + e.name); }
  ws.close(1000);`);
both('on<event> handlers and { once }', `${wsOrigin}/echo`, undefined, undefined, `
  let onmessage = 0, once = 0;
  ws.onopen = () => { ws.send('a'); ws.send('b'); };
  ws.onmessage = () => { onmessage += 1; if (onmessage === 2) { log.push('onmessage:2 once:' + once); ws.close(1000); } };
  ws.addEventListener('message', () => { once += 1; }, { once: true });
  log.push('handler:' + (typeof ws.onopen));`);
both('constants', `${wsOrigin}/echo`, undefined, undefined, `
  log.push([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED, ws.constructor.OPEN].join(','));
  ws.close(1000);`);

// close() arguments as WebIDL converts them ([Clamp] unsigned short, optional arguments).
for (const args of ['1000.5', '3000.5, "r"', '3001.5, "r"', '3000.7', '4999.4', '1000, undefined']) {
  both(`close(${args}) sends what the browser sends`, `${wsOrigin}/echo`, undefined, undefined, `
    ws.addEventListener('open', () => {
      try { ws.close(${args}); log.push('closing:' + ws.readyState); } catch (e) { log.push('threw:' + e.name); }
    });`);
}
for (const args of ['null', 'undefined, "bye"', 'NaN', '-1', '66536', '"1000"', '"abc"', 'undefined']) {
  both(`close(${args}) while connecting`, `${wsOrigin}/echo`, undefined, undefined, `
    try { ws.close(${args}); log.push('closing:' + ws.readyState); } catch (e) { log.push('threw:' + e.name); ws.close(); }`);
}
// send() arguments: what throws, and what is sent.
both('send() argument conversion', `${wsOrigin}/echo`, undefined, undefined, `
  ws.binaryType = 'arraybuffer';
  const detached = new ArrayBuffer(8);
  structuredClone(detached, { transfer: [detached] });
  let shared = null;
  try { shared = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer; } catch {}
  const cases = [
    ['none', () => ws.send()],
    ['symbol', () => ws.send(Symbol('s'))],
    ['number', () => ws.send(42)],
    ['null', () => ws.send(null)],
    ['object', () => ws.send({ toString() { return 'custom'; } })],
    ['detached', () => ws.send(detached)],
    ['shared', () => ws.send(shared ?? new ArrayBuffer(1))],
    ['shared view', () => ws.send(new Uint8Array(shared ?? new ArrayBuffer(1)))],
  ];
  let expected = 0;
  ws.addEventListener('message', (e) => {
    log.push('got:' + (typeof e.data === 'string' ? e.data : 'bytes' + e.data.byteLength));
    if (--expected === 0) ws.close(1000);
  });
  ws.addEventListener('open', () => {
    for (const [name, f] of cases) {
      try { f(); expected += 1; log.push(name + ':sent'); } catch (e) { log.push(name + ':' + e.name); }
    }
    log.push('shared memory available:' + (shared !== null));
  });`);
both('new WebSocket() without arguments, toString tag, constructor length', `${wsOrigin}/echo`, undefined, undefined, `
  const Ctor = ws.constructor;
  try { new Ctor(); log.push('constructed'); } catch (e) { log.push('no url:' + e.name); }
  log.push('tag:' + Object.prototype.toString.call(ws), 'length:' + Ctor.length);
  ws.close();`);
// A Blob keeps its place; close() waits for it; bufferedAmount counts it at once.
const blobId = `blob-order-${Date.now()}`;
// WebKit's own socket closes at once, uncleanly, and loses the Blob and what follows it.
const BLOB_DEFECT = 'closes without sending a Blob still being read, or anything after it';
const blobOrder = {
  log: ['state:0', 'open:1', 'buffered counts the blob:true', 'state after close:2', 'close:1000:bye:true:3'],
  url: `${wsOrigin}/echo?id=${blobId}`,
  protocol: '',
};
both('send text, Blob, text, close: all three delivered in order, then the close', `${wsOrigin}/echo?id=${blobId}`, undefined, undefined, `
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('message', (e) => log.push('got:' + (typeof e.data === 'string' ? e.data : 'bytes' + e.data.byteLength)));
  ws.addEventListener('open', () => {
    ws.send('before');
    ws.send(new Blob(['blob!']));
    log.push('buffered counts the blob:' + (ws.bufferedAmount >= 5 + 6));
    ws.send('after');
    ws.close(1000, 'bye');
    log.push('state after close:' + ws.readyState);
  });`, { webkit: [BLOB_DEFECT, blobOrder] });
test('send text, Blob, text, close: the server got all three, in order, from both', async () => {
  const stats = await (await fetch(`${origin}/stats?id=${blobId}`)).json();
  const three = ['before', '<binary 5 bytes>', 'after'];
  if (ENGINE === 'webkit') {
    // WebKit's own socket sent only 'before' (BLOB_DEFECT); ours sent all three.
    assertEqual(stats.messages, ['before', ...three], `messages the server received (WebKit's, then ours)`);
  } else {
    assertEqual(stats.messages, [...three, ...three], 'messages the server received (browser, then ours)');
  }
});
both('a connection the browser fails after it opened: error, then close 1006', `${wsOrigin}/garbage`, undefined, { maxRetries: 0 }, '', {
  firefox: ['fires open for this connection in some runs and not in others', (r) => ({ ...r, log: r.log.filter((e) => e !== 'open:1') })],
});
both('MessageEvent.origin; an object as onmessage', `${wsOrigin}/echo`, undefined, undefined, `
  const handler = { handleEvent() { log.push('handleEvent called'); } };
  ws.onmessage = handler;
  log.push('reads back:' + (ws.onmessage === handler));
  ws.addEventListener('message', (e) => { log.push('origin:' + e.origin); ws.close(1000); });
  ws.addEventListener('open', () => ws.send('x'));`);
both('send and close from another realm (an iframe)', `${wsOrigin}/echo`, undefined, undefined, `
  const frame = document.createElement('iframe');
  document.body.append(frame);
  const other = frame.contentWindow;
  ws.binaryType = 'arraybuffer';
  let n = 0;
  ws.addEventListener('message', (e) => {
    log.push('got:' + (typeof e.data === 'string' ? e.data : 'bytes' + e.data.byteLength));
    if (++n === 3) { frame.remove(); ws.close(1000); }
  });
  ws.addEventListener('open', () => {
    ws.send(new other.ArrayBuffer(3));
    ws.send(new other.Uint8Array(4));
    ws.send(new other.Blob(['12345']));
  });`);

// Beyond the drop-in.
test('options: a wrong value throws a TypeError naming the field', async () => {
  const got = await page.evaluate(() => {
    const out = [];
    for (const options of [{ minDelay: 'soon' }, { jitter: 'lots' }, { heartbeat: { interval: 1 } }, { bogus: 1 }, { factor: 0.5 }]) {
      try { new window.RWS('ws://127.0.0.1:1/', [], options).close(); out.push('accepted'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
    }
    return out;
  });
  const fields = ['minDelay', 'jitter', 'heartbeat', 'bogus', 'factor'];
  got.forEach((message, i) => {
    if (!message.startsWith('TypeError') || !message.includes(fields[i])) throw new Error(`option ${fields[i]}: ${message}`);
  });
  if (!got[1].includes('"full"')) throw new Error(`jitter error does not say what is allowed: ${got[1]}`);
});

test('reconnects after a drop, queues while down, fires reconnecting/reconnect', async () => {
  const id = `js-${Date.now()}`;
  const result = await page.evaluate(async ([url]) => {
    const log = [];
    // The retry waits >= 300 ms, so sends right after 'reconnecting' are queued.
    const ws = new window.RWS(url, [], { minDelay: 300, maxDelay: 400 });
    ws.addEventListener('reconnecting', (e) => log.push(`reconnecting:${e.detail.attempt}:${e.detail.code}`));
    ws.addEventListener('reconnect', () => log.push('reconnect'));
    ws.addEventListener('close', (e) => log.push(`close:${e.code}`));
    const received = [];
    ws.addEventListener('message', (e) => received.push(e.data));
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    const outcomes = [ws.send('before')];
    await new Promise((r) => ws.addEventListener('message', r, { once: true }));
    // Listen before dropping: the drop may be seen before fetch() returns.
    const reconnecting = new Promise((r) => ws.addEventListener('reconnecting', r, { once: true }));
    const reconnected = new Promise((r) => ws.addEventListener('reconnect', r, { once: true }));
    await fetch('/control/drop-all');
    await reconnecting;
    outcomes.push(ws.send('while-down-1'), ws.send('while-down-2'));
    const state = ws.readyState;
    await reconnected;
    while (received.length < 3) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    return { log, received, outcomes, state, retryCount: ws.retryCount };
  }, [`${wsOrigin}/echo?id=${id}`]);
  assertEqual(result.outcomes, ['written', 'queued', 'queued'], 'send outcomes');
  assertEqual(result.state, 0, 'readyState while reconnecting');
  assertEqual(result.received, ['before', 'while-down-1', 'while-down-2'], 'echoes');
  assertEqual(result.log.slice(0, 3), ['close:1006', 'reconnecting:1:1006', 'reconnect'], 'events');
});

test('send(Blob) keeps its place before later sends; reconnect() dials again', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url);
    ws.binaryType = 'arraybuffer';
    const received = [];
    ws.addEventListener('message', (e) => received.push(typeof e.data === 'string' ? e.data : `bytes:${e.data.byteLength}`));
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ws.send(new Blob([new Uint8Array(1000)]));
    ws.send('after the blob');
    while (received.length < 2) await new Promise((r) => setTimeout(r, 10));
    const reopened = new Promise((r) => ws.addEventListener('reconnect', r, { once: true }));
    ws.reconnect();
    await reopened;
    ws.send('after reconnect()');
    while (received.length < 3) await new Promise((r) => setTimeout(r, 10));
    ws.close();
    return { received, retryCount: ws.retryCount };
  }, [`${wsOrigin}/echo`]);
  assertEqual(got.received, ['bytes:1000', 'after the blob', 'after reconnect()'], 'echo order');
  assertEqual(got.retryCount, 0, 'retryCount after a forced reconnect');
});

test('async iteration yields every message until closed', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url);
    const out = [];
    for await (const data of ws) {
      out.push(data);
      if (out.length === 100) ws.close();
    }
    return out;
  }, [`${wsOrigin}/flood?n=100&size=8`]);
  assertEqual(got.length, 100, 'messages');
  assertEqual(got[99].startsWith('99:'), true, 'last message');
});

test('heartbeat reports rtt; a URL provider is asked on every attempt', async () => {
  const got = await page.evaluate(async ([base]) => {
    let calls = 0;
    const ws = new window.RWS(async () => { calls += 1; return `${base}/drop?after=0&n=${calls}`; }, [], { minDelay: 20, maxDelay: 50 });
    await new Promise((r) => { let n = 0; ws.addEventListener('reconnecting', () => { n += 1; if (n === 3) r(); }); });
    ws.close();
    const hb = new window.RWS(`${base}/echo`, [], { heartbeat: { interval: 50, timeout: 1000 } });
    const rtt = await new Promise((r) => hb.addEventListener('rtt', (e) => r(e.detail), { once: true }));
    hb.close();
    return { calls, rtt, getter: typeof hb.rtt };
  }, [wsOrigin]);
  if (got.calls < 3) throw new Error(`provider called ${got.calls} times`);
  if (!(got.rtt >= 0 && got.rtt < 1000)) throw new Error(`rtt ${got.rtt}`);
  assertEqual(got.getter, 'number', 'rtt getter');
});

test('policy functions: calling the socket from one throws InvalidStateError; a throwing backoff stops', async () => {
  const got = await page.evaluate(async ([url]) => {
    const seen = [];
    const ws = new window.RWS(url, [], {
      closePolicy: (close) => {
        try { ws.send('from the policy'); seen.push('sent'); } catch (e) { seen.push(e.name); }
        seen.push(`state:${ws.readyState} code:${close.code} wasOpen:${close.wasOpen}`);
        return true;
      },
      backoff: () => { throw new Error('no more'); },
    });
    const code = await new Promise((r) => ws.addEventListener('close', (e) => r(e.code), { once: true }));
    let after;
    try { ws.send('after'); after = 'sent'; } catch (e) { after = e.name; }
    return { seen, code, state: ws.readyState, after };
  }, [`${wsOrigin}/close?code=4001&reason=kick`]);
  assertEqual(got.seen, ['InvalidStateError', 'state:0 code:4001 wasOpen:true'], 'inside the policy');
  assertEqual([got.code, got.state, got.after], [4001, 3, 'InvalidStateError'], 'stopped after the backoff threw');
});

// Only Chromium lets a page force a collection (window.gc with --expose-gc); Firefox and
// WebKit run FinalizationRegistry callbacks whenever they collect, maybe never in a test.
const forcedGc = ENGINE === 'chromium' || `${ENGINE} has no window.gc() to force a collection`;
test('closed and given-up sockets leave no timer or listener behind: all are garbage collected', { skip: forcedGc !== true && forcedGc }, async () => {
  const got = await page.evaluate(async ([base]) => {
    let collected = 0;
    const alive = new Set();
    const registry = new FinalizationRegistry((i) => { collected += 1; alive.delete(i); });
    const n = 40;
    // One socket's whole life, in its own function so no variable of the test holds it.
    const live = async (i) => {
      // Even: open with a heartbeat, then close(). Odd: the server closes and the policy stops.
      const ws = i % 2 === 0
        ? new window.RWS(`${base}/echo`, [], { heartbeat: { interval: 1000, timeout: 1000 } })
        : new window.RWS(`${base}/close?code=4001`, [], { maxRetries: 0, heartbeat: { interval: 1000, timeout: 1000 } });
      registry.register(ws, i);
      alive.add(i);
      const closed = new Promise((r) => ws.addEventListener('close', () => r(), { once: true }));
      if (i % 2 === 0) {
        await new Promise((r) => ws.addEventListener('open', () => r(), { once: true }));
        ws.close();
      }
      await closed;
    };
    for (let i = 0; i < n; i += 1) await live(i);
    for (let round = 0; round < 40 && collected < n; round += 1) {
      window.gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    return { collected, n, alive: [...alive] };
  }, [wsOrigin]);
  assertEqual(got.collected, got.n, `sockets collected (still alive: ${got.alive.join(', ') || 'none'})`);
});

test('options: limits and cross-field rules are named in JavaScript terms; an iframe\'s object is accepted', async () => {
  const got = await page.evaluate(() => {
    const out = [];
    for (const options of [{ minDelay: 5000, maxDelay: 1000 }, { maxRetries: 2 ** 32 }, { minDelay: 0 }, { connectTimeout: 0 }]) {
      try { new window.RWS('ws://127.0.0.1:1/', [], options).close(); out.push('accepted'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
    }
    const frame = document.createElement('iframe');
    document.body.append(frame);
    try { new window.RWS('ws://127.0.0.1:1/', [], frame.contentWindow.eval('({ minDelay: 100 })')).close(); out.push('accepted'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
    frame.remove();
    return out;
  });
  const [order, big, zero, timeout, iframe] = got;
  if (!order.includes('maxDelay') || !order.includes('minDelay') || order.includes('backoff')) throw new Error(order);
  if (!big.includes('maxRetries') || !big.includes('4294967295')) throw new Error(big);
  if (!zero.startsWith('TypeError') || !zero.includes('minDelay') || !zero.includes('above 0')) throw new Error(zero);
  if (!timeout.includes('connectTimeout')) throw new Error(timeout);
  assertEqual(iframe, 'accepted', 'options from an iframe');
});

test('close() while the URL provider is pending: CLOSING at once, closed in a later task', async () => {
  const got = await page.evaluate(async () => {
    const ws = new window.RWS(() => new Promise(() => {}), [], { connectTimeout: 60000 });
    const events = [];
    ws.addEventListener('close', (e) => events.push(`close:${e.code}:${e.stopReason}`));
    ws.addEventListener('reconnecting', () => events.push('reconnecting'));
    ws.close();
    const state = ws.readyState;
    await new Promise((r) => setTimeout(r, 50));
    return { state, events };
  });
  // As the browser's socket after close(): CLOSING until its close event is dispatched.
  assertEqual(got, { state: 2, events: ['close:1005:user'] }, 'closed at once');
});

test('close() from a close handler: nothing follows the final close', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, [], { minDelay: 50, maxDelay: 60 });
    const events = [];
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ws.addEventListener('reconnecting', () => events.push('reconnecting'));
    ws.addEventListener('close', (e) => { events.push(`close:${e.code}:${e.stopReason ?? 'lost'}`); if (events.length === 1) ws.close(); });
    await fetch('/control/drop-all');
    await new Promise((r) => setTimeout(r, 300));
    return { events, state: ws.readyState };
  }, [`${wsOrigin}/echo?id=reentrant-${Date.now()}`]);
  assertEqual(got, { events: ['close:1006:lost', 'close:1005:user'], state: 3 }, 'events');
});

test('close() after the policy stopped fires no second close', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url);
    const events = [];
    ws.addEventListener('close', (e) => events.push(`close:${e.code}:${e.stopReason}:${e.unsent}`));
    await new Promise((r) => ws.addEventListener('close', r, { once: true }));
    ws.close();
    await new Promise((r) => setTimeout(r, 50));
    return { events, state: ws.readyState };
  }, [`${wsOrigin}/close?code=4401&reason=no`]);
  assertEqual(got, { events: ['close:4401:policy:0'], state: 3 }, 'one close');
});

test('a connection lost while offline fires close, then reconnecting (offline); online again reconnects', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, [], { minDelay: 50, maxDelay: 60 });
    const events = [];
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ws.addEventListener('close', (e) => events.push(`close:${e.code}`));
    ws.addEventListener('reconnecting', (e) => events.push(`reconnecting:offline=${e.detail.offline}:delay=${e.detail.delay}:code=${e.detail.code}`));
    ws.addEventListener('reconnect', () => events.push('reconnect'));
    window.dispatchEvent(new Event('offline'));
    const lost = new Promise((r) => ws.addEventListener('reconnecting', r, { once: true }));
    await fetch('/control/drop-all');
    await lost;
    const state = ws.readyState;
    await new Promise((r) => setTimeout(r, 200));
    events.push(`still waiting:${ws.readyState}`);
    const back = new Promise((r) => ws.addEventListener('reconnect', r, { once: true }));
    window.dispatchEvent(new Event('online'));
    await back;
    ws.close();
    return { events, state };
  }, [`${wsOrigin}/echo?id=offline-${Date.now()}`]);
  assertEqual(got, {
    events: ['close:1006', 'reconnecting:offline=true:delay=null:code=1006', 'still waiting:0', 'reconnect'],
    state: 0,
  }, 'events');
});

test('nothing dropped silently: drop-oldest reports each drop; the final close counts the unsent', async () => {
  const got = await page.evaluate(async () => {
    // Port 1 refuses: the socket never opens, so every send is queued.
    const ws = new window.RWS('ws://127.0.0.1:1/', [], { minDelay: 60000, maxDelay: 60000, queueMaxBytes: 100, overflow: 'drop-oldest' });
    let dropped = 0;
    ws.addEventListener('dropped', (e) => { if (e.detail.reason === 'overflow') dropped += e.detail.count; });
    const outcomes = new Set();
    for (let i = 0; i < 15; i += 1) outcomes.add(ws.send(`message ${String(i).padStart(2, '0')}`)); // 10 bytes each
    const close = new Promise((r) => ws.addEventListener('close', (e) => r([e.stopReason, e.unsent]), { once: true }));
    ws.close();
    // The drops are dispatched after the sends (never inside one), before the final close.
    const final = await close;
    return { dropped, outcomes: [...outcomes], final };
  });
  assertEqual(got, { dropped: 5, outcomes: ['queued'], final: ['user', 10] }, '15 sent = 5 dropped + 10 unsent');
});

test('a connection the browser refuses ends in error and a retry, every time, then gives up', async () => {
  // Port 1: nobody listens and browsers refuse the port. WebKit's own socket fires error
  // and no close here; ours must still end each attempt, retry and stop on schedule.
  const got = await page.evaluate(async () => {
    const ws = new window.RWS('ws://127.0.0.1:1/', [], { minDelay: 20, maxDelay: 40, maxRetries: 2 });
    const events = [];
    ws.addEventListener('error', () => events.push(`error:${ws.readyState}`));
    ws.addEventListener('reconnecting', (e) => events.push(`reconnecting:${e.detail.attempt}:${e.detail.code}:${e.detail.wasOpen}`));
    const close = await new Promise((r) => ws.addEventListener('close', (e) => r(`close:${e.code}:${e.stopReason}`), { once: true }));
    return { events, close, state: ws.readyState };
  });
  assertEqual(got, {
    events: ['error:0', 'reconnecting:1:1006:false', 'error:0', 'reconnecting:2:1006:false', 'error:3'],
    close: 'close:1006:gave-up',
    state: 3,
  }, 'events');
});

test('send(Blob) after close() throws; a Blob larger than the queue throws at once', async () => {
  const got = await page.evaluate(async () => {
    const out = [];
    const down = new window.RWS('ws://127.0.0.1:1/', [], { minDelay: 60000, maxDelay: 60000 });
    try { down.send(new Blob([new Uint8Array(2 * 1024 * 1024)])); out.push('queued'); } catch (e) { out.push(e.name); }
    down.close();
    try { down.send(new Blob(['x'])); out.push('queued'); } catch (e) { out.push(e.name); }
    return out;
  });
  assertEqual(got, ['QuotaExceededError', 'InvalidStateError'], 'send outcomes');
});

test('resume: connections the server drops lose nothing either way; flush() waits for the acks', async () => {
  const id = `resume-js-${Date.now()}`;
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, undefined, { resume: true, minDelay: 20, maxDelay: 50, heartbeat: { interval: 2000, timeout: 2000 } });
    ws.binaryType = 'arraybuffer';
    const received = [];
    const events = { resumed: 0, lost: 0 };
    ws.addEventListener('resumed', () => { events.resumed += 1; });
    ws.addEventListener('sessionlost', () => { events.lost += 1; });
    const all = new Promise((resolve) => ws.addEventListener('message', (e) => {
      received.push(typeof e.data === 'string' ? e.data : `bin:${[...new Uint8Array(e.data)].join(',')}`);
      if (received.length === 40) resolve();
    }));
    const sent = [];
    for (let i = 1; i <= 40; i += 1) {
      if (i % 4 === 0) { ws.send(new Uint8Array([i, 0, 1])); sent.push(`bin:${i},0,1`); } else { ws.send(`m${i}`); sent.push(`m${i}`); }
      await new Promise((r) => setTimeout(r, 10)); // paced: most drops find a connection
    }
    await ws.flush();
    await all;
    ws.close();
    return { inOrder: JSON.stringify(received) === JSON.stringify(sent), count: received.length, resumed: events.resumed >= 1, lost: events.lost };
  }, [`${wsOrigin}/resume?id=${id}&drop_every=5`]);
  // How many drops find a connection depends on timing: at least one did, and was resumed.
  assertEqual(got, { inOrder: true, count: 40, resumed: true, lost: 0 }, 'echoes');
});

test('resume: flush() resolves only once the server application has finished with every message', async () => {
  // The server acknowledges what its application has finished with; this one takes 1.5 s over
  // the first message, and acknowledges after the echoes on the same connection.
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, undefined, { resume: true });
    const received = [];
    ws.addEventListener('message', (e) => received.push(e.data));
    ['h1', 'h2', 'h3'].forEach((m) => ws.send(m));
    await ws.flush();
    const atFlush = [...received];
    ws.close();
    return atFlush;
  }, [`${wsOrigin}/resume?id=resume-hold-js-${Date.now()}&hold_ms=1500`]);
  assertEqual(got, ['h1', 'h2', 'h3'], 'echoes received when flush() resolved');
});

test('resume: a server without the protocol (an echo) stops the socket with 1002; flush() rejects', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, undefined, { resume: true, minDelay: 20, maxDelay: 50 });
    const close = await new Promise((r) => ws.addEventListener('close', (e) => r([e.code, e.stopReason, e.reason]), { once: true }));
    let flushed = '';
    await ws.flush().then(() => { flushed = 'resolved'; }, (e) => { flushed = e.name; });
    return { close, flushed };
  }, [`${wsOrigin}/echo?id=resume-plain-${Date.now()}`]);
  assertEqual(got, { close: [1002, 'policy', 'the server does not speak tether.resume.v1'], flushed: 'InvalidStateError' }, 'outcome');
});

test('resume: sessionlost hands back the unconfirmed messages themselves, as sent (a Blob as its bytes)', async () => {
  // The server's application holds the first message 5 s, so nothing is acknowledged when the
  // server drops the connection; the close policy then stops instead of resuming.
  const id = `resume-lost-js-${Date.now()}`;
  const got = await page.evaluate(async ([url, id]) => {
    const ws = new window.RWS(url, undefined, { resume: true, closePolicy: () => false });
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ws.send('text');
    ws.send(new Uint8Array([1, 2, 3]).buffer);
    ws.send(new Uint8Array([9, 4, 5, 6, 9]).subarray(1, 4));
    ws.send(new Blob([new Uint8Array([7, 8])]));
    await new Promise((r) => setTimeout(r, 300)); // all written, the Blob read
    const lost = new Promise((r) => ws.addEventListener('sessionlost', (e) => r(e.detail), { once: true }));
    await fetch(`/control/drop-all?id=${id}`);
    const { reason, missed, unconfirmed } = await lost;
    const show = (m) => (typeof m === 'string' ? m : `${Object.prototype.toString.call(m)}:${[...new Uint8Array(m)]}`);
    return { reason, missed, unconfirmed: Array.isArray(unconfirmed) ? unconfirmed.map(show) : unconfirmed };
  }, [`${wsOrigin}/resume?id=${id}&hold_ms=5000`, id]);
  assertEqual(got, {
    reason: 'stopped',
    missed: null,
    unconfirmed: ['text', '[object ArrayBuffer]:1,2,3', '[object ArrayBuffer]:4,5,6', '[object ArrayBuffer]:7,8'],
  }, 'sessionlost detail');
});

test('resume: close() sends end after every message; the server processes them all and ends the session; the close is clean', async () => {
  // The regression test of issue #20 finding 19 (the glue used to close the browser socket
  // first: `end` was refused, the close said 1006 and the server kept the session).
  const id = `resume-end-js-${Date.now()}`;
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, undefined, { resume: true });
    let lost = 0;
    ws.addEventListener('sessionlost', () => { lost += 1; });
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ['e1', 'e2', 'e3'].forEach((m) => ws.send(m));
    ws.close(1000);
    const close = await new Promise((r) => ws.addEventListener('close', (e) => r([e.code, e.wasClean, e.stopReason]), { once: true }));
    return { close, lost };
  }, [`${wsOrigin}/resume?id=${id}`]);
  let server;
  for (let i = 0; i < 50; i += 1) {
    server = await (await fetch(`${origin}/stats?id=${id}`)).json();
    if (server.ended) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const { sessions, ended, messages } = server;
  assertEqual({ ...got, sessions, ended, messages }, {
    close: [1000, true, 'user'], lost: 0, sessions: 1, ended: 1, messages: ['e1', 'e2', 'e3'],
  }, 'the close and what the server saw');
});

// The edges a bad-input run found against the browser's own WebSocket (issue #23).
test('edges: the constructor converts url and protocols as the browser does (a Symbol is a TypeError)', async () => {
  const got = await page.evaluate(async ([url]) => {
    const attempt = (make) => {
      try { make().close(); return 'accepted'; } catch (e) { return e.name; }
    };
    const cases = (Ctor) => [
      attempt(() => new Ctor(Symbol('url'))),
      attempt(() => new Ctor(url, Symbol('protocol'))),
      attempt(() => new Ctor(url, [Symbol('protocol')])),
      attempt(() => new Ctor({ toString: () => url })),
    ];
    return { browser: cases(WebSocket), ours: cases(window.RWS) };
  }, [`${wsOrigin}/echo`]);
  assertEqual(got.ours, got.browser, `ReconnectingWebSocket vs ${ENGINE}'s WebSocket`);
});

test('edges: with a URL function, a bad protocol list throws in the constructor, as the browser\'s for a URL string', async () => {
  const got = await page.evaluate(async ([url]) => {
    const lists = [['a', 'a'], ['a b'], [''], 'a,b', ['chat', 'a,b'], ['é'], ['chat', 'v2'], 'chat', undefined, null];
    const attempt = (make) => {
      try { make().close(); return 'accepted'; } catch (e) { return e.name; }
    };
    return {
      browser: lists.map((p) => attempt(() => new WebSocket(url, p))),
      ours: lists.map((p) => attempt(() => new window.RWS(() => url, p))),
    };
  }, [`${wsOrigin}/echo`]);
  assertEqual(got.ours, got.browser, `ReconnectingWebSocket with a URL function vs ${ENGINE}'s WebSocket with the URL`);
});

test('edges: the methods and properties of the prototype are enumerable, as the browser\'s', async () => {
  const got = await page.evaluate(() => {
    const enumerable = (proto) => Object.getOwnPropertyNames(proto).filter((k) => Object.getOwnPropertyDescriptor(proto, k).enumerable);
    const browser = enumerable(WebSocket.prototype);
    const ours = enumerable(window.RWS.prototype);
    const ws = new window.RWS('ws://127.0.0.1:1/', [], { minDelay: 60000, maxDelay: 60000 });
    const forIn = [];
    for (const k in ws) forIn.push(k);
    ws.close();
    return { missing: browser.filter((k) => !ours.includes(k)), count: browser.length, forIn: browser.every((k) => forIn.includes(k)) };
  });
  assertEqual(got, { missing: [], count: got.count, forIn: true }, 'the browser\'s enumerable members ours lacks');
  if (got.count < 12) throw new Error(`the browser has only ${got.count} enumerable members`);
});

test('edges: options are read as a WebIDL dictionary is: inherited values count', async () => {
  const got = await page.evaluate(async () => {
    const out = [];
    // Port 1 refuses: the socket is never open, so send() queues unless replay is off.
    const ws = new window.RWS('ws://127.0.0.1:1/', [], Object.create({ replay: false, minDelay: 60000, maxDelay: 60000 }));
    try { ws.send('x'); out.push('queued'); } catch (e) { out.push(e.name); }
    ws.close();
    const hb = Object.create({ interval: 1000 });
    hb.timeout = 1000;
    try { new window.RWS('ws://127.0.0.1:1/', [], { heartbeat: hb }).close(); out.push('accepted'); } catch (e) { out.push(`${e.name}: ${e.message}`); }
    return out;
  });
  assertEqual(got, ['InvalidStateError', 'accepted'], 'replay: false and a heartbeat interval from a prototype');
});

test('edges: NaN, an unknown heartbeat or resume key and a heartbeat under 10 ms throw a TypeError naming the field', async () => {
  const got = await page.evaluate(() => {
    const cases = [
      { factor: NaN },
      { heartbeat: { interval: 1000, timeout: 1000, retries: 3 } },
      { resume: { ackDelay: 100, acks: 3 } },
      { heartbeat: { interval: 0.01, timeout: 1000 } },
      { heartbeat: { interval: 1000, timeout: 9.9 } },
      { heartbeat: { interval: 10, timeout: 10 } },
    ];
    return cases.map((options) => {
      try { new window.RWS('ws://127.0.0.1:1/', [], options).close(); return 'accepted'; } catch (e) { return `${e.name}: ${e.message}`; }
    });
  });
  const [nan, retries, acks, interval, timeout, least] = got;
  const expect = (message, ...parts) => {
    if (!message.startsWith('TypeError: ') || !parts.every((p) => message.includes(p))) throw new Error(`expected a TypeError with ${parts.join(', ')}: ${message}`);
  };
  expect(nan, '`factor`', '>= 1');
  expect(retries, 'heartbeat', '`retries`');
  expect(acks, 'resume', '`acks`');
  expect(interval, '`heartbeat.interval`', '10');
  expect(timeout, '`heartbeat.timeout`', '10');
  assertEqual(least, 'accepted', 'a heartbeat of exactly 10 ms');
});

test('edges: dropped carries the message when it reports one (drop-oldest evicting one)', async () => {
  const got = await page.evaluate(async () => {
    const ws = new window.RWS('ws://127.0.0.1:1/', [], { minDelay: 60000, maxDelay: 60000, queueMaxBytes: 20, overflow: 'drop-oldest' });
    const dropped = [];
    ws.addEventListener('dropped', (e) => {
      const { reason, count, data } = e.detail;
      dropped.push({ reason, count, data: typeof data === 'string' ? data : `${Object.prototype.toString.call(data)}:${[...new Uint8Array(data)]}` });
    });
    ws.send('0123456789');
    ws.send(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    ws.send('abcdefghij'); // evicts the first
    ws.send('klmnopqrst'); // evicts the bytes
    await new Promise((r) => setTimeout(r, 50));
    ws.close();
    return dropped;
  });
  assertEqual(got, [
    { reason: 'overflow', count: 1, data: '0123456789' },
    { reason: 'overflow', count: 1, data: '[object ArrayBuffer]:1,2,3,4,5,6,7,8,9,10' },
  ], 'dropped events');
});

test('edges: reconnect() closes the open connection it drops with a close event (1000, "reconnect"), then opens again', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url);
    const events = [];
    for (const type of ['open', 'close', 'error', 'reconnecting', 'reconnect']) {
      ws.addEventListener(type, (e) => events.push(type === 'close' ? `close:${e.code}:${e.reason}:${e.wasClean}:${ws.readyState}` : `${type}:${ws.readyState}`));
    }
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ws.reconnect();
    events.push(`returned:${ws.readyState}`);
    await new Promise((r) => ws.addEventListener('reconnect', r, { once: true }));
    // Reconnecting while an attempt is still connecting drops it without an event.
    ws.reconnect();
    ws.reconnect();
    await new Promise((r) => ws.addEventListener('reconnect', r, { once: true }));
    ws.close();
    await new Promise((r) => ws.addEventListener('close', r, { once: true }));
    return events;
  }, [`${wsOrigin}/echo`]);
  assertEqual(got, [
    'open:1', 'returned:0', 'close:1000:reconnect:true:0', 'open:1', 'reconnect:1',
    'close:1000:reconnect:true:0', 'open:1', 'reconnect:1', 'close:1005::true:3',
  ], 'events');
});

test('startClosed: CLOSED and not dialled until reconnect(); what was sent meanwhile goes out once open', async () => {
  const id = `start-closed-${Date.now()}`;
  const got = await page.evaluate(async ([url, stats]) => {
    const log = [];
    const ws = new window.RWS(url, [], { startClosed: true });
    ws.addEventListener('open', () => log.push(`open:${ws.readyState}`));
    ws.addEventListener('message', (e) => log.push(`message:${e.data}`));
    log.push(`state:${ws.readyState}`, `send:${ws.send('early')}`);
    // A round trip to the server, then its count: nothing dialled it.
    const before = (await (await fetch(stats)).json()).opened;
    ws.reconnect();
    log.push(`after reconnect():${ws.readyState}`);
    await new Promise((r) => ws.addEventListener('message', r, { once: true }));
    ws.close();
    const after = (await (await fetch(stats)).json()).opened;
    return { log, before, after };
  }, [`${wsOrigin}/echo?id=${id}`, `${origin}/stats?id=${id}`]);
  assertEqual(got, { log: ['state:3', 'send:queued', 'after reconnect():0', 'open:1', 'message:early'], before: 0, after: 1 }, 'states, events, connections');
});

test('startClosed: close() before reconnect() ends it for good: still CLOSED, no close event, the held sends reported dropped, reconnect() does nothing', async () => {
  const got = await page.evaluate(async ([url]) => {
    const ws = new window.RWS(url, [], { startClosed: true });
    const events = [];
    for (const type of ['open', 'error', 'close']) ws.addEventListener(type, () => events.push(type));
    ws.send('never');
    ws.send(new Uint8Array(3));
    const dropped = new Promise((r) => ws.addEventListener('dropped', (e) => r(`dropped:${e.detail.reason}:${e.detail.count}`), { once: true }));
    ws.close();
    const states = [ws.readyState];
    const drop = await dropped;
    ws.reconnect();
    states.push(ws.readyState);
    let send;
    try { ws.send('after'); send = 'sent'; } catch (e) { send = e.name; }
    // The socket dispatches what a call caused in a later task: a task queued after the
    // calls runs after those.
    await new Promise((r) => setTimeout(r));
    return { states, drop, send, events };
  }, [`${wsOrigin}/echo`]);
  assertEqual(got, { states: [3, 3], drop: 'dropped:closed:2', send: 'InvalidStateError', events: [] }, 'after close()');
});

test('debug: a function gets each decision the core makes (dial, the timers, the writes, the close); off by default', async () => {
  const got = await page.evaluate(async ([url]) => {
    const lines = [];
    const ws = new window.RWS(url, [], { debug: (decision, ...args) => lines.push([decision, ...args]) });
    await new Promise((r) => ws.addEventListener('open', r, { once: true }));
    ws.send('hello');
    await new Promise((r) => ws.addEventListener('message', r, { once: true }));
    ws.close(4000, 'bye');
    await new Promise((r) => ws.addEventListener('close', r, { once: true }));
    // `true` logs through console.debug.
    const logged = [];
    const debug = console.debug;
    console.debug = (...a) => logged.push(a[0]);
    try {
      const quiet = new window.RWS(url);
      const loud = new window.RWS(url, [], { debug: true });
      await Promise.all([quiet, loud].map((s) => new Promise((r) => s.addEventListener('open', r, { once: true }))));
      quiet.close();
      loud.close();
    } finally {
      console.debug = debug;
    }
    return { names: [...new Set(lines.map((l) => l[0]))], dial: lines.find((l) => l[0] === 'dial'), close: lines.find((l) => l[0] === 'closeSocket'), logged: [...new Set(logged)] };
  }, [`${wsOrigin}/echo`]);
  for (const name of ['dial', 'setTimer', 'event', 'closeSocket']) {
    if (!got.names.includes(name)) throw new Error(`no ${name} logged: ${got.names}`);
  }
  // [name, ...arguments]: dial(id), closeSocket(id, code, reason, detach).
  assertEqual([got.dial.length, got.close.slice(2, 4)], [2, [4000, 'bye']], 'dial (socket id) and closeSocket (id, code, reason)');
  assertEqual(got.logged, ['ws-tether'], 'console.debug prefix, and only the debug socket logged');
});

test('nothing ever called window.close()', async () => {
  const calls = await page.evaluate(() => window.closeCalls);
  if (calls.length) throw new Error(calls.join('\n'));
});

