// One connection shared by the tabs of an origin (the `share` option, issue #24), in one
// browser engine (ENGINE; see engines.mjs): four pages of one browser context against the
// test server's resume echo, every tab (followers too) sending a numbered message every
// 40 ms, while the tab holding the connection is closed or reloaded (and, in Chromium,
// crashed) again and again. Per tab: every message it sent reached the server once and in
// order, and it received the server's stream (the echoes of every tab's messages, in the
// server's order) once and in order from the moment it joined; one session throughout, and
// one dial per change of holder (followers never dial). Prints the failover times: from the
// holder's end (the test closing, reloading or crashing its page) to the server seeing the
// next holder's dial. Run by scripts/test-js under node:test with the test server up.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ENGINE, launch } from './engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test does)');
const origin = `http://${server}`;

const TABS = 4;

let browser;
before(async () => {
  browser = await launch(ENGINE, { oneContext: true });
});
after(() => browser?.close());

// Nothing waits forever: a test stuck in a page fails at its bound (a soak takes 20-35 s,
// the others a few), and `after` closes the browser within its own bound (engines.mjs).
const BOUND = { timeout: 120000 };

const stats = async (id) => (await fetch(`${origin}/stats?id=${id}`)).json();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let lives = 0;
/** Starts a shared socket in `page` as a new tab life; it sends a numbered message every
 * 40 ms until told to stop. */
async function start(page, id) {
  lives += 1;
  const life = `L${lives}`;
  await page.evaluate(async ([server, id, life]) => {
    const m = await import('/pkg/index.js');
    await m.default();
    const s = await import('/pkg/share.js');
    await s.default();
    const ws = new m.ReconnectingWebSocket(`ws://${server}/resume?id=${id}`, undefined, { share: { name: id }, resume: true });
    const t = { ws, life, sent: 0, got: [], lost: [], stop: false };
    window.tab = t;
    ws.addEventListener('message', (e) => t.got.push(e.data));
    ws.addEventListener('sessionlost', (e) => t.lost.push(e.detail));
    t.timer = setInterval(() => {
      if (t.stop) return clearInterval(t.timer);
      t.sent += 1;
      ws.send(`${life}:${t.sent}`);
      return undefined;
    }, 40);
  }, [server, id, life]);
  return { page, life };
}

async function open(id) {
  const page = await browser.newPage();
  await page.goto(`${origin}/pkg/index.js`); // a page of the origin without the demo's socket
  return start(page, id);
}

const snapshot = (tab) => tab.page.evaluate(() => ({
  sent: window.tab.sent,
  got: window.tab.got,
  lost: window.tab.lost,
  holder: window.tab.ws.holder,
  state: window.tab.ws.readyState,
  buffered: window.tab.ws.bufferedAmount,
}));

/** The tab holding the connection, once its connection is open. */
async function holderOf(tabs) {
  for (;;) {
    for (const tab of tabs) {
      const s = await tab.page.evaluate(() => ({ self: window.tab?.ws.holder?.self, state: window.tab?.ws.readyState }));
      if (s.self && s.state === 1) return tab;
    }
    await sleep(25);
  }
}

/** Fails with `what` if `promise` takes longer than a generous bound (nothing waits forever). */
async function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `got` is a run of `stream` without gaps: its first message's place on. */
function checkStream(got, stream, who, whole) {
  if (got.length === 0) return;
  const from = stream.indexOf(got[0]);
  assert.ok(from >= 0, `${who} received ${got[0]}, which the server never sent`);
  const expected = stream.slice(from, whole ? undefined : from + got.length);
  assert.deepEqual(got, expected, `${who}: received the server's stream with something lost, duplicated or reordered`);
}

/** Checks that the server received `life`'s messages 1..n once and in order (n = sent if
 * `all`, else whatever prefix arrived). */
function checkSent(life, sent, serverMessages, all) {
  const mine = serverMessages.filter((m) => m.startsWith(`${life}:`)).map((m) => Number(m.slice(life.length + 1)));
  const n = all ? sent : mine.length;
  assert.deepEqual(mine, Array.from({ length: n }, (_, i) => i + 1), `${life}: its messages at the server (sent ${sent})`);
}

/**
 * Opens TABS tabs sharing one connection to the resume echo under test id `id`, ends the
 * holder `changes` times (by each of `ends` in turn), then stops every tab's sends and waits
 * until everything is confirmed and delivered. Returns what the server and the tabs saw.
 */
async function soak(id, ends, changes) {
  let tabs = [];
  for (let i = 0; i < TABS; i += 1) tabs.push(await open(id));
  let holder = await within(15000, 'holder', holderOf(tabs));
  const ended = []; // snapshots of holders taken just before their end
  const failovers = [];
  const started = Date.now();
  for (let change = 0; change < changes; change += 1) {
    await sleep(100); // traffic under this holder
    const how = ends[change % ends.length];
    const before = (await stats(id)).dials.length;
    ended.push({ life: holder.life, ...await snapshot(holder) });
    const t0 = Date.now();
    if (how === 'reload') await holder.page.reload();
    else if (how === 'crash') await holder.page.crash();
    else await holder.page.close();
    // The holder's page comes back as a new tab and joins: a reloaded one while another takes
    // over; a new page for a closed or crashed one after (WebKit's driver opens a window
    // from the current one, which was just closed).
    const coming = how === 'reload' ? start(holder.page, id) : null;
    const rest = tabs.filter((t) => t !== holder);
    const next = await within(15000, `new holder after ${how}`, holderOf(rest));
    const dials = (await stats(id)).dials;
    assert.ok(dials.length > before, 'the new holder dialled');
    failovers.push({ how, ms: dials[before] - t0 });
    const back = await (coming ?? open(id));
    tabs = [...rest, back];
    await within(15000, 'the new tab joining', (async () => {
      while (!(await back.page.evaluate(() => window.tab.ws.holder))) await sleep(25);
    })());
    holder = next;
  }
  // Every tab sends a last message and stops (so a tab that joined last has something to
  // receive); everything sent is confirmed and every echo delivered.
  for (const tab of tabs) {
    await tab.page.evaluate(() => {
      const t = window.tab;
      t.stop = true;
      t.sent += 1;
      t.ws.send(`${t.life}:${t.sent}`);
    });
  }
  let final;
  let seen;
  await within(30000, 'everything confirmed and delivered', (async () => {
    for (;;) {
      const server = await stats(id);
      const snaps = await Promise.all(tabs.map(snapshot));
      const settled = snaps.every((s) => s.buffered === 0 && s.got.at(-1) === server.messages.at(-1));
      if (settled && server.messages.length > 0) {
        final = { server, snaps };
        return;
      }
      seen = {
        server: [server.messages.length, server.messages.at(-1), server.dials.length, server.sessions],
        tabs: snaps.map((s, i) => [tabs[i].life, s.sent, s.buffered, s.got.length, s.got.at(-1), s.state, s.holder, s.lost]),
      };
      await sleep(50);
    }
  })()).catch((e) => {
    throw new Error(`${e.message}; last seen: ${JSON.stringify(seen)}`);
  });
  for (const tab of tabs) await tab.page.close();
  const ms = failovers.map((f) => f.ms).sort((a, b) => a - b);
  const byHow = ends.map((how) => {
    const these = failovers.filter((f) => f.how === how).map((f) => f.ms).sort((a, b) => a - b);
    return `${how} ${these[Math.floor(these.length / 2)]}/${these.at(-1)}`;
  });
  const lost = [...final.snaps, ...ended].filter((s) => s.lost.length).length;
  console.log(`[share] ${ENGINE}: ${changes} changes of holder (${ends.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s; `
    + `${final.server.messages.length} messages through ${TABS} tabs; ${final.server.sessions} session(s), `
    + `${final.server.dials.length} dials, ${lost} tab(s) reporting a lost session; failover (holder's end to the next holder's dial) `
    + `median ${ms[Math.floor(ms.length / 2)]} ms, max ${ms.at(-1)} ms (median/max by end: ${byHow.join(', ')})`);
  return { ...final, ended, tabs, changes };
}

/** Per tab: 0 lost, 0 duplicated, 0 reordered both ways; one session; one dial per change. */
function strict({ server: end, snaps, ended, tabs, changes }) {
  const stream = end.messages;
  snaps.forEach((s, i) => {
    const { life } = tabs[i];
    assert.deepEqual(s.lost, [], `${life}: no session lost`);
    checkSent(life, s.sent, stream, true);
    checkStream(s.got, stream, life, true);
  });
  for (const s of ended) {
    assert.deepEqual(s.lost, [], `${s.life}: no session lost`);
    checkSent(s.life, s.sent, stream, false);
    checkStream(s.got, stream, s.life, false);
  }
  assert.equal(end.sessions, 1, 'one session throughout');
  // One connection at a time: the first holder's dial and one per change, none from a
  // follower (a resume also makes the server close any connection still open for it).
  assert.equal(end.dials.length, changes + 1, `dials (one per change of holder): ${end.dials.length}`);
}

test('share: 4 tabs, 22 changes of holder (closed, reloaded): nothing lost, duplicated or reordered', BOUND, async () => {
  strict(await soak(`share-${ENGINE}-${Date.now()}`, ['close', 'reload'], 22));
});

// A crashed holder (Chromium's renderer killed) may have written a frame whose mirror post
// (`Written`, made before the write) never reached the other tabs: the renderer's socket
// write is already in the network process, its BroadcastChannel post dies with it. The next
// holder then resumes behind what the server has, which the core reports as a lost session
// (`diverged`, with the unconfirmed messages): never silent, but not "nothing lost". The
// protocol's assumption (c) (docs/sharing.md) does not hold for crashes here; until the core
// covers it, the strict check is a todo (it runs and prints what it saw).
test('share: 4 tabs, 4 crashes of the holder (CDP Page.crash): nothing lost, duplicated or reordered',
  { ...BOUND, skip: ENGINE !== 'chromium' && 'only Chromium can crash a page', todo: 'docs/sharing.md assumption (c) fails on a crash' },
  async () => {
    strict(await soak(`share-crash-${Date.now()}`, ['crash'], 4));
  });

/** A shared socket in a new page of the context, without the soak's sends. */
async function quiet(id) {
  const page = await browser.newPage();
  await page.goto(`${origin}/pkg/index.js`); // a page of the origin without the demo's socket
  await page.evaluate(async ([server, id]) => {
    const m = await import('/pkg/index.js');
    await m.default();
    const s = await import('/pkg/share.js');
    await s.default();
    const ws = new m.ReconnectingWebSocket(`ws://${server}/resume?id=${id}`, undefined, { share: { name: id }, resume: true });
    window.tab = { ws, got: [], closes: [] };
    ws.addEventListener('message', (e) => window.tab.got.push(e.data));
    ws.addEventListener('close', (e) => window.tab.closes.push(e.stopReason));
  }, [server, id]);
  return page;
}

test('share: close() detaches its tab only, the holder hands over, the last one ends the session; no lock is left', BOUND, async () => {
  const id = `share-close-${ENGINE}-${Date.now()}`;
  const pages = [];
  for (let i = 0; i < 3; i += 1) pages.push(await quiet(id));
  const state = (page) => page.evaluate(() => ({ self: window.tab.ws.holder?.self, state: window.tab.ws.readyState, got: window.tab.got, closes: window.tab.closes }));
  const holderPage = async (among) => within(15000, 'holder', (async () => {
    for (;;) {
      for (const page of among) if ((await state(page)).self && (await state(page)).state === 1) return page;
      await sleep(25);
    }
  })());
  const holder = await holderPage(pages);
  const [a, b] = pages.filter((p) => p !== holder);
  // A follower leaves: it closes (CLOSED, its own close event); the others go on.
  await a.evaluate(() => window.tab.ws.close(1000));
  await b.evaluate(() => window.tab.ws.send('after a left'));
  await within(15000, 'the echo in the tabs still open', (async () => {
    while (!(await state(holder)).got.includes('after a left') || !(await state(b)).got.includes('after a left')) await sleep(25);
  })());
  await within(15000, 'the closed tab\'s close event', (async () => {
    while (!(await state(a)).closes.length) await sleep(25);
  })());
  const left = await state(a);
  assert.deepEqual(left.closes, ['user'], 'the closed tab got its close event');
  assert.equal(left.state, 3, 'the closed tab is CLOSED');
  assert.ok(!left.got.includes('after a left'), 'the closed tab receives nothing more');
  // The holder leaves: b takes over and resumes the same session.
  await holder.evaluate(() => window.tab.ws.close(1000));
  await holderPage([b]);
  await b.evaluate(() => window.tab.ws.send('after the holder left'));
  await within(15000, 'the echo after the handover', (async () => {
    while (!(await state(b)).got.includes('after the holder left')) await sleep(25);
  })());
  // The last tab leaves: the session ends (`end`).
  await b.evaluate(() => window.tab.ws.close(1000));
  await within(15000, 'the session ended', (async () => {
    while ((await stats(id)).ended !== 1) await sleep(25);
  })()).catch(async (e) => {
    const tabs = await Promise.all(pages.map((page) => state(page).catch((err) => String(err))));
    throw new Error(`${e.message}; the tabs: ${JSON.stringify(tabs)}; the server: ${JSON.stringify(await stats(id))}`);
  });
  const end = await stats(id);
  assert.equal(end.sessions, 1, 'one session throughout');
  assert.equal(end.dials.length, 2, 'dials: the first holder and the one it handed over to');
  // The last holder lets its lock go once its socket has closed, a moment after the `end`.
  const locks = (page) => page.evaluate(async (id) => {
    const all = await navigator.locks.query();
    return [...all.held, ...all.pending].filter((l) => l.name.endsWith(`/${id}`)).length;
  }, id);
  await within(5000, 'every lock released', (async () => {
    while ((await Promise.all(pages.map(locks))).some((n) => n > 0)) await sleep(25);
  })());
  for (const page of pages) await page.close();
});

test("share: a follower's flush() resolves once the server acknowledged its sends", BOUND, async () => {
  const id = `share-flush-${ENGINE}-${Date.now()}`;
  const pages = [await quiet(id), await quiet(id)];
  const role = (page) => page.evaluate(() => ({ self: window.tab.ws.holder?.self, state: window.tab.ws.readyState }));
  let follower;
  await within(15000, 'a holder with its connection open, and a follower', (async () => {
    for (;;) {
      const roles = await Promise.all(pages.map(role));
      const h = roles.findIndex((r) => r.self === true && r.state === 1);
      const f = roles.findIndex((r) => r.self === false);
      if (h >= 0 && f >= 0) return (follower = pages[f]);
      await sleep(25);
    }
  })());
  // Nothing else happens on the connection: only the confirmations the holder posts can
  // settle the follower's flush().
  const seen = await within(10000, "flush() resolving in the follower", follower.evaluate(async () => {
    const { ws } = window.tab;
    ws.send('from the follower');
    const queued = ws.bufferedAmount;
    await ws.flush();
    return { queued, after: ws.bufferedAmount };
  }));
  assert.ok(seen.queued > 0, 'the send waited for its confirmation');
  assert.equal(seen.after, 0, 'nothing unconfirmed once flush() resolved');
  assert.deepEqual((await stats(id)).messages, ['from the follower'], 'the server has it');
  for (const page of pages) await page.close();
});

test('share: the handshake runs once per connection, in the tab holding it', BOUND, async () => {
  const id = `share-handshake-${ENGINE}-${Date.now()}`;
  let pages = [];
  for (let i = 0; i < 3; i += 1) {
    const page = await browser.newPage();
    await page.goto(`${origin}/pkg/index.js`); // a page of the origin without the demo's socket
    await page.evaluate(async ([server, id, i]) => {
      const m = await import('/pkg/index.js');
      const s = await import('/pkg/share.js');
      await s.default();
      // The echo without resume (a handshake doesn't go with resume's own).
      const ws = new m.ReconnectingWebSocket(`ws://${server}/echo?id=${id}`, undefined, {
        share: { name: id },
        handshake: async (connection) => connection.send(`hello from tab ${i}`),
      });
      window.tab = { ws };
    }, [server, id, i]);
    pages.push(page);
  }
  const holding = async () => within(15000, 'a holder with its connection open', (async () => {
    for (;;) {
      for (const page of pages) {
        if (await page.evaluate(() => window.tab.ws.holder?.self === true && window.tab.ws.readyState === 1)) return page;
      }
      await sleep(25);
    }
  })());
  for (let change = 0; change < 2; change += 1) {
    const holder = await holding();
    await holder.close();
    pages = pages.filter((p) => p !== holder);
  }
  await holding();
  const { messages, opened } = await stats(id);
  const hellos = messages.filter((m) => m.startsWith('hello'));
  assert.equal(opened, 3, 'a connection per holder');
  assert.equal(hellos.length, 3, `one hello per connection: ${JSON.stringify(hellos)}`);
  assert.equal(new Set(hellos).size, 3, `each from the tab holding it then: ${JSON.stringify(hellos)}`);
  for (const page of pages) await page.close();
});

test('share: without Web Locks the socket connects by itself and says so', BOUND, async () => {
  const id = `share-alone-${ENGINE}-${Date.now()}`;
  const page = await browser.newPage();
  await page.goto(`${origin}/pkg/index.js`); // a page of the origin without the demo's socket
  const seen = await page.evaluate(async ([server, id]) => {
    Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });
    const m = await import('/pkg/index.js');
    await m.default();
    const s = await import('/pkg/share.js');
    await s.default();
    const ws = new m.ReconnectingWebSocket(`ws://${server}/resume?id=${id}`, undefined, { share: { name: id }, resume: true });
    const holder = await new Promise((resolve) => ws.addEventListener('holder', (e) => resolve(e.detail)));
    const echo = await new Promise((resolve) => {
      ws.addEventListener('message', (e) => resolve(e.data));
      ws.send('alone');
    });
    const property = ws.holder;
    ws.close(1000);
    return { holder, echo, property };
  }, [server, id]);
  assert.equal(seen.holder.shared, false, 'the holder event says it does not share');
  assert.equal(seen.holder.self, true);
  assert.deepEqual(seen.property, seen.holder, 'the holder property says the same');
  assert.equal(seen.echo, 'alone', 'it connected and echoed by itself');
  await page.close();
});
