// ws-tether/share: one connection for every tab of an origin (the `share` option, issue #24;
// the protocol: docs/sharing.md). The cross-tab core (a second wasm, with the `share`
// feature) decides everything: who holds the connection, what goes on the channel, what each
// tab delivers. This file only moves bytes between it, a BroadcastChannel and a Web Lock,
// both named `tether.share.v1/<name>`; the socket's own I/O stays js/index.js's. Loaded only
// by applications that share, so the default socket's download doesn't grow with it.
import wasmInit, { Core, ShareCore } from './ws_tether_share.js';
import init, { ReconnectingWebSocket } from './index.js';

// The shared socket's inputs beyond a single socket's (js/src/share.rs IN_*).
const IN = { POST: 10, LOCK: 11, SHARE_TIMER: 12 };
const SHARE = Symbol.for('ws-tether.share');
const CLOSED = 6; // `Io.event`'s kind for the final close
/** Per socket, what `holder` reads. */
const holders = new WeakMap();
let ready = null;

/**
 * Loads the shared socket's WebAssembly module (next to this file, as the default one is)
 * and the default one (`init()`), then enables the `share` option. Call (and await) it once,
 * before the first shared socket.
 * @param {string | URL | Response | BufferSource | WebAssembly.Module} [source]
 */
export default function initShare(source) {
  // Node, Bun and Deno (no tabs to share with: their sockets connect by themselves) read the
  // file, as index.js's init() does.
  const url = new URL('ws_tether_share_bg.wasm', import.meta.url);
  const builtin = globalThis.process?.getBuiltinModule;
  ready ??= Promise.all([init(), (source === undefined && builtin && url.protocol === 'file:'
    ? builtin('node:fs/promises').readFile(url)
    : Promise.resolve(source)).then((s) => wasmInit(s === undefined ? undefined : { module_or_path: s }))]).then(() => {
    ReconnectingWebSocket[SHARE] = driver;
  });
  return ready;
}
export { initShare };

Object.defineProperty(ReconnectingWebSocket.prototype, 'holder', {
  get() { return holders.get(this) ?? null; },
  enumerable: true,
  configurable: true,
});

const badShare = () => new TypeError('ReconnectingWebSocket option `share`: expected true (sockets to the same URL share), { name } with a non-empty string, or false');

/** A random tab id below 2^53 (exact as a JavaScript number). */
function tabId() {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return (hi & 0x1fffff) * 2 ** 32 + lo;
}

/**
 * What js/index.js asks when a socket is made with `share`: its core, and the driver that
 * attaches it to the channel and the lock once the socket's `Io` exists.
 */
function driver(option, source) {
  let name = option === true ? source : option?.name;
  if (option !== true && (typeof option !== 'object' || Object.keys(option).some((k) => k !== 'name'))) throw badShare();
  if (typeof name !== 'string' || !name) {
    // `true` with a URL function: there is no URL to share by.
    throw option === true ? new TypeError('ReconnectingWebSocket option `share`: a URL function needs { name }') : badShare();
  }
  // Without Web Locks (a context that isn't secure, an old engine) or BroadcastChannel, the
  // socket connects by itself: an unshared core, and a `holder` saying so.
  const alone = !globalThis.navigator?.locks || typeof BroadcastChannel !== 'function';
  const id = tabId();
  let core;
  return {
    core: (args) => {
      core = new Core(...args);
      return alone ? core : (core = new ShareCore(core, id));
    },
    attach: (ws, io, feed) => {
      const announce = (holder) => {
        holders.set(ws, holder);
        queueMicrotask(() => ws.dispatchEvent(new CustomEvent('holder', { detail: holder })));
      };
      if (alone) return announce({ tab: id, self: true, shared: false });
      const channelName = ShareCore.channelName(name);
      const channel = new BroadcastChannel(channelName);
      const timers = [];
      let request = null; // the pending lock request's AbortController
      let release = null; // resolves the held lock's promise
      channel.onmessage = (e) => feed(IN.POST, 0, 0, e.data);
      const lock = (take) => {
        if (!take) {
          request?.abort();
          release?.();
          request = release = null;
        } else if (!request && !release) {
          const ac = (request = new AbortController());
          navigator.locks.request(channelName, { signal: ac.signal }, () => {
            if (ac.signal.aborted || request !== ac) return undefined; // given up meanwhile
            request = null;
            // Held until `lock(false)`, or until this page goes (the browser releases it).
            return new Promise((resolve) => {
              release = resolve;
              feed(IN.LOCK, 0, 0, undefined, true);
            });
          }).catch(() => {}); // AbortError: given up before it was granted
        }
      };
      const detach = () => {
        timers.forEach(clearTimeout);
        lock(false);
        channel.close();
        channel.onmessage = null;
      };
      const event = io.event;
      const added = {
        post: (bytes) => channel.postMessage(bytes.slice()),
        lock,
        shareTimer: (timer, ms) => {
          clearTimeout(timers[timer]);
          timers[timer] = ms < 0 ? 0 : setTimeout(() => feed(IN.SHARE_TIMER, 0, timer), ms);
        },
        holder: (tab) => announce({ tab, self: tab === id, shared: true }),
        deliverText: (text) => io.deliver(false, text),
        deliverBytes: (bytes) => io.deliver(false, bytes.slice().buffer),
        incomingBytes: () => new Uint8Array(io.incoming()),
        // Stopped for good: nothing of the share may stay (its outputs before the close
        // released the lock and said goodbye).
        event: (kind, ...rest) => {
          event(kind, ...rest);
          if (kind === CLOSED) queueMicrotask(detach);
        },
      };
      // As index.js's own: an exception must never cross the wasm frames.
      for (const [key, f] of Object.entries(added)) {
        io[key] = (...args) => {
          try {
            return f(...args);
          } catch (e) {
            globalThis.reportError?.(e);
            return key === 'incomingBytes' ? new Uint8Array(0) : undefined;
          }
        };
      }
    },
  };
}
