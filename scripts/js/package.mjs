// The package as users get it: `npm pack ./npm` packs it the way a clean clone does (its
// prepack step builds the wasm and copies the files in), the tarball's files and manifest
// are checked, then it is installed into an empty project and used with no bundler (an
// import map) and from a Vite build in headless Chromium, the README example it ships is run
// as written, and its types are checked by `tsc --noEmit` on a TypeScript consumer.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, check, failed, assertEqual, ROOT } from './browser.mjs';

const origin = process.argv[2]?.replace(/\/$/, '');
if (!origin) throw new Error('usage: node scripts/js/package.mjs http://127.0.0.1:PORT');
const server = new URL(origin).host;
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

// What a user installs, and nothing else.
const EXPECTED_FILES = [
  'LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'index.d.ts', 'index.js', 'package.json',
  'ws_tether.js', 'ws_tether_bg.wasm',
];

// Packed outside pkg/: the prepack step rebuilds pkg/.
const manifest = JSON.parse(readFileSync(join(ROOT, 'npm', 'package.json'), 'utf8'));
const packDir = mkdtempSync(join(tmpdir(), 'ws-tether-pack-'));
try {
  run('npm', ['pack', './npm', '--pack-destination', packDir], ROOT);
} catch (e) {
  console.log(`FAIL npm pack ./npm\n${e.stdout}${e.stderr}`);
  process.exit(1);
}
const name = `${manifest.name}-${manifest.version}.tgz`;

// Under pkg/ (git-ignored), which the test server serves at /pkg/: the pages load from the
// server itself, as an app's would.
const work = join(ROOT, 'pkg', 'consumer');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const tarball = join(work, name);
renameSync(join(packDir, name), tarball);
rmSync(packDir, { recursive: true, force: true });
const packed = (file) => execFileSync('tar', ['-xzOf', tarball, `package/${file}`]);

await check('the tarball holds exactly the package files', async () => {
  const files = run('tar', ['-tzf', tarball]).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
  assertEqual(files, EXPECTED_FILES, 'files in the tarball');
});

await check('the published manifest has the public fields and no development ones', async () => {
  const published = JSON.parse(packed('package.json'));
  const cargo = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8').match(/^version = "(.*)"$/m)[1];
  const problems = [];
  if (published.version !== cargo) problems.push(`version ${published.version}, the crate is ${cargo}`);
  for (const field of ['devDependencies', 'dependencies', 'private']) {
    if (field in published) problems.push(`has ${field}`);
  }
  // prepack only runs when packing from the repository, never on install.
  const scripts = Object.keys(published.scripts ?? {});
  if (scripts.some((s) => s !== 'prepack')) problems.push(`scripts: ${scripts}`);
  if (published.exports?.['.']?.types !== './index.d.ts') problems.push('exports["."].types');
  if (published.exports?.['./package.json'] !== './package.json') problems.push('exports["./package.json"]');
  if (published.types !== './index.d.ts') problems.push('types');
  if (published.sideEffects !== false) problems.push('sideEffects');
  if (!published.engines?.node) problems.push('engines.node');
  if (!published.repository?.url?.includes('github.com/ws-tether/ws-tether')) problems.push('repository');
  if (!published.homepage || !published.bugs?.url || !published.keywords?.length) problems.push('homepage, bugs or keywords');
  if (problems.length) throw new Error(problems.join('; '));
});

await check('the licences and the JavaScript README are the ones in the repository', async () => {
  for (const [file, source] of [['LICENSE-MIT', 'LICENSE-MIT'], ['LICENSE-APACHE', 'LICENSE-APACHE'], ['README.md', 'npm/README.md']]) {
    if (!packed(file).equals(readFileSync(join(ROOT, source)))) throw new Error(`${file} differs from ${source}`);
  }
});

await check('the README documents every option and event the types declare', async () => {
  const types = packed('index.d.ts').toString();
  const readme = packed('README.md').toString();
  const members = (name) => {
    const body = types.match(new RegExp(`interface ${name} \\{([\\s\\S]*?)\\n\\}`))?.[1];
    if (!body) throw new Error(`index.d.ts declares no ${name}`);
    return [...body.matchAll(/^ {2}(\w+)\??[:(]/gm)].map((m) => m[1]);
  };
  const missing = [...members('ReconnectingWebSocketOptions'), ...members('ReconnectingWebSocketEventMap')]
    .filter((name) => !readme.includes(`\`${name}`));
  if (missing.length) throw new Error(`npm/README.md does not mention: ${missing.join(', ')}`);
});

const app = join(work, 'app');
cpSync(join(ROOT, 'scripts/js/consumer'), app, { recursive: true });
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], app);
console.log(`packed ${name} from npm/ and installed it into an empty project`);

// The README's first example, as npm shows it, on a page with only an import map.
const readme = readFileSync(join(app, 'node_modules', 'ws-tether', 'README.md'), 'utf8');
const example = readme.match(/```js\n([\s\S]*?)```/)[1].replaceAll('ws://127.0.0.1:8787', `ws://${server}`);
writeFileSync(join(app, 'readme-example.js'), example);
writeFileSync(join(app, 'readme.html'), readFileSync(join(app, 'nobundler.html'), 'utf8').replace('./main.js', './readme-example.js'));

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
const pageErrors = (page) => {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push(`failed: ${r.url()}`));
  return errors;
};
for (const [name, path] of [['no bundler (import map)', 'app/nobundler.html'], ['Vite build', 'app/dist/index.html']]) {
  await check(`the installed package works: ${name}`, async () => {
    const page = await browser.newPage();
    const errors = pageErrors(page);
    page.on('console', (m) => errors.push(`console: ${m.text()}`));
    await page.goto(`${origin}/pkg/consumer/${path}?server=${server}`);
    await page.waitForFunction(() => document.title.startsWith('echo:'), null, { timeout: 10000 })
      .catch(async () => { throw new Error(`no echo; title "${await page.title()}", errors: ${errors.join('; ')}`); });
    const title = await page.title();
    if (title !== 'echo: from the package') throw new Error(`title: ${title}`);
    await page.close();
  });
}
await check("the package README's example runs as written", async () => {
  const page = await browser.newPage();
  const errors = pageErrors(page);
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(`${origin}/pkg/consumer/app/readme.html`);
  const deadline = Date.now() + 10000;
  while (!logs.includes('echo: hello') && Date.now() < deadline) await page.waitForTimeout(50);
  if (!logs.includes('echo: hello')) throw new Error(`no echo; console: ${logs.join(' | ')}; errors: ${errors.join('; ')}`);
  await page.close();
});
await browser.close();
if (failed()) process.exit(1);
