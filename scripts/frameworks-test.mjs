// Drives the Leptos and Yew chat examples (examples/*-chat, built into pkg/<name>/ by
// scripts/test-frameworks) in headless Chromium against the test server's broadcast room.
// Two members of each chat, in separate browser contexts, must see what the other sends;
// survive the server dropping every connection (badge: reconnecting, then open) and
// deliver what was sent while down; count a burst of 1,000 messages exactly; and close
// their socket when the chat is unmounted.
import { chromium } from 'playwright-core';

const base = process.argv[2];
if (!base) throw new Error('usage: node scripts/frameworks-test.mjs http://127.0.0.1:PORT');
const EXAMPLES = process.argv.slice(3).length ? process.argv.slice(3) : ['leptos-chat', 'yew-chat'];
const BURST = 1000;
// The list shows the latest 100 messages (SHOWN in the examples).
const SHOWN = 100;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
});

async function stats(id) {
  const response = await fetch(`${base}/stats?id=${encodeURIComponent(id)}`);
  return response.json();
}

async function until(what, check, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// Opens one member of the chat (in `context`, as another tab, or in a new one); `problems`
// collects uncaught errors and framework warnings.
async function member(name, id, problems, query = '', context = null) {
  context ??= await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`${id}: uncaught ${e.message}`));
  page.on('console', (m) => {
    // Refused and dropped sockets make Chromium log network errors; those are expected.
    if (m.type() === 'warning' || (m.type() === 'error' && !/WebSocket|Failed to load/.test(m.text()))) {
      problems.push(`${id}: console ${m.type()}: ${m.text()}`);
    }
  });
  await page.goto(`${base}/pkg/${name}/index.html?id=${id}${query}`);
  const ui = {
    id,
    page,
    context,
    status: () => page.locator('#status').textContent(),
    count: async () => Number(await page.locator('#count').textContent()),
    outcome: () => page.locator('#outcome').textContent(),
    items: () => page.locator('#messages li').allTextContents(),
    async state(want, timeout = 10000) {
      try {
        await page.waitForFunction((s) => document.querySelector('#status')?.dataset.state === s, want,
          { timeout, polling: 10 });
      } catch {
        throw new Error(`${id}: status never became "${want}" (shows "${await ui.status()}")`);
      }
    },
    async shows(text, timeout = 10000) {
      try {
        await page.locator('#messages li', { hasText: text }).first().waitFor({ timeout });
      } catch {
        throw new Error(`${id}: never showed "${text}" (last: ${(await ui.items()).slice(-3).join(' | ')})`);
      }
    },
    // `[listeners, sockets, timers]` ws-tether holds in the page (the example exports it).
    live: () => page.evaluate((module) => import(module).then((m) => m.liveResources()),
      `./${name.replaceAll('-', '_')}.js`),
    // The hook handle's heartbeat round trip the page shows: `rtt <ms> ms`, `rtt –` before one.
    async rtt(timeout = 5000) {
      const text = () => page.locator('#rtt').textContent({ timeout: 500 }).catch(() => null);
      await until(`${id} to show a heartbeat round trip`, async () => /^rtt \d+ ms$/.test(await text()), timeout)
        .catch(async (e) => { throw new Error(`${e.message}: it shows "${await text()}"`); });
      return text();
    },
    // Types and sends `text`; returns what the page says became of it.
    async send(text) {
      const sends = Number(await page.locator('#outcome').getAttribute('data-sends'));
      await page.fill('#message', text);
      await page.click('#send');
      await page.waitForFunction((n) => Number(document.querySelector('#outcome')?.dataset.sends) > n, sends,
        { timeout: 2000 });
      return ui.outcome();
    },
  };
  return ui;
}

// A chat message as the examples send it with their typed hook's `send(Said)`: JSON.
const said = (from, text) => JSON.stringify({ from, text });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function testExample(name) {
  const problems = [];
  const a = await member(name, `${name}-a`, problems);
  const b = await member(name, `${name}-b`, problems);
  try {
    await a.state('open');
    await b.state('open');
    check((await stats(a.id)).open === 1, `${a.id}: the server doesn't see exactly one socket`);
    console.log(`${name}: two members open`);

    // The heartbeat's round trip, through the hook handle's `rtt`: a number within seconds.
    const rtts = [await a.rtt(), await b.rtt()];
    console.log(`${name}: both show the heartbeat round trip (${rtts.join(', ')})`);

    // "Join on mount": the chat sends `joined <id>` while it is created, before any effect
    // ran; it is queued like any send while connecting, and the server gets it once.
    for (const m of [a, b]) {
      const mounted = await m.page.locator('#mounted').textContent();
      check(/^(queued|sent)/.test(mounted), `${m.id}: the send on mount said "${mounted}"`);
      const join = said(m.id, `joined ${m.id}`);
      await until(`the server to get ${m.id}'s join`,
        async () => (await stats(m.id)).messages.includes(join))
        .catch(async (e) => { throw new Error(`${e.message}: it got ${JSON.stringify((await stats(m.id)).messages)}`); });
      const joins = (await stats(m.id)).messages.filter((x) => x === join).length;
      check(joins === 1, `${m.id}: the server got the join ${joins} times`);
    }
    console.log(`${name}: the send on mount was queued and delivered once`);

    // Send from A: B shows it (and so does A: the room echoes to the sender).
    const hello = `hello from ${a.id}`;
    const sent = await a.send(hello);
    check(sent === 'sent', `${a.id}: send said "${sent}"`);
    check(await a.page.inputValue('#message') === '', `${a.id}: the input was not cleared after sending`);
    await b.shows(hello);
    await a.shows(hello);
    // Typed both ways: A's `send(Said)` put the JSON on the wire, and B's typed hook decoded
    // it into a `Said` with both fields (B shows who said it).
    const wire = (await stats(a.id)).messages.filter((x) => x === said(a.id, hello)).length;
    check(wire === 1, `${a.id}: the server got ${wire} copies of ${said(a.id, hello)}`);
    const from = await b.page.locator('#messages li', { hasText: hello }).first().getAttribute('data-from');
    check(from === a.id, `${b.id}: decoded "${hello}" as said by "${from}", not ${a.id}`);
    console.log(`${name}: A's typed message shown by B, decoded with both fields`);

    // The server drops everyone and refuses handshakes until the message sent meanwhile was
    // queued (a fixed window ran out first on a cold machine): both badges show
    // reconnecting with a retry number; the queued message is delivered once the socket is
    // open again.
    await fetch(`${base}/control/refuse?ms=60000`);
    const down = `sent while down by ${a.id}`;
    let badge;
    let queued;
    try {
      await a.page.click('#drop');
      await a.state('reconnecting', 3000);
      await b.state('reconnecting', 3000);
      badge = await a.status();
      queued = await a.send(down);
    } finally {
      // Also when a step above failed: the next example shares the server.
      await fetch(`${base}/control/refuse?ms=0`);
    }
    check(/^reconnecting \d+/.test(badge), `${a.id}: badge "${badge}" has no retry number`);
    check(queued === 'queued until reconnected', `${a.id}: send while down said "${queued}"`);
    // The handle's queued_bytes: the message waits in the queue (its bytes), until open.
    const waiting = await a.page.locator('#queued').textContent();
    const downBytes = Buffer.byteLength(said(a.id, down));
    check(waiting === `queued ${downBytes} B`, `${a.id}: while down the page shows "${waiting}"`);
    await a.state('open', 10000);
    await b.state('open', 10000);
    await a.shows(down);
    const flushed = await a.page.locator('#queued').textContent();
    check(flushed === 'queued 0 B', `${a.id}: once reconnected the page shows "${flushed}"`);
    const received = (await stats(a.id)).messages.filter((m) => m === said(a.id, down)).length;
    check(received === 1, `${a.id}: the server got the queued message ${received} times`);
    console.log(`${name}: dropped, showed "${badge}", reconnected, delivered the queued message once`
      + ` (queued_bytes: ${downBytes} B while down, 0 after)`);
    // The hooks' callbacks: `on_open` ran for the first open and again for the reconnect
    // (a new session each time, without resume), `on_event` told of the retries.
    for (const m of [a, b]) {
      const opens = await m.page.locator('#opens').textContent();
      check(opens === 'opens 2 (new session)', `${m.id}: on_open says "${opens}" after one reconnect`);
      const retries = Number(await m.page.locator('#retries').getAttribute('data-retries'));
      check(retries >= 1, `${m.id}: on_event told of ${retries} retries`);
    }
    console.log(`${name}: on_open ran on both opens, on_event told of the retries`);
    // Yew: a child that takes only the hook's Connection from a context was rendered once,
    // not again at each status change of the drop and the reconnect.
    if (await a.page.locator('#renders').count()) {
      for (const m of [a, b]) {
        const renders = await m.page.locator('#renders').textContent();
        check(renders === 'renders 1', `${m.id}: the Connection context's consumer shows "${renders}"`);
      }
      console.log(`${name}: the Connection context's consumer was not rendered again by status changes`);
    }

    // A burst of 1,000 chat messages from a third, raw socket: every member must count all
    // of them.
    const before = [await a.count(), await b.count()];
    const probe = await browser.newPage();
    const sendMs = await probe.evaluate(async ({ url, n, from }) => {
      const said = (i) => JSON.stringify({ from, text: `burst ${i}` });
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const start = performance.now();
      for (let i = 0; i < n; i++) ws.send(said(i));
      const ms = performance.now() - start;
      // Our own copies come back too; wait for the last so the server has sent them all.
      await new Promise((resolve) => {
        ws.onmessage = (e) => { if (e.data === said(n - 1)) resolve(); };
      });
      ws.close();
      return ms;
    }, { url: `${base.replace(/^http/, 'ws')}/room?id=${name}-burst`, n: BURST, from: `${name}-burst` });
    const started = Date.now();
    for (const [i, m] of [a, b].entries()) {
      await until(`${m.id} to count the burst`, async () => (await m.count()) >= before[i] + BURST)
        .catch(async () => { throw new Error(`${m.id}: counted ${(await m.count()) - before[i]} of ${BURST}`); });
    }
    const countedMs = Date.now() - started;
    await probe.close();
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more may arrive
    for (const [i, m] of [a, b].entries()) {
      const counted = (await m.count()) - before[i];
      check(counted === BURST, `${m.id}: counted ${counted} messages, sent ${BURST}`);
      const items = await m.items();
      check(items.length === SHOWN, `${m.id}: the list shows ${items.length} messages, not the latest ${SHOWN}`);
      const expected = Array.from({ length: SHOWN }, (_, k) => `burst ${BURST - SHOWN + k}`);
      check(items.join('\n') === expected.join('\n'),
        `${m.id}: the list doesn't end with burst ${BURST - SHOWN}..${BURST - 1} in order`);
    }
    console.log(`${name}: burst of ${BURST} sent in ${sendMs.toFixed(1)} ms, counted exactly by both members`
      + ` (${countedMs} ms after the sender saw the last)`);

    // Close from the UI: closed for good, sends refused; Reconnect opens a new socket.
    await a.page.click('#close');
    await a.state('closed', 3000);
    await until(`${a.id}'s socket to close on the server`, async () => (await stats(a.id)).open === 0, 3000);
    const refused = await a.send('after close');
    check(refused.startsWith('not sent'), `${a.id}: send after close said "${refused}"`);
    await a.page.click('#reconnect');
    await a.state('open');
    check((await stats(a.id)).open === 1, `${a.id}: reconnect after close didn't open exactly one socket`);
    console.log(`${name}: Close closed the socket, Reconnect opened a new one`);

    // Unmounting the chat closes its socket and leaves no listener, socket or timer
    // behind; mounting it again opens one.
    const [, sockets] = await b.live();
    check(sockets === 1, `${b.id}: ${sockets} sockets alive while the chat is mounted`);
    await b.page.click('#join');
    await b.page.locator('#left').waitFor({ timeout: 3000 });
    await until(`${b.id}'s socket to close on the server after unmount`,
      async () => (await stats(b.id)).open === 0, 3000);
    await until(`${b.id} to release every browser resource after unmount`,
      async () => (await b.live()).every((n) => n === 0), 3000)
      .catch(async (e) => { throw new Error(`${e.message}: [listeners, sockets, timers] = ${await b.live()}`); });
    await b.page.click('#join');
    await b.state('open');
    check((await stats(b.id)).open === 1, `${b.id}: remounting didn't open exactly one socket`);
    const again = `after remount ${b.id}`;
    check(await a.send(again) === 'sent', `${a.id}: send after B's remount failed`);
    await b.shows(again);
    console.log(`${name}: unmounting closed the socket; the remounted chat receives again`);
    check(problems.length === 0, 'uncaught errors or warnings in the pages');

  } catch (e) {
    if (problems.length) e.message += `\n  page problems:\n  ${problems.join('\n  ')}`;
    throw e;
  } finally {
    await a.context.close();
    await b.context.close();
  }
}

// With `?resume` the example talks to the test server's resume echo with session resume on:
// a dropped connection resumes, the hook's `session` says so, and nothing is doubled.
async function testResume(name) {
  const problems = [];
  const m = await member(name, `${name}-resume`, problems, '&resume');
  const session = () => m.page.locator('#session').textContent();
  try {
    await m.state('open');
    const before = await session();
    check(before === 'new session', `${m.id}: the session shows "${before}" before any drop`);
    // With resume the heartbeat is the resume protocol's ping; its ack gives the round trip.
    console.log(`${name}: with resume, the heartbeat round trip shows (${await m.rtt()})`);
    check(await m.send('first') === 'sent', `${m.id}: the first send wasn't sent`);
    await m.shows('first');
    const delivery = () => m.page.locator('#delivery').textContent();
    await until(`${m.id}'s first message to show delivered`, async () => (await delivery()) === 'delivered')
      .catch(async (e) => { throw new Error(`${e.message}: it shows "${await delivery()}"`); });
    await fetch(`${base}/control/drop-all?id=${encodeURIComponent(m.id)}`);
    await until(`${m.id}'s session to show the resume`, async () => (await session()).startsWith('resumed'))
      .catch(async (e) => { throw new Error(`${e.message}: it shows "${await session()}"`); });
    await m.state('open');
    // Pending → delivered: sent while the server refuses connections, the message stays
    // pending; once it is back, the server acknowledges it and the chat shows delivered.
    await fetch(`${base}/control/refuse?ms=60000`);
    try {
      await fetch(`${base}/control/drop-all?id=${encodeURIComponent(m.id)}`);
      await m.state('reconnecting', 3000);
      const queued = await m.send('second');
      check(queued === 'queued until reconnected', `${m.id}: the send while down said "${queued}"`);
      check(await delivery() === 'pending', `${m.id}: the send while down shows "${await delivery()}"`);
    } finally {
      await fetch(`${base}/control/refuse?ms=0`);
    }
    await m.state('open');
    await m.shows('second');
    await until(`${m.id}'s second message to show delivered`, async () => (await delivery()) === 'delivered')
      .catch(async (e) => { throw new Error(`${e.message}: it shows "${await delivery()}"`); });
    // Flush resolves once the server acknowledged everything sent.
    await m.page.click('#flush');
    await until(`${m.id}'s flush`, async () => (await m.page.locator('#flushed').textContent()) === 'flushed')
      .catch(async (e) => { throw new Error(`${e.message}: it shows "${await m.page.locator('#flushed').textContent()}"`); });
    console.log(`${name}: with resume, a send while down showed pending, then delivered; flush resolved`);
    const items = await m.items();
    const echoes = `joined ${m.id}|first|second`;
    check(items.join('|') === echoes, `${m.id}: the echoes are ${items.join('|')}, not ${echoes}`);

    // Close, then Reconnect: a brand-new socket, so a brand-new session. `session` must
    // not keep saying "resumed" (an app's "on SessionLost, resync" would miss it).
    await m.page.click('#close');
    await m.state('closed', 3000);
    await m.page.click('#reconnect');
    await m.state('open');
    const fresh = await session();
    check(fresh === 'new session', `${m.id}: after close and reconnect the session shows "${fresh}"`);
    // `on_open` ran on every open, with the session each one was: new, resumed (twice),
    // and new again after close and reconnect.
    const opens = await m.page.locator('#opens').textContent();
    check(opens === 'opens 4 (new session)', `${m.id}: on_open says "${opens}"`);
    // A new URL is a new socket, so a new session: resumed before, "new session" after.
    await fetch(`${base}/control/drop-all?id=${encodeURIComponent(m.id)}`);
    await until(`${m.id}'s session to show the resume`, async () => (await session()).startsWith('resumed'))
      .catch(async (e) => { throw new Error(`${e.message}: it shows "${await session()}"`); });
    const endedBefore = (await stats(m.id)).ended;
    await m.page.click('#switch');
    const moved = `${m.id}-2`;
    // The resume echo counts the sessions started per id: one on the new URL.
    await until(`${m.id}'s socket to move to ${moved}`, async () => (await stats(moved)).sessions === 1)
      .catch(async (e) => { throw new Error(`${e.message}; status "${await m.status()}"`); });
    await m.state('open');
    await until(`${m.id}'s session to show a new session on the new URL`, async () => (await session()) === 'new session')
      .catch(async (e) => { throw new Error(`${e.message}: it shows "${await session()}"`); });
    // The old URL's socket was closed as `close()` closes: its session ended on the server
    // (`end`), not left for the server to keep until it expires.
    await until(`${m.id}'s old session to end on the server after the switch`,
      async () => (await stats(m.id)).ended === endedBefore + 1)
      .catch(async (e) => { throw new Error(`${e.message}: ended ${(await stats(m.id)).ended}, was ${endedBefore}`); });
    // So does unmounting the chat (leaving the room).
    await m.page.click('#join');
    await m.page.locator('#left').waitFor({ timeout: 3000 });
    await until(`${moved}'s session to end on the server after unmount`,
      async () => (await stats(moved)).ended === 1)
      .catch(async (e) => { throw new Error(`${e.message}: ended ${(await stats(moved)).ended}`); });
    check(problems.length === 0, 'uncaught errors or warnings in the page');
    console.log(`${name}: with resume, a drop showed "resumed" in the hook's session, a new socket or a new URL "${fresh}"; nothing lost or doubled;`
      + ' a URL change and an unmount ended the session on the server');
  } catch (e) {
    if (problems.length) e.message += `\n  page problems:\n  ${problems.join('\n  ')}`;
    throw e;
  } finally {
    await m.context.close();
  }
}

// With `?manual` the example opens no socket until "Connect": a send before it says so;
// then one socket opens and `on_open` runs once.
// With `?share=NAME` (the hooks' `Options::share`) two pages of one browser context, as two
// tabs, use one connection: one holds it, the other follows, both show what either sends;
// when the holding page closes the other takes over and resumes the same session.
async function testShare(name) {
  const problems = [];
  const id = `${name}-share-${Date.now()}`;
  const query = `&resume&share=${id}`;
  const a = await member(name, id, problems, query);
  const b = await member(name, id, problems, query, a.context);
  const holder = (m) => m.page.locator('#holder').getAttribute('data-holder');
  try {
    await until(`${name}: one page to hold the shared connection and the other to follow`,
      async () => [await holder(a), await holder(b)].sort().join() === 'follows,holds');
    const one = await stats(id);
    check(one.dials.length === 1, `${name}: two sharing pages dialled ${one.dials.length} times`);
    const [h, f] = (await holder(a)) === 'holds' ? [a, b] : [b, a];
    await f.send('from the follower');
    await h.shows('from the follower');
    await f.shows('from the follower');
    await h.page.close();
    await until(`${name}: the follower to take over`, async () => (await holder(f)) === 'holds');
    await f.send('after the handover');
    await f.shows('after the handover');
    const two = await stats(id);
    check(two.dials.length === 2 && two.sessions === 1,
      `${name}: after the handover ${two.dials.length} dials and ${two.sessions} sessions (want 2 and 1)`);
    check(problems.length === 0, problems.join('; '));
    console.log(`${name}: with share, two pages used one connection; the holder closed, the other took over the same session`);
  } finally {
    await a.context.close();
  }
}

async function testManual(name) {
  const problems = [];
  const m = await member(name, `${name}-manual`, problems, '&manual');
  try {
    const mounted = await m.page.locator('#mounted').textContent();
    check(mounted.startsWith('not sent'), `${m.id}: the send on mount said "${mounted}" before any connect`);
    // Given time to open, had it been going to: it did not.
    await new Promise((resolve) => setTimeout(resolve, 500));
    check((await stats(m.id)).open === 0, `${m.id}: a socket opened before "Connect"`);
    check(await m.page.locator('#opens').textContent() === 'opens 0 ()', `${m.id}: on_open ran before "Connect"`);
    const noRtt = await m.page.locator('#rtt').textContent();
    check(noRtt === 'rtt –', `${m.id}: before any socket the round trip shows "${noRtt}"`);
    await m.page.click('#connect');
    await m.state('open');
    check((await stats(m.id)).open === 1, `${m.id}: "Connect" didn't open exactly one socket`);
    const opens = await m.page.locator('#opens').textContent();
    check(opens === 'opens 1 (new session)', `${m.id}: after "Connect" on_open says "${opens}"`);
    check(await m.send('after connect') === 'sent', `${m.id}: the send after "Connect" wasn't sent`);
    await m.shows('after connect');
    check(problems.length === 0, 'uncaught errors or warnings in the page');
    console.log(`${name}: manual: nothing opened until "Connect", then one socket and one on_open`);
  } catch (e) {
    if (problems.length) e.message += `\n  page problems:\n  ${problems.join('\n  ')}`;
    throw e;
  } finally {
    await m.context.close();
  }
}

let failed = false;
try {
  for (const name of EXAMPLES) {
    try {
      await testExample(name);
      await testResume(name);
      await testManual(name);
      await testShare(name);
      console.log(`${name}: passed`);
    } catch (e) {
      failed = true;
      console.error(`${name}: FAILED: ${e.message}`);
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
