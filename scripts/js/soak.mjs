// The chaos soak's driver (run by scripts/soak, which builds everything and starts Redis).
// Starts two soak-server processes A and B sharing the Redis store, opens the soak page in
// headless Chromium (four clients: the npm package and the Rust API, resume on and off,
// each sending a numbered message every 10 ms while the server pushes numbered messages
// back), injects faults round-robin at seeded random moments, then stops the clients, lets
// them flush and compares both ends' counts. Prints a table per client; exits non-zero if a
// resume-on client lost, duplicated or reordered anything in either direction, never
// reconnected, or did not flush, or if a fault could not be applied. Resume-off losses
// are the baseline: reported, not failed.
//
//   node scripts/js/soak.mjs --server BIN --redis URL --faults N [--seed S] [--gap MIN-MAX]
//                            [--plain-only] [--kinds K,K,...] [--json FILE] [--readme]
// --readme writes the figures into README.md between <!-- soak:start --> and <!-- soak:end -->.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync, openSync } from 'node:fs';
import { launch } from './engines.mjs';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const args = parseArgs(process.argv.slice(2));
const FAULTS = Number(args.faults ?? 200);
const SEED = Number(args.seed ?? (Date.now() % 2 ** 31));
const [GAP_MIN, GAP_MAX] = (args.gap ?? '500-2000').split('-').map(Number);
const STOP_MIN = 2000;
const STOP_MAX = 5000;
const BOUND_MS = Number(args.bound ?? 600000);
const ALL_KINDS = ['kill', 'stop', 'close1000', 'close1001', 'switch'];
// --kinds kill,stop,...: only these faults (diagnosis); the soak proper runs all five.
const KINDS = args.kinds ? String(args.kinds).split(',') : ALL_KINDS;
if (!KINDS.every((k) => ALL_KINDS.includes(k))) throw new Error(`--kinds: a list of ${ALL_KINDS.join(', ')}`);
const random = mulberry32(SEED);
const between = (lo, hi) => Math.round(lo + random() * (hi - lo));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[soak ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)} s]`, ...a);
const T0 = Date.now();

if (!args.server || !args.redis) throw new Error('usage: soak.mjs --server BIN --redis URL --faults N');
// A watchdog: whatever hangs, the soak ends (the fault loop stops at the bound on its own).
setTimeout(() => {
  console.log(`[soak] FAILED: still running ${(BOUND_MS + 180000) / 1000} s after the start`);
  process.exit(1);
}, BOUND_MS + 180000).unref();
console.log(`[soak] ${FAULTS} faults, seed ${SEED} (SOAK_SEED=${SEED} repeats the schedule), gaps ${GAP_MIN}-${GAP_MAX} ms`);

// ---------------------------------------------------------------------------------------
// Processes: two soak servers, restarted on their own port after a kill or an exit.
const logDir = mkdtempSync(join(tmpdir(), 'ws-tether-soak-'));
const children = new Set();
process.on('exit', () => {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

class SoakServer {
  constructor(name) {
    this.name = name;
    this.port = 0;
    this.proc = null;
    this.starts = 0;
    this.expectExit = false;
    this.crashes = [];
  }
  get http() { return `http://127.0.0.1:${this.port}`; }
  get ws() { return `ws://127.0.0.1:${this.port}`; }

  /** Starts the process (on its earlier port after the first start); resolves when it listens. */
  async start() {
    this.starts += 1;
    const logFile = join(logDir, `${this.name}.log`);
    const out = openSync(logFile, 'a');
    const proc = spawn(args.server, ['--port', String(this.port), '--redis', args.redis, '--name', this.name],
      { stdio: ['ignore', 'pipe', out] });
    children.add(proc);
    this.proc = proc;
    this.expectExit = false;
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      if (this.proc !== proc || this.expectExit) return;
      // Reported as a failure; restarted so that the soak goes on.
      const what = `exited (${code ?? signal}) unexpectedly after fault ${done}, ${((Date.now() - T0) / 1000).toFixed(1)} s in`;
      this.crashes.push(what);
      log(`server ${this.name} ${what}; restarting it`);
      this.start().catch((e) => this.crashes.push(`could not be restarted: ${e.message}`));
    });
    const port = await new Promise((resolvePort, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`${this.name} did not report its port (log: ${logFile})`)), 30000);
      proc.stdout.on('data', (chunk) => {
        text += chunk;
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(text);
        if (m) { clearTimeout(timer); resolvePort(Number(m[1])); }
      });
      proc.on('exit', () => { clearTimeout(timer); reject(new Error(`${this.name} exited while starting (log: ${logFile})`)); });
    });
    proc.stdout.resume();
    this.port = port;
  }

  /** Resolves once the process has exited (`ms` at most; false if it did not). */
  waitExit(ms) {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
    return Promise.race([new Promise((r) => proc.once('exit', () => r(true))), sleep(ms).then(() => false)]);
  }

  signal(sig) {
    if (sig === 'SIGKILL') this.expectExit = true;
    this.proc.kill(sig);
  }

  async post(path) {
    const res = await fetch(`${this.http}${path}`, { method: 'POST' });
    if (!res.ok) throw new Error(`POST ${path} on ${this.name}: HTTP ${res.status}`);
  }
}

let done = 0; // faults applied so far
const servers = [new SoakServer('A'), new SoakServer('B')];
await Promise.all(servers.map((s) => s.start()));
let current = 0;
log(`soak servers: A ${servers[0].http}, B ${servers[1].http} (logs: ${logDir})`);
await servers[0].post('/soak/reset');

// ---------------------------------------------------------------------------------------
// The page: served from this process (the soak servers come and go).
const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.json': 'application/json' };
const MOUNTS = [['/pkg/', join(ROOT, 'pkg')], ['/client/', join(ROOT, 'target', 'soak-client')], ['/', join(ROOT, 'examples', 'soak-client', 'www')]];
const web = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const [prefix, dir] = MOUNTS.find(([p]) => path.startsWith(p));
  const file = join(dir, path.slice(prefix.length) || 'index.html');
  if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
});
await new Promise((r) => web.listen(0, '127.0.0.1', r));
const pageUrl = `http://127.0.0.1:${web.address().port}/index.html`;

const browser = await launch('chromium');
process.on('exit', () => { try { browser.close(); } catch { /* closing */ } });
const page = await browser.newPage();
await page.goto(pageUrl);
await page.waitFor('the soak page to load', () => window.soakReady === true, undefined, 30000);
const run = Math.random().toString(36).slice(2, 8);
const SPECS = [
  { id: `${run}-npm-resume`, api: 'npm', resume: true },
  { id: `${run}-npm-plain`, api: 'npm', resume: false },
  { id: `${run}-rust-resume`, api: 'rust', resume: true },
  { id: `${run}-rust-plain`, api: 'rust', resume: false },
  // A server application that reads in bursts: flow control (the receive window) under faults.
  { id: `${run}-npm-slow`, api: 'npm', resume: true, app: 'slow' },
  { id: `${run}-rust-slow`, api: 'rust', resume: true, app: 'slow' },
].filter((s) => !(args['plain-only'] && s.resume));
await page.evaluate((origin) => window.soak.setTarget(origin), servers[current].ws);
await page.evaluate((specs) => window.soak.start(specs), SPECS);
log(`clients: ${SPECS.map((s) => s.id).join(', ')}`);

// Clients closed for good (a failure, reported at the end) are not waited for.
const allConnected = () => page.evaluate(() => Object.values(window.soak.stats()).every((s) => s.connected || s.closedForGood));
async function waitConnected(ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await allConnected()) return true;
    await sleep(50);
  }
  return false;
}
if (!await waitConnected(15000)) {
  const stats = await page.evaluate(() => window.soak.stats());
  const down = Object.entries(stats).filter(([, s]) => !s.connected).map(([id, s]) => `${id} (${s.notes.join('; ') || 'no event'})`);
  throw new Error(`not connected to the first server within 15 s: ${down.join(', ')}`);
}

// ---------------------------------------------------------------------------------------
// Faults.
const problems = [];
const applied = Object.fromEntries(ALL_KINDS.map((k) => [k, 0]));
async function restart(server) {
  if (!await server.waitExit(10000)) throw new Error(`${server.name} did not exit`);
  await server.start();
}
async function fault(kind) {
  const s = servers[current];
  switch (kind) {
    case 'kill':
      s.signal('SIGKILL');
      await restart(s);
      return `SIGKILL ${s.name}, restarted`;
    case 'stop': {
      const ms = between(STOP_MIN, STOP_MAX);
      s.signal('SIGSTOP');
      await sleep(ms);
      s.signal('SIGCONT');
      return `SIGSTOP ${s.name} for ${ms} ms, SIGCONT`;
    }
    case 'close1000':
      await s.post('/soak/close?code=1000');
      return `close 1000 on ${s.name}`;
    case 'close1001':
      s.expectExit = true;
      await s.post('/soak/close?code=1001&exit=1').catch(() => { /* it may exit before answering */ });
      await restart(s);
      return `close 1001 + exit on ${s.name}, restarted`;
    case 'switch': {
      const next = servers[1 - current];
      await page.evaluate((origin) => window.soak.setTarget(origin), next.ws);
      current = 1 - current;
      await s.post('/soak/close?code=1001');
      return `switch ${s.name} -> ${next.name} (close 1001 on ${s.name})`;
    }
    default:
      throw new Error(kind);
  }
}

for (; done < FAULTS; done += 1) {
  if (Date.now() - T0 > BOUND_MS) {
    problems.push(`only ${done} of ${FAULTS} faults within the ${BOUND_MS / 1000} s bound`);
    break;
  }
  await sleep(between(GAP_MIN, GAP_MAX));
  const kind = KINDS[done % KINDS.length];
  try {
    const what = await fault(kind);
    applied[kind] += 1;
    log(`fault ${done + 1}/${FAULTS}: ${what}`);
  } catch (e) {
    problems.push(`fault ${done + 1} (${kind}) failed: ${e.message}`);
    log(`fault ${done + 1}/${FAULTS} (${kind}) FAILED: ${e.message}`);
  }
  if (!await waitConnected(20000)) {
    problems.push(`after fault ${done + 1} (${kind}) not every client reconnected within 20 s`);
    log('not every client reconnected within 20 s');
  }
}
const faultSeconds = (Date.now() - T0) / 1000;

// ---------------------------------------------------------------------------------------
// The end: stop sending, flush, compare.
log('stopping the clients; flushing');
const flushed = await page.evaluate((ms) => window.soak.stop(ms), 15000);
await sleep(1000); // the server's store catches up with the last writes
const statsFrom = async (server) => (await fetch(`${server.http}/soak/stats`)).json();
const serverStats = await statsFrom(servers[current]);
// Every push up to this snapshot must reach the client: wait for the client to pass it.
const pushed = Object.fromEntries(SPECS.map((s) => [s.id, serverStats[s.id]?.pushed ?? 0]));
for (let i = 0; i < 100; i += 1) {
  const highs = await page.evaluate(() => Object.fromEntries(Object.entries(window.soak.stats()).map(([id, s]) => [id, s.highest])));
  if (SPECS.every((s) => highs[s.id] >= pushed[s.id])) break;
  await sleep(50);
}
const lostIn = await page.evaluate((p) => window.soak.lost(p), pushed);
const clientStats = await page.evaluate(() => window.soak.stats());
await page.evaluate(() => window.soak.closeAll());
for (const s of servers) for (const c of s.crashes) problems.push(`server ${s.name} ${c}`);

const median = (xs) => {
  if (xs.length === 0) return null;
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const rows = SPECS.map((spec) => {
  const c = clientStats[spec.id];
  const s = serverStats[spec.id] ?? {};
  const up = {
    sent: c.sent,
    // Sent but never recorded by the server: the gaps below its highest, and the tail.
    lost: (s.lost ?? 0) + Math.max(0, c.sent - (s.highest ?? 0)),
    duplicated: s.duplicates ?? 0,
    reordered: s.reordered ?? 0,
    extra: Math.max(0, (s.highest ?? 0) - c.sent), // recorded but never sent: must be 0
    invalid: s.invalid ?? 0,
    // Resume: delivered again after a process died between handing a message over and
    // recording it (the protocol's at-least-once window), recognised by session and number.
    redelivered: s.redelivered ?? 0,
  };
  const down = { pushed: pushed[spec.id], lost: lostIn[spec.id], duplicated: c.duplicates, reordered: c.reordered, garbage: c.garbage };
  const times = c.reconnectMs;
  return {
    ...spec, up, down, reconnects: c.reconnects, opens: c.opens, flushed: flushed[spec.id],
    reconnectMedianMs: median(times), reconnectMaxMs: times.length ? Math.max(...times) : null,
    resumed: c.resumed, sessionsLost: c.sessionsLost,
    sendErrors: c.sendErrors, lastSendError: c.lastSendError, notes: c.notes, server: s,
  };
});
for (const r of rows) {
  const who = `${r.api} resume ${r.resume ? 'on' : 'off'}${r.app ? `, ${r.app} app` : ''}`;
  if (r.up.extra > 0) problems.push(`${who}: the server recorded ${r.up.extra} numbers above what was sent`);
  if (r.notes.length) problems.push(`${who}: ${r.notes.join('; ')}`);
  if (!r.resume) continue;
  const bad = [['c->s lost', r.up.lost], ['c->s invalid', r.up.invalid], ['c->s duplicated', r.up.duplicated], ['c->s reordered', r.up.reordered],
    ['s->c lost', r.down.lost], ['s->c duplicated', r.down.duplicated], ['s->c reordered', r.down.reordered],
    ['s->c garbage', r.down.garbage]].filter(([, n]) => n !== 0);
  for (const [what, n] of bad) problems.push(`${who}: ${what} ${n}`);
  if (r.reconnects === 0) problems.push(`${who}: never reconnected`);
  if (r.resumed === 0) problems.push(`${who}: never resumed a session`);
  if (!r.flushed) problems.push(`${who}: did not flush within 15 s`);
}

// ---------------------------------------------------------------------------------------
// Report.
const ms = (v) => (v === null ? '-' : `${Math.round(v)}`);
const header = ['client', 'sent', 'c→s lost', 'dup', 'reord', 'pushed', 's→c lost', 'dup', 'reord', 'reconnects', 'median ms', 'max ms'];
const table = rows.map((r) => [`${r.api} resume ${r.resume ? 'on' : 'off'}${r.app ? `, ${r.app} app` : ''}`, r.up.sent, r.up.lost, r.up.duplicated, r.up.reordered,
  r.down.pushed, r.down.lost, r.down.duplicated, r.down.reordered, r.reconnects, ms(r.reconnectMedianMs), ms(r.reconnectMaxMs)]);
const faultsLine = Object.entries(applied).map(([k, n]) => `${k} ${n}`).join(', ');
console.log(`\n[soak] ${done} faults in ${faultSeconds.toFixed(0)} s (${faultsLine}), seed ${SEED}`);
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
for (const t of table) console.log(`| ${t.join(' | ')} |`);
for (const r of rows) {
  console.log(`[soak] ${r.api} resume ${r.resume ? 'on' : 'off'}${r.app ? `, ${r.app} app` : ''}: opens ${r.opens}, resumed ${r.resumed}, sessions lost ${r.sessionsLost}, `
    + `redelivered (deduplicated) ${r.up.redelivered}, send errors ${r.sendErrors}${r.sendErrors ? ` (${r.lastSendError})` : ''}, flushed ${r.flushed}`);
}
if (args.json) {
  await writeFile(args.json, JSON.stringify({ seed: SEED, faults: done, seconds: faultSeconds, applied, rows, problems }, null, 2));
  console.log(`[soak] figures written to ${args.json}`);
}
if (args.readme) {
  const readme = join(ROOT, 'README.md');
  const text = await readFile(readme, 'utf8');
  const block = /<!-- soak:start -->[\s\S]*<!-- soak:end -->/;
  if (KINDS.length < ALL_KINDS.length) throw new Error('--readme takes the figures of a soak with every kind of fault');
  if (!block.test(text)) throw new Error('README.md has no <!-- soak:start --> ... <!-- soak:end --> block');
  await writeFile(readme, text.replace(block, `<!-- soak:start -->\n${markdown()}<!-- soak:end -->`));
  console.log('[soak] figures written to README.md');
}
await browser.close();
web.close();
if (problems.length) {
  console.log(`\n[soak] FAILED:\n  ${problems.join('\n  ')}\n[soak] server logs: ${logDir}`);
  process.exit(1);
}
console.log('[soak] passed: nothing lost, duplicated or reordered with resume on');
process.exit(0);

// ---------------------------------------------------------------------------------------
/** The README's figures: the run, then one row per client. */
function markdown() {
  const day = new Date().toISOString().slice(0, 10);
  const kinds = `${applied.kill} SIGKILL + restart, ${applied.stop} SIGSTOP 2–5 s + SIGCONT, ${applied.close1000} close 1000, `
    + `${applied.close1001} close 1001 + exit + restart, ${applied.switch} switches to the other server`;
  const lines = [
    `Measured by \`npm run soak\` on ${day}: ${done} faults in ${faultSeconds.toFixed(0)} s (${kinds}), seed ${SEED}; `
      + 'headless Chromium, two debug-build soak servers sharing a Redis store, loopback, 2 cores. '
      + 'Lost, duplicated and reordered are counted on the receiving end of each direction.',
    '',
    '| client | c→s sent | lost | duplicated | reordered | s→c pushed | lost | duplicated | reordered | reconnects | reconnect time median / max |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.api === 'npm' ? 'npm package' : 'Rust API'}, resume ${r.resume ? 'on' : 'off'}${r.app ? `, ${r.app} app` : ''} | ${r.up.sent} | `
      + `${r.up.lost} | ${r.up.duplicated} | ${r.up.reordered} | ${r.down.pushed} | ${r.down.lost} | ${r.down.duplicated} | `
      + `${r.down.reordered} | ${r.reconnects} | ${ms(r.reconnectMedianMs)} / ${ms(r.reconnectMaxMs)} ms |`),
    '',
  ];
  if (problems.length) lines.push(`This run FAILED: ${problems.join('; ')}.`, '');
  return lines.join('\n');
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    if (m[2] !== undefined) out[m[1]] = m[2];
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[m[1]] = argv[(i += 1)];
    else out[m[1]] = true;
  }
  return out;
}

/** A small seeded PRNG (mulberry32): the fault schedule repeats with the same seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
