// Figures for the npm package, not assertions: the browser's WebSocket and the package's
// ReconnectingWebSocket run the same workloads in one page, in alternating order, and the
// medians are compared. Prints BENCH lines and one BENCHJSON line for bench-report.mjs.
// Usage: node scripts/js/bench.mjs http://127.0.0.1:PORT (a test server with --www and --pkg)
import { launch } from './browser.mjs';

const origin = process.argv[2]?.replace(/\/$/, '');
if (!origin) throw new Error('usage: node scripts/js/bench.mjs http://127.0.0.1:PORT');
const ROUNDS = 7;

const browser = await launch();
const page = await browser.newPage();
await page.goto(`${origin}/`);
await page.evaluate(async () => {
  const m = await import('/pkg/index.js');
  await m.default();
  const open = (which, url) => (which === 'raw' ? new WebSocket(url) : new m.ReconnectingWebSocket(url, [], { maxRetries: 0 }));
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
  const samples = { raw: [], ours: [] };
  await run('raw');
  await run('ours'); // warm-up
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? ['raw', 'ours'] : ['ours', 'raw'];
    for (const which of order) samples[which].push(await run(which));
  }
  const raw = median(samples.raw);
  const ours = median(samples.ours);
  results[key] = { title, raw, ours, ratio: ours / raw, samples };
  console.log(`BENCH npm ${title}: raw JS ${raw.toFixed(3)} ms, ReconnectingWebSocket ${ours.toFixed(3)} ms (${(ours / raw).toFixed(2)}x)`);
}

await figure('throughput_text', 'throughput, 20,000 x 32 B text', (which) =>
  page.evaluate(([w, u]) => window.throughput(w, u, 20000, 32, false), [which, url]));
await figure('throughput_binary', 'throughput, 2,000 x 64 KiB binary', (which) =>
  page.evaluate(([w, u]) => window.throughput(w, u, 2000, 65536, true), [which, url]));
await figure('latency_mean', 'latency, mean of 2,000 round trips', (which) =>
  page.evaluate(([w, u]) => window.latency(w, u, 2000, 32), [which, url]));
await browser.close();
console.log(`BENCHJSON ${JSON.stringify({ figure: 'npm_package', rounds: ROUNDS, results })}`);
