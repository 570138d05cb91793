// The package in a Worker (scripts/js/workers.mjs): one module for a dedicated, a shared and
// a service Worker. Told the test server's host:port by a message, it runs
// worker-scenarios.js and answers with what happened. Workers have no import map: the
// package is imported by its path. No init(): the first socket loads the wasm.
import { ReconnectingWebSocket } from './node_modules/ws-tether/index.js';
import { scenarios } from './worker-scenarios.js';

async function run(server) {
  try {
    return { ok: true, result: await scenarios(ReconnectingWebSocket, server) };
  } catch (e) {
    return { ok: false, error: String(e?.stack ?? e) };
  }
}

if (typeof SharedWorkerGlobalScope === 'function' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => {
    const [port] = e.ports;
    port.onmessage = async (m) => port.postMessage(await run(m.data));
  };
} else if (typeof ServiceWorkerGlobalScope === 'function' && self instanceof ServiceWorkerGlobalScope) {
  self.onmessage = (e) => e.waitUntil(run(e.data).then((answer) => e.source.postMessage(answer)));
} else {
  self.onmessage = async (e) => self.postMessage(await run(e.data));
}
