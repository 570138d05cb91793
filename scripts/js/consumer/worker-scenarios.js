// What scripts/js/workers.mjs checks in each kind of Worker (worker.js runs it): the
// package's socket against the test server at `server` (host:port), as in a page. Returns
// what happened; the test compares it with what should have.
const until = async (f, what) => {
  const end = Date.now() + 10000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const next = (ws, type) => new Promise((r) => ws.addEventListener(type, r, { once: true }));
const messages = (ws) => {
  const got = [];
  ws.addEventListener('message', (e) => got.push(typeof e.data === 'string' ? e.data : `bytes:${e.data.byteLength}`));
  return got;
};

export async function scenarios(ReconnectingWebSocket, server) {
  const base = `ws://${server}`;
  const out = { scope: self.constructor.name, window: typeof window, document: typeof document };

  // A relative URL resolves against the Worker script's URL (the test server serves it).
  const relative = new ReconnectingWebSocket('/echo');
  out.relative = relative.url;
  relative.close();

  // Echo of text and bytes, then a close with a code and reason.
  {
    const ws = new ReconnectingWebSocket(`${base}/echo`);
    ws.binaryType = 'arraybuffer';
    const got = messages(ws);
    await next(ws, 'open');
    ws.send('hello');
    ws.send(new Uint8Array([1, 2, 3]));
    await until(() => got.length === 2, 'the echoes');
    const closed = next(ws, 'close');
    ws.close(4000, 'bye');
    const e = await closed;
    out.echo = { got, code: e.code, reason: e.reason, wasClean: e.wasClean };
  }

  // The server drops the connection: reconnect, and what was sent while down is delivered.
  {
    const id = `worker-${out.scope}-${Date.now()}`;
    const ws = new ReconnectingWebSocket(`${base}/echo?id=${id}`, undefined, { minDelay: 50, maxDelay: 100 });
    const log = [];
    ws.addEventListener('close', (e) => log.push(`close:${e.code}`));
    ws.addEventListener('reconnect', () => log.push('reconnect'));
    const got = messages(ws);
    await next(ws, 'open');
    const reconnecting = next(ws, 'reconnecting');
    await fetch(`http://${server}/control/drop-all?id=${id}`);
    await reconnecting;
    const outcomes = [ws.send('while-down-1'), ws.send('while-down-2')];
    await until(() => got.length === 2, 'the queued echoes');
    out.drop = { log: [...log], outcomes, got };
    ws.close();
  }

  // Heartbeat: rtt is reported.
  {
    const ws = new ReconnectingWebSocket(`${base}/echo`, undefined, { heartbeat: { interval: 50, timeout: 2000 } });
    const rtt = (await next(ws, 'rtt')).detail;
    out.rtt = typeof rtt === 'number' && rtt >= 0 && rtt === ws.rtt;
    ws.close();
  }

  // Resume: nothing lost or repeated across the server's drops; flush() waits for the acks.
  {
    const id = `worker-resume-${out.scope}-${Date.now()}`;
    const ws = new ReconnectingWebSocket(`${base}/resume?id=${id}&drop_every=5`, undefined,
      { resume: true, minDelay: 20, maxDelay: 50 });
    const got = messages(ws);
    let resumed = 0;
    let lost = 0;
    ws.addEventListener('resumed', () => { resumed += 1; });
    ws.addEventListener('sessionlost', () => { lost += 1; });
    const sent = [];
    for (let i = 1; i <= 30; i += 1) {
      ws.send(`m${i}`);
      sent.push(`m${i}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await ws.flush();
    await until(() => got.length >= sent.length, 'the resumed echoes');
    ws.close();
    out.resume = { inOrder: JSON.stringify(got) === JSON.stringify(sent), count: got.length, resumed: resumed >= 1, lost };
  }
  return out;
}
