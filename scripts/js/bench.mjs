// Figures for the npm package, not assertions. Four sockets run the same workloads in one
// page, in rotating order, and the medians are compared: the browser's WebSocket (the
// baseline), our ReconnectingWebSocket, and the two JavaScript reconnecting sockets people
// reach for, partysocket and reconnecting-websocket (devDependencies at pinned versions).
// Sizes: the same minimal app for each, bundled and minified by rolldown, gzipped (the
// wasm file included for ours). Prints BENCH lines and one BENCHJSON line for
// bench-report.mjs.
// Usage: node scripts/js/bench.mjs http://127.0.0.1:PORT (a test server with --www and --pkg)
import { rolldown } from 'rolldown';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launch, ROOT } from './browser.mjs';

const origin = process.argv[2]?.replace(/\/$/, '');
if (!origin) throw new Error('usage: node scripts/js/bench.mjs http://127.0.0.1:PORT');
const ROUNDS = 7;

// Each socket: how a minimal app imports and makes it.
const LIBS = {
  raw: { name: 'browser WebSocket', imports: '', make: 'new WebSocket(url)' },
  ours: {
    name: 'ws-tether',
    imports: `import init, { ReconnectingWebSocket } from '${ROOT}/pkg/index.js';\nawait init();`,
    make: 'new ReconnectingWebSocket(url)',
    wasm: join(ROOT, 'pkg/ws_tether_bg.wasm'),
  },
  partysocket: {
    name: 'partysocket 1.3.0',
    imports: "import ReconnectingWebSocket from 'partysocket/ws';",
    make: 'new ReconnectingWebSocket(url)',
  },
  rws: {
    name: 'reconnecting-websocket 4.4.0',
    imports: "import ReconnectingWebSocket from 'reconnecting-websocket';",
    make: 'new ReconnectingWebSocket(url)',
  },
};
const KEYS = Object.keys(LIBS);
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

/** Bundles `source` (a module under the repository, so packages resolve) with rolldown. */
async function bundle(source, format) {
  const dir = join(ROOT, 'target/bench-js');
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(entry, source);
  try {
    const build = await rolldown({ input: entry, cwd: ROOT, logLevel: 'silent' });
    const { output } = await build.generate({ format, minify: true });
    await build.close();
    return output;
  } finally {
    rmSync(entry);
  }
}

// The same minimal app for every library: connect, send on open, log what arrives.
const sizes = {};
for (const [key, lib] of Object.entries(LIBS)) {
  const app = `${lib.imports}\nconst url = 'wss://chat.example/room';\nconst ws = ${lib.make};\n`
    + "ws.addEventListener('open', () => ws.send('hello'));\n"
    + "ws.addEventListener('message', (e) => console.log(e.data));\n";
  const output = await bundle(app, 'esm');
  const js = output.reduce((n, o) => n + gz(o.type === 'chunk' ? o.code : o.source), 0);
  // rolldown leaves wasm-bindgen's `new URL('ws_tether_bg.wasm', import.meta.url)` to the
  // app to serve: the file ships as it is.
  const wasm = lib.wasm ? gz(readFileSync(lib.wasm)) : 0;
  sizes[key] = { js, wasm, total: js + wasm };
  console.log(`BENCH npm size, minimal app: ${lib.name} ${js + wasm} B gzip (JS ${js}${wasm ? `, wasm ${wasm}` : ''})`);
}

// The two JavaScript libraries, for the page.
const [peers] = await bundle(
  "import PartySocket from 'partysocket/ws';\nimport Rws from 'reconnecting-websocket';\n"
  + 'window.benchPeers = { partysocket: PartySocket, rws: Rws };\n', 'iife');

const browser = await launch();
const page = await browser.newPage();
await page.goto(`${origin}/`);
await page.addScriptTag({ content: peers.code });
await page.evaluate(async () => {
  const m = await import('/pkg/index.js');
  await m.default();
  const { partysocket, rws } = window.benchPeers;
  // No retries anywhere: every run is one connection.
  const open = (which, url) => {
    if (which === 'raw') return new WebSocket(url);
    const Socket = { ours: m.ReconnectingWebSocket, partysocket, rws }[which];
    return new Socket(url, [], { maxRetries: 0 });
  };
  const closed = (ws) => new Promise((r) => { ws.addEventListener('close', r, { once: true }); ws.close(); });
  // Sends `n` messages at open and times until every echo is back.
  window.throughput = (which, url, n, size, binary) => new Promise((resolve) => {
    const ws = open(which, url);
    ws.binaryType = 'arraybuffer';
    const payload = binary ? new Uint8Array(size) : 'x'.repeat(size);
    let got = 0;
    let t0 = 0;
    ws.addEventListener('open', () => { t0 = performance.now(); for (let i = 0; i < n; i += 1) ws.send(payload); });
    ws.addEventListener('message', () => {
      got += 1;
      if (got === n) { const t = performance.now() - t0; closed(ws).then(() => resolve(t)); }
    });
  });
  // `n` round trips one after the other; resolves with the mean (performance.now() is
  // coarsened to 0.1 ms here, too coarse for single round trips).
  window.latency = (which, url, n, size) => new Promise((resolve) => {
    const ws = open(which, url);
    const payload = 'x'.repeat(size);
    let got = 0;
    let t0 = 0;
    ws.addEventListener('open', () => { t0 = performance.now(); ws.send(payload); });
    ws.addEventListener('message', () => {
      got += 1;
      if (got === n) { const t = (performance.now() - t0) / n; closed(ws).then(() => resolve(t)); return; }
      ws.send(payload);
    });
  });
});

const url = `${origin.replace('http', 'ws')}/echo`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
async function figure(key, title, run) {
  const samples = Object.fromEntries(KEYS.map((k) => [k, []]));
  for (const which of KEYS) await run(which); // warm-up
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each socket goes first once every four rounds.
    const order = KEYS.map((_, i) => KEYS[(i + round) % KEYS.length]);
    for (const which of order) samples[which].push(await run(which));
  }
  const medians = Object.fromEntries(KEYS.map((k) => [k, median(samples[k])]));
  const ratios = Object.fromEntries(KEYS.map((k) => [k, medians[k] / medians.raw]));
  results[key] = { title, medians, ratios, samples };
  const d = medians.raw < 10 ? 3 : 1;
  console.log(`BENCH npm ${title}: ${KEYS.map((k) => `${LIBS[k].name} ${medians[k].toFixed(d)} ms (${ratios[k].toFixed(2)}x)`).join(', ')}`);
}

await figure('throughput_text', 'throughput, 20,000 x 32 B text', (which) =>
  page.evaluate(([w, u]) => window.throughput(w, u, 20000, 32, false), [which, url]));
await figure('throughput_binary', 'throughput, 2,000 x 64 KiB binary', (which) =>
  page.evaluate(([w, u]) => window.throughput(w, u, 2000, 65536, true), [which, url]));
await figure('latency_mean', 'latency, mean of 2,000 round trips', (which) =>
  page.evaluate(([w, u]) => window.latency(w, u, 2000, 32), [which, url]));
await browser.close();
const libs = Object.fromEntries(KEYS.map((k) => [k, LIBS[k].name]));
console.log(`BENCHJSON ${JSON.stringify({ figure: 'npm_package', rounds: ROUNDS, libs, sizes, results })}`);
