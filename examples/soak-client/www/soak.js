// The chaos soak's page (scripts/soak): four clients at once, each sending "1", "2", ...
// every 10 ms and checking the numbers the soak server pushes back. Two are the npm
// package's ReconnectingWebSocket (resume on and off), two the Rust API's
// ReconnectingWebSocket (examples/soak-client, resume on and off). All ask
// globalThis.soakTarget (a ws:// origin the driver switches between servers) before every
// attempt. The driver calls window.soak.start(), .stats(), .stop().
import initPackage, { ReconnectingWebSocket } from '/pkg/index.js';
import initRust, { SoakClient } from '/client/soak_client.js';

// The same options as the Rust client's (examples/soak-client/src/client.rs).
// Resume's heartbeat is the protocol's ping (a ping after 500 ms of silence, dead 500 ms
// later); the plain server never answers pings, so plain clients take 1 s of silence as death.
const OPTIONS = { minDelay: 100, maxDelay: 2000, connectTimeout: 2000, stableAfter: 1000 };
const PLAIN = { ...OPTIONS, heartbeat: { timeout: 1000, mode: 'silence' } };
const RESUME = { ...OPTIONS, resume: true, heartbeat: { interval: 500, timeout: 500 } };
const SEND_EVERY_MS = 10;
const MAX_JUMP = 10_000_000;

/** The Rust client's Sequence, in JavaScript: numbers that should come 1, 2, 3, ... */
class Sequence {
  received = 0;
  highest = 0;
  missing = new Set();
  duplicates = 0;
  reordered = 0;
  garbage = 0;
  recordText(text) {
    this.received += 1;
    const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!(n >= 1 && n <= this.highest + MAX_JUMP)) {
      this.garbage += 1;
    } else if (n > this.highest) {
      for (let k = this.highest + 1; k < n; k += 1) this.missing.add(k);
      this.highest = n;
    } else if (this.missing.delete(n)) {
      this.reordered += 1;
    } else {
      this.duplicates += 1;
    }
  }
  lostUpTo(upto) {
    let lost = Math.max(0, upto - this.highest);
    for (const k of this.missing) if (k <= upto) lost += 1;
    return lost;
  }
}

/** The npm package's client, counting as the Rust one does. */
class PackageClient {
  constructor(url, resume) {
    this.resume = resume;
    this.incoming = new Sequence();
    Object.assign(this, { sent: 0, sendErrors: 0, lastSendError: '', opens: 0, reconnects: 0, reconnectMs: [],
      downSince: null, connected: false, closedForGood: false, resumed: 0, sessionsLost: 0, notes: [] });
    this.ws = new ReconnectingWebSocket(url, undefined, resume ? RESUME : PLAIN);
    this.ws.addEventListener('resumed', () => { this.resumed += 1; });
    this.ws.addEventListener('sessionlost', (e) => {
      this.sessionsLost += 1;
      const { reason, missed, unconfirmed } = e.detail ?? {};
      this.notes.push(`session lost: ${reason}, missed ${missed}, unconfirmed ${unconfirmed?.length ?? unconfirmed}`);
    });
    this.ws.addEventListener('message', (e) => this.incoming.recordText(typeof e.data === 'string' ? e.data : ''));
    this.ws.addEventListener('open', () => {
      this.opens += 1;
      this.connected = true;
      if (this.downSince !== null) this.reconnectMs.push(Date.now() - this.downSince);
      this.downSince = null;
    });
    this.ws.addEventListener('reconnecting', () => {
      if (!this.connected) return;
      this.connected = false;
      this.reconnects += 1;
      this.downSince = Date.now();
    });
    this.ws.addEventListener('close', (e) => {
      if (e.stopReason === undefined) return; // a lost connection; `reconnecting` follows
      this.connected = false;
      this.closedForGood = true;
      this.notes.push(`closed for good: ${e.stopReason}`);
    });
    this.timer = setInterval(() => {
      const n = this.sent + 1;
      try {
        this.ws.send(String(n));
        this.sent = n;
      } catch (e) {
        // The same number goes again on the next tick: the numbering stays whole.
        this.sendErrors += 1;
        this.lastSendError = String(e);
      }
    }, SEND_EVERY_MS);
  }

  async stop(timeoutMs) {
    clearInterval(this.timer);
    if (this.resume) {
      // With resume, flush() resolves once the server acknowledged everything sent.
      let timer;
      const timeout = new Promise((r) => { timer = setTimeout(() => r(false), timeoutMs); });
      const flushed = await Promise.race([this.ws.flush().then(() => true, () => false), timeout]);
      clearTimeout(timer);
      return flushed;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.ws.readyState === ReconnectingWebSocket.OPEN && this.ws.bufferedAmount === 0) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  lostUpTo(pushed) { return this.incoming.lostUpTo(pushed); }

  stats() {
    const i = this.incoming;
    return {
      sent: this.sent, sendErrors: this.sendErrors, lastSendError: this.lastSendError,
      received: i.received, highest: i.highest, gaps: i.missing.size, duplicates: i.duplicates,
      reordered: i.reordered, garbage: i.garbage, opens: this.opens, reconnects: this.reconnects,
      reconnectMs: this.reconnectMs, connected: this.connected, closedForGood: this.closedForGood,
      resumed: this.resumed, sessionsLost: this.sessionsLost, notes: this.notes,
    };
  }

  close() {
    clearInterval(this.timer);
    this.ws.close();
  }
}

/** The Rust client behind the same interface. */
class RustClient {
  constructor(url, resume) { this.client = new SoakClient(url, resume); }
  stop(timeoutMs) { return this.client.stop(timeoutMs); }
  lostUpTo(pushed) { return this.client.lostUpTo(pushed); }
  stats() { return JSON.parse(this.client.stats()); }
  close() { this.client.close(); }
}

const clients = new Map();

window.soak = {
  /** Where the clients connect from their next attempt on: a ws:// origin. */
  setTarget(origin) { globalThis.soakTarget = origin; },
  /** Starts one client per `{ id, api: 'npm' | 'rust', resume, app? }` (`app: 'slow'`: the
   * server's application reads in bursts); throws what fails. */
  start(specs) {
    for (const { id, api, resume, app } of specs) {
      const query = `client=${encodeURIComponent(id)}${app ? `&app=${app}` : ''}`;
      const url = () => `${globalThis.soakTarget}/soak/${resume ? 'resume' : 'plain'}?${query}`;
      clients.set(id, api === 'rust' ? new RustClient(url, resume) : new PackageClient(url, resume));
    }
    return [...clients.keys()];
  },
  stats() { return Object.fromEntries([...clients].map(([id, c]) => [id, c.stats()])); },
  /** Stops sending everywhere; resolves to { id: flushed } once each has flushed (or timed out). */
  async stop(timeoutMs) {
    const flushed = await Promise.all([...clients].map(async ([id, c]) => [id, await c.stop(timeoutMs)]));
    return Object.fromEntries(flushed);
  },
  /** For each id, how many of the server's pushes 1..=pushed[id] never arrived. */
  lost(pushed) { return Object.fromEntries([...clients].map(([id, c]) => [id, c.lostUpTo(pushed[id] ?? 0)])); },
  closeAll() { for (const c of clients.values()) c.close(); },
};

await Promise.all([initPackage('/pkg/ws_tether_bg.wasm'), initRust()]);
window.soakReady = true;
document.getElementById('out').textContent = 'ready';
