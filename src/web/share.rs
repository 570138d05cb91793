//! A shared socket's share I/O (feature `share`; the protocol: docs/sharing.md): the
//! BroadcastChannel and the Web Lock named `tether.share.v1/<name>`, and the share's timers.
//! It moves posts, lock grants and timer firings between them and the core's [`Tab`], and
//! turns the tab's other outputs into the machine's [`Action`]s for the driver to carry
//! out (the holder's socket actions, deliveries, events); it decides nothing.
//!
//! What it holds lives as long as the socket's share: on the final close or on drop the
//! channel's listener is removed and the channel closed, the lock released (or its request
//! aborted) and every share timer cancelled.

use super::listener::Listener;
use crate::core::machine::{Action, ConnectionEvent, Holder, Time};
use crate::core::share::{Output, ShareTimer, Tab};
use crate::core::share_post::SHARE_PROTOCOL;
use crate::ReadyState;
use futures_channel::oneshot;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`, bound here: web-sys's `LockManager` needs
    /// `--cfg=web_sys_unstable_apis`, which we can't ask of users.
    type LockManager;
    /// `locks.request(name, { signal }, callback)`: the callback runs once granted, and
    /// the lock is held until the promise it returns settles.
    #[wasm_bindgen(method, catch)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &js_sys::Object,
        callback: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// What the share's I/O feeds back into the tab.
pub(crate) enum ShareInput {
    /// A post from another socket of the share.
    Post(Vec<u8>),
    /// Lock request `generation` was granted; the lock is held until `Release` goes.
    Lock(u64, Release),
    Timer(ShareTimer),
}

/// Feeds one input to the socket's driver (a no-op once it is gone).
pub(crate) type Feed = Rc<dyn Fn(ShareInput)>;

/// Resolves the promise that holds a granted lock when dropped: a grant nobody takes (the
/// socket went, the request was given up) is released at once.
pub(crate) struct Release(js_sys::Function);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::UNDEFINED);
    }
}

enum Lock {
    Idle,
    Requested(u64, web_sys::AbortController),
    Held(Release),
}

/// The channel, the lock and the timers of one socket's share.
struct ShareIo {
    name: String,
    locks: LockManager,
    channel: web_sys::BroadcastChannel,
    _on_post: Listener,
    lock: Lock,
    /// Counts lock requests, so that a grant for one given up is told apart.
    generation: u64,
    /// Dropping a timer's sender cancels it.
    timers: [Option<oneshot::Sender<()>>; 4],
    feed: Feed,
}

impl ShareIo {
    /// `None` where the scope has no Web Locks or no BroadcastChannel.
    fn open(name: &str, feed: Feed) -> Option<ShareIo> {
        let locks = super::scope::navigator("locks")?.unchecked_into::<LockManager>();
        let mut name_v1 = String::from(SHARE_PROTOCOL);
        name_v1.push('/');
        name_v1.push_str(name);
        // Throws where BroadcastChannel is missing: wasm-bindgen reports it as an `Err`.
        let channel = web_sys::BroadcastChannel::new(&name_v1).ok()?;
        let on_post = feed.clone();
        let listener = Listener::new(channel.unchecked_ref(), "message", move |event| {
            let data = event.unchecked_into::<web_sys::MessageEvent>().data();
            on_post(ShareInput::Post(js_sys::Uint8Array::new(&data).to_vec()));
        });
        Some(ShareIo {
            name: name_v1,
            locks,
            channel,
            _on_post: listener,
            lock: Lock::Idle,
            generation: 0,
            timers: Default::default(),
            feed,
        })
    }

    fn post(&self, bytes: &[u8]) {
        // Fails only once the channel is closed, which happens with this value's drop.
        let _ = self
            .channel
            .post_message(&js_sys::Uint8Array::from(bytes).into());
    }

    fn request_lock(&mut self) {
        if !matches!(self.lock, Lock::Idle) {
            return;
        }
        let Ok(abort) = web_sys::AbortController::new() else {
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &"signal".into(), &abort.signal());
        let feed = self.feed.clone();
        let granted = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_| {
            let mut resolve = None;
            let held = js_sys::Promise::new(&mut |r, _| resolve = Some(r));
            if let Some(resolve) = resolve {
                feed(ShareInput::Lock(generation, Release(resolve)));
            }
            held
        });
        let Ok(request) =
            self.locks
                .request(&self.name, &options, granted.as_ref().unchecked_ref())
        else {
            return; // refused (an opaque origin): never granted, so never held
        };
        self.lock = Lock::Requested(generation, abort);
        // The callback lives until the request settles: released, or aborted before the
        // grant (an `AbortError`, expected).
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(request).await;
            drop(granted);
        });
    }

    fn release_lock(&mut self) {
        match std::mem::replace(&mut self.lock, Lock::Idle) {
            Lock::Requested(_, abort) => abort.abort(),
            Lock::Held(release) => drop(release),
            Lock::Idle => {}
        }
    }

    fn set_timer(&mut self, timer: ShareTimer, after: Duration) {
        let feed = self.feed.clone();
        self.timers[index(timer)] = Some(super::reconnect::timer(after, move || {
            feed(ShareInput::Timer(timer))
        }));
    }
}

impl Drop for ShareIo {
    fn drop(&mut self) {
        self.release_lock();
        self.channel.close();
    }
}

fn index(timer: ShareTimer) -> usize {
    match timer {
        ShareTimer::Takeover => 0,
        ShareTimer::TabTimeout => 1,
        ShareTimer::Receipt => 2,
        _ => 3,
    }
}

/// One socket's tab of a shared connection, and its share I/O.
pub(crate) struct Shared {
    pub(crate) tab: Tab,
    io: Option<ShareIo>,
    /// What the events said: connecting or open, the holder's retries and round trip.
    open: bool,
    pub(crate) attempt: u32,
    pub(crate) rtt: Option<Duration>,
    /// The final `Closed` was reported: the share's I/O goes once the outputs before it ran.
    pub(crate) finished: bool,
}

impl Shared {
    /// The socket's tab on the share `name`; `None` where the scope can't share.
    pub(crate) fn open(name: &str, feed: Feed, tab: impl FnOnce() -> Tab) -> Option<Shared> {
        let io = ShareIo::open(name, feed)?;
        Some(Shared {
            tab: tab(),
            io: Some(io),
            open: false,
            attempt: 0,
            rtt: None,
            finished: false,
        })
    }

    pub(crate) fn ready_state(&self) -> ReadyState {
        match () {
            _ if self.finished => ReadyState::Closed,
            _ if self.tab.is_stopped() => ReadyState::Closing,
            _ if self.open => ReadyState::Open,
            _ => ReadyState::Connecting,
        }
    }

    /// Feeds what the channel, the lock or a timer brought.
    pub(crate) fn input(&mut self, input: ShareInput, now: Time) {
        match input {
            // An unreadable post (another version, truncated) is ignored.
            ShareInput::Post(bytes) => drop(self.tab.on_post(&bytes, now)),
            ShareInput::Lock(generation, release) => {
                let Some(io) = self.io.as_mut() else { return };
                if matches!(io.lock, Lock::Requested(g, _) if g == generation) {
                    io.lock = Lock::Held(release);
                    self.tab.lock_acquired(now);
                }
            }
            ShareInput::Timer(timer) => {
                if let Some(io) = self.io.as_mut() {
                    io.timers[index(timer)] = None;
                }
                self.tab.on_timer(timer, now);
            }
        }
    }

    /// Carries out the tab's share outputs up to the next one for the driver.
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        loop {
            let Some(output) = self.tab.poll() else {
                if self.finished {
                    self.io = None;
                }
                return None;
            };
            let io = self.io.as_mut();
            match output {
                Output::Socket(action) => return Some(action),
                Output::Deliver(message) => return Some(Action::Deliver(message)),
                Output::Emit(event) => {
                    match &event {
                        ConnectionEvent::Open { .. } => self.open = true,
                        ConnectionEvent::Connecting { .. }
                        | ConnectionEvent::WaitingForNetwork { .. } => self.open = false,
                        ConnectionEvent::Reconnecting { attempt, .. } => {
                            self.open = false;
                            self.attempt = *attempt;
                        }
                        ConnectionEvent::Rtt(rtt) => self.rtt = Some(*rtt),
                        ConnectionEvent::Closed { .. } => self.finished = true,
                        _ => {}
                    }
                    return Some(Action::Emit(event));
                }
                Output::Holder(tab) => {
                    return Some(Action::Emit(ConnectionEvent::Holder(Holder {
                        tab,
                        this_tab: tab == self.tab.id(),
                        shared: true,
                    })))
                }
                Output::Post(bytes) => io.into_iter().for_each(|io| io.post(&bytes)),
                Output::RequestLock => io.into_iter().for_each(ShareIo::request_lock),
                Output::ReleaseLock => io.into_iter().for_each(ShareIo::release_lock),
                Output::SetTimer { timer, after } => {
                    io.into_iter().for_each(|io| io.set_timer(timer, after))
                }
                Output::CancelTimer(timer) => {
                    io.into_iter().for_each(|io| io.timers[index(timer)] = None)
                }
            }
        }
    }
}
