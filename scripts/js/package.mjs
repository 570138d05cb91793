// The package as users get it, the part no browser is needed for: `npm pack ./npm` packs it
// the way a clean clone does (its prepack step builds the wasm and copies the files in), the
// tarball's files and manifest are checked, then it is installed into an empty project
// (pkg/consumer/app, which package-pages.mjs then opens in each engine: with no bundler (an
// import map), from a Vite build, and the README example it ships as written), and its
// types are checked by `tsc --noEmit` on a TypeScript consumer.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertEqual } from './engines.mjs';
import { ROOT } from './browser.mjs';

const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

// What a user installs, and nothing else.
const EXPECTED_FILES = [
  'LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'index.d.ts', 'index.js', 'package.json',
  'share.d.ts', 'share.js', 'ws_tether.js', 'ws_tether_bg.wasm', 'ws_tether_share.js', 'ws_tether_share_bg.wasm',
];

// Packed outside pkg/: the prepack step rebuilds pkg/.
const manifest = JSON.parse(readFileSync(join(ROOT, 'npm', 'package.json'), 'utf8'));
const packDir = mkdtempSync(join(tmpdir(), 'ws-tether-pack-'));
try {
  run('npm', ['pack', './npm', '--pack-destination', packDir], ROOT);
} catch (e) {
  throw new Error(`npm pack ./npm failed:\n${e.stdout}${e.stderr}`);
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

test('the tarball holds exactly the package files', async () => {
  const files = run('tar', ['-tzf', tarball]).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
  assertEqual(files, EXPECTED_FILES, 'files in the tarball');
});

test('the published manifest has the public fields and no development ones', async () => {
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

test('the licences and the JavaScript README are the ones in the repository', async () => {
  for (const [file, source] of [['LICENSE-MIT', 'LICENSE-MIT'], ['LICENSE-APACHE', 'LICENSE-APACHE'], ['README.md', 'npm/README.md']]) {
    if (!packed(file).equals(readFileSync(join(ROOT, source)))) throw new Error(`${file} differs from ${source}`);
  }
});

test('the README documents every option and event the types declare', async () => {
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

test('tsc --noEmit on a TypeScript consumer', async () => {
  try {
    run(bin('tsc'), ['-p', app], app);
  } catch (e) {
    throw new Error(`${e.stdout}${e.stderr}`);
  }
});

test('vite build of the consumer', async () => {
  try {
    // Vite 8 (node_modules/.bin/vite may be Vite 5's: both are dev dependencies, see bundlers.mjs).
    run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--base', './', '--outDir', 'dist', '--logLevel', 'warn'], app);
  } catch (e) {
    throw new Error(`${e.stdout}${e.stderr}`);
  }
});

