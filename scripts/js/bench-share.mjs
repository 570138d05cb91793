// Figures for one connection shared by the tabs of an origin (the `share` option, issue #24),
// not assertions; headless Chromium, pages of one browser context against the test server.
// 1. 1 and 5 tabs, each with a socket of its own and sharing one: the connections made, the
//    heartbeat pings sent and the frames the server sent, counted on the browser's own
//    WebSocket in every page, while every tab says 20 things in the chat room (`/chat`: each
//    message said goes to every session) and then idles 3 s (heartbeat every 500 ms).
// 2. Failover: 4 tabs on the resume echo, the holder's page closed 10 times; from the close
//    to the server seeing the next holder's dial (median, max).
// 3. The cross-tab hop: round trips (send, the echo received) from the holder's tab and from
//    a follower's, alternating, 200 each (median, p99).
// Prints BENCH lines and one BENCHJSON line for bench-report.mjs.
// Usage: node scripts/js/bench-share.mjs http://127.0.0.1:PORT (a test server with --www and --pkg)
import { launch } from './engines.mjs';

const origin = process.argv[2]?.replace(/\/$/, '');
if (!origin) throw new Error('usage: node scripts/js/bench-share.mjs http://127.0.0.1:PORT');
const server = origin.replace(/^http:\/\//, '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const p99 = (v) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * 0.99))];
const stats = async (id) => (await fetch(`${origin}/stats?id=${id}`)).json();

async function until(what, f, ms = 30000) {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`bench-share: no ${what} within ${ms} ms`);
    await sleep(25);
  }
}

/** A page with the package loaded, the browser's WebSocket counted, and a socket `window.s`. */
async function tab(browser, path, options) {
  const page = await browser.newPage();
  // Not the demo page (its chat socket would run beside the ones measured).
  await page.goto(`${origin}/pkg/index.js`);
  await page.evaluate(async ([server, path, options]) => {
    const count = { created: 0, pings: 0, frames: 0, texts: 0 };
    const Native = WebSocket;
    const ping = [1, ...new TextEncoder().encode('ping')];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        count.created += 1;
        this.addEventListener('message', (e) => {
          count.frames += 1;
          if (typeof e.data === 'string') count.texts += 1;
        });
      }

      send(data) {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
        if (bytes && ping.every((b, i) => bytes[i] === b)) count.pings += 1;
        return super.send(data);
      }
    };
    const m = await import('/pkg/index.js');
    const share = await import('/pkg/share.js');
    await share.default();
    const s = new m.ReconnectingWebSocket(`ws://${server}${path}`, undefined, options);
    const got = [];
    s.addEventListener('message', (e) => got.push(e.data));
    window.s = { ws: s, count, got };
  }, [server, path, options]);
  return page;
}

const open = (page) => page.evaluate(() => window.s.ws.readyState === 1);
const holds = (page) => page.evaluate(() => window.s.ws.holder?.self === true && window.s.ws.readyState === 1);

/** Connections, pings and server frames for `n` tabs, shared or each on its own. */
async function traffic(n, shared) {
  const id = `bench-share-${shared ? 'one' : 'own'}-${n}-${Date.now()}`;
  const browser = await launch('chromium', { oneContext: true });
  try {
    const options = { resume: true, heartbeat: { interval: 500, timeout: 5000 }, share: shared && { name: id } };
    const pages = [];
    // Each its own connection: ids apart, so the room's messages reach each one's session.
    for (let i = 0; i < n; i += 1) pages.push(await tab(browser, `/chat?id=${id}${shared ? '' : `-${i}`}`, options));
    await until('every tab open', async () => (await Promise.all(pages.map(open))).every(Boolean));
    const said = 20 * n;
    await Promise.all(pages.map((page, i) => page.evaluate(async ([i]) => {
      for (let k = 0; k < 20; k += 1) {
        window.s.ws.send(`tab ${i} says ${k}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }, [i])));
    await until('every message in every tab', async () => (await Promise.all(pages.map((p) => p.evaluate(() => window.s.got.length)))).every((g) => g >= said));
    const before = await Promise.all(pages.map((p) => p.evaluate(() => ({ ...window.s.count }))));
    await sleep(3000);
    const after = await Promise.all(pages.map((p) => p.evaluate(() => ({ ...window.s.count }))));
    const sum = (list, k) => list.reduce((a, c) => a + c[k], 0);
    for (const page of pages) await page.evaluate(() => window.s.ws.close());
    return {
      tabs: n,
      shared,
      connections: sum(after, 'created'),
      pings_3s: sum(after, 'pings') - sum(before, 'pings'),
      server_texts: sum(before, 'texts'),
      server_frames: sum(before, 'frames'),
      said,
    };
  } finally {
    await browser.close();
  }
}

/** Failover: the holder's page closed `changes` times among 4 tabs. */
async function failover(changes) {
  const id = `bench-share-failover-${Date.now()}`;
  const browser = await launch('chromium', { oneContext: true });
  try {
    const make = () => tab(browser, `/resume?id=${id}`, { resume: true, share: { name: id } });
    let pages = [];
    for (let i = 0; i < 4; i += 1) pages.push(await make());
    const times = [];
    for (let c = 0; c < changes; c += 1) {
      let holder;
      await until('a holder', async () => {
        for (const p of pages) if (await holds(p)) holder = p;
        return holder;
      });
      const before = (await stats(id)).dials.length;
      const t0 = Date.now();
      await holder.close();
      pages = pages.filter((p) => p !== holder);
      await until('the next dial', async () => (await stats(id)).dials.length > before);
      times.push((await stats(id)).dials[before] - t0);
      pages.push(await make());
    }
    return { changes, median_ms: median(times), max_ms: Math.max(...times), times };
  } finally {
    await browser.close();
  }
}

/** Round trips from the holder's tab and from a follower's, alternating. */
async function hop(n) {
  const id = `bench-share-hop-${Date.now()}`;
  const browser = await launch('chromium', { oneContext: true });
  try {
    const pages = [];
    for (let i = 0; i < 2; i += 1) pages.push(await tab(browser, `/resume?id=${id}`, { resume: true, share: { name: id } }));
    let holder;
    await until('a holder', async () => {
      for (const p of pages) if (await holds(p)) holder = p;
      return holder;
    });
    const follower = pages.find((p) => p !== holder);
    const rtt = (page, k) => page.evaluate(async ([k]) => {
      const { ws } = window.s;
      const want = `hop ${k} ${Math.random()}`;
      const t0 = performance.now();
      await new Promise((resolve) => {
        const on = (e) => {
          if (e.data !== want) return;
          ws.removeEventListener('message', on);
          resolve();
        };
        ws.addEventListener('message', on);
        ws.send(want);
      });
      return performance.now() - t0;
    }, [k]);
    const out = { holder: [], follower: [] };
    for (let k = 0; k < n; k += 1) {
      out.holder.push(await rtt(holder, k));
      out.follower.push(await rtt(follower, k));
    }
    return Object.fromEntries(Object.entries(out).map(([who, v]) => [who, { median_ms: median(v), p99_ms: p99(v) }]));
  } finally {
    await browser.close();
  }
}

const traffics = [];
for (const n of [1, 5]) for (const shared of [false, true]) traffics.push(await traffic(n, shared));
for (const t of traffics) {
  console.log(`BENCH share traffic, ${t.tabs} tab(s) ${t.shared ? 'sharing one connection' : 'each on its own'}: `
    + `${t.connections} connection(s), ${t.pings_3s} heartbeat pings in 3 s, the server sent ${t.server_texts} chat messages `
    + `(${t.server_frames} frames) for ${t.said} said`);
}
const fo = await failover(10);
console.log(`BENCH share failover (the holder's page closed, to the next holder's dial), ${fo.changes} changes: median ${fo.median_ms} ms, max ${fo.max_ms} ms`);
const h = await hop(200);
console.log(`BENCH share round trip to the echo: holder's tab median ${h.holder.median_ms.toFixed(2)} ms (p99 ${h.holder.p99_ms.toFixed(2)}), `
  + `a follower's median ${h.follower.median_ms.toFixed(2)} ms (p99 ${h.follower.p99_ms.toFixed(2)})`);
console.log(`BENCHJSON ${JSON.stringify({ figure: 'share', traffic: traffics, failover: fo, hop: h })}`);
