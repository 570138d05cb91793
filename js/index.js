// ws-tether for JavaScript: a drop-in ReconnectingWebSocket. The Rust core (WebAssembly)
// makes every decision: when to dial, write, close, retry and ping, and what to queue. This
// file is its hands: it carries out what the core asks with the browser's WebSocket, timers
// and page events, reports back what happened, and turns the core's events into DOM events.
import wasmInit, { Core } from './ws_tether.js';

let ready = null;
/** Whether the wasm is instantiated: a socket made before then holds what it is asked. */
let loaded = false;

/**
 * Loads the WebAssembly module, once (every call returns the same promise). The first socket
 * starts it when no call did: call it first only to load the wasm from elsewhere, or early.
 * @param {string | URL | Response | BufferSource | WebAssembly.Module | { module_or_path: unknown }} [source]
 */
export default function init(source) {
  // Bundlers find the wasm by this `new URL(..., import.meta.url)` (and wasm-bindgen's own).
  // Node's fetch can't read a file: URL, so there (and in Bun and Deno) the wasm next to this
  // file is read from disk, with the module `process.getBuiltinModule` gives (Node 20.16+):
  // no import a bundler would follow (Vite warned it externalized node:fs).
  const url = new URL('ws_tether_bg.wasm', import.meta.url);
  const builtin = globalThis.process?.getBuiltinModule;
  ready ??= (source === undefined && builtin && url.protocol === 'file:'
    ? builtin('node:fs/promises').readFile(url)
    // wasm-bindgen's own form, `{ module_or_path }`, is passed as it is.
    : Promise.resolve(source)).then((s) => wasmInit(s === undefined || Object.getPrototypeOf(s) === Object.prototype ? s : { module_or_path: s }))
    // The default file missing is most often a bundler's doing: say what to do about it.
    .then(() => { loaded = true; }, (e) => {
      throw source === undefined ? new Error(`ws-tether: no WebAssembly from ${url} (${messageOf(e)}). Serve that file (Vite 5-7 dev server: optimizeDeps: { exclude: ['ws-tether'] }; a CSP: 'wasm-unsafe-eval') or pass its URL to init()`) : e;
    });
  return ready;
}
export { init };

const STATES = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
// Where js/share.js puts the shared socket's driver once its wasm is loaded.
const SHARE = Symbol.for('ws-tether.share');
// Outbox entries: an event; an announcement a close() or reconnect() drops if not yet
// dispatched (reconnecting, reconnect, rtt, resumed); the final close and its error.
const KIND = { EVENT: 0, NOTE: 1, FINAL: 2 };
// The core's inputs (`Core.feed`, js/src/lib.rs IN_*; 10 to 12 are a shared socket's, see
// js/share.js). The application's reconnect() and close() come last (`#feed`).
const IN = {
  OPENED: 0, TEXT: 1, MESSAGE: 2, CLOSED: 3, HANDSHAKE_DONE: 4, CREATED: 5, DIAL_FAILED: 6,
  TIMER: 7, ONLINE: 8, VISIBLE: 9, RECONNECT: 13, CLOSE: 14,
};
// Total: a value that has no text (`Object.create(null)`) must still fail an attempt.
const messageOf = (e) => {
  try {
    return e && typeof e.message === 'string' ? e.message : String(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
};
// Type tags work across realms (an iframe's ArrayBuffer is not `instanceof ArrayBuffer` here).
const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);
const isBlob = (v) => v !== null && typeof v === 'object' && (tag(v) === 'Blob' || tag(v) === 'File');
const sendError = (m) => new TypeError(`Failed to execute 'send' on 'WebSocket': ${m}`);
// An error no caller can catch (it happened in a later task): the console's, as uncaught.
const report = (e) => (globalThis.reportError ?? console.error)(e);
const online = () => globalThis.navigator?.onLine !== false;

export class ReconnectingWebSocket extends EventTarget {
  #core;
  #io;
  #source;
  #protocols;
  /** The user's backoff and closePolicy functions (checked by the core). */
  #policies;
  #url = '';
  /** The socket the core knows about: { id, ws }. */
  #socket = null;
  /** The data of the message being fed to the core (it delivers it without a copy back). */
  #incoming;
  #timers = [];
  /** `flush()` promises waiting for the server's acknowledgements (or an empty queue). */
  #flushes = [];
  #resumes = false;
  #detachPage = null;
  #negotiated = ['', ''];
  #binaryType = 'blob';
  #handlers = {};
  #opened = false;
  #everOpened = false;
  /** Sends waiting behind a Blob being read, as a promise chain; their byte count. */
  #pending = null;
  #pendingBytes = 0;
  /** close() arguments waiting for those sends: [code, reason]. */
  #closeAfter = null;
  /** Whether the current socket fired `error` (reported before its close, as browsers do). */
  #errored = false;
  /** The handshake hook running on a socket: { id, inbox, kept }. */
  #hook = null;
  #origin = '';
  /** Whether the core reads received text (`Core.wantsText`). */
  #wantsText = false;
  /** The core is taking an input: what a function it calls asks for (`#later`) waits. */
  #busy = false;
  #later = [];
  /** Events decided and not dispatched yet, in order: { e: Event or () => Event, k: KIND }. */
  #outbox = [];
  #pumping = false;
  #pumpTimer = 0;
  /** Whether the final close (or the error before it) was dispatched: until then CLOSING. */
  #finalSeen = true;
  /** How the last failed attempt ended ([code, reason, wasClean]): a close() while its retry
   * waits reports it, as the browser's close after its error. */
  #lastLoss = null;
  /** The close() arguments, for the engine's own close() to convert when the core closes. */
  #closeArgs = null;
  /** The WebSocket class dialled (the `WebSocket` option, else the global one). */
  #WS;
  /** `startClosed` until the first reconnect() dials: the messages sent meanwhile (any input
   * would make the core dial, a send too); true if close() came first. */
  #idle = 0;
  /** The `debug` logger, or undefined. */
  #log;
  /** Until the wasm is ready (no core yet): what the socket was asked, in order (inputs as
   * functions, sends as their messages), and the WebSocket dialled at once, with its events
   * (`{ ws, events }`): the core adopts it and gets its events when it starts. */
  #held = null;
  #early = null;
  #noReplay = false;

  /**
   * @param {string | URL | (() => string | URL | Promise<string | URL>)} url
   * @param {string | string[]} [protocols]
   * @param {object} [options]
   */
  constructor(url, protocols = undefined, options = undefined) {
    super();
    if (arguments.length === 0) {
      throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.");
    }
    // Converted as WebIDL converts them (a Symbol is a TypeError), once.
    this.#source = typeof url === 'function' ? url : `${url}`;
    this.#protocols = protocolList(protocols);
    const [args, policies] = readOptions(options); // throws a TypeError naming a bad option
    this.#WS = policies.WebSocket ?? globalThis.WebSocket;
    if (!this.#WS) throw badOption('WebSocket', 'a WebSocket class (none is global here)');
    this.#log = policies.debug;
    this.#policies = policies;
    // A shared socket's core and driver come from ws-tether/share (js/share.js), imported by
    // the application only when it shares: the default socket doesn't carry them. Its
    // initShare() loads this module's wasm too, so a shared socket is made with both ready.
    const share = policies.share ? (ReconnectingWebSocket[SHARE] ?? noShare)(policies.share, this.#source) : null;
    // What only the core checks: here once the wasm is loaded, else when it is (reported).
    const boot = () => {
      // The browser's socket checks the list when created, which a URL function delays: the
      // core checks it at once, so a bad list throws as it does with a URL string.
      if (typeof url === 'function') {
        this.#protocols.forEach((p, i, list) => {
          const why = Core.checkProtocol(p, list.indexOf(p) < i);
          if (why) throw new DOMException(`Failed to construct 'WebSocket': subprotocol '${p}': ${why}`, 'SyntaxError');
        });
      }
      try {
        this.#core = share ? share.core(args) : new Core(...args);
      } catch (e) {
        // A value the core rejects against another one: "field|what it accepts".
        const [field, allowed] = String(e).split('|');
        throw badOption(...(CORE_FIELDS[field] ?? [field, allowed]));
      }
      this.#wantsText = this.#core.wantsText;
      this.#resumes = this.#core.resumes;
      this.#io = this.#makeIo();
      // A follower's sends are confirmed by posts, not by its own socket: flush() looks again
      // after each.
      share?.attach(this, this.#io, (...input) => {
        this.#feed(...input);
        this.#settleFlushes();
      });
    };
    // Until the wasm is ready, what the socket is asked is held for the core.
    if (loaded) boot();
    else this.#held = [];
    this.#noReplay = !args[17];
    // The first connection is created now, as `new WebSocket` creates it: a bad URL or
    // protocol list throws the browser's own exception, and nothing else is started yet. The
    // core adopts it on its first dial (with startClosed, reconnect() makes that dial, and a
    // bad URL fails that attempt; a URL function is asked by the core). A shared socket's
    // core decides whether this tab dials at all.
    if (policies.startClosed) this.#idle = [];
    else {
      if (typeof this.#source === 'string' && online() && !share) {
        const ws = new this.#WS(this.#source, this.#protocols);
        const events = [];
        ws.binaryType = 'arraybuffer';
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = (e) => events.push(e);
        this.#early = { ws, events };
        this.#url = ws.url;
      }
      this.#start();
    }
    if (!loaded) {
      init().then(() => {
        boot();
        this.#adopt();
      }).catch((e) => this.#fail(e));
    }
  }

  #start() {
    // A socket dialled before the core is adopted whatever the network says since.
    this.#feed(IN.ONLINE, 0, 0, undefined, !!this.#early || online(), true);
  }

  /** The core is ready: it takes what was held, in order, then the early socket's events. */
  #adopt() {
    const early = this.#early;
    this.#pendingBytes = 0;
    // Held until the loop ends, a close() waits for the messages sent before it.
    for (const x of this.#held) {
      if (typeof x === 'function') x();
      else this.#resend(x, true);
    }
    this.#held = null;
    if (this.#closeAfter && !this.#pending) this.#feed(...this.#takeClose(), true);
    // The core took the socket (#open) at its first dial: what it reported meanwhile goes to
    // its handlers now, in order (none if a held reconnect() dropped it since).
    if (early && !this.#early) for (const e of early.events) early.ws[`on${e.type}`]?.(e);
    this.#settleFlushes();
  }

  /** The wasm could not load, or the core refused the options: the socket ends (`error`,
   * then `close` 1006, stopReason "gave-up", `unsent` the held sends) and the error is reported. */
  #fail(e) {
    report(e);
    const held = this.#held ?? [];
    this.#held = null;
    this.#idle = true;
    if (this.#early) {
      this.#socket = { id: 0, ws: this.#early.ws };
      this.#forget(0).close();
    }
    this.#makeIo().event(6, 2, held.filter((x) => typeof x !== 'function').length, 1006, '', false, false);
    this.#pump();
  }

  /**
   * The one way into the core (see `IN`), and the event model in one place. Each input is one
   * step: the core decides and the glue carries it out. An input that comes during a step (from
   * a heartbeat, backoff or closePolicy function the core calls) waits for it to end, and a
   * close() or reconnect() then applies to what that step decided: the step's announcements
   * still waiting to be dispatched (`KIND.NOTE`) are dropped. The step's events are dispatched
   * after it, never inside it: at once for what the browser reported, in a later task for a
   * call the application made (`app`), as the browser dispatches nothing inside `close()`.
   */
  #feed(kind, id = 0, n = 0, text = undefined, flag = false, app = false) {
    if (!this.#core) {
      this.#held.push(() => this.#feed(kind, id, n, text, flag, app));
      return;
    }
    this.#later.push([kind, id, n, text, flag]);
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let input; (input = this.#later.shift() ?? this.#takeClose());) {
        if (input[0] >= IN.RECONNECT) this.#outbox = this.#outbox.filter((x) => x.k !== KIND.NOTE);
        // reconnect() drops an open connection: it closes as after close(1000, 'reconnect'),
        // which it sends (an attempt still connecting is dropped without events).
        if (input[0] === IN.RECONNECT && this.#opened && this.#core.readyState === STATES.OPEN) {
          this.#opened = false;
          this.#post(closeEvent(1000, 'reconnect', true));
        }
        this.#core.feed(this.#io, ...input);
      }
    } finally {
      this.#busy = false;
    }
    this.#pump(app);
  }

  /** A close() that waited for the step (or for Blobs being read), as the core's input. */
  #takeClose() {
    const close = this.#pending || this.#held ? null : this.#closeAfter;
    if (close) this.#closeAfter = null;
    return close && [IN.CLOSE, 0, close[0], close[1], false];
  }

  #post(e, k = KIND.EVENT) {
    this.#outbox.push({ e, k });
  }

  /** Dispatches the outbox, one event after another (`later`: from a new task). */
  #pump(later) {
    if (this.#pumping || !this.#outbox.length) return;
    this.#pumping = true;
    if (later) this.#pumpTimer = setTimeout(() => this.#dispatchNext());
    else this.#dispatchNext();
  }

  #dispatchNext() {
    const next = this.#outbox.shift();
    if (!next) {
      this.#pumping = false;
      return;
    }
    if (next.k === KIND.FINAL) this.#finalSeen = true;
    const event = typeof next.e === 'function' ? next.e() : next.e;
    if (event) this.dispatchEvent(event);
    // A microtask apart: what a listener queued runs before the next event, as in browsers.
    queueMicrotask(() => this.#dispatchNext());
  }

  // What the core calls. None of these may throw: an exception would cross the wasm frames.
  #makeIo() {
    // What a heartbeat function made last, for the core to take (`madeText`, `madeBytes`).
    let made;
    // The unconfirmed messages of the `sessionlost` the core is about to report, as sent
    // (binary ones, Blobs included, as ArrayBuffers: the core keeps bytes).
    let unconfirmed = [];
    const make = (f, arg) => {
      try {
        const v = outgoing(f(arg));
        // Bytes are read now: a buffer transferred since (a fixed ping's) sends nothing.
        made = typeof v === 'string' || !v ? v : v.buffer.detached ? new Uint8Array(0) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      } catch { made = undefined; }
      return typeof made === 'string' ? 1 : made ? 2 : 0;
    };
    const events = [
      (protocol) => {
        this.#negotiated = [protocol, this.#socket?.ws.extensions ?? ''];
        this.#opened = true;
        this.#post(new Event('open'));
        if (this.#everOpened) this.#post(new CustomEvent('reconnect', { detail: { protocol } }), KIND.NOTE);
        this.#everOpened = true;
        this.#settleFlushes();
      },
      (reason, code, wasClean, wasOpen, attempt, delay) => {
        this.#lost({ attempt, delay, code, reason, wasClean, wasOpen, offline: false });
      },
      (reason, code, wasClean, wasOpen) => {
        const attempt = this.#core.retryCount;
        this.#lost({ attempt, delay: null, code, reason, wasClean, wasOpen, offline: true });
      },
      (_, __, ___, ____, ms) => this.#post(new CustomEvent('rtt', { detail: ms }), KIND.NOTE),
      (text) => this.#dropped('not-sent', 1, text),
      (text) => this.#dropped('overflow', 1, text),
      (reason, code, wasClean, _, why, unsent) => {
        // Stopped: nothing may keep running or keep this object alive.
        this.#timers.forEach(clearTimeout);
        this.#timers = [];
        this.#detachPage?.();
        this.#finalSeen = false;
        if (this.#errored || (!this.#opened && code !== 0 && !wasClean)) this.#post(new Event('error'), KIND.FINAL);
        this.#errored = false;
        this.#opened = false;
        // No socket left: the close of the attempt that failed last, if one did.
        if (code === 0 && this.#lastLoss) [code, reason, wasClean] = this.#lastLoss;
        const event = code === 0 ? closeEvent(1005, '', true) : closeEvent(code, reason, wasClean);
        // Why it stopped and how many queued messages were discarded unsent.
        Object.defineProperties(event, {
          stopReason: { value: ['user', 'policy', 'gave-up', 'session-ended'][why], enumerable: true },
          unsent: { value: unsent, enumerable: true },
        });
        this.#post(event, KIND.FINAL);
        this.#settleFlushes();
      },
      (session, _, __, ___, resent) => this.#post(new CustomEvent('resumed', { detail: { session, resent } }), KIND.NOTE),
      (reason, _, __, ___, missed) => {
        this.#post(new CustomEvent('sessionlost', { detail: { reason, missed: Number.isNaN(missed) ? null : missed, unconfirmed } }));
        unconfirmed = [];
      },
      (text) => unconfirmed.push(text),
    ];
    const io = {
      dial: (id) => {
        this.#attachPage();
        this.#dial(id);
      },
      writeText: (id, text) => this.#write(id, text),
      // A view into wasm memory: a socket may keep it past send() (`ws` when busy or
      // compressing), so it gets a copy.
      writeBytes: (id, bytes) => this.#write(id, bytes.slice()),
      closeSocket: (id, code, reason, detach) => this.#closeSocket(id, code, reason, detach),
      // The core never asks for more than setTimeout keeps (2^31 - 1 ms); < 0 cancels.
      setTimer: (timer, ms) => {
        clearTimeout(this.#timers[timer]);
        this.#timers[timer] = ms < 0 ? 0 : setTimeout(() => {
          this.#timers[timer] = 0;
          this.#feed(IN.TIMER, 0, timer);
        }, ms);
      },
      // With resume a binary message carries a one-byte tag before the application's bytes.
      // (`raw`: a message another tab's holder passed on, for a shared socket.)
      deliver: (toHook, raw = this.#resumes && typeof this.#incoming !== 'string' ? this.#incoming.slice(1) : this.#incoming) => {
        if (toHook) this.#hook?.inbox.push(raw);
        else this.#dispatchMessage(raw);
      },
      handshake: (id) => this.#runHandshake(id),
      incoming: () => this.#incoming,
      event: (kind, a, b, code, text, wasClean, wasOpen) => events[kind](text, code, wasClean, wasOpen, a, b),
      // A binary message as the `event` kind of its text twin: unsent (4), evicted (5) or
      // unconfirmed (9).
      unsentBytes: (bytes, kind) => {
        const data = bytes.slice().buffer;
        if (kind === 9) unconfirmed.push(data);
        else events[kind](data);
      },
      // backoff (kind 0): ms, -1 to stop; closePolicy (kind 1): 1 retry, 0 stop.
      policy: (kind, attempt, elapsed, code, reason, wasClean, wasOpen) => {
        try {
          if (kind === 1) return this.#policies.closePolicy({ code, reason, wasClean, wasOpen }) ? 1 : 0;
          const ms = this.#policies.backoff({ attempt, elapsed, lastClose: { code, reason, wasClean } });
          return typeof ms === 'number' ? ms : -1;
        } catch {
          // A throwing backoff stops, as `null` does; a throwing policy keeps the socket
          // retrying rather than dying.
          return kind === 1 ? 1 : -1;
        }
      },
      // The heartbeat's functions, on the message being fed (binary as an ArrayBuffer
      // whatever binaryType says: a matcher must decide synchronously). A throw: "not ours".
      heartbeat: (kind, n) => {
        const { ping, pong, answer } = this.#policies;
        if (kind === 0) return make(ping, n);
        if (kind === 2) return make(answer, this.#incoming);
        let verdict;
        try { verdict = pong(this.#incoming); } catch { return -1; }
        if (typeof verdict === 'number' && verdict >= 0 && Number.isInteger(verdict)) return verdict;
        return verdict === true ? -2 : -1;
      },
      madeText: () => made,
      madeBytes: () => made,
    };
    // Total: an exception must never cross the wasm frames, which would leave the core
    // borrowed for good. A glue fault is reported, and the core gets a harmless answer.
    const log = this.#log;
    for (const [name, f] of Object.entries(io)) {
      io[name] = (...args) => {
        log?.(name, ...args);
        try {
          return f(...args);
        } catch (e) {
          report(e);
          return name === 'madeText' ? '' : name === 'madeBytes' ? new Uint8Array(0) : undefined;
        }
      };
    }
    return io;
  }

  /** The connection (or attempt) was lost and a retry waits for its delay or the network. */
  #lost(detail) {
    // A lost connection closes as a browser socket would (after `error` if the browser
    // failed it); a failed attempt errors.
    if (detail.wasOpen) {
      if (this.#errored) this.#post(new Event('error'));
      this.#post(closeEvent(detail.code, detail.reason, detail.wasClean));
    } else {
      this.#post(new Event('error'));
    }
    this.#lastLoss = detail.wasOpen ? null : [detail.code, detail.reason, detail.wasClean];
    this.#errored = false;
    this.#opened = false;
    // Dropped if a listener of the events above calls close() or reconnect().
    this.#post(new CustomEvent('reconnecting', { detail }), KIND.NOTE);
  }

  /** A received payload as the application sees it (binaryType). */
  #data(raw) {
    return typeof raw === 'string' || this.#binaryType === 'arraybuffer' ? raw : new Blob([raw]);
  }

  /** `raw` (the data as received, or as kept by the handshake hook: `kept`). */
  #dispatchMessage(raw, kept) {
    const origin = this.#origin;
    // As in browsers, nothing is dispatched once close() was called, and binaryType is read
    // when the message is.
    this.#post(() => this.readyState === STATES.OPEN ? new MessageEvent('message', { data: kept ? raw : this.#data(raw), origin }) : null);
  }

  /** Runs the handshake option on socket `id`, then tells the core how it ended. */
  #runHandshake(id) {
    const hook = { id, inbox: new Inbox(), kept: [] };
    this.#hook = hook;
    const handle = {
      send: (data) => {
        const ws = this.#socket?.id === id && this.#hook === hook ? this.#socket.ws : null;
        if (ws?.readyState !== STATES.OPEN) throw this.#stoppedError();
        ws.send(payload(data));
      },
      receive: () => hook.inbox.next().then((raw) => this.#data(raw)),
      keep: (data) => { hook.kept.push(data); },
    };
    Promise.resolve()
      .then(() => this.#policies.handshake(handle))
      .then(() => [true, ''], (e) => [false, messageOf(e)])
      .then(([ok, reason]) => {
        if (this.#hook !== hook) return; // the attempt already ended
        this.#hook = null;
        hook.inbox.close();
        this.#feed(IN.HANDSHAKE_DONE, id, 0, reason, ok);
        if (!ok || !this.#core.isOpen(id)) return;
        // What the hook didn't consume goes to the application, in order, after `open`.
        for (const data of hook.kept) this.#dispatchMessage(data, true);
        for (const raw of hook.inbox.drain()) this.#dispatchMessage(raw);
        this.#pump();
      });
  }

  #dropped(reason, count, data) {
    this.#post(new CustomEvent('dropped', { detail: data === undefined ? { reason, count } : { reason, count, data } }));
  }

  #dial(id) {
    if (typeof this.#source === 'string') {
      this.#open(id, this.#source);
      return;
    }
    // A URL provider may be async; an answer that comes after a close or a newer attempt is
    // dropped by the core.
    Promise.resolve()
      .then(() => this.#source())
      .then((url) => {
        if (typeof url !== 'string' && !(url instanceof URL)) throw new TypeError('the URL provider returned no string');
        if (this.#core.isDialing(id)) this.#open(id, String(url));
      })
      .catch((e) => this.#feed(IN.DIAL_FAILED, id, 0, `url provider: ${messageOf(e)}`));
  }

  #open(id, url) {
    // The constructor's socket, if any, is the first one.
    let ws = this.#early?.ws;
    this.#early = null;
    try {
      ws ??= new this.#WS(url, this.#protocols);
    } catch (e) {
      this.#feed(IN.DIAL_FAILED, id, 0, messageOf(e));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#url = ws.url;
    this.#origin = new URL(ws.url).origin;
    this.#socket = { id, ws };
    this.#errored = false;
    let opened = false;
    ws.onopen = () => { opened = true; this.#feed(IN.OPENED, id, 0, ws.protocol); };
    ws.onerror = () => {
      if (this.#socket?.id !== id) return;
      this.#errored = true;
      // An error before open ends the attempt: browsers follow it with close 1006, except
      // WebKit for a refused connection (a blocked port), which fires no close. Close it
      // here as the others do; onclose forgets the socket, so a close that follows is
      // ignored. The Rust driver (src/web/conn.rs, on_error) does the same.
      if (!opened) ws.onclose({ code: 1006, reason: '', wasClean: false });
    };
    ws.onmessage = (e) => {
      const data = e.data;
      this.#incoming = data;
      // The core reads text only when a heartbeat matches pongs by it (`wantsText`). With
      // resume it tells text from binary, and reads a binary frame's tag (and a control
      // message, which is short ASCII); the application's bytes stay here.
      if (typeof data === 'string') {
        if (this.#wantsText) this.#feed(IN.TEXT, id, 0, data);
        else if (this.#resumes) this.#feed(IN.TEXT, id, 0, '');
        else this.#feed(IN.MESSAGE, id);
      } else if (this.#resumes) {
        const bytes = new Uint8Array(data);
        const control = bytes[0] === 1 && bytes.length <= 256;
        this.#feed(IN.MESSAGE, id, bytes.length === 0 ? -1 : bytes[0] === 1 && !control ? 2 : bytes[0],
          control ? String.fromCharCode(...bytes.subarray(1)) : undefined);
      } else this.#feed(IN.MESSAGE, id);
      this.#incoming = undefined;
      if (this.#flushes.length) this.#settleFlushes();
    };
    ws.onclose = (e) => {
      this.#forget(id);
      this.#feed(IN.CLOSED, id, e.code, e.reason, e.wasClean);
    };
    this.#feed(IN.CREATED, id);
  }

  #forget(id) {
    const socket = this.#socket;
    if (socket?.id !== id) return null;
    this.#socket = null;
    if (this.#hook?.id === id) {
      // The attempt ended under the handshake hook: its receive() rejects.
      this.#hook.inbox.close();
      this.#hook = null;
    }
    socket.ws.onopen = socket.ws.onmessage = socket.ws.onclose = null;
    // `ws` (Node) throws an error event no one listens to: its late ones go nowhere.
    socket.ws.onerror = noop;
    return socket.ws;
  }

  #write(id, data) {
    const ws = this.#socket?.id === id ? this.#socket.ws : null;
    if (ws?.readyState !== STATES.OPEN) return false;
    ws.send(data);
    return true;
  }

  #closeSocket(id, code, reason, detach) {
    const ws = detach ? this.#forget(id) : this.#socket?.id === id ? this.#socket.ws : null;
    // The user's close: the engine converts its arguments as it does (Firefox rounds 3000.7).
    const args = detach ? null : this.#closeArgs;
    try {
      if (args) ws?.close(...args);
      else if (code === 1005) ws?.close();
      else ws?.close(code, reason);
    } catch {
      try { ws?.close(code, reason); } catch { ws?.close(); }
    }
  }

  // online/offline (a page's or a Worker's global) and visibilitychange (a page's document)
  // feed the core while it may still dial; a runtime without them (Node) has neither.
  #attachPage() {
    const g = globalThis;
    const doc = g.document;
    if (this.#detachPage || !g.addEventListener) return;
    const online = () => this.#feed(IN.ONLINE, 0, 0, undefined, true);
    const offline = () => this.#feed(IN.ONLINE, 0, 0, undefined, false);
    const visibility = () => this.#feed(IN.VISIBLE, 0, 0, undefined, doc.visibilityState === 'visible');
    g.addEventListener('online', online);
    g.addEventListener('offline', offline);
    doc?.addEventListener('visibilitychange', visibility);
    this.#detachPage = () => {
      g.removeEventListener('online', online);
      g.removeEventListener('offline', offline);
      doc?.removeEventListener('visibilitychange', visibility);
      this.#detachPage = null;
    };
  }

  /**
   * Sends now if open, otherwise queues (unless `replay: false`). Returns "written",
   * "queued" or "dropped"; throws when the queue is full or the socket is closed.
   * @param {string | ArrayBuffer | ArrayBufferView | Blob} data
   */
  send(data) {
    if (arguments.length === 0) throw sendError('1 argument required, but only 0 present.');
    const message = payload(data);
    if (this.#closeAfter || this.#idle === true) throw this.#stoppedError();
    if (this.#idle) {
      this.#idle.push(message);
      return 'queued';
    }
    if (this.#held) {
      // The core is not ready: CONNECTING, as far as anyone can tell.
      if (this.#noReplay) throw sendFailure(SEND.NOT_OPEN);
      this.#held.push(message);
      this.#pendingBytes += sizeOf(message);
      return 'queued';
    }
    return this.#queue(message);
  }

  #queue(message) {
    if (!isBlob(message) && !this.#pending) {
      try {
        return this.#sendNow(message);
      } finally {
        this.#pump(true); // a "drop-oldest" eviction's `dropped`
      }
    }
    // Blobs are read asynchronously; later sends wait behind them to keep the order. What
    // would fail now throws now; what fails after the read is reported as `dropped`.
    const size = sizeOf(message);
    const refused = this.#core.checkSend(size);
    if (refused) throw sendFailure(refused, size);
    const previous = this.#pending ?? Promise.resolve();
    this.#pendingBytes += size;
    const tail = previous
      .then(() => (isBlob(message) ? message.arrayBuffer() : message))
      .then((bytes) => {
        this.#pendingBytes -= size;
        try {
          if (this.#sendNow(bytes) === 'dropped') this.#dropped('overflow', 1, message);
        } catch (e) {
          this.#dropped(e?.name === 'QuotaExceededError' ? 'overflow' : 'closed', 1, message);
        }
      }, () => {
        this.#pendingBytes -= size;
        this.#post(new Event('error')); // the Blob could not be read, as in browsers
      })
      .finally(() => {
        if (this.#pending === tail) {
          this.#pending = null;
          if (this.#closeAfter) this.#feed(...this.#takeClose());
          this.#settleFlushes();
        }
        this.#pump();
      });
    this.#pending = tail;
    return 'queued';
  }

  #stoppedError() {
    return sendFailure(SEND.STOPPED);
  }

  #sendNow(data) {
    // Open with nothing of the core's pending, a send is one write (`Core.writable`): made
    // here, without copying the data into wasm memory and back.
    const socket = this.#socket;
    if (socket?.ws.readyState === STATES.OPEN && this.#core.writable() === socket.id) {
      socket.ws.send(data);
      return 'written';
    }
    const text = typeof data === 'string';
    const bytes = text ? null : tag(data) === 'ArrayBuffer' ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const outcome = text ? this.#core.sendText(this.#io, data) : this.#core.sendBytes(this.#io, bytes);
    if (outcome < SEND.QUEUE_FULL) return SENT[outcome];
    throw sendFailure(outcome, text ? utf8Length(data) : bytes.byteLength);
  }

  /**
   * Closes for good: no reconnect follows. Throws like WebSocket.close for a bad code or reason.
   * Sends still waiting for a Blob to be read go out first, as in browsers.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = undefined, reason = undefined) {
    // Never started (startClosed): CLOSED already, as a browser socket it fires no close; it
    // now stays closed, and what was queued is reported dropped. The core is never fed: its
    // first input would dial.
    if (this.#idle) {
      if (this.#idle.length) this.#dropped('closed', this.#idle.length);
      this.#idle = true;
      this.#pump(true);
      return;
    }
    const text = reason === undefined ? undefined : String(reason);
    const ws = this.#socket?.ws ?? this.#early?.ws;
    let c = 1005;
    // The live socket may close at once unless something must be written first: a Blob being
    // read, what the running step decides, or with resume the session's `end`.
    if (ws && ws.readyState < STATES.CLOSING && !this.#pending && !this.#busy && !(this.#resumes && ws.readyState === STATES.OPEN)) {
      // Engines convert the arguments differently: Firefox rounds 3000.7 to 3001 where the
      // others truncate; Firefox and WebKit read close(undefined, reason) as no code where
      // Chromium reads 0. The live socket's own close() applies its engine's rules and
      // throws its exceptions; its close event reports what it sent, and the core's close
      // then only records the stop (any valid code will do).
      ws.close(...arguments);
      if (!this.#held) c = Core.closeCode(code === undefined ? undefined : Number(code), text);
      if (c > 0xffff) c = 1000;
    } else if (this.#held) {
      // Before the wasm, with no socket yet (a URL function, startClosed, offline): the core
      // then has none to send a code to; the arguments are not checked.
    } else {
      // As WebIDL converts them: a code passed as undefined with a reason is NaN, hence 0.
      const given = arguments.length >= 2 || code !== undefined;
      c = Core.closeCode(given ? Number(code) : undefined, text);
      if (c > 0xffff) throw closeFailure(c);
      // The socket is closed later, when the core says: with the engine's conversion then.
      this.#closeArgs = [...arguments];
    }
    this.#closeAfter ??= [c, text ?? ''];
    // Before the wasm, the close waits for the held messages (#adopt).
    if (!this.#pending && !this.#busy && !this.#held) this.#feed(...this.#takeClose(), true);
  }

  /** Drops the current connection and dials at once, with the backoff reset. */
  reconnect() {
    // After close() (it may wait for Blobs, or for the wasm), as after the final close: nothing.
    if (this.#closeAfter) return;
    if (!this.#idle) this.#feed(IN.RECONNECT, 0, 0, undefined, false, true);
    else if (this.#idle !== true) {
      const held = this.#idle;
      this.#idle = 0;
      this.#start();
      // What was sent meanwhile, in order, as sent now.
      for (const m of held) this.#resend(m);
    }
  }

  /** Sends a message held earlier (startClosed, or before the wasm: `queue`); one refused or
   * dropped is reported as `dropped`. */
  #resend(m, queue) {
    let outcome;
    try { outcome = queue ? this.#queue(m) : this.send(m); } catch { outcome = 'dropped'; }
    if (outcome === 'dropped') this.#dropped('overflow', 1, m);
  }

  get readyState() {
    if (this.#idle) return STATES.CLOSED;
    const state = this.#core?.readyState ?? 0;
    // After close(), and until its final close event is dispatched, as in browsers: CLOSING.
    return (this.#closeAfter && state < STATES.CLOSING) || (state === STATES.CLOSED && !this.#finalSeen) ? STATES.CLOSING : state;
  }
  get url() { return this.#url; }
  get protocol() { return this.#negotiated[0]; }
  get extensions() { return this.#negotiated[1]; }
  // What the browser still holds (also while closing), the queue and the Blobs being read;
  // with resume instead of the browser's count, every message not acknowledged yet (it is
  // sent again after a drop).
  get bufferedAmount() {
    const core = this.#core;
    return (core ? core.bufferedAmount(this.#socket?.ws.bufferedAmount ?? 0) + core.queuedBytes : 0) + this.#pendingBytes;
  }
  get retryCount() { return this.#core?.retryCount ?? 0; }
  get rtt() { return this.#core?.rtt; }
  get binaryType() { return this.#binaryType; }
  set binaryType(value) {
    // As in browsers, other values are ignored.
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  // on<event> handlers are registered as listeners the first time they are set, as in
  // browsers; any object is kept (and read back), only a function is called.
  #setHandler(type, handler) {
    if (!(type in this.#handlers)) {
      this.addEventListener(type, (event) => {
        const h = this.#handlers[type];
        if (typeof h === 'function') h.call(this, event);
      });
    }
    this.#handlers[type] = handler !== null && (typeof handler === 'object' || typeof handler === 'function') ? handler : null;
  }

  // onopen ... onsessionlost, defined in a loop (the package's size budget).
  static #h = handlerAccessors(this.prototype, (ws) => ws.#handlers, (ws, type, h) => ws.#setHandler(type, h));

  /** Resolves the `flush()` promises once nothing waits (rejects them once stopped). */
  #settleFlushes() {
    if (!this.#flushes.length || this.#held) return;
    const stopped = this.#idle === true || this.#core.readyState >= STATES.CLOSING;
    if (!stopped && (this.#core.queuedBytes || this.#core.unacknowledged || this.#pending)) return;
    for (const f of this.#flushes.splice(0)) {
      if (stopped) f.reject(this.#stoppedError());
      else f.resolve();
    }
  }

  /**
   * Resolves once everything sent so far is out of the queue and, with `resume`,
   * acknowledged by the server; rejects (InvalidStateError) if the socket stops first.
   * @returns {Promise<void>}
   */
  flush() {
    return new Promise((resolve, reject) => {
      this.#flushes.push({ resolve, reject });
      this.#settleFlushes();
    });
  }

  get [Symbol.toStringTag]() { return 'WebSocket'; }

  /** Yields the data of every message from the moment iteration starts until closed. */
  async *[Symbol.asyncIterator]() {
    const buffered = [];
    let wake = null;
    let done = this.readyState === STATES.CLOSED;
    const onMessage = (e) => { buffered.push(e.data); wake?.(); };
    const onClose = () => { if (this.readyState === STATES.CLOSED) { done = true; wake?.(); } };
    this.addEventListener('message', onMessage);
    this.addEventListener('close', onClose);
    try {
      while (true) {
        if (buffered.length) yield buffered.shift();
        else if (done) return;
        else await new Promise((resolve) => { wake = resolve; });
      }
    } finally {
      this.removeEventListener('message', onMessage);
      this.removeEventListener('close', onClose);
    }
  }
}

// What `Core.sendText` and friends return: outcomes below QUEUE_FULL, then the exceptions.
const SEND = { QUEUE_FULL: 3, NOT_OPEN: 4, STOPPED: 5, INSIDE_POLICY: 6 };
const SENT = ['written', 'queued', 'dropped'];

/** The exception for a refused send (`SEND`), as the core's error names it. */
function sendFailure(code, bytes) {
  switch (code) {
    case SEND.QUEUE_FULL:
      return new DOMException(`The send queue is full: no room for a message of ${bytes} bytes (see the queueMaxBytes and overflow options).`, 'QuotaExceededError');
    case SEND.NOT_OPEN:
      return new DOMException('Still in CONNECTING state (the replay option is off).', 'InvalidStateError');
    case SEND.STOPPED:
      return new DOMException('The socket is closed for good: it sends nothing more.', 'InvalidStateError');
    case SEND.INSIDE_POLICY:
      return reentered();
    default:
      return new Error('ws-tether: unexpected error');
  }
}

/** A policy function called back into the socket. */
function reentered() {
  return new DOMException('A backoff or closePolicy function may not send, close or reconnect.', 'InvalidStateError');
}

/** What `WebSocket.close` throws for what `Core.closeCode` rejected (a result above 0xffff). */
function closeFailure(result) {
  if (result >= 0x20000) return new DOMException('The close reason must not be greater than 123 UTF-8 bytes.', 'SyntaxError');
  return new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${result - 0x10000} is neither.`, 'InvalidAccessError');
}

const OPTIONS = ['minDelay', 'maxDelay', 'factor', 'jitter', 'maxRetries', 'backoff', 'connectTimeout', 'stableAfter', 'closePolicy', 'heartbeat', 'handshake', 'queueMaxBytes', 'overflow', 'replay', 'resume', 'WebSocket', 'startClosed', 'debug', 'share'];
const RESUME = 'true, false, or { ackDelay, ackEvery } (milliseconds above 0, an integer >= 1)';
const HEARTBEAT_KEYS = ['interval', 'timeout', 'ping', 'pong', 'answer', 'mode'];
const MS = 'a number of milliseconds >= 0';
const WHOLE = 'an integer from 0 to 4294967295';
const HEARTBEAT = '{ interval, timeout } in milliseconds, at least 10 (with ping and pong for your server\'s format), { timeout, answer } when the server pings, { timeout, mode: "silence" } when it pushes, or false';
// The library's names for what it checks across fields, in JavaScript's terms.
const CORE_FIELDS = {
  'backoff.min': ['minDelay', 'a number of milliseconds above 0'],
  'backoff.max': ['maxDelay', 'a number of milliseconds at least as large as minDelay'],
  'backoff.factor': ['factor', 'a finite number >= 1'],
  'backoff.max_attempts': ['maxRetries', WHOLE],
  connect_timeout: ['connectTimeout', 'a number of milliseconds above 0'],
};

const badOption = (field, allowed) => new TypeError(`ReconnectingWebSocket option \`${field}\`: expected ${allowed}`);
/** An own key of `object` not among `known` (and not undefined): a TypeError naming it (a
 * typo, usually). */
const unknownKey = (object, known, what, field) => {
  const key = Object.keys(object).find((k) => !known.includes(k) && object[k] !== undefined);
  if (key !== undefined) throw new TypeError(`ReconnectingWebSocket has no ${what} \`${key}\`; ${field} are: ${known.join(', ')}`);
};
/** Each of `keys` read from `object` as a WebIDL dictionary reads its members (inherited
 * ones too), skipping undefined. */
const members = (object, keys) => keys.map((k) => [k, object[k]]).filter(([, v]) => v !== undefined);
const isObject = (v) => v !== null && typeof v === 'object';
const isBytes = (v) => ArrayBuffer.isView(v) || (isObject(v) && tag(v) === 'ArrayBuffer');
const whole = (v) => typeof v === 'number' && v >= 0 && v <= 0xffffffff && Number.isInteger(v);

/**
 * Reads the options object field by field, as `new Core` takes them (NaN: not given), and
 * the functions the glue keeps. Throws a TypeError naming the first bad field.
 */
function readOptions(options) {
  // minDelay, maxDelay, factor, jitter, maxRetries, backoff, connectTimeout, stableAfter,
  // closePolicy, heartbeat kind, interval, timeout, ping kind, ping text, pong, queueMaxBytes,
  // overflow, replay, handshake, resume's ack delay (NaN: off, 0: default) and ack count:
  // see js/src/options.rs.
  const args = [NaN, NaN, undefined, 0, NaN, false, NaN, NaN, false, 0, NaN, NaN, 0, '', false, NaN, 0, true, false, NaN, NaN];
  const policies = {};
  if (options === undefined || options === null) return [args, policies];
  if (!isObject(options)) throw new TypeError('ReconnectingWebSocket options must be an object');
  const millis = (v, field) => {
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw badOption(field, MS);
    return v;
  };
  const fn = (v, field) => {
    if (typeof v !== 'function') throw badOption(field, 'a function');
    policies[field] = v;
    return true;
  };
  // The index of `v` in three allowed strings.
  const oneOf = (v, field, [a, b, c]) => {
    const i = [a, b, c].indexOf(v);
    if (typeof v !== 'string' || i < 0) throw badOption(field, `"${a}", "${b}" or "${c}"`);
    return i;
  };
  unknownKey(options, OPTIONS, 'option', 'the options');
  for (const [name, v] of members(options, OPTIONS)) {
    switch (name) {
      case 'minDelay': args[0] = millis(v, name); break;
      case 'maxDelay': args[1] = millis(v, name); break;
      case 'factor':
        if (typeof v !== 'number') throw badOption(name, 'a number >= 1');
        args[2] = v;
        break;
      case 'jitter': args[3] = oneOf(v, name, ['full', 'equal', 'none']); break;
      case 'maxRetries':
        if (!whole(v)) throw badOption(name, WHOLE);
        args[4] = v;
        break;
      case 'backoff': args[5] = fn(v, name); break;
      case 'connectTimeout': args[6] = millis(v, name); break;
      case 'stableAfter': args[7] = millis(v, name); break;
      case 'closePolicy': args[8] = fn(v, name); break;
      case 'heartbeat':
        if (v !== null && v !== false) args.splice(9, 6, ...readHeartbeat(v, policies));
        break;
      case 'handshake': args[18] = fn(v, name); break;
      case 'queueMaxBytes':
        if (!whole(v)) throw badOption(name, WHOLE);
        args[15] = v;
        break;
      case 'overflow': args[16] = oneOf(v, name, ['reject', 'drop-oldest', 'drop-newest']); break;
      case 'WebSocket': fn(v, name); break;
      case 'startClosed':
      case 'replay':
        if (typeof v !== 'boolean') throw badOption(name, 'true or false');
        if (name === 'replay') args[17] = v;
        else policies[name] = v;
        break;
      case 'share': policies.share = v; break;
      case 'debug':
        if (v === true) policies.debug = console.debug.bind(console, 'ws-tether');
        else if (v !== false) fn(v, name);
        break;
      case 'resume':
        if (v === true) args[19] = 0;
        else if (isObject(v)) {
          args[19] = 0;
          unknownKey(v, ['ackDelay', 'ackEvery'], 'resume key', 'its keys');
          for (const [key, x] of members(v, ['ackDelay', 'ackEvery'])) {
            if (key === 'ackDelay' && typeof x === 'number' && x > 0 && x !== Infinity) args[19] = x;
            else if (key === 'ackEvery' && whole(x) && x >= 1) args[20] = x;
            else throw badOption(name, RESUME);
          }
        } else if (v !== false && v !== null) throw badOption(name, RESUME);
        break;
    }
  }
  return [args, policies];
}

/**
 * The heartbeat in one of its forms: [kind (1 ping, 2 answer, 3 silence), interval, timeout,
 * ping (0 ours, 1 text, 2 function), ping text, pong].
 */
function readHeartbeat(hb, policies) {
  const bad = () => badOption('heartbeat', HEARTBEAT);
  if (!isObject(hb)) throw bad();
  let interval;
  let timeout;
  let ping = 0;
  let text = '';
  let answer = false;
  let silence = false;
  const ms = (v) => {
    if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw bad();
    return v;
  };
  unknownKey(hb, HEARTBEAT_KEYS, 'heartbeat key', 'its keys');
  for (const [key, v] of members(hb, HEARTBEAT_KEYS)) {
    if (key === 'interval') interval = ms(v);
    else if (key === 'timeout') timeout = ms(v);
    else if (key === 'ping' && typeof v === 'string') [ping, text] = [1, v];
    else if (key === 'ping' && (typeof v === 'function' || isBytes(v))) {
      // A fixed binary ping goes to the core as a function of the ping's number.
      ping = 2;
      policies.ping = typeof v === 'function' ? v : () => v;
    } else if (key === 'pong' && typeof v === 'function') policies.pong = v;
    else if (key === 'answer' && typeof v === 'function') [answer, policies.answer] = [true, v];
    else if (key === 'mode' && v === 'silence') silence = true;
    else throw bad();
  }
  if (timeout === undefined) throw bad();
  if (answer || silence) {
    // No pings of ours: an interval, ping or pong would never be used.
    if (interval !== undefined || ping || policies.pong || (answer && silence)) throw bad();
    return [silence ? 3 : 2, NaN, timeout, 0, '', false];
  }
  if (interval === undefined) throw bad();
  return [1, interval, timeout, ping, text, Boolean(policies.pong)];
}

/** A heartbeat message from a user function: a string or bytes, else nothing. */
function outgoing(value) {
  if (typeof value === 'string' || ArrayBuffer.isView(value)) return value;
  if (value !== null && typeof value === 'object' && tag(value) === 'ArrayBuffer') return new Uint8Array(value);
  return undefined;
}

/** The handshake hook's inbox: received payloads, in order, and who waits for the next. */
class Inbox {
  #items = [];
  #waiters = [];
  #closed = false;
  push(raw) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(raw);
    else this.#items.push(raw);
  }
  next() {
    if (this.#items.length) return Promise.resolve(this.#items.shift());
    if (this.#closed) return Promise.reject(new DOMException('The connection closed during the handshake.', 'InvalidStateError'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
  close() {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(new DOMException('The connection closed during the handshake.', 'InvalidStateError'));
  }
  drain() { return this.#items.splice(0); }
}

/** The `protocols` argument as WebIDL converts `(DOMString or sequence<DOMString>)`. */
function protocolList(protocols) {
  if (protocols === undefined) return [];
  if (isObject(protocols) || typeof protocols === 'function') {
    if (protocols[Symbol.iterator] != null) return Array.from(protocols, (p) => `${p}`);
  }
  return [`${protocols}`];
}

/** What `WebSocket.send` accepts, as it converts it; a TypeError for the rest. */
function payload(data) {
  if (typeof data === 'symbol') throw sendError('Cannot convert a Symbol value to a string.');
  if (data === null || (typeof data !== 'object' && typeof data !== 'function')) return String(data);
  const t = tag(data);
  if (t === 'SharedArrayBuffer') throw sendError('The provided ArrayBuffer value must not be shared.');
  if (t === 'ArrayBuffer') return data.detached || data.byteLength === 0 ? new ArrayBuffer(0) : data;
  if (ArrayBuffer.isView(data)) {
    const buffer = data.buffer;
    if (tag(buffer) === 'SharedArrayBuffer') throw sendError('The provided ArrayBufferView value must not be shared.');
    return buffer.detached || buffer.byteLength === 0 ? new ArrayBuffer(0) : data;
  }
  if (isBlob(data)) return data;
  return String(data); // throws a TypeError for objects that can't be converted, as browsers do
}

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

const sizeOf = (m) => (isBlob(m) ? m.size : typeof m === 'string' ? utf8Length(m) : m.byteLength);

// Node 20 has Event but no CloseEvent: there the close event is an Event with the same fields.
function closeEvent(code, reason, wasClean) {
  const init = { code, reason, wasClean };
  return typeof CloseEvent === 'function' ? new CloseEvent('close', init) : Object.assign(new Event('close'), init);
}

function noop() {}

const noShare = () => { throw new TypeError("ReconnectingWebSocket option `share`: await initShare() from 'ws-tether/share' first"); };

/** The on<event> properties of `proto`: read back what was set, as `of(socket)` keeps it. */
function handlerAccessors(proto, of, set) {
  for (const type of ['open', 'message', 'error', 'close', 'reconnecting', 'reconnect', 'rtt', 'dropped', 'resumed', 'sessionlost']) {
    Object.defineProperty(proto, `on${type}`, {
      get() { return of(this)[type] ?? null; },
      set(h) { set(this, type, h); },
      configurable: true,
    });
  }
}

// A WebIDL interface's attributes and operations are enumerable; a class's are not.
for (const name of Object.getOwnPropertyNames(ReconnectingWebSocket.prototype)) {
  if (name !== 'constructor') Object.defineProperty(ReconnectingWebSocket.prototype, name, { enumerable: true });
}
for (const [name, value] of Object.entries(STATES)) {
  Object.defineProperty(ReconnectingWebSocket, name, { value, enumerable: true });
  Object.defineProperty(ReconnectingWebSocket.prototype, name, { value, enumerable: true });
}
