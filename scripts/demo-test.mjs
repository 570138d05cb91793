// Drives the chat demo in two headless Chromium tabs: a message crosses between them, one
// tab's connection is dropped by the server, a message sent while it is down is queued and
// arrives after the reconnect. Also runs the README's JavaScript example as written.
// SCREENSHOT=1 saves www/screenshot.png after the reconnect.
import { readFileSync } from 'node:fs';
import { launch } from './js/browser.mjs';

const url = process.argv[2];
if (!url) throw new Error('usage: node scripts/demo-test.mjs http://127.0.0.1:PORT/');

const browser = await launch();
let failed = false;
const step = (text) => console.log(`demo: ${text}`);
try {
  const [a, b] = [await browser.newPage({ viewport: { width: 760, height: 900 } }), await browser.newPage()];
  const errors = [];
  for (const page of [a, b]) page.on('pageerror', (e) => errors.push(e.message));
  for (const page of [a, b]) {
    await page.goto(url);
    await page.waitForSelector('#badge[data-state="open"]', { timeout: 10000 });
  }
  await a.fill('#name', 'alice');
  await a.fill('#text', 'hello from alice');
  await a.click('#send');
  await b.waitForSelector('#messages li:has-text("hello from alice")', { timeout: 5000 });
  step('a message from one tab arrived in the other');

  // Keep the server refusing for a while, so the tab stays down long enough to type into,
  // however busy the machine is.
  await a.evaluate(() => fetch('/control/refuse?ms=1500'));
  await a.click('#drop');
  await a.waitForSelector('#badge[data-state="reconnecting"]', { timeout: 5000 });
  await a.fill('#text', 'sent while down');
  await a.click('#send');
  await a.waitForSelector('#messages li.queued:has-text("sent while down")', { timeout: 2000 });
  step('the dropped tab shows reconnecting and queued the message');
  await a.waitForSelector('#badge[data-state="open"]', { timeout: 10000 });
  await b.waitForSelector('#messages li:has-text("sent while down")', { timeout: 5000 });
  await a.waitForSelector('#messages li.mine:not(.queued):has-text("sent while down")', { timeout: 5000 });
  step('after the reconnect the queued message reached the other tab');
  const events = await a.locator('#events li').allTextContents();
  if (!events.some((e) => e.includes('retry 1'))) throw new Error(`no retry in the event log: ${events}`);
  if (process.env.SCREENSHOT) await a.screenshot({ path: 'www/screenshot.png', fullPage: true });
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);

  // The README's JavaScript example, run as written against this server.
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  // The example is the JS block that imports the package (the others are option recipes).
  const snippet = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('import init'))
    .replaceAll("from 'ws-tether'", "from '/pkg/index.js'")
    .replaceAll('ws://127.0.0.1:8787', `ws://${new URL(url).host}`);
  const example = await browser.newPage();
  const logs = [];
  example.on('console', (m) => logs.push(m.text()));
  example.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await example.goto(new URL('/pkg/index.js', url).href);
  await example.addScriptTag({ type: 'module', content: snippet });
  const deadline = Date.now() + 10000;
  while (!logs.includes('echo: hello') && Date.now() < deadline) await example.waitForTimeout(50);
  if (!logs.includes('echo: hello')) throw new Error(`README example: no echo; console: ${logs.join(' | ')}`);
  step("the README's JavaScript example connected and logged the echo");
} catch (e) {
  failed = true;
  console.error('demo test failed:', e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
