//! JavaScript bindings of ws-tether, built by wasm-pack into the npm package. Kept out of
//! the library crate so Rust users never inherit these exports.
//!
//! The package runs the library's sans-IO reconnect machine (`ws_tether::sans_io`) and lets
//! `js/index.js` do the I/O: Rust decides when to dial, write, close, retry and ping, and
//! calls the `Io` object to do it; JavaScript reports what the browser's socket, timers and
//! page did. Nothing of the library's own browser driver (futures, channels, web-sys
//! sockets) is linked, which keeps the package small.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod errors;
mod options;

use errors::{dom, join, reentered, to_js};
use std::cell::{Cell, RefCell};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use ws_tether::sans_io::{seed, Action, Clock, Machine, Timer};
use ws_tether::{
    CloseCode, CloseInfo, ConnectionEvent, Message, ReadyState, ReconnectingWebSocket, SendOutcome,
    StopReason, MAX_CLOSE_REASON_BYTES,
};

#[wasm_bindgen]
extern "C" {
    /// What `js/index.js` hands the core: one method per action, all synchronous.
    #[derive(Debug, Clone)]
    pub type Io;

    /// Create socket `id`; on failure call `Core.dialFailed`.
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
    #[wasm_bindgen(method, js_name = setTimer)]
    fn set_timer(this: &Io, timer: usize, ms: f64);
    #[wasm_bindgen(method, js_name = cancelTimer)]
    fn cancel_timer(this: &Io, timer: usize);
    /// Dispatch the message passed to the `Core.received*` call in progress.
    #[wasm_bindgen(method)]
    fn deliver(this: &Io);
    #[wasm_bindgen(method)]
    fn opened(this: &Io, protocol: &str);
    #[wasm_bindgen(method)]
    fn reconnecting(
        this: &Io,
        attempt: u32,
        delay: f64,
        code: u16,
        reason: &str,
        clean: bool,
        was_open: bool,
    );
    /// The browser went offline and this connection (or attempt) was lost: no retry is
    /// scheduled until it is online again.
    #[wasm_bindgen(method)]
    fn offline(this: &Io, code: u16, reason: &str, clean: bool, was_open: bool);
    #[wasm_bindgen(method)]
    fn rtt(this: &Io, ms: f64);
    /// A written message the browser refused (its socket was closing) that can't be replayed.
    #[wasm_bindgen(method, js_name = unsentText)]
    fn unsent_text(this: &Io, text: &str);
    #[wasm_bindgen(method, js_name = unsentBytes)]
    fn unsent_bytes(this: &Io, bytes: &[u8]);
    /// `count` older queued messages were dropped to make room (overflow "drop-oldest").
    #[wasm_bindgen(method)]
    fn dropped(this: &Io, count: u32);
    /// Closed for good (`why`: "user", "policy" or "gave-up"); code 0: no socket was left.
    #[wasm_bindgen(method)]
    fn closed(this: &Io, why: &str, unsent: u32, code: u16, reason: &str, clean: bool);
    /// The user's `backoff` function: ms until the next retry, or -1 to stop.
    #[wasm_bindgen(method)]
    fn backoff(this: &Io, attempt: u32, elapsed: f64, code: u16, reason: &str, clean: bool) -> f64;
    /// The heartbeat's `ping(n)` function: the ping to send.
    #[wasm_bindgen(method, js_name = heartbeatPing)]
    fn heartbeat_ping(this: &Io, n: f64) -> JsValue;
    /// The heartbeat's `pong(data)` on the message being fed: a ping number, `true`, or not.
    #[wasm_bindgen(method, js_name = heartbeatPong)]
    fn heartbeat_pong(this: &Io) -> JsValue;
    /// The heartbeat's `answer(data)` on the message being fed: the reply, or null.
    #[wasm_bindgen(method, js_name = heartbeatAnswer)]
    fn heartbeat_answer(this: &Io) -> JsValue;
    /// The bytes of an `ArrayBuffer` or a view; `undefined` for anything else.
    #[wasm_bindgen(method, js_name = toBytes)]
    fn to_bytes(this: &Io, value: &JsValue) -> Option<Vec<u8>>;
    /// Run the `handshake` hook on socket `id`, then call `Core.handshakeDone`.
    #[wasm_bindgen(method)]
    fn handshake(this: &Io, id: f64);
    /// Hand the message being fed to the running handshake hook.
    #[wasm_bindgen(method, js_name = toHandshake)]
    fn to_handshake(this: &Io);
    /// The user's `closePolicy` function: whether to retry.
    #[wasm_bindgen(method, js_name = closePolicy)]
    fn close_policy(this: &Io, code: u16, reason: &str, clean: bool, was_open: bool) -> bool;
}

thread_local! {
    /// The `Io` of the input being fed, for the policy functions the machine calls. Held
    /// only during that input: the core keeps no JavaScript object, so nothing in wasm
    /// keeps a dropped socket alive.
    static CURRENT_IO: RefCell<Option<Io>> = const { RefCell::new(None) };
}

/// Calls `f` with the `Io` of the input being fed (`None` outside one).
pub(crate) fn with_io<R>(f: impl FnOnce(&Io) -> R) -> Option<R> {
    let io = CURRENT_IO.with(|current| current.borrow().clone());
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
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[wasm_bindgen]
impl Core {
    /// Reads `options` (a `TypeError` names a bad one) and prepares the first dial, which
    /// the first input (`online`) carries out.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Core, JsValue> {
        // The URL is the glue's business: the machine only says when to dial.
        let builder = options::apply(ReconnectingWebSocket::builder(""), &options)?;
        let clock = Clock::new(js_sys::Date::now());
        let seed = seed(js_sys::Math::random());
        let machine = builder.into_machine(seed, Duration::ZERO).map_err(to_js)?;
        Ok(Core {
            machine: RefCell::new(machine),
            clock: Cell::new(clock),
        })
    }

    fn now(&self) -> Duration {
        let mut clock = self.clock.get();
        let now = clock.now(js_sys::Date::now());
        self.clock.set(clock);
        now
    }

    /// Feeds one input (unless a policy function is running: then it is refused) and
    /// carries out what follows.
    fn input<R>(&self, io: &Io, f: impl FnOnce(&mut Machine, Duration) -> R) -> Result<R, JsValue> {
        let now = self.now();
        let out = {
            let mut machine = self.machine.try_borrow_mut().map_err(|_| reentered())?;
            let previous = CURRENT_IO.with(|current| current.replace(Some(io.clone())));
            let out = f(&mut machine, now);
            CURRENT_IO.with(|current| current.replace(previous));
            out
        };
        self.run(io);
        Ok(out)
    }

    /// Carries out every pending action, one borrow per action.
    fn run(&self, io: &Io) {
        loop {
            // Borrowed: a policy function is running and its caller will drain.
            let Ok(mut machine) = self.machine.try_borrow_mut() else {
                return;
            };
            let Some(action) = machine.poll_action() else {
                return;
            };
            drop(machine);
            self.execute(io, action);
        }
    }

    fn execute(&self, io: &Io, action: Action) {
        match action {
            Action::Dial { id } => io.dial(id as f64),
            Action::Write { id, message } => {
                let written = match &message {
                    Message::Text(text) => io.write_text(id as f64, text),
                    Message::Binary(bytes) => io.write_bytes(id as f64, bytes),
                };
                // The socket is closing and its close event is on the way: keep the message
                // for the next connection rather than lose it.
                // (Only a policy function holds the machine, and it can't cause a write.)
                if !written {
                    if let Ok(mut machine) = self.machine.try_borrow_mut() {
                        machine.write_failed(message);
                    }
                }
            }
            Action::CloseSocket { id, code, reason } => {
                io.close_socket(id as f64, code, &reason, true)
            }
            Action::StartClose { id, code, reason } => {
                io.close_socket(id as f64, code, &reason, false)
            }
            Action::SetTimer { timer, after } => io.set_timer(timer.index(), millis(after)),
            Action::CancelTimer(timer) => io.cancel_timer(timer.index()),
            Action::Handshake { id } => io.handshake(id as f64),
            // Like deliveries, it comes from the input being fed: the glue holds the data.
            Action::ToHandshake { .. } => io.to_handshake(),
            // Every delivery comes from the `on_message` of the input being fed, whose
            // payload the glue still holds: no copy back out of wasm memory.
            Action::Deliver(_) => io.deliver(),
            Action::Emit(event) => emit(io, event),
            _ => {}
        }
    }
}

fn emit(io: &Io, event: ConnectionEvent) {
    match event {
        ConnectionEvent::Open { protocol } => io.opened(&protocol),
        ConnectionEvent::Reconnecting {
            attempt,
            delay,
            last_close,
        } => {
            let c = &last_close.close;
            io.reconnecting(
                attempt,
                millis(delay),
                c.code,
                &c.reason,
                c.was_clean,
                last_close.was_open,
            )
        }
        ConnectionEvent::WaitingForNetwork {
            last_close: Some(lost),
        } => {
            let c = &lost.close;
            io.offline(c.code, &c.reason, c.was_clean, lost.was_open)
        }
        ConnectionEvent::Rtt(rtt) => io.rtt(millis(rtt)),
        ConnectionEvent::Unsent(Message::Text(text)) => io.unsent_text(&text),
        ConnectionEvent::Unsent(Message::Binary(bytes)) => io.unsent_bytes(&bytes),
        ConnectionEvent::Closed {
            reason,
            unsent,
            close,
        } => {
            let why = match reason {
                StopReason::UserClosed => "user",
                StopReason::Policy(_) => "policy",
                _ => "gave-up",
            };
            let unsent = u32::try_from(unsent).unwrap_or(u32::MAX);
            match close {
                Some(c) => io.closed(why, unsent, c.code, &c.reason, c.was_clean),
                None => io.closed(why, unsent, 0, "", true),
            }
        }
        // Connecting and going offline while waiting have no DOM event; readyState says it.
        _ => {}
    }
}

#[wasm_bindgen]
impl Core {
    /// Socket `id` opened with this subprotocol.
    pub fn opened(&self, io: &Io, id: f64, protocol: String) -> Result<(), JsValue> {
        self.input(io, |m, now| m.on_open(id as u64, protocol, now))
    }

    /// A text message arrived on socket `id`.
    #[wasm_bindgen(js_name = receivedText)]
    pub fn received_text(&self, io: &Io, id: f64, text: String) -> Result<(), JsValue> {
        self.input(io, |m, now| {
            m.on_message(id as u64, Message::Text(text), now)
        })
    }

    /// A binary message arrived on socket `id`. The core never looks inside one (the glue
    /// delivers its own copy), so the bytes stay in JavaScript.
    #[wasm_bindgen(js_name = receivedBinary)]
    pub fn received_binary(&self, io: &Io, id: f64) -> Result<(), JsValue> {
        self.input(io, |m, now| {
            m.on_message(id as u64, Message::Binary(Vec::new()), now)
        })
    }

    /// Socket `id` closed (or its attempt failed).
    pub fn closed(
        &self,
        io: &Io,
        id: f64,
        code: u16,
        reason: String,
        clean: bool,
    ) -> Result<(), JsValue> {
        let close = CloseInfo {
            code,
            reason,
            was_clean: clean,
        };
        self.input(io, |m, now| m.on_close(id as u64, close, now))
    }

    /// The handshake hook on socket `id` finished: well, or failing with `reason`.
    #[wasm_bindgen(js_name = handshakeDone)]
    pub fn handshake_done(
        &self,
        io: &Io,
        id: f64,
        ok: bool,
        reason: String,
    ) -> Result<(), JsValue> {
        let result = if ok { Ok(()) } else { Err(reason) };
        self.input(io, |m, now| m.handshake_done(id as u64, result, now))
    }

    /// Whether socket `id` is open for the application (a hook's leftovers go to it).
    #[wasm_bindgen(js_name = isOpen)]
    pub fn is_open(&self, id: f64) -> bool {
        self.read(|m| m.open_socket() == Some(id as u64), false)
    }

    /// Socket `id` was created (after the URL provider, if any).
    pub fn created(&self, io: &Io, id: f64) -> Result<(), JsValue> {
        self.input(io, |m, _| m.socket_created(id as u64))
    }

    /// Socket `id` could not be created (the URL provider failed, or the browser threw).
    #[wasm_bindgen(js_name = dialFailed)]
    pub fn dial_failed(&self, io: &Io, id: f64, reason: String) -> Result<(), JsValue> {
        self.input(io, |m, now| m.on_dial_failed(id as u64, reason, now))
    }

    /// Whether socket `id` is the attempt in flight (a URL provider's late answer may not be).
    #[wasm_bindgen(js_name = isDialing)]
    pub fn is_dialing(&self, id: f64) -> bool {
        self.machine
            .try_borrow()
            .is_ok_and(|m| m.is_dialing(id as u64))
    }

    /// Timer `index` fired.
    pub fn timer(&self, io: &Io, index: usize) -> Result<(), JsValue> {
        match Timer::ALL.get(index).copied() {
            Some(timer) => self.input(io, |m, now| m.on_timer(timer, now)),
            None => Ok(()),
        }
    }

    /// `navigator.onLine` changed.
    pub fn online(&self, io: &Io, online: bool) -> Result<(), JsValue> {
        self.input(io, |m, _| m.set_online(online))
    }

    /// The page's visibility changed.
    pub fn visible(&self, io: &Io, visible: bool) -> Result<(), JsValue> {
        self.input(io, |m, _| m.set_visible(visible))
    }

    /// Sends text; returns "written", "queued" or "dropped" (overflow "drop-newest").
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&self, io: &Io, text: String) -> Result<String, JsValue> {
        self.send(io, Message::Text(text))
    }

    /// Sends bytes; returns like `sendText`.
    #[wasm_bindgen(js_name = sendBytes)]
    pub fn send_bytes(&self, io: &Io, bytes: Vec<u8>) -> Result<String, JsValue> {
        self.send(io, Message::Binary(bytes))
    }

    fn send(&self, io: &Io, message: Message) -> Result<String, JsValue> {
        let outcome = self.input(io, |m, _| m.send(message))?.map_err(to_js)?;
        Ok(match outcome {
            SendOutcome::Written => "written",
            SendOutcome::Queued { dropped } => {
                if dropped > 0 {
                    io.dropped(u32::try_from(dropped).unwrap_or(u32::MAX));
                }
                "queued"
            }
            _ => "dropped",
        }
        .into())
    }

    /// Throws what `sendBytes` would throw for a message of `len` bytes now, without sending
    /// (a Blob is checked when given, and sent once read).
    #[wasm_bindgen(js_name = checkSend)]
    pub fn check_send(&self, len: f64) -> Result<(), JsValue> {
        let Ok(machine) = self.machine.try_borrow() else {
            return Err(reentered());
        };
        machine.check_send(len as usize).map_err(to_js)
    }

    /// The code `close(code, reason)` sends, checked as `WebSocket.close` checks it:
    /// `InvalidAccessError` for a code other than 1000 or 3000–4999, `SyntaxError` for a
    /// reason over 123 bytes. `code` is `undefined` when not passed (then 1005, "no status",
    /// without a reason and 1000 with one). The glue calls `close` with the result.
    #[wasm_bindgen(js_name = closeCode)]
    pub fn close_code(code: Option<f64>, reason: Option<String>) -> Result<u16, JsValue> {
        let code = match code {
            Some(c) => {
                let clamped = clamp_unsigned_short(c);
                CloseCode::new(clamped)
                    .map_err(|_| {
                        dom(
                            "InvalidAccessError",
                            &join(&[
                                "The close code must be either 1000, or between 3000 and 4999. ",
                                &u32::from(clamped).to_string(),
                                " is neither.",
                            ]),
                        )
                    })?
                    .get()
            }
            // No code and no reason: no status code, as `WebSocket.close()` sends.
            None if reason.is_none() => 1005,
            None => CloseCode::NORMAL.get(),
        };
        if reason.is_some_and(|r| r.len() > MAX_CLOSE_REASON_BYTES) {
            return Err(dom(
                "SyntaxError",
                "The close reason must not be greater than 123 UTF-8 bytes.",
            ));
        }
        Ok(code)
    }

    /// Closes for good with a code from `closeCode`.
    pub fn close(&self, io: &Io, code: u16, reason: String) -> Result<(), JsValue> {
        self.input(io, |m, _| m.close(code, &reason))
    }

    /// Drops the current connection and dials at once (also after giving up).
    pub fn reconnect(&self, io: &Io) -> Result<(), JsValue> {
        self.input(io, |m, _| m.reconnect())
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

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
