// The installed package in a dedicated, a shared and a service Worker, in one browser
// engine (ENGINE; see engines.mjs), against the test server (issue #23). The page and the
// Worker module are in scripts/js/consumer (package.mjs copies them into pkg/consumer/app,
// next to the installed package): worker.js runs worker-scenarios.js (echo and close, a
// server drop with sends queued meanwhile, heartbeat rtt, resume across drops, a relative
// URL) and answers with what happened. Run by scripts/test-js in each engine's lane.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from './browser.mjs';
import { assertEqual, launch } from './engines.mjs';

const server = process.env.WS_TETHER_SERVER;
if (!server) throw new Error('WS_TETHER_SERVER=127.0.0.1:PORT: start the test server first (scripts/test-js does)');
if (!existsSync(join(ROOT, 'pkg/consumer/app/worker.js'))) throw new Error('pkg/consumer/app has no worker.js: run scripts/js/package.mjs first');

const SCOPES = { dedicated: 'DedicatedWorkerGlobalScope', shared: 'SharedWorkerGlobalScope', service: 'ServiceWorkerGlobalScope' };

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

for (const [kind, scope] of Object.entries(SCOPES)) {
  test(`in a ${kind} Worker: echo, a drop with sends queued, heartbeat, resume, a relative URL`, async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`http://${server}/pkg/consumer/app/workers.html`);
      await page.waitFor('the page', () => window.workersReady === true);
      const answer = await page.evaluate((a) => window.runIn(a.kind, a.server), { kind, server });
      if (!answer.ok) throw new Error(`in the ${kind} Worker: ${answer.error}`);
      assertEqual(answer.result, {
        scope, window: 'undefined', document: 'undefined',
        relative: `ws://${server}/echo`,
        echo: { got: ['hello', 'bytes:3'], code: 4000, reason: 'bye', wasClean: true },
        drop: { log: ['close:1006', 'reconnect'], outcomes: ['queued', 'queued'], got: ['while-down-1', 'while-down-2'] },
        rtt: true,
        resume: { inOrder: true, count: 30, resumed: true, lost: 0 },
      }, `what happened in the ${kind} Worker`);
    } finally {
      await page.close();
    }
  });
}
