// The installed package in one browser engine (ENGINE; see engines.mjs): the project that
// package.mjs packed and installed into pkg/consumer/app, opened from the test server as an
// app's pages would be: with no bundler (an import map), from a Vite build, and the README
// example the package ships, run as written. Run by scripts/test-js after package.mjs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './browser.mjs';
import { ENGINE, launch } from './engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test does)');
if (!existsSync(join(ROOT, 'pkg/consumer/app/dist/index.html'))) {
  throw new Error('pkg/consumer/app is not built: run scripts/js/package.mjs first');
}
const origin = `http://${server}`;

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

for (const [name, path] of [['no bundler (import map)', 'app/nobundler.html'], ['Vite build', 'app/dist/index.html']]) {
  test(`the installed package works: ${name}`, async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/pkg/consumer/${path}?server=${server}`);
    await page.waitFor('the echo in the title', () => document.title.startsWith('echo:'))
      .catch(async (e) => { throw new Error(`${e.message}; title "${await page.evaluate(() => document.title)}"`); });
    const title = await page.evaluate(() => document.title);
    if (title !== 'echo: from the package') throw new Error(`title: ${title}`);
    await page.close();
  });
}

test("the package README's example runs as written", async () => {
  // The README's first example, as npm shows it, on a page with only an import map, against
  // this engine's test server (each engine has its own: one file per engine).
  const app = join(ROOT, 'pkg/consumer/app');
  const readme = readFileSync(join(app, 'node_modules', 'ws-tether', 'README.md'), 'utf8');
  const example = readme.match(/```js\n([\s\S]*?)```/)[1].replaceAll('ws://127.0.0.1:8787', `ws://${server}`);
  writeFileSync(join(app, `readme-example-${ENGINE}.js`), example);
  // The page keeps what the example logs in window.logs, for the test to read in any engine.
  const keepLogs = '<script>window.logs = []; const log = console.log; console.log = (...a) => { window.logs.push(a.join(" ")); log(...a); };</script>';
  writeFileSync(join(app, `readme-${ENGINE}.html`), readFileSync(join(app, 'nobundler.html'), 'utf8')
    .replace('./main.js', `./readme-example-${ENGINE}.js`).replace('</head>', `${keepLogs}\n</head>`));
  const page = await browser.newPage();
  await page.goto(`${origin}/pkg/consumer/app/readme-${ENGINE}.html`);
  await page.waitFor("the example's 'echo: hello'", () => window.logs.includes('echo: hello'))
    .catch(async (e) => { throw new Error(`${e.message}; console: ${(await page.evaluate(() => window.logs)).join(' | ')}`); });
  await page.close();
});
