//! JavaScript bindings of ws-tether, built by scripts/build-pkg into the npm package. Kept out of
//! the library crate so Rust users never inherit these exports.
//!
//! The package runs the library's sans-IO reconnect machine (`ws_tether::sans_io`) and lets
//! `js/index.js` do the I/O: Rust decides when to dial, write, close, retry and ping, and
//! calls the `Io` object to do it; JavaScript reports what the browser's socket, timers and
//! page did. Nothing of the library's own browser driver (futures, channels, web-sys
//! sockets) is linked, which keeps the package small.
//!
//! Kept small on purpose (issue #14): one `feed` entry for every input, one `event` import
//! for every event, outcomes and errors as numbers. The glue reads the options and builds
//! every exception and its message, so no Rust formatting or DOM binding is linked here.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod options;
// The cross-tab socket (`share`), in a wasm of its own: the default one doesn't carry it.
#[cfg(feature = "share")]
mod share;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use ws_tether::sans_io::{check_protocol, seed, Action, Clock, Machine, Timer};
use ws_tether::{
    CloseCode, CloseInfo, ConnectionEvent, Error, Message, ReadyState, SendOutcome, StopReason,
    MAX_CLOSE_REASON_BYTES,
};

#[wasm_bindgen]
extern "C" {
    /// What `js/index.js` hands the core: one method per action, all synchronous and total
    /// (an exception crossing the wasm frames would leave `Core` borrowed for good).
    #[derive(Debug, Clone)]
    pub type Io;

    /// Create socket `id`; on failure feed `DIAL_FAILED`.
    #[wasm_bindgen(method)]
    fn dial(this: &Io, id: f64);
    /// Write to socket `id`; `false` if it is no longer open.
    #[wasm_bindgen(method, js_name = writeText)]
    fn write_text(this: &Io, id: f64, text: &str) -> bool;
    /// Write bytes (a view into wasm memory: send or copy them before returning).
    #[wasm_bindgen(method, js_name = writeBytes)]
    fn write_bytes(this: &Io, id: f64, bytes: &[u8]) -> bool;
    /// Close socket `id` (code 1005: no status code). `detach`: forget it now; otherwise
    /// keep listening for its close event.
    #[wasm_bindgen(method, js_name = closeSocket)]
    fn close_socket(this: &Io, id: f64, code: u16, reason: &str, detach: bool);
    /// Arm timer `timer` to fire in `ms`; a negative `ms` cancels it.
    #[wasm_bindgen(method, js_name = setTimer)]
    fn set_timer(this: &Io, timer: usize, ms: f64);
    /// Dispatch the message being fed (`to_hook`: hand it to the running handshake hook).
    #[wasm_bindgen(method)]
    fn deliver(this: &Io, to_hook: bool);
    /// Run the `handshake` hook on socket `id`, then feed `HANDSHAKE_DONE`.
    #[wasm_bindgen(method)]
    fn handshake(this: &Io, id: f64);
    /// One of the events below, with what it carries.
    #[wasm_bindgen(method)]
    fn event(this: &Io, kind: u8, a: f64, b: f64, code: u16, text: &str, clean: bool, open: bool);
    /// A binary message that won't be sent: `UNSENT` a write the browser refused (its socket
    /// was closing) that can't be replayed, `LOST_TEXT` one of the next `SESSION_LOST`'s
    /// unconfirmed messages, `DROPPED` one the "drop-oldest" overflow evicted (the kinds of
    /// the text ones' events).
    #[wasm_bindgen(method, js_name = unsentBytes)]
    fn unsent_bytes(this: &Io, bytes: &[u8], kind: u8);
    /// The user's `backoff` (`kind` 0: ms until the next retry, or -1 to stop) or
    /// `closePolicy` (`kind` 1: 1 to retry, 0 to stop) function.
    #[wasm_bindgen(method)]
    fn policy(
        this: &Io,
        kind: u8,
        attempt: u32,
        elapsed: f64,
        code: u16,
        reason: &str,
        clean: bool,
        was_open: bool,
    ) -> f64;
    /// The heartbeat's `ping(n)` (`kind` 0) or `answer(data)` (`kind` 2) on the message being
    /// fed: 1 text or 2 bytes made (`made*` hand them over), 0 none; its `pong(data)`
    /// (`kind` 1): the ping's number, -2 for `true`, -1 for not a pong.
    #[wasm_bindgen(method)]
    fn heartbeat(this: &Io, kind: u8, n: f64) -> f64;
    #[wasm_bindgen(method, js_name = madeText)]
    fn made_text(this: &Io) -> String;
    #[wasm_bindgen(method, js_name = madeBytes)]
    fn made_bytes(this: &Io) -> Vec<u8>;
}

// `Io.event` kinds.
const OPENED: u8 = 0;
const RECONNECTING: u8 = 1;
const OFFLINE: u8 = 2;
const RTT: u8 = 3;
const UNSENT: u8 = 4;
/// A queued message the "drop-oldest" overflow evicted (bytes: `unsentBytes`).
const DROPPED: u8 = 5;
const CLOSED: u8 = 6;
const RESUMED: u8 = 7;
const SESSION_LOST: u8 = 8;
/// A text message of the next `SESSION_LOST`'s unconfirmed ones (bytes: `unsentBytes`).
const LOST_TEXT: u8 = 9;

// `Core.feed` inputs (js/index.js `IN`).
const IN_OPENED: u8 = 0;
const IN_TEXT: u8 = 1;
const IN_MESSAGE: u8 = 2;
const IN_CLOSED: u8 = 3;
const IN_HANDSHAKE_DONE: u8 = 4;
const IN_CREATED: u8 = 5;
const IN_DIAL_FAILED: u8 = 6;
const IN_TIMER: u8 = 7;
const IN_ONLINE: u8 = 8;
const IN_VISIBLE: u8 = 9;
// 10 to 12: a shared socket's (share.rs).
const IN_RECONNECT: u8 = 13;
const IN_CLOSE: u8 = 14;

// `send` and `checkSend` outcomes; from 3 on, the exception js/index.js throws.
const WRITTEN: u8 = 0;
const QUEUED: u8 = 1;
const DROPPED_NEWEST: u8 = 2;
const QUEUE_FULL: u8 = 3;
const NOT_OPEN: u8 = 4;
const STOPPED: u8 = 5;
const INSIDE_POLICY: u8 = 6;
const UNEXPECTED: u8 = 7;

// `closeCode` results above a valid code.
const BAD_CLOSE_CODE: u32 = 0x1_0000;
const BAD_CLOSE_REASON: u32 = 0x2_0000;

pub(crate) fn error_code(err: Error) -> u8 {
    match err {
        Error::QueueFull { .. } => QUEUE_FULL,
        Error::NotOpen => NOT_OPEN,
        Error::Stopped => STOPPED,
        Error::InsidePolicy => INSIDE_POLICY,
        _ => UNEXPECTED,
    }
}

thread_local! {
    /// The `Io` of the input being fed, for the policy functions the machine calls. Held
    /// only during that input: the core keeps no JavaScript object, so nothing in wasm
    /// keeps a dropped socket alive.
    /// A `Cell`, not a `RefCell`: its borrow checks would link panic formatting.
    pub(crate) static CURRENT_IO: Cell<Option<Io>> = const { Cell::new(None) };
}

/// Calls `f` with the `Io` of the input being fed (`None` outside one).
pub(crate) fn with_io<R>(f: impl FnOnce(&Io) -> R) -> Option<R> {
    let io = CURRENT_IO.with(|current| {
        let io = current.take();
        current.set(io.clone());
        io
    });
    io.map(|io| f(&io))
}

/// One reconnecting socket's core. Every method that feeds it takes the glue's `Io` and
/// carries out the resulting actions through it before returning.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Core {
    /// Borrowed only to feed an input or take one action, never while `Io` runs, so handlers
    /// may call back in. The user's `backoff`/`closePolicy` functions do run inside a borrow.
    machine: RefCell<Machine>,
    clock: Cell<Clock>,
    wants_text: bool,
    /// Whether the options gave functions the machine calls back (through `CURRENT_IO`).
    pub(crate) calls_back: bool,
    /// Actions taken from the machine and not yet carried out, in order. The glue feeds
    /// nothing while they run (it queues what arrives meanwhile), but should an input come,
    /// its actions queue behind these.
    pending: RefCell<VecDeque<Action>>,
    #[cfg(feature = "share")]
    pub(crate) builder: ws_tether::ReconnectingBuilder,
}

pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[wasm_bindgen]
impl Core {
    /// Prepares the first dial, which the first input (`IN_ONLINE`) carries out. The
    /// options come checked one by one from the glue; a value the library rejects against
    /// another (a `maxDelay` below `minDelay`) throws "field|what it accepts".
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        min_delay: f64,
        max_delay: f64,
        factor: Option<f64>,
        jitter: u8,
        max_retries: f64,
        backoff: bool,
        connect_timeout: f64,
        stable_after: f64,
        close_policy: bool,
        heartbeat: u8,
        interval: f64,
        timeout: f64,
        ping: u8,
        ping_text: String,
        pong: bool,
        queue_max_bytes: f64,
        overflow: u8,
        replay: bool,
        handshake: bool,
        resume_ack_delay: f64,
        resume_ack_every: f64,
    ) -> Result<Core, JsValue> {
        let options = options::Options {
            min_delay,
            max_delay,
            factor,
            jitter,
            max_retries,
            backoff,
            connect_timeout,
            stable_after,
            close_policy,
            heartbeat,
            interval,
            timeout,
            ping,
            ping_text,
            pong,
            queue_max_bytes,
            overflow,
            replay,
            handshake,
            resume_ack_delay,
            resume_ack_every,
        };
        let wants_text = options.wants_text();
        let calls_back = options.calls_back();
        let clock = Clock::new(js_sys::Date::now());
        let seed = seed(js_sys::Math::random());
        let builder = options.builder();
        // The share wasm keeps the options for the tab it makes of this core (`ShareCore`).
        #[cfg(feature = "share")]
        let kept = builder.clone();
        let machine = builder
            .into_machine(seed, Duration::ZERO)
            .map_err(|err| match err {
                Error::InvalidOption { field, allowed } => {
                    let mut text = String::from(field);
                    text.push('|');
                    text.push_str(allowed);
                    JsValue::from_str(&text)
                }
                _ => JsValue::from_str("|"),
            })?;
        Ok(Core {
            machine: RefCell::new(machine),
            clock: Cell::new(clock),
            wants_text,
            calls_back,
            pending: RefCell::new(VecDeque::new()),
            #[cfg(feature = "share")]
            builder: kept,
        })
    }

    fn now(&self) -> Duration {
        read_clock(&self.clock)
    }

    /// Feeds one input (unless a policy function is running: then it is refused) and
    /// carries out what follows.
    fn input<R>(&self, io: &Io, f: impl FnOnce(&mut Machine, Duration) -> R) -> Option<R> {
        let now = self.now();
        let out = {
            let mut machine = self.machine.try_borrow_mut().ok()?;
            if !self.calls_back {
                f(&mut machine, now)
            } else {
                let previous = CURRENT_IO.with(|current| current.replace(Some(io.clone())));
                let out = f(&mut machine, now);
                CURRENT_IO.with(|current| current.replace(previous));
                out
            }
        };
        self.run(io);
        Some(out)
    }

    /// Feeds input `kind` (an `IN_*`) about socket `id`, with a number, a text and a flag
    /// as the input needs them. `false`: refused, a policy function is running.
    pub fn feed(
        &self,
        io: &Io,
        kind: u8,
        id: f64,
        n: f64,
        text: Option<String>,
        flag: bool,
    ) -> bool {
        let text = text.unwrap_or_default();
        self.input(io, |m, now| apply(m, now, kind, id as u64, n, text, flag))
            .is_some()
    }

    /// Carries out every pending action, in order, borrowing nothing while one runs.
    fn run(&self, io: &Io) {
        loop {
            // Borrowed: a policy function is running and its caller will drain.
            let Ok(mut machine) = self.machine.try_borrow_mut() else {
                return;
            };
            let Ok(mut pending) = self.pending.try_borrow_mut() else {
                return; // only this loop borrows it
            };
            while let Some(action) = machine.poll_action() {
                pending.push_back(action);
            }
            drop(machine);
            let Some(action) = pending.pop_front() else {
                return;
            };
            drop(pending);
            self.execute(io, action);
        }
    }

    fn execute(&self, io: &Io, action: Action) {
        // The socket is closing and its close event is on the way: keep the message for the
        // next connection rather than lose it.
        // (Only a policy function holds the machine, and it can't cause a write.)
        if let Some(message) = execute(io, action) {
            if let Ok(mut machine) = self.machine.try_borrow_mut() {
                machine.write_failed(message);
            }
        }
    }
}

/// Carries out one of the machine's actions through `io`; returns a write the browser
/// refused (its socket is no longer open), for `Machine::write_failed`.
pub(crate) fn execute(io: &Io, action: Action) -> Option<Message> {
    match action {
        Action::Dial { id } => io.dial(id as f64),
        Action::Write { id, message } => {
            let written = match &message {
                Message::Text(text) => io.write_text(id as f64, text),
                Message::Binary(bytes) => io.write_bytes(id as f64, bytes),
            };
            if !written {
                return Some(message);
            }
        }
        Action::CloseSocket { id, code, reason } => io.close_socket(id as f64, code, &reason, true),
        Action::StartClose { id, code, reason } => io.close_socket(id as f64, code, &reason, false),
        Action::SetTimer { timer, after } => io.set_timer(timer.index(), millis(after)),
        Action::CancelTimer(timer) => io.set_timer(timer.index(), -1.0),
        Action::Handshake { id } => io.handshake(id as f64),
        // Deliveries come from the input being fed, whose payload the glue still holds:
        // no copy back out of wasm memory.
        Action::ToHandshake { .. } => io.deliver(true),
        Action::Deliver(_) => io.deliver(false),
        Action::Emit(event) => emit(io, event),
        _ => {}
    }
    None
}

/// Feeds the machine input `kind` (an `IN_*`) about socket `id` (see `Core::feed`).
pub(crate) fn apply(
    m: &mut Machine,
    now: Duration,
    kind: u8,
    id: u64,
    n: f64,
    text: String,
    flag: bool,
) {
    match kind {
        IN_OPENED => m.on_open(id, text, now),
        IN_TEXT => m.on_message(id, Message::Text(text), now),
        // The core never looks inside a binary message, nor inside a text one unless a
        // heartbeat matches pongs by their text (`wantsText`): the glue keeps the data
        // and delivers its own copy. With resume it sees a binary frame's tag `n` (-1:
        // an empty frame) and, for a control message, its ASCII text.
        IN_MESSAGE => {
            let mut head = Vec::new();
            if n >= 0.0 {
                head.push(n as u8);
                head.extend_from_slice(text.as_bytes());
            }
            m.on_message(id, Message::Binary(head), now)
        }
        IN_CLOSED => {
            let close = CloseInfo {
                code: n as u16,
                reason: text,
                was_clean: flag,
            };
            m.on_close(id, close, now)
        }
        IN_HANDSHAKE_DONE => m.handshake_done(id, if flag { Ok(()) } else { Err(text) }, now),
        IN_CREATED => m.socket_created(id),
        IN_DIAL_FAILED => m.on_dial_failed(id, text, now),
        IN_TIMER => {
            if let Some(timer) = Timer::ALL.get(n as usize).copied() {
                m.on_timer(timer, now)
            }
        }
        IN_ONLINE => m.set_online(flag),
        IN_VISIBLE => m.set_visible(flag),
        IN_RECONNECT => m.reconnect(),
        IN_CLOSE => m.close(n as u16, &text),
        _ => {}
    }
}

pub(crate) fn emit(io: &Io, event: ConnectionEvent) {
    match event {
        ConnectionEvent::Open { protocol } => io.event(OPENED, 0.0, 0.0, 0, &protocol, true, true),
        ConnectionEvent::Reconnecting {
            attempt,
            delay,
            last_close,
        } => {
            let c = &last_close.close;
            let (attempt, delay) = (f64::from(attempt), millis(delay));
            io.event(
                RECONNECTING,
                attempt,
                delay,
                c.code,
                &c.reason,
                c.was_clean,
                last_close.was_open,
            )
        }
        // The browser went offline and this connection (or attempt) was lost: no retry is
        // scheduled until it is online again.
        ConnectionEvent::WaitingForNetwork {
            last_close: Some(lost),
        } => {
            let c = &lost.close;
            io.event(
                OFFLINE,
                0.0,
                0.0,
                c.code,
                &c.reason,
                c.was_clean,
                lost.was_open,
            )
        }
        ConnectionEvent::Rtt(rtt) => io.event(RTT, millis(rtt), 0.0, 0, "", true, true),
        ConnectionEvent::Unsent(Message::Text(text)) => {
            io.event(UNSENT, 0.0, 0.0, 0, &text, true, true)
        }
        ConnectionEvent::Unsent(Message::Binary(bytes)) => io.unsent_bytes(&bytes, UNSENT),
        ConnectionEvent::Evicted(Message::Text(text)) => {
            io.event(DROPPED, 0.0, 0.0, 0, &text, true, true)
        }
        ConnectionEvent::Evicted(Message::Binary(bytes)) => io.unsent_bytes(&bytes, DROPPED),
        // Why it stopped (0 user, 1 policy, 2 gave up), how many queued messages were
        // discarded, and the close; code 0: no socket was left.
        ConnectionEvent::Closed {
            reason,
            unsent,
            close,
        } => {
            let why = match reason {
                StopReason::UserClosed => 0.0,
                StopReason::Policy(_) => 1.0,
                StopReason::SessionEnded => 3.0,
                _ => 2.0,
            };
            let c = close.unwrap_or(CloseInfo {
                code: 0,
                reason: String::new(),
                was_clean: true,
            });
            io.event(
                CLOSED,
                why,
                unsent as f64,
                c.code,
                &c.reason,
                c.was_clean,
                true,
            )
        }
        ConnectionEvent::Resumed { session, resent } => {
            io.event(RESUMED, resent as f64, 0.0, 0, &session, true, true)
        }
        // The unconfirmed messages one by one, then the event; missed: NaN when the server
        // doesn't know.
        ConnectionEvent::SessionLost {
            reason,
            missed,
            unconfirmed,
        } => {
            for message in &unconfirmed {
                match message {
                    Message::Text(text) => io.event(LOST_TEXT, 0.0, 0.0, 0, text, true, true),
                    Message::Binary(bytes) => io.unsent_bytes(bytes, LOST_TEXT),
                }
            }
            io.event(
                SESSION_LOST,
                missed.map_or(f64::NAN, |n| n as f64),
                0.0,
                0,
                reason.as_str(),
                true,
                true,
            )
        }
        // Connecting and going offline while waiting have no DOM event; readyState says it.
        _ => {}
    }
}

#[wasm_bindgen]
impl Core {
    /// Whether received text must be fed as `IN_TEXT` (a heartbeat matches pongs by their
    /// text); otherwise `IN_MESSAGE` will do, without copying the text into wasm.
    #[wasm_bindgen(getter, js_name = wantsText)]
    pub fn wants_text(&self) -> bool {
        self.wants_text
    }

    /// Whether socket `id` is open for the application (a hook's leftovers go to it).
    #[wasm_bindgen(js_name = isOpen)]
    pub fn is_open(&self, id: f64) -> bool {
        self.read(|m| m.open_socket() == Some(id as u64), false)
    }

    /// The socket a send would be written to at once, or -1. Open, with no action of the
    /// core still to be carried out (a write from a handler must not overtake one),
    /// `sendText` does nothing but ask for that write (`Machine::send`): then the glue
    /// writes the data itself instead of copying it into wasm memory and back.
    pub fn writable(&self) -> f64 {
        if !self.pending.try_borrow().is_ok_and(|p| p.is_empty()) {
            return -1.0;
        }
        // With resume every message is numbered and kept until acknowledged: the core sends.
        self.read(
            |m| match m.open_socket() {
                Some(id) if !m.resumes() => id as f64,
                _ => -1.0,
            },
            -1.0,
        )
    }

    /// With resume: messages sent and not acknowledged by the server yet.
    #[wasm_bindgen(getter)]
    pub fn unacknowledged(&self) -> f64 {
        self.read(|m| m.unacknowledged() as f64, 0.0)
    }

    /// What `bufferedAmount` counts for a socket holding `held` bytes
    /// (`Machine::buffered_amount`: with resume, the bytes not acknowledged yet instead).
    #[wasm_bindgen(js_name = bufferedAmount)]
    pub fn buffered_amount(&self, held: f64) -> f64 {
        self.read(|m| m.buffered_amount(held as usize) as f64, 0.0)
    }

    /// Whether the session is resumed across connections (the `resume` option).
    #[wasm_bindgen(getter)]
    pub fn resumes(&self) -> bool {
        self.read(|m| m.resumes(), false)
    }

    /// Whether socket `id` is the attempt in flight (a URL provider's late answer may not be).
    #[wasm_bindgen(js_name = isDialing)]
    pub fn is_dialing(&self, id: f64) -> bool {
        self.read(|m| m.is_dialing(id as u64), false)
    }

    /// Sends text: `WRITTEN`, `QUEUED` (a `DROPPED` event first for each message
    /// "drop-oldest" evicted), `DROPPED_NEWEST`, or the error's code.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&self, io: &Io, text: String) -> u8 {
        self.send(io, Message::Text(text))
    }

    /// Sends bytes; returns like `sendText`.
    #[wasm_bindgen(js_name = sendBytes)]
    pub fn send_bytes(&self, io: &Io, bytes: Vec<u8>) -> u8 {
        self.send(io, Message::Binary(bytes))
    }

    fn send(&self, io: &Io, message: Message) -> u8 {
        match self.input(io, |m, _| m.send(message)) {
            None => INSIDE_POLICY,
            Some(Ok(SendOutcome::Written)) => WRITTEN,
            Some(Ok(SendOutcome::Queued { .. })) => QUEUED,
            Some(Ok(_)) => DROPPED_NEWEST,
            Some(Err(err)) => error_code(err),
        }
    }

    /// The code `sendBytes` would return for a message of `len` bytes now (0: it would take
    /// it), without sending (a Blob is checked when given, and sent once read).
    #[wasm_bindgen(js_name = checkSend)]
    pub fn check_send(&self, len: f64) -> u8 {
        match self.machine.try_borrow() {
            Ok(machine) => machine
                .check_send(len as usize)
                .map_or_else(error_code, |()| 0),
            Err(_) => INSIDE_POLICY,
        }
    }

    /// The code `close(code, reason)` sends, checked as `WebSocket.close` checks it: the
    /// code, or `BAD_CLOSE_CODE` plus the code as converted for one other than 1000 or
    /// 3000–4999 (`InvalidAccessError`), or `BAD_CLOSE_REASON` for a reason over 123 bytes
    /// (`SyntaxError`). `code` is `undefined` when not passed (then 1005, "no status",
    /// without a reason and 1000 with one). The glue feeds `IN_CLOSE` with the result.
    #[wasm_bindgen(js_name = closeCode)]
    pub fn close_code(code: Option<f64>, reason: Option<String>) -> u32 {
        let code = match code {
            Some(c) => {
                let clamped = clamp_unsigned_short(c);
                match CloseCode::new(clamped) {
                    Ok(code) => code.get(),
                    Err(_) => return BAD_CLOSE_CODE + u32::from(clamped),
                }
            }
            // No code and no reason: no status code, as `WebSocket.close()` sends.
            None if reason.is_none() => 1005,
            None => CloseCode::NORMAL.get(),
        };
        if reason.is_some_and(|r| r.len() > MAX_CLOSE_REASON_BYTES) {
            return BAD_CLOSE_REASON;
        }
        u32::from(code)
    }

    /// Checks one subprotocol of a list as `new WebSocket` does (`listed`: it came earlier in
    /// the list), for a URL function, whose socket is created later: `undefined`, or why the
    /// list is refused. One at a time: a list crossing into wasm costs 1 KB.
    #[wasm_bindgen(js_name = checkProtocol)]
    pub fn check_protocol(protocol: &str, listed: bool) -> JsValue {
        check_protocol(protocol, listed).map_or_else(JsValue::from_str, |()| JsValue::UNDEFINED)
    }

    fn read<R>(&self, f: impl FnOnce(&Machine) -> R, inside_policy: R) -> R {
        self.machine.try_borrow().map_or(inside_policy, |m| f(&m))
    }

    /// 0 connecting (or waiting to retry), 1 open, 2 closing, 3 closed. Inside a backoff or
    /// closePolicy function the socket is between connections: 0.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.read(
            |m| match m.ready_state() {
                ReadyState::Connecting => 0,
                ReadyState::Open => 1,
                ReadyState::Closing => 2,
                ReadyState::Closed => 3,
            },
            0,
        )
    }

    /// Bytes queued while not open.
    #[wasm_bindgen(getter, js_name = queuedBytes)]
    pub fn queued_bytes(&self) -> f64 {
        self.read(|m| m.queued_bytes() as f64, 0.0)
    }

    /// Retries since the last stable connection.
    #[wasm_bindgen(getter, js_name = retryCount)]
    pub fn retry_count(&self) -> u32 {
        self.read(|m| m.attempt(), 0)
    }

    /// The last heartbeat round trip in ms, if any.
    #[wasm_bindgen(getter)]
    pub fn rtt(&self) -> Option<f64> {
        self.read(|m| m.rtt().map(millis), None)
    }
}

/// The code as `WebSocket.close` converts it (`[Clamp] unsigned short`): NaN is 0, out of
/// range is clamped, and, as Chromium does, the fraction is dropped (WebIDL says round half
/// to even; the browser is our reference, and the conformance suite checks it).
fn clamp_unsigned_short(value: f64) -> u16 {
    if value.is_nan() {
        return 0;
    }
    // Constant bounds: `clamp`'s NaN assertion folds away.
    value.clamp(0.0, 65535.0) as u16
}

// A smaller allocator than the default dlmalloc: about 1.5 KB of code instead of 8.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The time a core's clock says now (the wall clock, never going back): the single socket's
/// and the shared one's.
pub(crate) fn read_clock(clock: &Cell<Clock>) -> Duration {
    let mut c = clock.get();
    let now = c.now(js_sys::Date::now());
    clock.set(c);
    now
}
