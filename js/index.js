// ws-tether for JavaScript: a drop-in ReconnectingWebSocket. This file is glue only: it
// turns the Rust core's events into DOM events and reads arguments the way the browser's
// WebSocket does. Every decision (backoff, heartbeat, queue, policies) is made in Rust.
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

export class ReconnectingWebSocket extends EventTarget {
  #core;
  #binaryType = 'blob';
  #handlers = {};
  #opened = false;
  #everOpened = false;
  #pending = null;

  /**
   * @param {string | URL | (() => string | Promise<string>)} url
   * @param {string | string[]} [protocols]
   * @param {object} [options]
   */
  constructor(url, protocols, options) {
    super();
    if (ready === null) {
      throw new Error('ws-tether: call `await init()` once before creating a ReconnectingWebSocket');
    }
    const target = typeof url === 'function' ? url : String(url);
    this.#core = new Core(target, protocols, options, (type, detail) => this.#on(type, detail));
  }

  #fire(event) {
    this.dispatchEvent(event);
  }

  #on(type, detail) {
    switch (type) {
      case 'open':
        this.#opened = true;
        this.#fire(new Event('open'));
        if (this.#everOpened) this.#fire(new CustomEvent('reconnect', { detail }));
        this.#everOpened = true;
        break;
      case 'message': {
        const data = typeof detail === 'string' || this.#binaryType === 'arraybuffer'
          ? detail : new Blob([detail]);
        this.#fire(new MessageEvent('message', { data }));
        break;
      }
      case 'reconnecting':
        // A lost connection closes as a browser socket would; a failed attempt errors.
        if (detail.wasOpen) this.#fire(closeEvent(detail));
        else this.#fire(new Event('error'));
        this.#opened = false;
        this.#fire(new CustomEvent('reconnecting', { detail }));
        break;
      case 'closed':
        if (!this.#opened && detail.wasClean === false) this.#fire(new Event('error'));
        this.#opened = false;
        this.#fire(closeEvent(detail));
        break;
      case 'rtt':
        this.#fire(new CustomEvent('rtt', { detail }));
        break;
      default:
        break;
    }
  }

  /**
   * Sends now if open, otherwise queues (unless `replay: false`). Returns "written",
   * "queued" or "dropped"; throws when the queue is full or the socket is closed.
   * @param {string | ArrayBuffer | ArrayBufferView | Blob} data
   */
  send(data) {
    if (data instanceof Blob || this.#pending) {
      // Blobs are read asynchronously; later sends wait behind them to keep the order.
      const previous = this.#pending ?? Promise.resolve();
      const tail = previous
        .then(() => (data instanceof Blob ? data.arrayBuffer() : data))
        .then((bytes) => this.#sendNow(bytes))
        // The caller got 'queued' already; a later failure is reported as an error event.
        .catch(() => this.#fire(new Event('error')))
        .finally(() => { if (this.#pending === tail) this.#pending = null; });
      this.#pending = tail;
      return 'queued';
    }
    return this.#sendNow(data);
  }

  #sendNow(data) {
    if (typeof data === 'string') return this.#core.sendText(data);
    if (data instanceof ArrayBuffer) return this.#core.sendBytes(new Uint8Array(data));
    if (ArrayBuffer.isView(data)) {
      return this.#core.sendBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    return this.#core.sendText(String(data));
  }

  /**
   * Closes for good: no reconnect follows. Throws like WebSocket.close for a bad code or reason.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code, reason) {
    this.#core.close(code, reason === undefined ? undefined : String(reason));
  }

  /** Drops the current connection and dials at once, with the backoff reset. */
  reconnect() { this.#core.reconnect(); }

  get readyState() { return this.#core.readyState; }
  get url() { return this.#core.url; }
  get protocol() { return this.#core.protocol; }
  get extensions() { return this.#core.extensions; }
  get bufferedAmount() { return this.#core.bufferedAmount; }
  get retryCount() { return this.#core.retryCount; }
  get rtt() { return this.#core.rtt; }
  get binaryType() { return this.#binaryType; }
  set binaryType(value) {
    // As in browsers, other values are ignored.
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  // on<event> handlers are registered as listeners the first time they are set, as in browsers.
  #setHandler(type, handler) {
    if (!(type in this.#handlers)) {
      this.addEventListener(type, (event) => this.#handlers[type]?.call(this, event));
    }
    this.#handlers[type] = typeof handler === 'function' ? handler : null;
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

function closeEvent(detail) {
  return new CloseEvent('close', {
    code: detail.code ?? 1005, reason: detail.reason ?? '', wasClean: detail.wasClean ?? true,
  });
}

for (const [name, value] of Object.entries(STATES)) {
  Object.defineProperty(ReconnectingWebSocket, name, { value, enumerable: true });
  Object.defineProperty(ReconnectingWebSocket.prototype, name, { value, enumerable: true });
}
