//! The reconnecting socket's browser driver: carries out the core machine's actions with
//! one `Conn` at a time, cancellable timer tasks and page-lifecycle listeners, and feeds
//! every callback back into the machine with the current time. It decides nothing itself.
//! The machine is the socket's own, or (a shared socket, feature `share`) the one its tab
//! runs while it holds the connection: driven.rs hides which, share.rs does a tab's share
//! I/O.
//!
//! The user's backoff and close-policy functions run inside the machine, while the driver is
//! borrowed. Calls they make on the socket must not panic: getters then read a [`View`]
//! refreshed after every input, `close`/`reconnect` are deferred until the input is done,
//! and `send` fails with [`Error::InsidePolicy`].

use super::conn::{broadcast, Conn, Delay, Subscription};
use super::driven::Core;
use super::listener::Listener;
use super::live;
use crate::core::clock::{self, Clock};
use crate::core::machine::{Action, ConnId, ConnectionEvent, Machine, Timer};
use crate::core::policy::Config;
use crate::core::queue::SendOutcome;
use crate::core::text::joined;
use crate::handshake::{Handshake, HookFn, HookState};
use crate::reconnecting::{Accept, Endpoint, EndpointSource};
use crate::{CloseCode, ConnectionStatus, Error, Event, Message, ReadyState};
use futures_channel::mpsc::{unbounded, UnboundedSender};
use futures_channel::oneshot;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

pub(crate) struct Reconnecting {
    driver: Rc<RefCell<Driver>>,
    side: Rc<Side>,
}

/// What the socket's methods can reach while the driver is borrowed (from inside a policy
/// function).
#[derive(Default)]
struct Side {
    view: RefCell<View>,
    deferred: RefCell<Vec<Deferred>>,
    /// The status folded from every event, for late subscribers.
    status: RefCell<ConnectionStatus>,
    /// Subprotocol and extensions of the last connection that opened (kept after it
    /// closes, as browsers keep them).
    negotiated: RefCell<(String, String)>,
    /// The receiving half was dropped: nobody can read the message stream any more.
    unread: std::cell::Cell<bool>,
    /// A shared socket: which socket holds, as last reported.
    #[cfg(feature = "share")]
    holder: std::cell::Cell<Option<crate::Holder>>,
}

/// The getters' values as of the end of the last input.
#[derive(Default, Clone)]
struct View {
    ready_state: Option<ReadyState>,
    attempt: u32,
    rtt: Option<Duration>,
    queued_bytes: usize,
    buffered_amount: u32,
    stopped: bool,
    resumes: bool,
}

/// A call made while the driver was borrowed, carried out right after.
enum Deferred {
    Close(Option<CloseCode>, String),
    Reconnect,
    Subscribe(UnboundedSender<ConnectionEvent>),
}

struct Driver {
    core: Core,
    source: EndpointSource,
    hook_fn: Option<HookFn>,
    /// The handshake hook running on a socket; dropping it cancels the hook's task.
    hook: Option<RunningHook>,
    high_water: u32,
    messages_as_events: bool,
    /// Open connections through `WebSocketStream` where the page has it, and pause reading
    /// while the inbox is full.
    backpressure: bool,
    /// Reading is paused: the inbox reached [`INBOX_BOUND`] (the machine was told).
    reading_paused: bool,
    socket: Option<(ConnId, Conn)>,
    /// Dropping a timer's sender cancels its task and clears the browser timer.
    timers: [Option<oneshot::Sender<()>>; Timer::ALL.len()],
    inbox: VecDeque<Message>,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
    /// With resume: unacknowledged messages after the last step (a change wakes the Sink).
    unacked: usize,
    subscribers: Vec<UnboundedSender<ConnectionEvent>>,
    clock: Clock,
    side: Rc<Side>,
    _page: Vec<Listener>,
    this: Weak<RefCell<Driver>>,
}

/// Whether handshake hooks exist (the `handshake` feature): without, what runs them compiles
/// out.
const HOOKS: bool = cfg!(any(feature = "handshake", test));

/// The machine's code for "close without a status code" (1005 is never sent on the wire).
const NO_STATUS: u16 = 1005;

/// With receive backpressure: the driver stops reading the open socket once this many
/// messages wait unread in its inbox, and reads again once half of them were taken (the gap
/// spares a pause and a resume per message).
const INBOX_BOUND: usize = 16;

/// Feeds the driver one input (`f`), carries out what follows, then whatever the user's
/// policy functions deferred while it ran.
fn feed(driver: &Rc<RefCell<Driver>>, f: impl FnOnce(&mut Driver)) {
    let side = {
        let mut d = driver.borrow_mut();
        f(&mut d);
        d.run();
        d.side.clone()
    };
    loop {
        let deferred = std::mem::take(&mut *side.deferred.borrow_mut());
        if deferred.is_empty() {
            return;
        }
        let mut d = driver.borrow_mut();
        for op in deferred {
            match op {
                Deferred::Close(code, reason) => {
                    let code = code.map_or(NO_STATUS, CloseCode::get);
                    d.core.close(code, &reason);
                }
                Deferred::Reconnect => {
                    d.core.apply(|m| m.reconnect());
                }
                Deferred::Subscribe(tx) => {
                    if !d.core.is_closed_for_good() {
                        d.subscribers.push(tx);
                    }
                }
            }
            d.run();
        }
    }
}

struct RunningHook {
    id: ConnId,
    state: Rc<RefCell<HookState>>,
    _cancel: oneshot::Sender<()>,
}

impl Drop for RunningHook {
    fn drop(&mut self) {
        self.state.borrow_mut().close();
    }
}

impl Driver {
    fn now(&mut self) -> Duration {
        self.clock.now(js_sys::Date::now())
    }
}

impl Reconnecting {
    pub(crate) fn start(
        source: EndpointSource,
        hook_fn: Option<HookFn>,
        high_water: u32,
        messages_as_events: bool,
        backpressure: bool,
        share: Option<String>,
        cfg: Config,
    ) -> Result<Self, Error> {
        let mut clock = Clock::new(js_sys::Date::now());
        let now = clock.now(js_sys::Date::now());
        let seed = clock::seed(js_sys::Math::random());
        let side = Rc::new(Side::default());
        let driver = Rc::new_cyclic(|this: &Weak<RefCell<Driver>>| {
            let core = match share {
                #[cfg(feature = "share")]
                Some(name) => shared(this, &side, &name, cfg, seed, now),
                _ => Core::Alone(Machine::new(cfg, seed, now)),
            };
            RefCell::new(Driver {
                core,
                source,
                hook_fn,
                hook: None,
                high_water,
                messages_as_events,
                // Where the page can't, the machine must not be told reading paused.
                backpressure: cfg!(feature = "receive-backpressure")
                    && backpressure
                    && super::stream::available(),
                reading_paused: false,
                socket: None,
                timers: Default::default(),
                inbox: VecDeque::new(),
                rx_waker: None,
                tx_waker: None,
                unacked: 0,
                subscribers: Vec::new(),
                clock,
                side: side.clone(),
                _page: page_listeners(this),
                this: this.clone(),
            })
        });
        feed(&driver, |d| {
            if let Some(online) = super::scope::on_line() {
                d.core.apply(|m| m.set_online(online));
            }
        });
        Ok(Reconnecting { driver, side })
    }

    /// Whether a policy function of this socket is running (the driver is borrowed).
    fn busy(&self) -> bool {
        self.driver.try_borrow_mut().is_err()
    }

    fn view(&self) -> View {
        self.side.view.borrow().clone()
    }

    pub(crate) fn send(&self, message: Message) -> Result<SendOutcome, Error> {
        if self.busy() {
            return Err(Error::InsidePolicy);
        }
        let mut out = Err(Error::InsidePolicy);
        feed(&self.driver, |d| out = d.core.send(message));
        out
    }

    pub(crate) fn poll_accept(&self, len: usize, cx: &mut Context<'_>) -> Accept {
        let Ok(mut d) = self.driver.try_borrow_mut() else {
            // Polled from inside a policy function: look again once it is done.
            cx.waker().wake_by_ref();
            return Accept::Wait;
        };
        if d.core.is_stopped() {
            return Accept::Stopped;
        }
        if !d.core.can_accept(len) {
            d.tx_waker = Some(cx.waker().clone());
            return Accept::Wait;
        }
        match &d.socket {
            Some((_, conn))
                if d.core.open_socket().is_some() && conn.buffered_amount() > d.high_water =>
            {
                Accept::Full
            }
            _ => Accept::Yes,
        }
    }

    pub(crate) fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let Ok(mut d) = self.driver.try_borrow_mut() else {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        if let Some(message) = d.inbox.pop_front() {
            if d.reading_paused && d.inbox.len() <= INBOX_BOUND / 2 {
                // Room again: read on (and tell the machine).
                drop(d);
                feed(&self.driver, |_| {});
            }
            return Poll::Ready(Some(message));
        }
        if d.core.is_finished() {
            return Poll::Ready(None);
        }
        d.rx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    pub(crate) fn subscribe(&self) -> Subscription<ConnectionEvent> {
        let (tx, rx) = unbounded();
        match self.driver.try_borrow_mut() {
            Ok(mut d) => {
                if !d.core.is_closed_for_good() {
                    d.subscribers.push(tx);
                }
            }
            Err(_) => self
                .side
                .deferred
                .borrow_mut()
                .push(Deferred::Subscribe(tx)),
        }
        Subscription::new(rx)
    }

    /// Reads the driver, or the view as of the last input while a policy function runs.
    fn read<R>(&self, live: impl FnOnce(&Driver) -> R, view: impl FnOnce(View) -> R) -> R {
        match self.driver.try_borrow() {
            Ok(d) => live(&d),
            Err(_) => view(self.view()),
        }
    }

    pub(crate) fn ready_state(&self) -> ReadyState {
        self.read(
            |d| d.core.ready_state(),
            |v| v.ready_state.unwrap_or(ReadyState::Connecting),
        )
    }
    pub(crate) fn attempt(&self) -> u32 {
        self.read(|d| d.core.attempt(), |v| v.attempt)
    }
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.read(|d| d.core.rtt(), |v| v.rtt)
    }
    pub(crate) fn queued_bytes(&self) -> usize {
        self.read(|d| d.core.queued_bytes(), |v| v.queued_bytes)
    }
    pub(crate) fn resumes(&self) -> bool {
        self.read(|d| d.core.resumes(), |v| v.resumes)
    }
    pub(crate) fn is_stopped(&self) -> bool {
        self.read(|d| d.core.is_stopped(), |v| v.stopped)
    }
    pub(crate) fn is_finished(&self) -> bool {
        self.read(|d| d.core.is_finished() && d.inbox.is_empty(), |_| false)
    }
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Ok(mut d) = self.driver.try_borrow_mut() else {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        if d.core.is_finished() {
            return Poll::Ready(());
        }
        d.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }
    /// With resume: ready once the server acknowledged everything sent and queued;
    /// `Err(Stopped)` once the socket stopped.
    pub(crate) fn poll_acked(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Ok(mut d) = self.driver.try_borrow_mut() else {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        if d.core.is_stopped() {
            return Poll::Ready(Err(Error::Stopped));
        }
        if d.core.flushed() {
            return Poll::Ready(Ok(()));
        }
        d.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }
    pub(crate) fn status(&self) -> ConnectionStatus {
        self.side.status.borrow().clone()
    }
    pub(crate) fn protocol(&self) -> String {
        self.side.negotiated.borrow().0.clone()
    }
    pub(crate) fn extensions(&self) -> String {
        self.side.negotiated.borrow().1.clone()
    }
    pub(crate) fn buffered_amount(&self) -> u32 {
        self.read(|d| d.buffered_amount(), |v| v.buffered_amount)
    }
    /// `None` closes without a status code.
    pub(crate) fn close(&self, code: Option<CloseCode>, reason: &str) {
        if self.busy() {
            let op = Deferred::Close(code, reason.to_owned());
            self.side.deferred.borrow_mut().push(op);
            return;
        }
        let code = code.map_or(NO_STATUS, CloseCode::get);
        feed(&self.driver, |d| d.core.close(code, reason));
    }
    pub(crate) fn reconnect(&self) {
        if self.busy() {
            self.side.deferred.borrow_mut().push(Deferred::Reconnect);
            return;
        }
        feed(&self.driver, |d| d.core.apply(|m| m.reconnect()));
    }
    pub(crate) fn backpressure_delay(&self) -> Delay {
        Delay::backpressure()
    }
    /// Whether connections read through `WebSocketStream`, pausing while the inbox is full.
    pub(crate) fn reads_with_backpressure(&self) -> bool {
        self.read(|d| d.backpressure, |_| false)
    }
    #[cfg(feature = "share")]
    pub(crate) fn holder(&self) -> Option<crate::Holder> {
        self.side.holder.get()
    }
    /// The message stream's reader is gone: stop buffering for it.
    pub(crate) fn receiver_dropped(&self) {
        self.side.unread.set(true);
        if let Ok(mut d) = self.driver.try_borrow_mut() {
            d.inbox = VecDeque::new();
        }
    }
}

impl Drop for Reconnecting {
    fn drop(&mut self) {
        // Close the socket now; the timers and listeners go with the driver.
        if let Ok(mut d) = self.driver.try_borrow_mut() {
            d.core.close(1000, "");
            d.run();
        }
    }
}

impl Driver {
    fn buffered_amount(&self) -> u32 {
        let holds = self
            .socket
            .as_ref()
            .map_or(0, |(_, conn)| conn.buffered_amount());
        u32::try_from(self.core.buffered_amount(holds as usize)).unwrap_or(u32::MAX)
    }

    /// Receive backpressure: pauses reading the open socket while the inbox holds
    /// [`INBOX_BOUND`] messages, resumes at half that. Reading is never paused before a
    /// socket opens (its handshake must get through). Whether the machine was fed.
    fn sync_reading(&mut self) -> bool {
        if !self.backpressure {
            return false;
        }
        let unread = self.messages_as_events || self.side.unread.get();
        let paused = !unread
            && if self.reading_paused {
                self.inbox.len() > INBOX_BOUND / 2
            } else {
                self.inbox.len() >= INBOX_BOUND
            };
        if let Some((id, conn)) = &self.socket {
            conn.pause_reading(paused && self.core.open_socket() == Some(*id));
        }
        if paused == self.reading_paused {
            return false;
        }
        self.reading_paused = paused;
        let now = self.now();
        self.core
            .machine(now, |m, now| m.set_reading_paused(paused, now));
        true
    }

    /// Carries out every pending action of the machine.
    fn run(&mut self) {
        let mut woken = Vec::new();
        loop {
            self.run_actions(&mut woken);
            if !self.sync_reading() {
                break;
            }
        }
        self.after_actions(woken);
    }

    fn run_actions(&mut self, woken: &mut Vec<Waker>) {
        while let Some(action) = self.core.poll_action() {
            match action {
                Action::Dial { id } => {
                    // The last socket closed (its loss was reported): what the browser still
                    // counts for it is no longer ours to report.
                    self.socket = None;
                    self.dial(id)
                }
                Action::Write { id, message } => {
                    let written = match &self.socket {
                        Some((cur, conn)) if *cur == id => conn.send(&message).is_ok(),
                        _ => false,
                    };
                    // The socket is closing and its close event is on the way: keep the
                    // message for the next connection rather than lose it.
                    if !written {
                        self.core.apply(|m| m.write_failed(message));
                    }
                }
                Action::CloseSocket { id, code, reason } => {
                    if let Some((cur, conn)) = self.socket.take() {
                        if cur == id {
                            conn.close(CloseCode::new(code).ok(), &reason);
                        } else {
                            self.socket = Some((cur, conn));
                        }
                    }
                }
                Action::StartClose { id, code, reason } => {
                    *self.side.status.borrow_mut() = ConnectionStatus::Closing;
                    if let Some((cur, conn)) = &self.socket {
                        if *cur == id {
                            conn.close(CloseCode::new(code).ok(), &reason);
                        }
                    }
                }
                Action::SetTimer { timer, after } => self.set_timer(timer, after),
                Action::CancelTimer(timer) => self.timers[timer.index()] = None,
                Action::Emit(event) => {
                    #[cfg(feature = "share")]
                    if let ConnectionEvent::Holder(holder) = &event {
                        self.side.holder.set(Some(*holder));
                    }
                    if let Some(status) = ConnectionStatus::after(event.clone()) {
                        *self.side.status.borrow_mut() = status;
                    }
                    if let (ConnectionEvent::Open { protocol }, Some((_, conn))) =
                        (&event, &self.socket)
                    {
                        *self.side.negotiated.borrow_mut() = (protocol.clone(), conn.extensions());
                    }
                    let last = matches!(
                        event,
                        ConnectionEvent::Closed {
                            reason: crate::StopReason::UserClosed,
                            ..
                        }
                    );
                    broadcast(&mut self.subscribers, event);
                    if last {
                        self.subscribers.clear();
                    }
                    woken.extend(self.rx_waker.take());
                    woken.extend(self.tx_waker.take());
                }
                Action::Deliver(message) => self.deliver(message),
                Action::Handshake { id } => self.start_hook(id),
                Action::ToHandshake { id, message } => {
                    if let Some(hook) = self.hook.as_ref().filter(|h| HOOKS && h.id == id) {
                        hook.state.borrow_mut().push(message);
                    }
                }
            }
        }
    }

    fn after_actions(&mut self, mut woken: Vec<Waker>) {
        if HOOKS && self.hook.as_ref().map(|h| h.id) != self.core.handshaking() {
            // The attempt ended (or opened): the hook's task is cancelled.
            self.hook = None;
        }
        if self.core.unacknowledged() != self.unacked {
            // Acknowledgements free room in the bound and may complete a flush.
            self.unacked = self.core.unacknowledged();
            woken.extend(self.tx_waker.take());
        }
        if self.core.is_closed_for_good() {
            // Closed after giving up: no event says so, but nothing will follow either.
            self.subscribers.clear();
            woken.extend(self.rx_waker.take());
            woken.extend(self.tx_waker.take());
        }
        *self.side.view.borrow_mut() = View {
            ready_state: Some(self.core.ready_state()),
            attempt: self.core.attempt(),
            rtt: self.core.rtt(),
            queued_bytes: self.core.queued_bytes(),
            buffered_amount: self.buffered_amount(),
            stopped: self.core.is_stopped(),
            resumes: self.core.resumes(),
        };
        woken.into_iter().for_each(Waker::wake);
    }

    fn deliver(&mut self, message: Message) {
        if self.messages_as_events {
            broadcast(&mut self.subscribers, ConnectionEvent::Message(message));
        } else if self.side.unread.get() {
            // The receiver was dropped: nobody can read it (and nothing older waits).
            self.inbox.clear();
        } else {
            self.inbox.push_back(message);
            if let Some(w) = self.rx_waker.take() {
                w.wake();
            }
        }
    }

    /// Runs the user's handshake hook on socket `id` and reports how it ended.
    fn start_hook(&mut self, id: ConnId) {
        // Without the `handshake` feature there is none, and this compiles out.
        let hook_fn = self.hook_fn.clone().filter(|_| HOOKS);
        let (Some(hook_fn), Some((cur, conn))) = (hook_fn, &self.socket) else {
            return;
        };
        if *cur != id {
            return;
        }
        let state = Rc::new(RefCell::new(HookState::default()));
        let weak = conn.downgrade();
        let write = Rc::new(move |m: &Message| match weak.upgrade() {
            Some(conn) => conn.send(m),
            None => Err(Error::AlreadyClosed),
        });
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        self.hook = Some(RunningHook {
            id,
            state: state.clone(),
            _cancel: cancel_tx,
        });
        let run = (hook_fn.0)(Handshake::new(state.clone(), write));
        let this = self.this.clone();
        spawn_local(async move {
            let Some(result) = until_cancelled(run, cancel_rx).await else {
                return;
            };
            let Some(driver) = this.upgrade() else { return };
            feed(&driver, |d| {
                let now = d.now();
                d.core
                    .machine(now, |m, now| m.handshake_done(id, result, now));
                d.run();
                if d.core.open_socket() == Some(id) {
                    // What the hook didn't consume goes to the application, in order.
                    let leftovers = state.borrow_mut().leftovers();
                    for message in leftovers {
                        d.deliver(message);
                    }
                }
            });
        });
    }

    fn dial(&mut self, id: ConnId) {
        match self.source.clone() {
            EndpointSource::Fixed(endpoint) => self.open_socket(id, endpoint),
            EndpointSource::Provider(provider) => {
                let this = self.this.clone();
                spawn_local(async move {
                    // Called here, not in `run`: the driver is not borrowed, so the user's
                    // provider may read the socket's state.
                    let result = provider().await;
                    if let Some(driver) = this.upgrade() {
                        feed(&driver, |d| match result {
                            Ok(endpoint) => d.open_socket(id, endpoint),
                            Err(reason) => {
                                let now = d.now();
                                let reason = joined("url provider", &reason);
                                d.core
                                    .machine(now, |m, now| m.on_dial_failed(id, reason, now));
                            }
                        });
                    }
                });
            }
        }
    }

    fn open_socket(&mut self, id: ConnId, endpoint: Endpoint) {
        if !self.core.is_dialing(id) {
            return; // Closed or replaced while the provider was running.
        }
        let opened = endpoint
            .resolve()
            .and_then(|e| Conn::open(&e.url, &e.protocols, self.high_water, self.backpressure));
        let conn = match opened {
            Ok(conn) => conn,
            Err(err) => {
                let now = self.now();
                // Resolving and creating the socket fail only with errors that have a dial
                // message: the other errors' texts stay out of the wasm.
                debug_assert!(err.dial_message().is_some(), "{err:?}");
                let reason = err
                    .dial_message()
                    .unwrap_or_else(|| String::from("the socket could not be created"));
                self.core
                    .machine(now, |m, now| m.on_dial_failed(id, reason, now));
                return;
            }
        };
        self.core.apply(|m| m.socket_created(id));
        // Messages reach us through the event stream; the Conn must not keep its own copy.
        conn.receiver_dropped();
        let mut events = conn.subscribe_events();
        let this = self.this.clone();
        spawn_local(async move {
            // Ends when the Conn is dropped (its event senders go with it).
            while let Some(event) = std::future::poll_fn(|cx| events.poll_next(cx)).await {
                let Some(driver) = this.upgrade() else { return };
                feed(&driver, |d| {
                    let now = d.now();
                    match event {
                        Event::Open { protocol } => {
                            d.core.machine(now, |m, now| m.on_open(id, protocol, now))
                        }
                        Event::Message(message) => {
                            d.core.machine(now, |m, now| m.on_message(id, message, now))
                        }
                        Event::Close(info) => {
                            d.core.machine(now, |m, now| m.on_close(id, info, now))
                        }
                        Event::Error => {}
                    }
                });
            }
        });
        self.socket = Some((id, conn));
    }

    fn set_timer(&mut self, timer: Timer, after: Duration) {
        let this = self.this.clone();
        self.timers[timer.index()] = Some(self::timer(after, move || {
            if let Some(driver) = this.upgrade() {
                feed(&driver, |d| {
                    let now = d.now();
                    d.timers[timer.index()] = None;
                    d.core.machine(now, |m, now| m.on_timer(timer, now));
                });
            }
        }));
    }
}

/// Starts a timer task that calls `fire` after `after`, unless the returned sender is
/// dropped first (which cancels the task and clears the browser timer).
pub(super) fn timer(after: Duration, fire: impl FnOnce() + 'static) -> oneshot::Sender<()> {
    let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
    // The cores never ask for more than `MAX_TIMER` (2^31 - 1 ms) at a time.
    let ms = u32::try_from(after.as_millis()).unwrap_or(u32::MAX);
    live::inc(&live::TIMERS);
    spawn_local(async move {
        let sleep = gloo_timers::future::TimeoutFuture::new(ms);
        let outcome = race(sleep, cancel_rx).await;
        live::dec(&live::TIMERS);
        // Cancelled (sender dropped) or fired: either way the browser timer is cleared.
        if let Outcome::Fired = outcome {
            fire();
        }
    });
    cancel_tx
}

/// A shared socket's core: its tab of the share `name`, fed by the share's channel, lock
/// and timers; where the scope can't share, a machine of its own, and a holder saying so.
#[cfg(feature = "share")]
fn shared(
    this: &Weak<RefCell<Driver>>,
    side: &Side,
    name: &str,
    cfg: Config,
    seed: u64,
    now: Duration,
) -> Core {
    use super::share::{ShareInput, Shared};
    // Random and unique in the origin; below 2^53, as the npm package's.
    let id = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    let this = this.clone();
    let feed = Rc::new(move |input: ShareInput| {
        if let Some(driver) = this.upgrade() {
            feed(&driver, |d| {
                let now = d.now();
                if let Core::Shared(s) = &mut d.core {
                    s.input(input, now);
                }
            });
        }
    });
    let tab = || crate::core::share::Tab::new(id, cfg.clone(), Default::default(), seed, now);
    match Shared::open(name, feed, tab) {
        Some(shared) => Core::Shared(Box::new(shared)),
        None => {
            side.holder.set(Some(crate::Holder {
                tab: id,
                this_tab: true,
                shared: false,
            }));
            Core::Alone(Machine::new(cfg, seed, now))
        }
    }
}

enum Outcome {
    Fired,
    Cancelled,
}

/// Runs `fut` unless the cancellation comes first (`None`).
async fn until_cancelled<T>(
    mut fut: Pin<Box<dyn Future<Output = T>>>,
    mut cancel: oneshot::Receiver<()>,
) -> Option<T> {
    std::future::poll_fn(|cx| {
        if Pin::new(&mut cancel).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        fut.as_mut().poll(cx).map(Some)
    })
    .await
}

/// Waits for the timer or the cancellation, whichever comes first.
async fn race(
    mut sleep: gloo_timers::future::TimeoutFuture,
    mut cancel: oneshot::Receiver<()>,
) -> Outcome {
    std::future::poll_fn(|cx| {
        if Pin::new(&mut cancel).poll(cx).is_ready() {
            return Poll::Ready(Outcome::Cancelled);
        }
        if Pin::new(&mut sleep).poll(cx).is_ready() {
            return Poll::Ready(Outcome::Fired);
        }
        Poll::Pending
    })
    .await
}

/// online/offline on the global scope (a page's window or a Worker's global) and, in a page,
/// visibilitychange on the document, feeding the machine.
fn page_listeners(this: &Weak<RefCell<Driver>>) -> Vec<Listener> {
    let Some(global) = super::scope::events() else {
        return Vec::new();
    };
    let on = |online: bool| {
        let this = this.clone();
        move |_: web_sys::Event| {
            if let Some(driver) = this.upgrade() {
                feed(&driver, |d| d.core.apply(|m| m.set_online(online)));
            }
        }
    };
    let mut listeners = vec![
        Listener::new(&global, "online", on(true)),
        Listener::new(&global, "offline", on(false)),
    ];
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let this = this.clone();
        let doc = document.clone();
        listeners.push(Listener::new(
            document.unchecked_ref(),
            "visibilitychange",
            move |_| {
                if let Some(driver) = this.upgrade() {
                    let visible = doc.visibility_state() == web_sys::VisibilityState::Visible;
                    feed(&driver, |d| d.core.apply(|m| m.set_visible(visible)));
                }
            },
        ));
    }
    listeners
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.driver.try_borrow() {
            Ok(d) => f
                .debug_struct("Reconnecting")
                .field("ready_state", &d.core.ready_state())
                .field("attempt", &d.core.attempt())
                .finish(),
            Err(_) => f.write_str("Reconnecting(..)"),
        }
    }
}
