// Playwright helpers for the benchmark (scripts/js/bench.mjs): Debian's Chromium, headless,
// no downloads; repo files served under /ws-tether/ on the test server's origin by request
// routing. The tests drive every engine through engines.mjs instead.
import { chromium } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.html': 'text/html', '.css': 'text/css', '.json': 'application/json' };

export async function launch() {
  return chromium.launch({
    ...(process.env.DUMPIO ? { logger: { isEnabled: () => true, log: (n, s, m) => console.log(n, m) } } : {}),
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
      // window.gc() for the garbage-collection checks.
      '--js-flags=--expose-gc'],
  });
}

/** Serves files under `dir` at `${origin}/${prefix}/...` for this page. */
export async function serveDir(page, origin, prefix, dir) {
  await page.route(`${origin}/${prefix}/**`, async (route) => {
    const path = decodeURIComponent(new URL(route.request().url()).pathname.slice(prefix.length + 2));
    try {
      const body = await readFile(join(dir, path));
      await route.fulfill({ status: 200, body, contentType: TYPES[extname(path)] ?? 'application/octet-stream' });
    } catch {
      await route.fulfill({ status: 404, body: 'not found' });
    }
  });
}
