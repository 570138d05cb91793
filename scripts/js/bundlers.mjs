// The installed package through the bundlers the project installs, as an app would use them
// (issue #23): Vite 5 and Vite 8, each as a dev server and as a production build with its
// defaults, on the consumer app package.mjs installed from the packed tarball
// (pkg/consumer/app: its main.js is the README's usage), and rolldown on its own with the
// README's instruction for bundlers that don't emit the wasm. Each page must echo through the
// test server. Vite 5's dev server pre-bundles dependencies into a folder of its own, where
// the wasm file is not: there the package needs `optimizeDeps.exclude` (npm/README.md
// "Bundlers"), and without it `init()` must say so, not fail with a wasm parse error.
// Bundling doesn't depend on the engine: scripts/test-js runs this in its Chromium lane
// (package-pages.mjs opens package.mjs's Vite 8 build in every engine).
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { ROOT } from './browser.mjs';
import { assertEqual, launch } from './engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test-js does)');
const app = join(ROOT, 'pkg/consumer/app');
if (!existsSync(join(app, 'node_modules/ws-tether'))) throw new Error('pkg/consumer/app has no ws-tether: run scripts/js/package.mjs first');

// Both Vite majors are dev dependencies: vite (8) and vite5 (npm:vite@5).
const VITES = { 'Vite 5': 'vite5', 'Vite 8': 'vite' };
const vite = (pkg) => import(pathToFileURL(join(ROOT, 'node_modules', pkg, 'dist/node/index.js')));

let browser;
before(async () => { browser = await launch('chromium'); });
after(() => browser?.close());

/** Opens `url` and waits for the consumer's echo (or its error) in the title. */
async function title(url) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.waitFor('the echo or an error in the title', () => document.title !== 'waiting', undefined, 20000);
    return await page.evaluate(() => document.title);
  } finally {
    await page.close();
  }
}

for (const [name, pkg] of Object.entries(VITES)) {
  test(`${name} build with its defaults: the built app echoes`, async () => {
    const { build, createLogger } = await vite(pkg);
    const outDir = join(app, `dist-${pkg}`);
    rmSync(outDir, { recursive: true, force: true });
    // The build says nothing about the package (Vite warned that it externalized node:fs).
    const logger = createLogger('warn');
    const warnings = [];
    logger.warn = (message) => warnings.push(message);
    await build({ root: app, base: './', customLogger: logger, configFile: false, build: { outDir, emptyOutDir: true } });
    assertEqual(warnings.filter((w) => w.includes('ws-tether')), [], 'build warnings about the package');
    const got = await title(`http://${server}/pkg/consumer/app/dist-${pkg}/index.html?server=${server}`);
    if (got !== 'echo: from the package') throw new Error(`title: ${got}`);
  });

  // Vite 5's pre-bundling needs the package excluded; Vite 8's works as it is.
  const config = pkg === 'vite5' ? { optimizeDeps: { exclude: ['ws-tether'] } } : {};
  test(`${name} dev server${pkg === 'vite5' ? ' with the README\'s optimizeDeps.exclude' : ''}: the page echoes`, async () => {
    const { createServer } = await vite(pkg);
    const dev = await createServer({
      root: app, configFile: false, logLevel: 'warn', clearScreen: false,
      cacheDir: join(app, `.vite-${pkg}`), server: { host: '127.0.0.1', port: 0, strictPort: true }, ...config,
    });
    try {
      await dev.listen();
      const { port } = dev.httpServer.address();
      const got = await title(`http://127.0.0.1:${port}/?server=${server}`);
      if (got !== 'echo: from the package') throw new Error(`title: ${got}`);
    } finally {
      await dev.close();
    }
  });
}

// rolldown on its own (a dev dependency, for the bench) leaves the package's
// `new URL('ws_tether_bg.wasm', import.meta.url)` as it is: the README says to copy the file
// next to the bundle, and then the bundle finds it with no init().
test('rolldown bundle with the wasm copied next to it, as the README says: the page echoes', async () => {
  const { rolldown } = await import('rolldown');
  const outDir = join(app, 'dist-rolldown');
  rmSync(outDir, { recursive: true, force: true });
  const build = await rolldown({ input: join(app, 'main.js'), cwd: app, logLevel: 'silent' });
  await build.write({ dir: outDir, format: 'esm', minify: true, entryFileNames: 'main.js' });
  await build.close();
  copyFileSync(join(app, 'node_modules/ws-tether/ws_tether_bg.wasm'), join(outDir, 'ws_tether_bg.wasm'));
  copyFileSync(join(app, 'index.html'), join(outDir, 'index.html'));
  const got = await title(`http://${server}/pkg/consumer/app/dist-rolldown/index.html?server=${server}`);
  if (got !== 'echo: from the package') throw new Error(`title: ${got}`);
});

test('Vite 5 dev server without the exclusion: the error says the wasm was not found and what to do', async () => {
  const { createServer } = await vite('vite5');
  rmSync(join(app, '.vite-vite5-plain'), { recursive: true, force: true });
  const dev = await createServer({
    root: app, configFile: false, logLevel: 'silent', clearScreen: false,
    cacheDir: join(app, '.vite-vite5-plain'), server: { host: '127.0.0.1', port: 0, strictPort: true },
  });
  try {
    await dev.listen();
    const { port } = dev.httpServer.address();
    const got = await title(`http://127.0.0.1:${port}/?server=${server}`);
    if (!(got.startsWith('error:') && got.includes('optimizeDeps') && got.includes('ws_tether_bg.wasm'))) {
      throw new Error(`title: ${got}`);
    }
  } finally {
    await dev.close();
  }
});
