// Type-checked by `tsc --noEmit` against the packed package's declarations.
import init, { ReconnectingWebSocket, type ReconnectingWebSocketOptions } from 'ws-tether';

// Optional: loads the wasm ahead (the first socket would), or from elsewhere.
await init();
await init({ module_or_path: new URL('ws_tether_bg.wasm', import.meta.url) });
const options: ReconnectingWebSocketOptions = {
  minDelay: 100,
  maxDelay: 5000,
  jitter: 'full',
  heartbeat: { interval: 15000, timeout: 10000 },
  overflow: 'drop-oldest',
  closePolicy: (close) => close.wasOpen && close.code !== 4401,
  backoff: ({ attempt }) => (attempt > 5 ? null : attempt * 100),
};
const ws = new ReconnectingWebSocket(() => Promise.resolve('ws://example.test/'), ['chat'], options);
ws.addEventListener('reconnecting', (event) => {
  const attempt: number = event.detail.attempt;
  // null while offline: the retry waits for the browser to be online.
  const delay: number | null = event.detail.delay;
  const offline: boolean = event.detail.offline;
  console.log(offline);
  console.log(attempt, delay, event.detail.code);
});
ws.onmessage = (event: MessageEvent) => console.log(event.data);
const outcome: 'written' | 'queued' | 'dropped' = ws.send(new Uint8Array([1, 2]));
const state: 0 | 1 | 2 | 3 = ws.readyState;
console.log(outcome, state, ReconnectingWebSocket.OPEN, ws.retryCount, ws.rtt);
ws.close(1000, 'bye');
for await (const message of ws) console.log(message);
// @ts-expect-error: jitter accepts only "full", "equal" or "none"
new ReconnectingWebSocket('ws://example.test/', [], { jitter: 'lots' });
// @ts-expect-error: send takes data, not a number
ws.send(42);

ws.addEventListener('dropped', (event) => {
  const reason: 'overflow' | 'not-sent' | 'closed' = event.detail.reason;
  console.log(reason, event.detail.count);
});
ws.addEventListener('close', (event) => console.log(event.stopReason, event.unsent));
const graphql = new ReconnectingWebSocket('ws://example.test/graphql', 'graphql-transport-ws', {
  heartbeat: { interval: 10000, timeout: 5000, ping: '{"type":"ping"}', pong: (data) => data === '{"type":"pong"}' },
  handshake: async (connection) => {
    connection.send('{"type":"connection_init"}');
    const ack = await connection.receive();
    connection.keep(ack);
  },
});
const engineIo = new ReconnectingWebSocket('ws://example.test/engine.io/', [], {
  heartbeat: { timeout: 50000, answer: (data) => (data === '2' ? '3' : null) },
});
const feed = new ReconnectingWebSocket('ws://example.test/feed', [], { heartbeat: { timeout: 5000, mode: 'silence' } });
console.log(graphql, engineIo, feed);
// Coming from partysocket: a WebSocket class (here the global one; in Node `ws`'s), a socket
// created closed that dials on reconnect(), and the core's decisions logged.
const lines: string[] = [];
const later = new ReconnectingWebSocket('ws://example.test/', [], {
  WebSocket,
  startClosed: true,
  debug: (decision, ...args) => lines.push(`${decision} ${args.join(' ')}`),
});
later.reconnect();
new ReconnectingWebSocket('ws://example.test/', [], { debug: true });
// @ts-expect-error: debug is true, false or a function
new ReconnectingWebSocket('ws://example.test/', [], { debug: 'verbose' });
// The heartbeat's three shapes don't mix (the constructor would throw a TypeError naming the key).
// @ts-expect-error: a silent server gets no pings: no interval
new ReconnectingWebSocket('ws://example.test/', [], { heartbeat: { timeout: 5000, mode: 'silence', interval: 100 } });
// @ts-expect-error: answering the server's pings sends none of ours: no interval
new ReconnectingWebSocket('ws://example.test/', [], { heartbeat: { timeout: 5000, answer: () => null, interval: 100 } });
// @ts-expect-error: pinging and answering don't mix
new ReconnectingWebSocket('ws://example.test/', [], { heartbeat: { interval: 100, timeout: 5000, ping: 'p', answer: () => null } });
// @ts-expect-error: silence with a pong matcher
new ReconnectingWebSocket('ws://example.test/', [], { heartbeat: { timeout: 5000, mode: 'silence', pong: () => true } });
// Every event has its on<event> property, rtt included.
ws.onrtt = (event) => {
  const ms: number = event.detail;
  console.log(ms);
};
