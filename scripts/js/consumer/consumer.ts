// Type-checked by `tsc --noEmit` against the packed package's declarations.
import init, { ReconnectingWebSocket, type ReconnectingWebSocketOptions } from 'ws-tether';

await init();
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
  const delay: number | null = event.detail.delay; // null while offline
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
