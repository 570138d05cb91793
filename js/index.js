// ws-tether for JavaScript: a drop-in ReconnectingWebSocket. The Rust core (WebAssembly)
// makes every decision: when to dial, write, close, retry and ping, and what to queue. This
// file is its hands: it carries out what the core asks with the browser's WebSocket, timers
// and page events, reports back what happened, and turns the core's events into DOM events.
import wasmInit, { Core } from './ws_tether.js';

let ready = null;

/**
 * Loads the WebAssembly module. Call (and await) it once before creating sockets.
 * @param {string | URL | Response | BufferSource | WebAssembly.Module} [source]
 */
export default function init(source) {
  ready ??= wasmInit(source === undefined ? undefined : { module_or_path: source });
  return ready;
}
export { init };

const STATES = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
const EMPTY = new Uint8Array(0);
const messageOf = (e) => (e && typeof e.message === 'string' ? e.message : String(e));
// Type tags work across realms (an iframe's ArrayBuffer is not `instanceof ArrayBuffer` here).
const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);
const isBlob = (v) => v !== null && typeof v === 'object' && (tag(v) === 'Blob' || tag(v) === 'File');
const sendError = (m) => new TypeError(`Failed to execute 'send' on 'WebSocket': ${m}`);

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
  /** Counts sockets, so a handler that replaced or closed the socket is noticed. */
  #socketGen = 0;
  /** The handshake hook running on a socket: { id, inbox, kept }. */
  #hook = null;
  #origin = '';
  #constructing = true;
  #constructError = null;

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
    if (ready === null) {
      throw new Error('ws-tether: call `await init()` once before creating a ReconnectingWebSocket');
    }
    this.#source = typeof url === 'function' ? url : String(url);
    this.#protocols = protocols;
    const hb = options?.heartbeat;
    // A fixed binary ping goes to the core as a function of the ping's number.
    if (hb && typeof hb === 'object' && hb.ping !== undefined && typeof hb.ping !== 'string' && typeof hb.ping !== 'function') {
      const fixed = hb.ping;
      options = { ...options, heartbeat: { ...hb, ping: () => fixed } };
    }
    this.#core = new Core(options); // throws a TypeError naming a bad option
    this.#resumes = this.#core.resumes;
    this.#policies = {
      backoff: options?.backoff,
      closePolicy: options?.closePolicy,
      ping: options?.heartbeat?.ping,
      pong: hb?.pong,
      answer: hb?.answer,
      handshake: options?.handshake,
    };
    this.#io = this.#makeIo();
    this.#attachPage();
    // The first dial runs now: a bad URL or protocol list throws here, as `new WebSocket` does.
    this.#core.online(this.#io, typeof navigator === 'undefined' || navigator.onLine !== false);
    this.#constructing = false;
    if (this.#constructError) {
      this.#timers.forEach(clearTimeout);
      this.#detachPage?.();
      this.#core.free();
      throw this.#constructError;
    }
  }

  // What the core calls. None of these may throw: an exception would cross the wasm frames.
  #makeIo() {
    return {
      dial: (id) => this.#dial(id),
      writeText: (id, text) => this.#write(id, text),
      writeBytes: (id, bytes) => this.#write(id, bytes),
      closeSocket: (id, code, reason, detach) => this.#closeSocket(id, code, reason, detach),
      // The core never asks for more than setTimeout keeps (2^31 - 1 ms).
      setTimer: (timer, ms) => {
        clearTimeout(this.#timers[timer]);
        this.#timers[timer] = setTimeout(() => {
          this.#timers[timer] = 0;
          this.#core.timer(this.#io, timer);
        }, ms);
      },
      cancelTimer: (timer) => {
        clearTimeout(this.#timers[timer]);
        this.#timers[timer] = 0;
      },
      // With resume a binary message carries a one-byte tag before the application's bytes.
      deliver: () => this.#dispatchMessage(this.#resumes && typeof this.#incoming !== 'string' ? this.#incoming.slice(1) : this.#incoming),
      opened: (protocol) => {
        this.#negotiated = [protocol, this.#socket?.ws.extensions ?? ''];
        this.#opened = true;
        this.#fire(new Event('open'));
        if (this.#everOpened) this.#fire(new CustomEvent('reconnect', { detail: { protocol } }));
        this.#everOpened = true;
        this.#settleFlushes();
      },
      resumed: (session, resent) => this.#fire(new CustomEvent('resumed', { detail: { session, resent } })),
      sessionLost: (reason, missed, unconfirmed) => {
        this.#fire(new CustomEvent('sessionlost', { detail: { reason, missed: Number.isNaN(missed) ? null : missed, unconfirmed } }));
      },
      reconnecting: (attempt, delay, code, reason, wasClean, wasOpen) => {
        this.#lost({ attempt, delay, code, reason, wasClean, wasOpen, offline: false });
      },
      offline: (code, reason, wasClean, wasOpen) => {
        const attempt = this.#core.retryCount;
        this.#lost({ attempt, delay: null, code, reason, wasClean, wasOpen, offline: true });
      },
      rtt: (ms) => this.#fire(new CustomEvent('rtt', { detail: ms })),
      unsentText: (text) => this.#dropped('not-sent', 1, text),
      unsentBytes: (bytes) => this.#dropped('not-sent', 1, bytes.slice().buffer),
      dropped: (count) => this.#dropped('overflow', count),
      closed: (why, unsent, code, reason, wasClean) => {
        // Stopped: nothing may keep running or keep this object alive.
        this.#timers.forEach(clearTimeout);
        this.#timers = [];
        this.#detachPage?.();
        if (this.#errored || (!this.#opened && code !== 0 && !wasClean)) this.#fire(new Event('error'));
        this.#errored = false;
        this.#opened = false;
        const event = code === 0 ? closeEvent(1005, '', true) : closeEvent(code, reason, wasClean);
        // Why it stopped and how many queued messages were discarded unsent.
        Object.defineProperties(event, {
          stopReason: { value: why, enumerable: true },
          unsent: { value: unsent, enumerable: true },
        });
        this.#fire(event);
        this.#settleFlushes();
      },
      backoff: (attempt, elapsed, code, reason, wasClean) => {
        try {
          const ms = this.#policies.backoff({ attempt, elapsed, lastClose: { code, reason, wasClean } });
          return typeof ms === 'number' ? ms : -1;
        } catch {
          return -1; // a throwing backoff stops, as `null` does
        }
      },
      // The heartbeat's functions, on the message being fed (binary as an ArrayBuffer
      // whatever binaryType says: a matcher must decide synchronously). A throw: "not ours".
      heartbeatPing: (n) => {
        try { return outgoing(this.#policies.ping(n)); } catch { return undefined; }
      },
      heartbeatPong: () => {
        try { return this.#policies.pong(this.#incoming); } catch { return false; }
      },
      heartbeatAnswer: () => {
        try { return outgoing(this.#policies.answer(this.#incoming)); } catch { return undefined; }
      },
      toBytes: (value) => {
        const bytes = outgoing(value);
        return typeof bytes === 'object' ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
      },
      handshake: (id) => this.#runHandshake(id),
      toHandshake: () => this.#hook?.inbox.push(this.#incoming),
      closePolicy: (code, reason, wasClean, wasOpen) => {
        try {
          return Boolean(this.#policies.closePolicy({ code, reason, wasClean, wasOpen }));
        } catch {
          return true; // a throwing policy keeps the socket retrying rather than dying
        }
      },
    };
  }

  /** The connection (or attempt) was lost and a retry waits for its delay or the network. */
  #lost(detail) {
    const gen = this.#socketGen;
    // A lost connection closes as a browser socket would (after `error` if the browser
    // failed it); a failed attempt errors.
    if (detail.wasOpen) {
      if (this.#errored) this.#fire(new Event('error'));
      if (gen === this.#socketGen) this.#fire(closeEvent(detail.code, detail.reason, detail.wasClean));
    } else {
      this.#fire(new Event('error'));
    }
    this.#errored = false;
    this.#opened = false;
    // A handler above may have closed for good: then no retry is coming.
    if (gen === this.#socketGen && this.#core.readyState === STATES.CONNECTING) {
      this.#fire(new CustomEvent('reconnecting', { detail }));
    }
  }

  /** A received payload as the application sees it (binaryType). */
  #data(raw) {
    return typeof raw === 'string' || this.#binaryType === 'arraybuffer' ? raw : new Blob([raw]);
  }

  #dispatchMessage(raw) {
    // As in browsers, nothing is dispatched once close() was called.
    if (this.readyState !== STATES.OPEN) return;
    this.#fire(new MessageEvent('message', { data: this.#data(raw), origin: this.#origin }));
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
        this.#core.handshakeDone(this.#io, id, ok, reason);
        if (!ok || !this.#core.isOpen(id)) return;
        // What the hook didn't consume goes to the application, in order.
        for (const data of hook.kept) {
          if (this.readyState === STATES.OPEN) this.#fire(new MessageEvent('message', { data, origin: this.#origin }));
        }
        for (const raw of hook.inbox.drain()) this.#dispatchMessage(raw);
      });
  }

  #dropped(reason, count, data) {
    this.#fire(new CustomEvent('dropped', { detail: data === undefined ? { reason, count } : { reason, count, data } }));
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
      .catch((e) => this.#core.dialFailed(this.#io, id, `url provider: ${messageOf(e)}`));
  }

  #open(id, url) {
    let ws;
    try {
      ws = new WebSocket(url, this.#protocols);
    } catch (e) {
      if (this.#constructing) this.#constructError = e;
      else this.#core.dialFailed(this.#io, id, messageOf(e));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#url = ws.url;
    this.#origin = new URL(ws.url).origin;
    this.#socket = { id, ws };
    this.#errored = false;
    this.#socketGen += 1;
    let opened = false;
    ws.onopen = () => { opened = true; this.#core.opened(this.#io, id, ws.protocol); };
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
      this.#incoming = e.data;
      if (typeof e.data === 'string') this.#core.receivedText(this.#io, id, e.data);
      else this.#core.receivedBinary(this.#io, id, this.#head(e.data));
      this.#incoming = undefined;
      if (this.#flushes.length) this.#settleFlushes();
    };
    ws.onclose = (e) => {
      this.#forget(id);
      this.#core.closed(this.#io, id, e.code, e.reason, e.wasClean);
    };
    this.#core.created(this.#io, id);
  }

  /** What the core reads of a binary message: nothing, or with resume its tag (a whole
   * control frame, which is small). The application's bytes stay here. */
  #head(buffer) {
    if (!this.#resumes) return EMPTY;
    const bytes = new Uint8Array(buffer);
    return bytes[0] === 1 ? bytes : bytes.subarray(0, 1);
  }

  /** Resolves the `flush()` promises once nothing waits (rejects them once stopped). */
  #settleFlushes() {
    if (!this.#flushes.length) return;
    const stopped = this.#core.readyState >= STATES.CLOSING;
    const done = this.#core.queuedBytes === 0 && this.#core.unacknowledged === 0 && !this.#pending;
    if (!stopped && !done) return;
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

  #forget(id) {
    const socket = this.#socket;
    if (socket?.id !== id) return null;
    this.#socket = null;
    if (this.#hook?.id === id) {
      // The attempt ended under the handshake hook: its receive() rejects.
      this.#hook.inbox.close();
      this.#hook = null;
    }
    socket.ws.onopen = socket.ws.onmessage = socket.ws.onclose = socket.ws.onerror = null;
    return socket.ws;
  }

  #write(id, data) {
    const ws = this.#socket?.id === id ? this.#socket.ws : null;
    if (ws?.readyState !== STATES.OPEN) return false;
    ws.send(data); // copies: `data` may be a view into wasm memory
    return true;
  }

  #closeSocket(id, code, reason, detach) {
    const ws = detach ? this.#forget(id) : this.#socket?.id === id ? this.#socket.ws : null;
    try {
      if (code === 1005) ws?.close();
      else ws?.close(code, reason);
    } catch {
      ws?.close();
    }
  }

  // online/offline and visibilitychange feed the core while it may still dial.
  #attachPage() {
    if (this.#detachPage || typeof window === 'undefined') return;
    const online = () => this.#core.online(this.#io, true);
    const offline = () => this.#core.online(this.#io, false);
    const visibility = () => this.#core.visible(this.#io, document.visibilityState === 'visible');
    window.addEventListener('online', online);
    window.addEventListener('offline', offline);
    document.addEventListener('visibilitychange', visibility);
    this.#detachPage = () => {
      window.removeEventListener('online', online);
      window.removeEventListener('offline', offline);
      document.removeEventListener('visibilitychange', visibility);
      this.#detachPage = null;
    };
  }

  #fire(event) {
    this.dispatchEvent(event);
  }

  /**
   * Sends now if open, otherwise queues (unless `replay: false`). Returns "written",
   * "queued" or "dropped"; throws when the queue is full or the socket is closed.
   * @param {string | ArrayBuffer | ArrayBufferView | Blob} data
   */
  send(data) {
    if (arguments.length === 0) throw sendError('1 argument required, but only 0 present.');
    const message = payload(data);
    if (this.#closeAfter) throw this.#stoppedError();
    if (!isBlob(message) && !this.#pending) return this.#sendNow(message);
    // Blobs are read asynchronously; later sends wait behind them to keep the order. What
    // would fail now throws now; what fails after the read is reported as `dropped`.
    const size = isBlob(message) ? message.size : typeof message === 'string' ? utf8Length(message) : message.byteLength;
    this.#core.checkSend(size);
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
        this.#fire(new Event('error')); // the Blob could not be read, as in browsers
      })
      .finally(() => {
        if (this.#pending !== tail) return;
        this.#pending = null;
        const close = this.#closeAfter;
        this.#closeAfter = null;
        if (close) this.#core.close(this.#io, close[0], close[1]);
      });
    this.#pending = tail;
    return 'queued';
  }

  #stoppedError() {
    return new DOMException('The socket is closed for good: it sends nothing more.', 'InvalidStateError');
  }

  #sendNow(data) {
    if (typeof data === 'string') return this.#core.sendText(this.#io, data);
    if (tag(data) === 'ArrayBuffer') return this.#core.sendBytes(this.#io, new Uint8Array(data));
    return this.#core.sendBytes(this.#io, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /**
   * Closes for good: no reconnect follows. Throws like WebSocket.close for a bad code or reason.
   * Sends still waiting for a Blob to be read go out first, as in browsers.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = undefined, reason = undefined) {
    const text = reason === undefined ? undefined : String(reason);
    const ws = this.#pending ? null : this.#socket?.ws;
    let c;
    if (ws && ws.readyState < STATES.CLOSING) {
      // Engines convert the arguments differently: Firefox rounds 3000.7 to 3001 where the
      // others truncate; Firefox and WebKit read close(undefined, reason) as no code where
      // Chromium reads 0. The live socket's own close() applies its engine's rules and
      // throws its exceptions; its close event reports what it sent, and the core's close
      // then only records the stop (any valid code will do).
      ws.close(...arguments);
      try { c = Core.closeCode(code === undefined ? undefined : Number(code), text); } catch { c = 1000; }
    } else {
      // As WebIDL converts them: a code passed as undefined with a reason is NaN, hence 0.
      const given = arguments.length >= 2 || code !== undefined;
      c = Core.closeCode(given ? Number(code) : undefined, text);
    }
    if (this.#pending) {
      this.#closeAfter ??= [c, text ?? ''];
      return;
    }
    this.#core.close(this.#io, c, text ?? '');
  }

  /** Drops the current connection and dials at once, with the backoff reset. */
  reconnect() {
    this.#core.reconnect(this.#io);
    if (this.#core.readyState === STATES.CONNECTING) this.#attachPage();
  }

  get readyState() {
    const state = this.#core.readyState;
    return this.#closeAfter && state < STATES.CLOSING ? STATES.CLOSING : state;
  }
  get url() { return this.#url; }
  get protocol() { return this.#negotiated[0]; }
  get extensions() { return this.#negotiated[1]; }
  get bufferedAmount() {
    const ws = this.#socket?.ws;
    return (ws?.readyState === STATES.OPEN ? ws.bufferedAmount : 0) + this.#core.queuedBytes + this.#pendingBytes;
  }
  get retryCount() { return this.#core.retryCount; }
  get rtt() { return this.#core.rtt; }
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

  get onopen() { return this.#handlers.open ?? null; }
  set onopen(handler) { this.#setHandler('open', handler); }
  get onmessage() { return this.#handlers.message ?? null; }
  set onmessage(handler) { this.#setHandler('message', handler); }
  get onerror() { return this.#handlers.error ?? null; }
  set onerror(handler) { this.#setHandler('error', handler); }
  get onclose() { return this.#handlers.close ?? null; }
  set onclose(handler) { this.#setHandler('close', handler); }
  get onreconnecting() { return this.#handlers.reconnecting ?? null; }
  set onreconnecting(handler) { this.#setHandler('reconnecting', handler); }
  get onreconnect() { return this.#handlers.reconnect ?? null; }
  set onreconnect(handler) { this.#setHandler('reconnect', handler); }
  get ondropped() { return this.#handlers.dropped ?? null; }
  set ondropped(handler) { this.#setHandler('dropped', handler); }
  get onresumed() { return this.#handlers.resumed ?? null; }
  set onresumed(handler) { this.#setHandler('resumed', handler); }
  get onsessionlost() { return this.#handlers.sessionlost ?? null; }
  set onsessionlost(handler) { this.#setHandler('sessionlost', handler); }

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

function closeEvent(code, reason, wasClean) {
  return new CloseEvent('close', { code, reason, wasClean });
}

for (const [name, value] of Object.entries(STATES)) {
  Object.defineProperty(ReconnectingWebSocket, name, { value, enumerable: true });
  Object.defineProperty(ReconnectingWebSocket.prototype, name, { value, enumerable: true });
}
