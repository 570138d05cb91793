//! The npm package's shared socket (`share` option, issue #24; the protocol: docs/sharing.md):
//! one tab's [`Tab`] of the library's cross-tab core, driven through the same `Io` as a
//! single socket's [`Core`] plus what sharing adds (the BroadcastChannel, the Web Lock, the
//! share's timers). Built only into the share wasm (feature `share`), which js/share.js loads
//! when a socket asks for sharing; the default wasm carries none of it.
//!
//! It answers what js/index.js asks of a core (`feed`, `sendText`, `readyState`, ...), so the
//! glue drives a shared socket as it drives a single one. Decisions stay in the core: this
//! file only translates inputs and outputs.

use crate::{apply, emit, error_code, execute, millis, Core, Io, CURRENT_IO, IN_CLOSE, IN_MESSAGE};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use ws_tether::sans_io::share::{Output, ShareTimer, Sharing, Tab, SHARE_PROTOCOL};
use ws_tether::sans_io::{seed, Clock, Machine};
use ws_tether::{ConnectionEvent, Message, SendOutcome};

#[wasm_bindgen]
extern "C" {
    /// Post these bytes on the share's BroadcastChannel (a view into wasm memory: copy it).
    #[wasm_bindgen(method)]
    fn post(this: &Io, bytes: &[u8]);
    /// `true`: ask for the share's Web Lock (then feed `lockAcquired`); `false`: release it
    /// or give up the request.
    #[wasm_bindgen(method)]
    fn lock(this: &Io, request: bool);
    /// Arm share timer `timer` (see `SHARE_TIMERS`) to fire in `ms`; a negative `ms` cancels.
    #[wasm_bindgen(method, js_name = shareTimer)]
    fn share_timer(this: &Io, timer: u8, ms: f64);
    /// Tab `tab` holds the connection now.
    #[wasm_bindgen(method)]
    fn holder(this: &Io, tab: f64);
    /// Hand a server message the holder passed on to the application.
    #[wasm_bindgen(method, js_name = deliverText)]
    fn deliver_text(this: &Io, text: &str);
    #[wasm_bindgen(method, js_name = deliverBytes)]
    fn deliver_bytes(this: &Io, bytes: &[u8]);
    /// The binary message being fed, whole (a single socket's core reads only its tag).
    #[wasm_bindgen(method, js_name = incomingBytes)]
    fn incoming_bytes(this: &Io) -> Vec<u8>;
}

// `feed`'s inputs beyond a single socket's (js/share.js `IN`).
const IN_POST: u8 = 10;
const IN_LOCK: u8 = 11;
const IN_SHARE_TIMER: u8 = 12;

/// The share timers by number, for `Io.shareTimer` and `ShareCore.timer`.
const SHARE_TIMERS: [ShareTimer; 4] = [
    ShareTimer::Takeover,
    ShareTimer::TabTimeout,
    ShareTimer::Receipt,
    ShareTimer::Hello,
];

/// One tab's socket on a shared connection.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ShareCore {
    /// Borrowed only while an input is fed, never while `Io` runs (as `Core::machine`).
    tab: RefCell<Tab>,
    clock: Cell<Clock>,
    calls_back: bool,
    resumes: bool,
    pending: RefCell<VecDeque<Output>>,
    /// What the events said so far: the ready state (0 connecting, 1 open, 3 closed), the
    /// holder's retry count and round trip (a follower has the last the holder reported).
    state: Cell<u16>,
    attempt: Cell<u32>,
    rtt: Cell<Option<f64>>,
}

#[wasm_bindgen]
impl ShareCore {
    /// Tab `id` (random, unique in the origin) of a share, with the options `core` was made
    /// with (checked there): the tab says hello and asks for the lock on its first input.
    #[wasm_bindgen(constructor)]
    pub fn new(core: Core, id: f64) -> Result<ShareCore, JsValue> {
        let clock = Clock::new(js_sys::Date::now());
        let resumes = core.resumes();
        let tab = core
            .builder
            .clone()
            .into_shared_tab(
                id as u64,
                Sharing::default(),
                seed(js_sys::Math::random()),
                Duration::ZERO,
            )
            // Checked when the core was made.
            .map_err(|_| JsValue::from_str("|"))?;
        Ok(ShareCore {
            tab: RefCell::new(tab),
            clock: Cell::new(clock),
            calls_back: core.calls_back,
            resumes,
            pending: RefCell::new(VecDeque::new()),
            state: Cell::new(0),
            attempt: Cell::new(0),
            rtt: Cell::new(None),
        })
    }

    /// The name of the share's Web Lock and BroadcastChannel: `tether.share.v1/<name>`
    /// (another version of the protocol forms a share of its own).
    #[wasm_bindgen(js_name = channelName)]
    pub fn channel_name(name: &str) -> String {
        let mut channel = String::from(SHARE_PROTOCOL);
        channel.push('/');
        channel.push_str(name);
        channel
    }

    fn now(&self) -> Duration {
        crate::read_clock(&self.clock)
    }

    /// Feeds the tab one input (refused while a policy function runs) and carries out what
    /// follows.
    fn input<R>(&self, io: &Io, f: impl FnOnce(&mut Tab, Duration) -> R) -> Option<R> {
        let now = self.now();
        let out = {
            let mut tab = self.tab.try_borrow_mut().ok()?;
            let previous = self
                .calls_back
                .then(|| CURRENT_IO.with(|c| c.replace(Some(io.clone()))));
            let out = f(&mut tab, now);
            if let Some(previous) = previous {
                CURRENT_IO.with(|c| c.replace(previous));
            }
            out
        };
        self.run(io);
        Some(out)
    }

    /// As `Core.feed`, and the share's inputs: `IN_POST` (`data`: the post's bytes),
    /// `IN_LOCK` (`flag`: granted, or taken away) and `IN_SHARE_TIMER` (`n`: which fired).
    /// The socket's inputs go to the holder's machine (a follower has none), `close` to the
    /// tab. Through the same entry as a single socket's inputs, so the glue orders them
    /// the same way.
    pub fn feed(&self, io: &Io, kind: u8, id: f64, n: f64, data: JsValue, flag: bool) -> bool {
        let text = data.as_string().unwrap_or_default();
        // The holder fans out what it receives: its core takes the message whole.
        let bytes = match kind {
            IN_MESSAGE => Some(io.incoming_bytes()),
            IN_POST => Some(js_sys::Uint8Array::new(&data).to_vec()),
            _ => None,
        };
        self.input(io, |tab, now| match (kind, bytes) {
            (IN_CLOSE, _) => tab.close(n as u16, &text, now),
            (IN_POST, Some(bytes)) => {
                let _ = tab.on_post(&bytes, now); // an unreadable post is ignored
            }
            (IN_LOCK, _) if flag => tab.lock_acquired(now),
            (IN_LOCK, _) => tab.lock_lost(now),
            (IN_SHARE_TIMER, _) => {
                if let Some(&timer) = SHARE_TIMERS.get(n as usize) {
                    tab.on_timer(timer, now)
                }
            }
            (_, Some(bytes)) => tab.socket(now, |m: &mut Machine, now| {
                m.on_message(id as u64, Message::Binary(bytes), now)
            }),
            _ => tab.socket(now, |m: &mut Machine, now| {
                apply(m, now, kind, id as u64, n, text, flag)
            }),
        })
        .is_some()
    }

    /// Carries out every pending output, in order, borrowing nothing while one runs.
    fn run(&self, io: &Io) {
        loop {
            let Ok(mut tab) = self.tab.try_borrow_mut() else {
                return; // a policy function is running and its caller will drain
            };
            let Ok(mut pending) = self.pending.try_borrow_mut() else {
                return;
            };
            pending.extend(std::iter::from_fn(|| tab.poll()));
            drop(tab);
            let Some(output) = pending.pop_front() else {
                return;
            };
            drop(pending);
            self.execute(io, output);
        }
    }

    fn execute(&self, io: &Io, output: Output) {
        match output {
            Output::Post(bytes) => io.post(&bytes),
            Output::Socket(action) => {
                if let Some(message) = execute(io, action) {
                    let now = self.now();
                    if let Ok(mut tab) = self.tab.try_borrow_mut() {
                        tab.socket(now, |m, _| m.write_failed(message));
                    }
                }
            }
            Output::Deliver(Message::Text(text)) => io.deliver_text(&text),
            Output::Deliver(Message::Binary(bytes)) => io.deliver_bytes(&bytes),
            Output::Emit(event) => {
                match &event {
                    ConnectionEvent::Open { .. } => self.state.set(1),
                    ConnectionEvent::Connecting { .. }
                    | ConnectionEvent::WaitingForNetwork { .. } => self.state.set(0),
                    ConnectionEvent::Reconnecting { attempt, .. } => {
                        self.state.set(0);
                        self.attempt.set(*attempt);
                    }
                    ConnectionEvent::Rtt(rtt) => self.rtt.set(Some(millis(*rtt))),
                    ConnectionEvent::Closed { .. } => self.state.set(3),
                    _ => {}
                }
                emit(io, event)
            }
            Output::SetTimer { timer, after } => io.share_timer(timer_index(timer), millis(after)),
            Output::CancelTimer(timer) => io.share_timer(timer_index(timer), -1.0),
            Output::RequestLock => io.lock(true),
            Output::ReleaseLock => io.lock(false),
            Output::Holder(tab) => io.holder(tab as f64),
            _ => {}
        }
    }

    /// Sends text: `WRITTEN` (this tab holds and wrote it), `QUEUED` (on its way to the
    /// holder, or waiting for the connection), or the error's code.
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
        match self.input(io, |tab, _| tab.send(message)) {
            None => crate::INSIDE_POLICY,
            Some(Ok(SendOutcome::Written)) => crate::WRITTEN,
            Some(Ok(_)) => crate::QUEUED,
            Some(Err(err)) => error_code(err),
        }
    }

    /// The tab's sends are checked when made (`send`): a Blob waits for its bytes.
    #[wasm_bindgen(js_name = checkSend)]
    pub fn check_send(&self, _len: f64) -> u8 {
        0
    }

    /// Every message goes through the tab (a shared send is numbered per tab).
    pub fn writable(&self) -> f64 {
        -1.0
    }

    /// The core reads every received message whole (it passes it on to the other tabs).
    #[wasm_bindgen(getter, js_name = wantsText)]
    pub fn wants_text(&self) -> bool {
        true
    }

    /// Whether the session is resumed across connections (the `resume` option).
    #[wasm_bindgen(getter)]
    pub fn resumes(&self) -> bool {
        self.resumes
    }

    /// This tab's sends not confirmed yet (`flush` waits for them).
    #[wasm_bindgen(getter)]
    pub fn unacknowledged(&self) -> f64 {
        self.tab
            .try_borrow()
            .map_or(0.0, |t| t.unconfirmed().0 as f64)
    }

    /// The bytes of this tab's sends not confirmed yet (what the socket holds is among them).
    #[wasm_bindgen(js_name = bufferedAmount)]
    pub fn buffered_amount(&self, _held: f64) -> f64 {
        self.tab
            .try_borrow()
            .map_or(0.0, |t| t.unconfirmed().1 as f64)
    }

    /// Counted in `bufferedAmount`.
    #[wasm_bindgen(getter, js_name = queuedBytes)]
    pub fn queued_bytes(&self) -> f64 {
        0.0
    }

    /// Whether socket `id` is the holder's open one.
    #[wasm_bindgen(js_name = isOpen)]
    pub fn is_open(&self, id: f64) -> bool {
        self.holder_machine(|m| m.open_socket() == Some(id as u64))
    }

    /// Whether socket `id` is the holder's attempt in flight.
    #[wasm_bindgen(js_name = isDialing)]
    pub fn is_dialing(&self, id: f64) -> bool {
        self.holder_machine(|m| m.is_dialing(id as u64))
    }

    fn holder_machine(&self, f: impl FnOnce(&Machine) -> bool) -> bool {
        let now = self.now();
        let mut answer = false;
        if let Ok(mut tab) = self.tab.try_borrow_mut() {
            tab.socket(now, |m, _| answer = f(m));
        }
        answer
    }

    /// 0 connecting (or waiting to retry), 1 open, 3 closed, as the events said.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.state.get()
    }

    /// The holder's retries since its last stable connection.
    #[wasm_bindgen(getter, js_name = retryCount)]
    pub fn retry_count(&self) -> u32 {
        self.attempt.get()
    }

    /// The holder's last heartbeat round trip in ms, if any.
    #[wasm_bindgen(getter)]
    pub fn rtt(&self) -> Option<f64> {
        self.rtt.get()
    }
}

fn timer_index(timer: ShareTimer) -> u8 {
    SHARE_TIMERS.iter().position(|t| *t == timer).unwrap_or(0) as u8
}
