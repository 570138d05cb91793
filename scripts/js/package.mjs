// The package as users get it: `npm pack`, installed into an empty project, then used with
// no bundler (an import map) and from a Vite build, in headless Chromium; and its types
// checked by `tsc --noEmit` on a TypeScript consumer.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, check, failed, ROOT } from './browser.mjs';

const origin = process.argv[2]?.replace(/\/$/, '');
if (!origin) throw new Error('usage: node scripts/js/package.mjs http://127.0.0.1:PORT');
const server = new URL(origin).host;
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

// Under pkg/ (git-ignored), which the test server serves at /pkg/: the pages load from the
// server itself, as an app's would.
const work = join(ROOT, 'pkg', 'consumer');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const tarball = join(work, run('npm', ['pack', '--silent', '--pack-destination', work], ROOT).trim().split('\n').pop());
const app = join(work, 'app');
cpSync(join(ROOT, 'scripts/js/consumer'), app, { recursive: true });
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], app);
console.log(`packed ${tarball.split('/').pop()} and installed it into an empty project`);

await check('tsc --noEmit on a TypeScript consumer', async () => {
  try {
    run(bin('tsc'), ['-p', app], app);
  } catch (e) {
    throw new Error(`${e.stdout}${e.stderr}`);
  }
});

await check('vite build of the consumer', async () => {
  try {
    run(bin('vite'), ['build', '--base', './', '--outDir', 'dist', '--logLevel', 'warn'], app);
  } catch (e) {
    throw new Error(`${e.stdout}${e.stderr}`);
  }
});

const browser = await launch();
for (const [name, path] of [['no bundler (import map)', 'app/nobundler.html'], ['Vite build', 'app/dist/index.html']]) {
  await check(`the installed package works: ${name}`, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => errors.push(`console: ${m.text()}`));
    page.on('requestfailed', (r) => errors.push(`failed: ${r.url()}`));
    await page.goto(`${origin}/pkg/consumer/${path}?server=${server}`);
    await page.waitForFunction(() => document.title.startsWith('echo:'), null, { timeout: 10000 })
      .catch(async () => { throw new Error(`no echo; title "${await page.title()}", errors: ${errors.join('; ')}`); });
    const title = await page.title();
    if (title !== 'echo: from the package') throw new Error(`title: ${title}`);
    await page.close();
  });
}
await browser.close();
if (failed()) process.exit(1);
