// Drives the demo page in headless Chromium: it must connect, echo what a person types,
// and show the readyState and the events. Saves a screenshot to www/screenshot.png when
// SCREENSHOT=1.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const url = process.argv[2];
if (!url) throw new Error('usage: node scripts/demo-test.mjs http://127.0.0.1:PORT/');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 720, height: 640 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#state[data-state="1"]', { timeout: 10000 });
  await page.fill('#message', 'hello from the demo');
  await page.click('#send');
  await page.waitForSelector('#messages li.received:has-text("hello from the demo")', { timeout: 5000 });
  const events = await page.locator('#events li').allTextContents();
  if (!events.some((e) => e.startsWith('open'))) throw new Error(`no open event shown: ${events}`);
  if (process.env.SCREENSHOT) await page.screenshot({ path: 'www/screenshot.png' });
  await page.click('#disconnect');
  await page.waitForSelector('#state[data-state="3"]', { timeout: 5000 });
  const closed = await page.locator('#events li').first().textContent();
  if (!closed.includes('code=1000')) throw new Error(`expected a normal close, got ${closed}`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log('demo: connected, echoed a typed message, showed events and closed normally');

  // The README's JavaScript example, run as written against this server.
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const snippet = readme.match(/```js\n([\s\S]*?)```/)[1]
    .replaceAll('ws://127.0.0.1:8787', `ws://${new URL(url).host}`);
  const example = await browser.newPage();
  const logs = [];
  example.on('console', (m) => logs.push(m.text()));
  example.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await example.goto(new URL('/pkg/ws_tether.js', url).href);
  await example.addScriptTag({ type: 'module', content: snippet });
  const deadline = Date.now() + 10000;
  while (!logs.includes('echo: hello') && Date.now() < deadline) await example.waitForTimeout(50);
  if (!logs.includes('echo: hello')) throw new Error(`README example: no echo; console: ${logs.join(' | ')}`);
  console.log('readme: the JavaScript example connected and logged the echo');
} catch (e) {
  failed = true;
  console.error('demo test failed:', e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
