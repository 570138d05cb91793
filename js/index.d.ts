/** The wasm as `init` takes it: a URL, a fetch of it, its bytes or the compiled module. */
export type InitSource = string | URL | Response | Promise<Response> | BufferSource | WebAssembly.Module;

/**
 * Loads the WebAssembly module, once: every call returns the same promise. Optional: the first
 * socket starts loading it, and a socket made before it is ready connects at once and holds
 * what it is asked. Call it (before the first socket) to load the wasm from elsewhere, or
 * await it to load it ahead.
 */
export default function init(source?: InitSource | { module_or_path: InitSource }): Promise<unknown>;
export { init };

/** How a connection or an attempt ended. */
export interface CloseDetail {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** `reconnecting` event detail: the retry that will run after `delay` ms. */
export interface ReconnectingDetail extends CloseDetail {
  attempt: number;
  /** ms until the retry; null while offline (it runs when the browser is online again). */
  delay: number | null;
  /** Whether the lost connection had opened (false: the attempt failed). */
  wasOpen: boolean;
  /** The browser is offline: the retry waits for the `online` event. */
  offline: boolean;
}

/**
 * `dropped` event detail: messages that were not sent, and why. "overflow": the queue had no
 * room (overflow "drop-oldest" drops older ones, "drop-newest" or "reject" a Blob read after
 * the queue filled); "not-sent": written while the browser's socket was already closing and
 * `replay` is off; "closed": a send waiting behind a Blob when the socket stopped for good.
 */
export interface DroppedDetail {
  reason: 'overflow' | 'not-sent' | 'closed';
  count: number;
  /** The message itself, when it is a single one (always, for "overflow" and "not-sent":
   * binary data as an ArrayBuffer of its bytes). */
  data?: string | ArrayBuffer | Blob | ArrayBufferView;
}

/** `resumed` event detail (option `resume`): the connection continues the session. */
export interface ResumedDetail {
  session: string;
  /** Messages the server hadn't received, sent again before any newer one. */
  resent: number;
}

/**
 * `sessionlost` event detail (option `resume`): the session could not continue ("unknown",
 * "expired", "overflow", "diverged": a new one started), the server had ended it while the
 * socket was away ("ended": its last messages arrived first), the server no longer had some
 * of its messages ("gap"), or the socket stopped before the server confirmed everything
 * ("stopped").
 */
export interface SessionLostDetail {
  reason: 'unknown' | 'expired' | 'overflow' | 'diverged' | 'ended' | 'gap' | 'stopped' | string;
  /** Server messages that will never arrive; null when the server doesn't know. */
  missed: number | null;
  /**
   * Messages sent but never acknowledged, in order: maybe processed, maybe not. Not sent
   * again: resend what you must. Text as the string sent; binary data (an ArrayBuffer, a
   * typed array or DataView, a Blob) as an ArrayBuffer of the bytes sent.
   */
  unconfirmed: (string | ArrayBuffer)[];
}

/** The final `close` event (closed for good) also says why, and what was left unsent. */
export interface FinalCloseEvent extends CloseEvent {
  /** "user": close() was called; "policy": the close policy said stop; "gave-up": the backoff;
   * "session-ended": the server ended the resumed session. */
  readonly stopReason?: 'user' | 'policy' | 'gave-up' | 'session-ended';
  /** Queued messages discarded unsent. */
  readonly unsent?: number;
}

export interface RetryContext {
  attempt: number;
  /** ms since the connection was lost */
  elapsed: number;
  lastClose: CloseDetail;
}

export interface ReconnectingWebSocketOptions {
  /** Shortest retry delay and base of the growth, ms, above 0. Default 500. */
  minDelay?: number;
  /** Longest retry delay, ms. Default 30000. */
  maxDelay?: number;
  /** Growth per retry, >= 1. Default 2. */
  factor?: number;
  /** Default "full": uniform in [minDelay, ceiling]. */
  jitter?: 'full' | 'equal' | 'none';
  /** Give up after this many retries; 0 = never retry. Default: unlimited. */
  maxRetries?: number;
  /** Your own backoff: ms until the next retry, or null to stop. Replaces the exponential one. Throwing stops; send from it throws InvalidStateError, close/reconnect run once it returns. */
  backoff?: (context: RetryContext) => number | null;
  /** An attempt not open after this many ms is abandoned and counted. Default 10000. */
  connectTimeout?: number;
  /** The retry counter resets after a connection stayed open this long, ms. Default 5000. */
  stableAfter?: number;
  /** true = retry. Default: stop on 1002, 1003, 1007-1010, 3000, 3003, 4400-4499. Throwing retries; send from it throws InvalidStateError, close/reconnect run once it returns. */
  closePolicy?: (close: CloseDetail & { wasOpen: boolean }) => boolean;
  /**
   * Application heartbeat, in your server's format. Default off. Any message received counts
   * as proof of life, so `timeout` must outlast the server's longest quiet period.
   * - `{ interval, timeout }` (each at least 10 ms): we ping after `interval` ms of silence
   *   ("\u0001ping:<n>", answered by "\u0001pong:<n>": ws-tether's format, or by the ping
   *   itself from a plain echo server), dead if nothing arrives within `timeout`; `ping` and
   *   `pong` set your server's format.
   * - `{ timeout, answer }`: the server pings; `answer(data)` returns the reply to its ping
   *   (null for other messages). Dead after `timeout` ms of silence.
   * - `{ timeout, mode: 'silence' }`: the server pushes on its own; dead after `timeout` ms
   *   (at least 1000) of silence.
   */
  heartbeat?: HeartbeatPing | HeartbeatAnswer | HeartbeatSilence | false | null;
  /**
   * Runs on every connection after it opens, before anything queued is written and before
   * `open` fires: send your protocol's hello, await its reply, resubscribe. A rejection (or
   * not settling within `connectTimeout`) fails the attempt; the reason reaches `reconnecting`.
   */
  handshake?: (connection: HandshakeConnection) => Promise<void> | void;
  /** Bound of the queue used while not open, bytes. Default 1048576. */
  queueMaxBytes?: number;
  /** When the queue is full. Default "reject" (send throws QuotaExceededError). */
  overflow?: 'reject' | 'drop-oldest' | 'drop-newest';
  /** Queue sends while not open and write them on open. Default true. */
  replay?: boolean;
  /**
   * Resume the session across reconnects (docs/resume-protocol.md): the server acknowledges
   * every message, and after a reconnect both sides send again what the other lacks, in
   * order, without duplicates. Needs a server speaking `tether.resume.v1`
   * (ws-tether-server), negotiated by the first frames; a server whose first frame is not
   * a welcome stops the socket with close code 1002. The socket then takes no `handshake`,
   * and a `heartbeat` must be `{ interval, timeout }` (the protocol's own ping is sent).
   * `queueMaxBytes` bounds queued plus unacknowledged bytes. Default false.
   */
  resume?: boolean | { ackDelay?: number; ackEvery?: number };
  /**
   * The WebSocket class to dial with, e.g. the `ws` package's in Node 20 (which has no global
   * WebSocket without `--experimental-websocket`). Default: the global `WebSocket`; without
   * one and without this option the constructor throws a TypeError naming it. It is called as
   * `new WebSocket(url, protocols)` and used as the browser's (`binaryType = "arraybuffer"`,
   * `onopen`, `onmessage`, `onerror`, `onclose`, `send`, `close`).
   */
  WebSocket?: new (url: string, protocols: string[]) => unknown;
  /**
   * Created CLOSED (`readyState` 3) and not dialled until `reconnect()`; sends meanwhile are
   * queued. `close()` before that ends it for good (its `close` event counts what was queued
   * as `unsent`). A bad URL then fails the first attempt (`error`, then a retry) instead of
   * throwing in the constructor. Default false.
   */
  startClosed?: boolean;
  /**
   * Logs every decision the core hands the glue, one call each: the decision's name and its
   * arguments (`dial`, `writeText`, `writeBytes`, `closeSocket`, `setTimer`, `event`, ...; see
   * the README). `true` logs with `console.debug("ws-tether", ...)`; a function gets the same
   * arguments without the prefix. Off (default): nothing is wrapped, nothing is logged.
   */
  debug?: boolean | ((decision: string, ...args: unknown[]) => void);
  /**
   * One connection for every tab of this origin (issue #24; docs/sharing.md): every socket
   * with the same share name uses one WebSocket, held by one tab (the Web Lock's holder), and
   * the others follow it over a BroadcastChannel. Each socket still behaves as its own
   * (every server message once and in order, its sends, its events); with `resume`, nothing
   * is lost when the holding tab closes, reloads or crashes. `true` shares by the URL;
   * `{ name }` by a name of yours (needed with a URL function). Needs `ws-tether/share`
   * loaded first (`await initShare()`). Without Web Locks or BroadcastChannel (a page that
   * isn't a secure context, an old engine) the socket connects by itself: its `holder` says
   * `shared: false`. Default: off.
   */
  share?: boolean | { name: string };
}

/** Which tab holds a shared connection (`holder`, and the `holder` event's detail). */
export interface ShareHolder {
  /** The holding tab's id (random, unique in the origin). */
  tab: number;
  /** This socket's tab holds it. */
  self: boolean;
  /** `false`: Web Locks or BroadcastChannel is missing here, and this socket connects by itself. */
  shared: boolean;
}

export interface HeartbeatPing {
  /** ms of silence before a ping, at least 10. */
  interval: number;
  /** ms a ping may go unanswered (nothing received), at least 10. */
  timeout: number;
  /** The ping to send: fixed, or made from the ping's number (1, 2, ...). */
  ping?: string | ArrayBuffer | ArrayBufferView | ((n: number) => string | ArrayBuffer | ArrayBufferView);
  /** Whether a received message (binary as an `ArrayBuffer`) is the server's pong: its ping number, `true`, or `false`. Pongs are not delivered. */
  pong?: (data: string | ArrayBuffer) => number | boolean;
  /** Pinging and answering the server's pings don't mix. */
  answer?: never;
  mode?: never;
}

export interface HeartbeatAnswer {
  timeout: number;
  /** The reply to the server's ping (binary as an `ArrayBuffer`), or null for any other message. Pings are not delivered. */
  answer: (data: string | ArrayBuffer) => string | ArrayBuffer | ArrayBufferView | null | undefined;
  /** Answering sends no pings of ours. */
  interval?: never;
  ping?: never;
  pong?: never;
  mode?: never;
}

export interface HeartbeatSilence {
  timeout: number;
  mode: 'silence';
  /** A silent server gets no pings and sends none. */
  interval?: never;
  ping?: never;
  pong?: never;
  answer?: never;
}

/** What the `handshake` option gets for one connection. */
export interface HandshakeConnection {
  /** Writes at once (the queue waits until the handshake is done). */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void;
  /** The next message; the application won't see it (unless kept). Rejects if the connection closes. */
  receive(): Promise<string | ArrayBuffer | Blob>;
  /** Hands a received message back: delivered after `open`, before the ones not received. */
  keep(data: string | ArrayBuffer | Blob): void;
}

export interface ReconnectingWebSocketEventMap {
  open: Event;
  message: MessageEvent;
  error: Event;
  close: FinalCloseEvent;
  reconnecting: CustomEvent<ReconnectingDetail>;
  reconnect: CustomEvent<{ protocol: string }>;
  rtt: CustomEvent<number>;
  dropped: CustomEvent<DroppedDetail>;
  resumed: CustomEvent<ResumedDetail>;
  sessionlost: CustomEvent<SessionLostDetail>;
  /** A shared socket (`share`): which tab holds the connection, at every change. */
  holder: CustomEvent<ShareHolder>;
}

/** A drop-in for the browser's WebSocket that reconnects, queues and can heartbeat. */
export class ReconnectingWebSocket extends EventTarget {
  constructor(
    url: string | URL | (() => string | URL | Promise<string | URL>),
    protocols?: string | string[],
    options?: ReconnectingWebSocketOptions,
  );
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  readonly readyState: 0 | 1 | 2 | 3;
  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
  /** Bytes not yet sent: the open socket's buffer plus the queue. */
  readonly bufferedAmount: number;
  /** Retries since the last stable connection. */
  readonly retryCount: number;
  /** Last heartbeat round trip, ms. */
  readonly rtt: number | undefined;
  /**
   * A shared socket (`share`): which tab holds the connection, `null` until known (and for
   * a socket that doesn't share). Defined once `ws-tether/share` is loaded.
   */
  readonly holder?: ShareHolder | null;
  binaryType: 'blob' | 'arraybuffer';

  onopen: ((this: ReconnectingWebSocket, ev: Event) => unknown) | null;
  onmessage: ((this: ReconnectingWebSocket, ev: MessageEvent) => unknown) | null;
  onerror: ((this: ReconnectingWebSocket, ev: Event) => unknown) | null;
  onclose: ((this: ReconnectingWebSocket, ev: FinalCloseEvent) => unknown) | null;
  onreconnecting: ((this: ReconnectingWebSocket, ev: CustomEvent<ReconnectingDetail>) => unknown) | null;
  onreconnect: ((this: ReconnectingWebSocket, ev: CustomEvent<{ protocol: string }>) => unknown) | null;
  ondropped: ((this: ReconnectingWebSocket, ev: CustomEvent<DroppedDetail>) => unknown) | null;
  onresumed: ((this: ReconnectingWebSocket, ev: CustomEvent<ResumedDetail>) => unknown) | null;
  onsessionlost: ((this: ReconnectingWebSocket, ev: CustomEvent<SessionLostDetail>) => unknown) | null;
  onrtt: ((this: ReconnectingWebSocket, ev: CustomEvent<number>) => unknown) | null;

  /** Writes now if open, else queues. Returns what happened; throws if full or closed. A drop reported later fires `dropped`. */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): 'written' | 'queued' | 'dropped';
  /** Closes for good. */
  close(code?: number, reason?: string): void;
  /**
   * Resolves once nothing is queued and, with `resume`, the server acknowledged everything
   * sent so far; rejects with an InvalidStateError if the socket stops first.
   */
  flush(): Promise<void>;
  /** Drops the current connection and dials at once (also after giving up). An open
   * connection it drops fires `close` (1000, "reconnect"), as after `close()`. */
  reconnect(): void;

  addEventListener<K extends keyof ReconnectingWebSocketEventMap>(
    type: K,
    listener: (this: ReconnectingWebSocket, ev: ReconnectingWebSocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof ReconnectingWebSocketEventMap>(
    type: K,
    listener: (this: ReconnectingWebSocket, ev: ReconnectingWebSocketEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;

  [Symbol.asyncIterator](): AsyncIterator<string | ArrayBuffer | Blob>;
}
