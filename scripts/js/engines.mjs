// One small page API over the three browser engines the JavaScript tests run in, so a test
// is written once: Chromium through Playwright, Firefox ESR through puppeteer-core (WebDriver
// BiDi) and WebKitGTK through selenium-webdriver (WebKitWebDriver under Xvfb). Only what the
// tests need: newPage, goto, evaluate, waitFor, reload, crash (Chromium only), close. Everything else (typing, clicking,
// reading the DOM, collecting console lines) is done by scripts evaluated in the page's own
// realm, which behaves the same in every engine.
//
// Which engine: the ENGINE environment variable (chromium, firefox or webkit).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const ENGINES = ['chromium', 'firefox', 'webkit'];
export const ENGINE = process.env.ENGINE ?? 'chromium';
if (!ENGINES.includes(ENGINE)) throw new Error(`ENGINE=${ENGINE}: one of ${ENGINES.join(', ')}`);

// Chromium: as root it needs --no-sandbox; without the background flags it dials hosts this
// machine can't reach. --expose-gc gives window.gc() to the garbage-collection checks.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--js-flags=--expose-gc'];
// Debian's webkit2gtk-driver: MiniBrowser sits in the architecture's library directory.
const MINIBROWSER = ['/usr/lib', '/usr/libexec'].flatMap((dir) => {
  try {
    return [dir, ...readdirSync(dir).map((d) => join(dir, d))].map((d) => join(d, 'webkit2gtk-4.1', 'MiniBrowser'));
  } catch {
    return [];
  }
}).find((path) => existsSync(path));

/** `value` as JavaScript source: JSON, except that `undefined` stays `undefined` (an
 * omitted argument is not a null one). */
function source(value) {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(source).join(', ')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${source(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** What evaluate() sends: `fn` applied to `arg`, its result as JSON text, so every driver
 * returns the same value (undefined fields dropped, as JSON does). */
function expression(fn, arg) {
  return `(async () => JSON.stringify({ v: await (${fn})(${source(arg)}) }))()`;
}
const parse = (text) => JSON.parse(text).v;

/**
 * Launches `engine`; returns `{ name, newPage(), close() }`. With `oneContext`, every page
 * shares one browser context, as a user's tabs do (their Web Locks, BroadcastChannels and
 * storage); Firefox's and WebKit's pages always do.
 */
export async function launch(engine = ENGINE, { oneContext = false } = {}) {
  if (engine === 'chromium') {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = oneContext ? await browser.newContext() : null;
    return wrap('chromium', browser, async () => {
      const page = await (context ?? browser).newPage();
      return {
        goto: (url) => page.goto(url),
        evaluate: async (fn, arg) => parse(await page.evaluate(expression(fn, arg))),
        screenshot: (path) => page.screenshot({ path, fullPage: true }),
        reload: () => page.reload(),
        // The renderer dies as in a crash (no unload, no close frames); the page is then closed.
        crash: async () => {
          const cdp = await page.context().newCDPSession(page);
          cdp.send('Page.crash').catch(() => {}); // answered by nobody: the page is gone
          await new Promise((resolve) => page.once('crash', resolve));
          await page.close();
        },
        close: () => page.close(),
      };
    });
  }
  if (engine === 'firefox') {
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: '/usr/bin/firefox-esr',
      headless: true,
      // As in webdriver.json: no update, telemetry or connectivity checks (no internet here).
      extraPrefsFirefox: {
        'app.update.auto': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
      },
    });
    return wrap('firefox', browser, async () => {
      const page = await browser.newPage();
      page.setDefaultTimeout(120000);
      return {
        goto: (url) => page.goto(url),
        // BiDi evaluates in the page's own realm, so the page's globals are visible.
        evaluate: async (fn, arg) => parse(await page.evaluate(expression(fn, arg))),
        reload: () => page.reload(),
        close: () => page.close(),
      };
    });
  }
  // WebKitGTK: one MiniBrowser, one window per page; selenium talks to one window at a
  // time, so every command switches to its page's window first, one command at a time.
  const { Builder, Capabilities } = await import('selenium-webdriver');
  const caps = new Capabilities({
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  });
  const driver = await withTimeout(60000, 'WebKitWebDriver session (is there a display? run under xvfb-run)',
    new Builder().usingServer(await startWebKitDriver()).withCapabilities(caps).build());
  await driver.manage().setTimeouts({ script: 120000, pageLoad: 60000 });
  let queue = Promise.resolve();
  const serial = (f) => {
    const run = queue.then(f, f);
    queue = run.catch(() => {});
    return run;
  };
  // Closing the last window would end the session: the last page closed stays open, blank,
  // as the spare the next newPage() takes.
  let spare = await driver.getWindowHandle();
  const open = new Set();
  // A command stuck in the page can't keep the lane from ending: quitting is bounded, and the
  // driver (with its browser) is stopped whatever happened.
  const quit = () => withTimeout(15000, 'WebKitWebDriver quitting', driver.quit()).finally(stopWebKitDriver);
  return wrap('webkit', { close: quit }, async () => {
    const handle = spare ?? await serial(async () => {
      await driver.switchTo().newWindow('window');
      return driver.getWindowHandle();
    });
    spare = null;
    open.add(handle);
    const on = (f) => serial(async () => { await driver.switchTo().window(handle); return f(); });
    return {
      goto: (url) => on(() => driver.get(url)),
      reload: () => on(() => driver.navigate().refresh()),
      evaluate: (fn, arg) => on(async () => {
        const out = await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
          ${expression(fn, arg)}.then((json) => done({ json }), (e) => done({ error: String(e && e.stack || e) }));`);
        if (out.error !== undefined) throw new Error(`evaluation failed in the page: ${out.error}`);
        return parse(out.json);
      }),
      close: () => on(async () => {
        open.delete(handle);
        if (open.size > 0 || spare) return driver.close();
        spare = handle;
        return driver.get('about:blank');
      }),
    };
  });
}

function wrap(name, browser, newPage) {
  return {
    name,
    async newPage() {
      const page = await newPage();
      return {
        ...page,
        /** Polls `fn(arg)` in the page until it is truthy; fails with `what` after `timeout` ms. */
        async waitFor(what, fn, arg, timeout = 10000) {
          const deadline = Date.now() + timeout;
          for (;;) {
            const value = await page.evaluate(fn, arg);
            if (value) return value;
            if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
            await new Promise((r) => setTimeout(r, 25));
          }
        },
      };
    },
    close: () => withTimeout(15000, `${name} closing`, browser.close()),
  };
}

async function withTimeout(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let webkitDriver = null;
/** Starts WebKitWebDriver on a free port; returns its URL. */
async function startWebKitDriver() {
  const { spawn } = await import('node:child_process');
  const { createServer } = await import('node:net');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  webkitDriver = spawn('/usr/bin/WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    try {
      if ((await fetch(`${url}/status`)).ok) return url;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('WebKitWebDriver did not start');
}
function stopWebKitDriver() {
  webkitDriver?.kill();
  webkitDriver = null;
}
process.on('exit', stopWebKitDriver);

/** Same JSON, or an error that shows both. */
export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what}:\n  got      ${a}\n  expected ${b}`);
}
