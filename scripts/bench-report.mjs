// Collects the BENCHJSON lines of an `npm run bench` log into bench/results: latest.json
// (everything, samples included), latest.md (the table the README shows) and latest.svg (the
// ratios to raw JS as a bar chart), and writes the tables into the README (and the framework
// crates' READMEs, their apps' sizes).
//
//   node scripts/bench-report.mjs LOG          LOG of a whole `npm run bench`
//   node scripts/bench-report.mjs --size LOG   LOG of `scripts/bench-size` alone (and, if it
//                                              has them, scripts/js/bench-share.mjs's figures):
//                                              they replace those of bench/results/latest.json,
//                                              the other figures are kept (with their date)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';

const sizeOnly = process.argv[2] === '--size';
const log = readFileSync(process.argv[sizeOnly ? 3 : 2], 'utf8');
const today = new Date().toISOString().slice(0, 10);
const previous = sizeOnly ? JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) : null;
const figures = sizeOnly ? { ...previous.figures } : {};
for (const line of log.split('\n')) {
  const at = line.indexOf('BENCHJSON ');
  if (at < 0) continue;
  const fig = JSON.parse(line.slice(at + 'BENCHJSON '.length).trim());
  if (sizeOnly && fig.figure !== 'size' && fig.figure !== 'share') continue;
  figures[fig.figure] = fig;
}
if (sizeOnly && figures.size === previous.figures.size) {
  console.error('bench-report --size: the log has no size figures (scripts/bench-size)');
  process.exit(1);
}
// With --size, the date of the other figures (and the machine's cores) stay the whole run's.
const date = sizeOnly ? previous.date : today;
const sizeDate = sizeOnly ? today : null;
const cores = sizeOnly ? previous.cores : cpus().length;
const expected = ['throughput_text', 'throughput_binary', 'latency_p50', 'latency_p99',
  'recovery', 'dead_peer', 'memory', 'size', 'herd', 'receive-backpressure', 'server', 'share'];
const missing = expected.filter((f) => !figures[f]);
if (missing.length) {
  console.error(`bench-report: no figures for ${missing.join(', ')}`);
  process.exit(1);
}

const KB = (b) => `${(b / 1000).toFixed(1)} KB`;
const ms = (x, d = 2) => `${x.toFixed(d)} ms`;
const x = (r) => `${r.toFixed(2)}×`;
const imps = ['raw', 'gloo', 'single', 'reconnecting'];
const vsRaw = (f) => imps.map((k) => f.results[k]);

const rows = [];
const targets = [];
for (const [key, target] of [['throughput_text', 1.05], ['throughput_binary', 1.05]]) {
  const f = figures[key];
  const [raw, gloo, single, rc] = vsRaw(f);
  rows.push([f.title, ms(raw.median, 1), `${ms(gloo.median, 1)} (${x(gloo.ratio)})`,
    `${ms(single.median, 1)} (${x(single.ratio)})`, `${ms(rc.median, 1)} (${x(rc.ratio)})`]);
  const worst = Math.max(single.ratio, rc.ratio);
  targets.push([f.title, `≤ ${target}× raw JS`, `single ${x(single.ratio)}, reconnecting ${x(rc.ratio)}`,
    worst <= target ? 'met' : 'missed']);
}
for (const key of ['latency_p50', 'latency_p99']) {
  const f = figures[key];
  const [raw, gloo, single, rc] = vsRaw(f);
  rows.push([f.title, ms(raw.median, 3), `${ms(gloo.median, 3)} (${x(gloo.ratio)})`,
    `${ms(single.median, 3)} (${x(single.ratio)})`, `${ms(rc.median, 3)} (${x(rc.ratio)})`]);
  if (key === 'latency_p50') {
    const worst = Math.max(single.median, rc.median) - raw.median;
    targets.push([f.title, 'within 0.05 ms of raw JS',
      `single ${(single.median - raw.median).toFixed(3)} ms, reconnecting ${(rc.median - raw.median).toFixed(3)} ms over raw`,
      worst <= 0.05 ? 'met' : 'missed']);
  }
}
const rec = figures.recovery;
rows.push([rec.title, '–', '–', '–', `${ms(rec.median, 0)} (bound ${rec.bound} ms, ${x(rec.ratio)})`]);
const dead = figures.dead_peer;
rows.push([dead.title, '–', '–', '–', `${ms(dead.median, 0)} (bound ${dead.bound} ms, ${x(dead.ratio)})`]);
const mem = figures.memory;
const growth = (v) => v[v.length - 1] - v[0];
const dWasm = growth(mem.wasm);
const dHeap = growth(mem.js_heap);
const dRaw = growth(mem.raw_js_heap_second);
const sign = (b) => `${b >= 0 ? '+' : ''}${b} B`;
rows.push(['memory growth, 1,000 vs 10 reconnect cycles', `JS heap ${sign(dRaw)}`, '–', '–',
  `wasm ${sign(dWasm)}, JS heap ${sign(dHeap)}`]);
targets.push(['memory growth, 10 → 1,000 reconnects', 'zero (wasm and JS heap)',
  `wasm ${sign(dWasm)}, JS heap ${sign(dHeap)} (raw JS loop: ${sign(dRaw)})${mem.forced_gc ? ', after forced GC' : ', no forced GC'}`,
  dWasm <= 0 && dHeap <= 0 ? 'met' : 'missed']);
const size = figures.size;
const pkg = size.npm_package.wasm + size.npm_package.js;
const appT = size.app_tether.wasm + size.app_tether.js;
const appG = size.app_gloo.wasm + size.app_gloo.js;
rows.push(['size, npm package (wasm + JS, gzip)', '–', '–', '–', KB(pkg)]);
rows.push(['size, minimal echo app (wasm + JS, gzip)', '–', KB(appG), `${KB(appT)} (${x(appT / appG)})`, '–']);
// Issue #14: 16 KiB, as scripts/test-js counts its budget.
targets.push(['npm package size', '≤ 16 KB gzip', KB(pkg), pkg <= 16 * 1024 ? 'met' : 'missed']);
const herd = figures.herd;
const full = herd.variants.find((v) => v.jitter === 'full');
const none = herd.variants.find((v) => v.jitter === 'none');
rows.push([`herd, ${full.clients} clients after a restart: peak dials / 100 ms`, '–', '–', '–',
  `full jitter ${full.peak_per_100ms} (${x(full.peak_over_mean)} mean), none ${none.peak_per_100ms} (${x(none.peak_over_mean)})`]);
targets.push(['herd peak (default jitter)', '≤ 2× mean rate', x(full.peak_over_mean),
  full.peak_over_mean <= 2 ? 'met' : 'missed']);

const rounds = figures.throughput_text.rounds;
let md = `Measured by \`npm run bench\` on ${date} (headless Chromium, loopback test server, `
  + `${cores} cores; medians of ${rounds} rounds in alternating order; `
  + `ratios are to the browser's WebSocket driven from plain JS)`
  + `${sizeDate ? `; the Rust sizes by \`scripts/bench-size\` on ${sizeDate}` : ''}.\n\n`;
md += '| figure | raw JS | gloo-net | ws-tether `WebSocket` | ws-tether `ReconnectingWebSocket` |\n';
md += '|---|---|---|---|---|\n';
for (const r of rows) md += `| ${r.join(' | ')} |\n`;
const npm = figures.npm_package;
if (npm) {
  // Our package next to the browser's WebSocket and the two JavaScript reconnecting sockets.
  const libs = Object.keys(npm.libs);
  md += '\nThe npm package from JavaScript, next to the browser\'s `WebSocket` and two JavaScript '
    + 'reconnecting sockets (one Playwright page, same medians and rounds, rotating order). '
    + 'Size: the same minimal app (connect, send on open, log messages) for each, bundled and '
    + 'minified by rolldown, gzipped; ours includes its wasm file.\n\n';
  md += `| figure | ${libs.map((k) => npm.libs[k]).join(' | ')} |\n|---|${libs.map(() => '---|').join('')}\n`;
  md += `| size, minimal app (min + gzip) | ${libs.map((k) => KB(npm.sizes[k].total)).join(' | ')} |\n`;
  for (const f of Object.values(npm.results)) {
    const d = f.medians.raw < 10 ? 3 : 1;
    md += `| ${f.title} | ${libs.map((k) => (k === 'raw' ? ms(f.medians[k], d) : `${ms(f.medians[k], d)} (${x(f.ratios[k])})`)).join(' | ')} |\n`;
  }
  for (const [key, goal] of [['throughput_text', 1.03], ['latency_mean', 1.05]]) {
    const f = npm.results[key];
    targets.push([`npm package: ${f.title}`, `≤ ${goal}× raw JS`, x(f.ratios.ours), f.ratios.ours <= goal ? 'met' : 'missed']);
  }
}
const bp = figures['receive-backpressure'];
{
  // A slow consumer of a flood, with and without reading through WebSocketStream.
  const MiB = (b) => `${(b / (1024 * 1024)).toFixed(1)} MiB`;
  const total = MiB(bp.n * bp.size);
  md += `\nReceive backpressure (Rust \`WebSocket\`): the server floods ${total} (${bp.n} binary messages `
    + `of ${bp.size / 1024} KiB) to a consumer that sleeps ${bp.delay_ms} ms per message. Peak growth `
    + 'over the start of wasm memory (sampled after every message) and JS heap (every 256 '
    + 'messages, after a forced GC), and the time to read everything. Without it the unread '
    + 'messages pile up in wasm memory (the inbox); with it the server waits instead, and '
    + 'reading is paced by the consumer.'
    + (bp.stream ? '' : ' **This browser has no `WebSocketStream`: both runs used `WebSocket`.**')
    + '\n\n| consumer | peak wasm memory | peak JS heap | time |\n|---|---|---|---|\n';
  for (const [label, r] of [['`receive_backpressure(true)`', bp.results.with], ['default (`WebSocket`)', bp.results.without]]) {
    md += `| ${label} | +${MiB(r.peak_wasm_growth)} | +${MiB(r.peak_js_heap_growth)} | ${ms(r.ms, 0)} |\n`;
  }
}
if (size.frameworks) {
  // The minimal reconnecting Leptos and Yew apps (bench/size-apps): ws-tether's hooks per
  // feature set beside leptos-use's and yew-hooks' `use_websocket`.
  const sets = Object.keys(size.feature_sets);
  const others = { leptos: 'leptos-use', yew: 'yew-hooks' };
  const sum = (s) => s.wasm + s.js;
  md += '\nThe same minimal reconnecting app (a status badge, the last message, a send button; '
    + '`bench/size-apps`) on each framework\'s popular hook and on ws-tether\'s, once per set of '
    + 'ws-tether features (wasm + JS, gzip; release, wasm-opt -Oz). '
    + sets.map((k) => `${k}: ${size.feature_sets[k] ? `\`${size.feature_sets[k].split(',').join('`, `')}\`` : 'none'}`).join('; ')
    + '.\n\n';
  md += `| app | theirs | ${sets.map((k) => `ws-tether, ${k}`).join(' | ')} |\n|---|---|${sets.map(() => '---|').join('')}\n`;
  for (const [framework, them] of Object.entries(others)) {
    const f = size.frameworks[framework];
    const base = sum(f[them]);
    md += `| ${framework[0].toUpperCase()}${framework.slice(1)} (${them}) | ${KB(base)} | `
      + `${sets.map((k) => `${KB(sum(f[k]))} (+${KB(sum(f[k]) - base)})`).join(' | ')} |\n`;
    // Issue #22: the minimal reconnecting app within 10 KB of the popular hook's.
    const least = sum(f[sets[0]]);
    targets.push([`minimal ${framework} app vs ${them}`, '≤ +10 KB gzip', `+${KB(least - base)}`,
      least - base <= 10 * 1000 ? 'met' : 'missed']);
  }
}
{
  // One connection shared by the tabs (scripts/js/bench-share.mjs, issue #24).
  const sh = figures.share;
  md += '\nOne connection for every tab (`share`; `scripts/js/bench-share.mjs`, headless Chromium, '
    + 'pages of one context, resume on). Traffic: every tab says 20 things in the chat room '
    + '(each message said goes to every session), then idles 3 s with a heartbeat every '
    + '500 ms; counted on the browser\'s own `WebSocket` in every page. Failover: 4 tabs, the '
    + `holder's page closed ${sh.failover.changes} times, to the server seeing the next holder's dial. `
    + 'Round trip: send to the echo received, from the holder\'s tab and a follower\'s '
    + '(alternating, 200 each).\n\n';
  md += '| tabs | connections | heartbeat pings in 3 s | messages the server sent (frames) |\n|---|---|---|---|\n';
  for (const t of sh.traffic) {
    md += `| ${t.tabs}, ${t.shared ? 'sharing one connection' : 'each its own'} | ${t.connections} | ${t.pings_3s} | `
      + `${t.server_texts} (${t.server_frames}) for ${t.said} said |\n`;
  }
  md += `\n| failover median / max | round trip, holder's tab: median / p99 | a follower's: median / p99 |\n|---|---|---|\n`
    + `| ${ms(sh.failover.median_ms, 0)} / ${ms(sh.failover.max_ms, 0)} | ${ms(sh.hop.holder.median_ms)} / ${ms(sh.hop.holder.p99_ms)} `
    + `| ${ms(sh.hop.follower.median_ms)} / ${ms(sh.hop.follower.p99_ms)} |\n`;
  targets.push(['share: failover, the holder\'s page closed to the next dial (max)', '≤ 500 ms', ms(sh.failover.max_ms, 0),
    sh.failover.max_ms <= 500 ? 'met' : 'missed']);
}
{
  // The resume server beside raw axum (scripts/bench-server): its rows and targets come
  // rendered from the load generator, so the terminal and the README say the same.
  const srv = figures.server;
  md += '\nThe resume server (`ws-tether-server`) beside a plain axum WebSocket echo, measured in '
    + `the same run (\`scripts/bench-server\`, ratios to raw axum). ${srv.setup}\n\n`;
  md += `| figure | ${srv.columns.join(' | ')} |\n|---|${srv.columns.map(() => '---|').join('')}\n`;
  for (const r of srv.rows) md += `| ${r.join(' | ')} |\n`;
  for (const n of srv.notes) md += `\nNote: ${n}\n`;
  for (const t of srv.targets) targets.push(t);
}
md += '\n| target | goal | measured | verdict |\n|---|---|---|---|\n';
for (const t of targets) md += `| ${t.join(' | ')} |\n`;

// The chart: one group of bars per ratio figure, one bar per socket, a line at 1×.
const groups = [
  ['text throughput', figures.throughput_text],
  ['binary throughput', figures.throughput_binary],
  ['latency p50', figures.latency_p50],
  ['latency p99', figures.latency_p99],
];
const colors = { raw: '#9e9e9e', gloo: '#f0a030', single: '#3070c0', reconnecting: '#30a070' };
const W = 720, H = 320, left = 50, top = 40, bottom = 50, plotH = H - top - bottom;
const maxRatio = Math.max(2, ...groups.flatMap(([, f]) => imps.map((k) => f.results[k].ratio)));
const yMax = Math.ceil(maxRatio * 2) / 2;
const y = (r) => top + plotH - (r / yMax) * plotH;
const groupW = (W - left - 20) / groups.length;
const barW = groupW / (imps.length + 1.5);
let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
svg += `<rect width="${W}" height="${H}" fill="#fff"/>\n`;
svg += `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">ws-tether vs raw JS WebSocket (ratio of medians, lower is better)</text>\n`;
for (let t = 0; t <= yMax + 1e-9; t += 0.5) {
  svg += `<line x1="${left}" x2="${W - 20}" y1="${y(t)}" y2="${y(t)}" stroke="${t === 1 ? '#000' : '#e0e0e0'}"${t === 1 ? ' stroke-dasharray="4 3"' : ''}/>`;
  svg += `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(1)}×</text>\n`;
}
groups.forEach(([name, f], g) => {
  const gx = left + g * groupW + barW * 0.75;
  imps.forEach((k, i) => {
    const r = f.results[k].ratio;
    const bx = gx + i * barW;
    svg += `<rect x="${bx.toFixed(1)}" y="${y(r).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(r)).toFixed(1)}" fill="${colors[k]}"><title>${k}: ${r.toFixed(3)}×</title></rect>`;
    svg += `<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(y(r) - 3).toFixed(1)}" text-anchor="middle" font-size="9">${r.toFixed(2)}</text>\n`;
  });
  svg += `<text x="${(gx + (imps.length * barW) / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${name}</text>\n`;
});
imps.forEach((k, i) => {
  const lx = left + i * 150;
  svg += `<rect x="${lx}" y="${H - 18}" width="12" height="12" fill="${colors[k]}"/><text x="${lx + 16}" y="${H - 8}">${{ raw: 'raw JS', gloo: 'gloo-net', single: 'WebSocket', reconnecting: 'ReconnectingWebSocket' }[k]}</text>\n`;
});
svg += '</svg>\n';

mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latest.json',
  `${JSON.stringify({ date, ...(sizeDate ? { size_date: sizeDate } : {}), cores, figures, targets: targets.map(([target, goal, measured, verdict]) => ({ target, goal, measured, verdict })) }, null, 2)}\n`);
writeFileSync('bench/results/latest.md', md);
writeFileSync('bench/results/latest.svg', svg);
// The README shows the latest table between its bench markers.
const readme = readFileSync('README.md', 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a >= 0 && b > a) {
  writeFileSync('README.md', `${readme.slice(0, a + start.length)}\n${md}${readme.slice(b)}`);
}
// Each framework crate's README shows its minimal app per feature set, beside the popular
// hook's, between its size markers.
const crates = [];
if (size.frameworks) {
  const sets = Object.keys(size.feature_sets);
  const sum = (s) => s.wasm + s.js;
  for (const [framework, them] of [['leptos', 'leptos-use'], ['yew', 'yew-hooks']]) {
    const f = size.frameworks[framework];
    const base = sum(f[them]);
    const names = sets.map((k) => (size.feature_sets[k] ? size.feature_sets[k].split(',').map((n) => `\`${n}\``).join(', ') : 'none'));
    let table = `The minimal reconnecting app of the repository's size benchmark (\`bench/size-apps\`: a status `
      + `badge, the last message, a send button), wasm + JS gzipped, per set of features, beside the same app `
      + `on ${them}${them.endsWith('s') ? "'" : "'s"} \`use_websocket\` (\`scripts/bench-size\`, ${sizeDate ?? date}):\n\n`;
    table += `| ${them} | ${sets.map((k, i) => (k === 'default' ? 'default (all)' : names[i])).join(' | ')} |\n`;
    table += `|---|${sets.map(() => '---|').join('')}\n`;
    table += `| ${KB(base)} | ${sets.map((k) => `${KB(sum(f[k]))} (+${KB(sum(f[k]) - base)})`).join(' | ')} |\n`;
    const file = `frameworks/${framework}/README.md`;
    const text = readFileSync(file, 'utf8');
    const [from, to] = ['<!-- size:start -->', '<!-- size:end -->'];
    const i = text.indexOf(from);
    const j = text.indexOf(to);
    if (i >= 0 && j > i) {
      writeFileSync(file, `${text.slice(0, i + from.length)}\n${table}${text.slice(j)}`);
      crates.push(file);
    }
  }
}
console.log(`\n${md}\nwrote bench/results/latest.{json,md,svg}${a >= 0 ? ' and the README table' : ''}`
  + `${crates.length ? ` and the sizes in ${crates.join(', ')}` : ''}`);
