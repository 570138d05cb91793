// Drives the chat demo in pages of one browser engine (ENGINE; see js/engines.mjs): a
// message crosses between them, the heartbeat's round trip shows, one page's connection is
// dropped by the server, a message sent while it is down is queued and arrives after the
// session resumed; then the server restarts (every connection closed, none accepted for a
// while) with messages sent on both sides meanwhile, and each page counts 0 lost, 0 twice
// (those two pages with `?share=0`, a connection each). Then three pages share one
// connection (the demo's default): the tab holding it closes, another takes over, and each
// page counts 0 lost, 0 twice. Also runs the README's JavaScript example as written. Run by scripts/test-js under
// node:test with the test server up. SCREENSHOT=1 (Chromium) saves www/screenshot.png at
// the end.
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { launch } from './js/engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test does)');
const url = `http://${server}/`;

// What a person does and sees, as scripts in the page (the same in every engine).
const fill = (page, id, value) => page.evaluate(([id, value]) => {
  const input = document.getElementById(id);
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}, [id, value]);
const click = (page, id) => page.evaluate((id) => document.getElementById(id).click(), id);
const shows = (page, what, selector, text, timeout = 5000) => page.waitFor(what,
  ([selector, text]) => [...document.querySelectorAll(selector)].some((e) => e.textContent.includes(text)),
  [selector, text], timeout);
const badge = (page, state, timeout = 10000) => page.waitFor(`the badge to show ${state}`,
  (state) => document.querySelector('#badge')?.dataset.state === state, state, timeout);
// Uncaught errors and rejections, kept by the page from the moment this is called.
const keepErrors = (page) => page.evaluate(() => {
  window.pageErrors = [];
  window.addEventListener('error', (e) => window.pageErrors.push(e.message));
  window.addEventListener('unhandledrejection', (e) => window.pageErrors.push(String(e.reason)));
});

let browser;
// One context (one storage partition): the pages of the sharing test share a connection.
before(async () => { browser = await launch(undefined, { oneContext: true }); });
after(() => browser?.close());

const send = async (page, text) => {
  await fill(page, 'text', text);
  await click(page, 'send');
};

test('demo: a message crosses between two pages; a dropped page queues and delivers after the reconnect; a server restart loses nothing', async () => {
  const [a, b] = [await browser.newPage(), await browser.newPage()];
  for (const page of [a, b]) {
    // Each page its own connection: this test drops one page's.
    await page.goto(`${url}?share=0`);
    await keepErrors(page);
    await badge(page, 'open').catch(async (e) => {
      throw new Error(`${e.message}; events: ${await page.evaluate(() => [...document.querySelectorAll('#events li')].map((li) => li.textContent).join(' | '))}; badge: ${await page.evaluate(() => document.querySelector('#badge')?.textContent)}`);
    });
  }
  await fill(a, 'name', 'alice');
  await fill(a, 'text', 'hello from alice');
  await click(a, 'send');
  await shows(b, 'the message in the other page', '#messages li', 'hello from alice');
  await shows(a, 'the heartbeat round trip', '#rtt', ' ms', 10000);

  // The server refuses until the queued message has been seen (a fixed window ran out
  // before it on a busy machine: the page was back up and sent it at once).
  await a.evaluate(() => fetch('/control/refuse?ms=60000').then((r) => r.status));
  try {
    await click(a, 'drop');
    await badge(a, 'reconnecting', 5000);
    await fill(a, 'text', 'sent while down');
    await click(a, 'send');
    await shows(a, 'the message shown as queued', '#messages li.queued', 'sent while down', 2000);
  } finally {
    // Also when a step above failed: the suites after this one share the server.
    await a.evaluate(() => fetch('/control/refuse?ms=0').then((r) => r.status));
  }
  // Up to one backoff step (the demo's maxDelay is 5 s) after the refusals end.
  await badge(a, 'open', 20000);
  await shows(b, 'the queued message in the other page', '#messages li', 'sent while down');
  await shows(a, 'the queued message delivered', '#messages li.mine:not(.queued)', 'sent while down');
  const events = await a.evaluate(() => [...document.querySelectorAll('#events li')].map((li) => li.textContent));
  if (!events.some((e) => e.includes('retry 1'))) throw new Error(`no retry in the event log: ${events}`);
  await shows(a, 'the session resumed', '#events li', 'session resumed');

  // The server restarts: both pages lose their connections; what each sends meanwhile, and
  // what the other said, arrives once both are back.
  await click(b, 'restart');
  for (const page of [a, b]) await badge(page, 'reconnecting', 5000);
  await send(a, 'from alice during the restart');
  await send(b, 'from bob during the restart');
  for (const page of [a, b]) await badge(page, 'open', 20000);
  for (const page of [a, b]) {
    await shows(page, "alice's message after the restart", '#messages li', 'from alice during the restart');
    await shows(page, "bob's message after the restart", '#messages li', 'from bob during the restart');
  }
  await send(b, 'after the restart');
  await shows(a, 'a message after the restart', '#messages li', 'after the restart');
  for (const page of [a, b]) {
    // Each page received all 5 messages (its own included), none lost or twice.
    await shows(page, 'the counter', '#lost', '5 received · 0 lost · 0 twice');
  }
  if (process.env.SCREENSHOT && a.screenshot) await a.screenshot('www/screenshot.png');
  for (const page of [a, b]) {
    const errors = await page.evaluate(() => window.pageErrors);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  }
  await a.close();
  await b.close();
});

test("demo: three tabs share one connection; the holder's tab closes, another takes over the session, nothing lost", async () => {
  const pages = [];
  for (let i = 0; i < 3; i += 1) {
    const page = await browser.newPage();
    await page.goto(url);
    await keepErrors(page);
    await badge(page, 'open');
    pages.push(page);
  }
  const holds = (page) => page.evaluate(() => document.getElementById('holder').dataset.self === 'true');
  const holderOf = async (among) => {
    for (let i = 0; i < 200; i += 1) {
      const held = [];
      for (const page of among) if (await holds(page)) held.push(page);
      if (held.length === 1) return held[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no single tab says it holds the connection');
  };
  const first = await holderOf(pages);
  for (const page of pages) {
    if (page !== first) await shows(page, 'which tab holds it', '#holder', 'holds it');
  }
  for (const [i, page] of pages.entries()) await send(page, `before, from tab ${i}`);
  for (const page of pages) {
    for (let i = 0; i < 3; i += 1) await shows(page, `tab ${i}'s message`, '#messages li', `before, from tab ${i}`);
  }
  await first.close();
  const rest = pages.filter((p) => p !== first);
  const next = await holderOf(rest);
  await shows(next, 'the takeover in its log', '#events li', 'this tab holds the connection');
  for (const [i, page] of rest.entries()) await send(page, `after, from tab ${i}`);
  for (const page of rest) {
    for (let i = 0; i < 2; i += 1) await shows(page, `the message ${i} after the takeover`, '#messages li', `after, from tab ${i}`);
    // 3 before and 2 after, each once.
    await shows(page, 'the counter', '#lost', '5 received · 0 lost · 0 twice');
    const errors = await page.evaluate(() => window.pageErrors);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  }
  for (const page of rest) await page.close();
});

test("the README's JavaScript example runs as written", async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  // The example is the JS block that imports the package (the others are option recipes).
  const snippet = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes("from 'ws-tether'"))
    .replaceAll("from 'ws-tether'", "from '/pkg/index.js'")
    .replaceAll('ws://127.0.0.1:8787', `ws://${server}`);
  const page = await browser.newPage();
  await page.goto(new URL('/pkg/index.js', url).href);
  await page.evaluate((snippet) => {
    window.logs = [];
    const log = console.log;
    console.log = (...args) => { window.logs.push(args.join(' ')); log(...args); };
    window.addEventListener('error', (e) => window.logs.push(`error: ${e.message}`));
    const script = document.createElement('script');
    script.type = 'module';
    script.textContent = snippet;
    document.documentElement.append(script);
  }, snippet);
  await page.waitFor("the example's 'echo: hello'", () => window.logs.includes('echo: hello'))
    .catch(async (e) => { throw new Error(`${e.message}; console: ${(await page.evaluate(() => window.logs)).join(' | ')}`); });
  await page.close();
});
