//! The reconnecting socket's browser driver: carries out the core machine's actions with
//! one `Conn` at a time, cancellable timer tasks and page-lifecycle listeners, and feeds
//! every callback back into the machine with the current time. It decides nothing itself.

use super::conn::{broadcast, Conn, Delay, Subscription};
use super::listener::Listener;
use super::live;
use crate::core::machine::{Action, ConnId, ConnectionEvent, Machine, Time, Timer};
use crate::core::policy::Config;
use crate::core::queue::SendOutcome;
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

pub(crate) struct Reconnecting(Rc<RefCell<Driver>>);

struct Driver {
    machine: Machine,
    source: EndpointSource,
    high_water: u32,
    messages_as_events: bool,
    socket: Option<(ConnId, Conn)>,
    /// Subprotocol and extensions of the last connection that opened (kept after it
    /// closes, as browsers keep them).
    negotiated: (String, String),
    /// The status folded from every event, for late subscribers.
    status: ConnectionStatus,
    /// Dropping a timer's sender cancels its task and clears the browser timer.
    timers: [Option<oneshot::Sender<()>>; Timer::ALL.len()],
    inbox: VecDeque<Message>,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
    subscribers: Vec<UnboundedSender<ConnectionEvent>>,
    clock: Clock,
    _page: Vec<Listener>,
    this: Weak<RefCell<Driver>>,
}

/// Wall-clock milliseconds (they keep counting while the machine sleeps, unlike timers),
/// made monotonic.
struct Clock {
    origin: f64,
    last: f64,
}

impl Clock {
    fn now(&mut self) -> Time {
        self.last = self.last.max(js_sys::Date::now() - self.origin);
        Duration::from_secs_f64(self.last / 1000.0)
    }
}

/// The machine's code for "close without a status code" (1005 is never sent on the wire).
const NO_STATUS: u16 = 1005;

fn seed() -> u64 {
    (js_sys::Math::random() * (1u64 << 53) as f64) as u64
}

impl Reconnecting {
    pub(crate) fn start(
        source: EndpointSource,
        high_water: u32,
        messages_as_events: bool,
        cfg: Config,
    ) -> Result<Self, Error> {
        let mut clock = Clock {
            origin: js_sys::Date::now(),
            last: 0.0,
        };
        let machine = Machine::new(cfg, seed(), clock.now());
        let driver = Rc::new_cyclic(|this: &Weak<RefCell<Driver>>| {
            RefCell::new(Driver {
                machine,
                source,
                high_water,
                messages_as_events,
                socket: None,
                negotiated: (String::new(), String::new()),
                status: ConnectionStatus::default(),
                timers: [None, None, None],
                inbox: VecDeque::new(),
                rx_waker: None,
                tx_waker: None,
                subscribers: Vec::new(),
                clock,
                _page: page_listeners(this),
                this: this.clone(),
            })
        });
        {
            let mut d = driver.borrow_mut();
            if let Some(online) = web_sys::window().map(|w| w.navigator().on_line()) {
                d.machine.set_online(online);
            }
            d.run();
        }
        Ok(Reconnecting(driver))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Driver) -> R) -> R {
        let mut d = self.0.borrow_mut();
        let out = f(&mut d);
        d.run();
        out
    }

    pub(crate) fn send(&self, message: Message) -> Result<SendOutcome, Error> {
        self.with(|d| d.machine.send(message))
    }

    pub(crate) fn poll_accept(&self, len: usize, cx: &mut Context<'_>) -> Accept {
        let mut d = self.0.borrow_mut();
        if d.machine.is_stopped() {
            return Accept::Stopped;
        }
        if !d.machine.can_accept(len) {
            d.tx_waker = Some(cx.waker().clone());
            return Accept::Wait;
        }
        match &d.socket {
            Some((_, conn))
                if d.machine.open_socket().is_some() && conn.buffered_amount() > d.high_water =>
            {
                Accept::Full
            }
            _ => Accept::Yes,
        }
    }

    pub(crate) fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let mut d = self.0.borrow_mut();
        if let Some(message) = d.inbox.pop_front() {
            return Poll::Ready(Some(message));
        }
        if d.machine.is_finished() {
            return Poll::Ready(None);
        }
        d.rx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    pub(crate) fn subscribe(&self) -> Subscription<ConnectionEvent> {
        let (tx, rx) = unbounded();
        let mut d = self.0.borrow_mut();
        if !d.machine.is_closed_for_good() {
            d.subscribers.push(tx);
        }
        Subscription::new(rx)
    }

    pub(crate) fn ready_state(&self) -> ReadyState {
        self.0.borrow().machine.ready_state()
    }
    pub(crate) fn attempt(&self) -> u32 {
        self.0.borrow().machine.attempt()
    }
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.0.borrow().machine.rtt()
    }
    pub(crate) fn queued_bytes(&self) -> usize {
        self.0.borrow().machine.queued_bytes()
    }
    pub(crate) fn is_stopped(&self) -> bool {
        self.0.borrow().machine.is_stopped()
    }
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut d = self.0.borrow_mut();
        if d.machine.is_finished() {
            return Poll::Ready(());
        }
        d.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }
    pub(crate) fn status(&self) -> ConnectionStatus {
        self.0.borrow().status.clone()
    }
    pub(crate) fn protocol(&self) -> String {
        self.0.borrow().negotiated.0.clone()
    }
    pub(crate) fn extensions(&self) -> String {
        self.0.borrow().negotiated.1.clone()
    }
    pub(crate) fn buffered_amount(&self) -> u32 {
        let d = self.0.borrow();
        match (&d.socket, d.machine.open_socket()) {
            (Some((_, conn)), Some(_)) => conn.buffered_amount(),
            _ => 0,
        }
    }
    /// `None` closes without a status code.
    pub(crate) fn close(&self, code: Option<CloseCode>, reason: &str) {
        let code = code.map_or(NO_STATUS, CloseCode::get);
        self.with(|d| d.machine.close(code, reason));
    }
    pub(crate) fn reconnect(&self) {
        self.with(|d| d.machine.reconnect());
    }
    pub(crate) fn backpressure_delay(&self) -> Delay {
        Delay::backpressure()
    }
}

impl Drop for Reconnecting {
    fn drop(&mut self) {
        // Close the socket now; the timers and listeners go with the driver.
        if let Ok(mut d) = self.0.try_borrow_mut() {
            d.machine.close(1000, "");
            d.run();
        }
    }
}

impl Driver {
    /// Carries out every pending action of the machine.
    fn run(&mut self) {
        let mut woken = Vec::new();
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Dial { id } => self.dial(id),
                Action::Write { id, message } => {
                    let written = match &self.socket {
                        Some((cur, conn)) if *cur == id => conn.send(&message).is_ok(),
                        _ => false,
                    };
                    // The socket is closing and its close event is on the way: keep the
                    // message for the next connection rather than lose it.
                    if !written {
                        self.machine.write_failed(message);
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
                    self.status = ConnectionStatus::Closing;
                    if let Some((cur, conn)) = &self.socket {
                        if *cur == id {
                            conn.close(CloseCode::new(code).ok(), &reason);
                        }
                    }
                }
                Action::SetTimer { timer, after } => self.set_timer(timer, after),
                Action::CancelTimer(timer) => self.timers[timer.index()] = None,
                Action::Emit(event) => {
                    if let Some(status) = ConnectionStatus::after(event.clone()) {
                        self.status = status;
                    }
                    if let (ConnectionEvent::Open { protocol }, Some((_, conn))) =
                        (&event, &self.socket)
                    {
                        self.negotiated = (protocol.clone(), conn.extensions());
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
                Action::Deliver(message) if self.messages_as_events => {
                    broadcast(&mut self.subscribers, ConnectionEvent::Message(message));
                }
                Action::Deliver(message) => {
                    self.inbox.push_back(message);
                    woken.extend(self.rx_waker.take());
                }
            }
        }
        woken.into_iter().for_each(Waker::wake);
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
                        let mut d = driver.borrow_mut();
                        match result {
                            Ok(endpoint) => d.open_socket(id, endpoint),
                            Err(reason) => {
                                let now = d.clock.now();
                                d.machine.on_dial_failed(
                                    id,
                                    format!("url provider: {reason}"),
                                    now,
                                );
                            }
                        }
                        d.run();
                    }
                });
            }
        }
    }

    fn open_socket(&mut self, id: ConnId, endpoint: Endpoint) {
        if !self.machine.is_dialing(id) {
            return; // Closed or replaced while the provider was running.
        }
        let opened = endpoint
            .validate()
            .and_then(|()| Conn::open(&endpoint.url, &endpoint.protocols, self.high_water));
        let conn = match opened {
            Ok(conn) => conn,
            Err(err) => {
                let now = self.clock.now();
                self.machine.on_dial_failed(id, err.to_string(), now);
                return;
            }
        };
        // Messages reach us through the event stream; the Conn must not keep its own copy.
        conn.receiver_dropped();
        let mut events = conn.subscribe_events();
        let this = self.this.clone();
        spawn_local(async move {
            // Ends when the Conn is dropped (its event senders go with it).
            while let Some(event) = std::future::poll_fn(|cx| events.poll_next(cx)).await {
                let Some(driver) = this.upgrade() else { return };
                let mut d = driver.borrow_mut();
                let now = d.clock.now();
                match event {
                    Event::Open { protocol } => d.machine.on_open(id, protocol, now),
                    Event::Message(message) => d.machine.on_message(id, message, now),
                    Event::Close(info) => d.machine.on_close(id, info, now),
                    Event::Error => {}
                }
                d.run();
            }
        });
        self.socket = Some((id, conn));
    }

    fn set_timer(&mut self, timer: Timer, after: Duration) {
        let (cancel_tx, cancel_rx) = oneshot::channel::<()>();
        self.timers[timer.index()] = Some(cancel_tx);
        let this = self.this.clone();
        let ms = u32::try_from(after.as_millis()).unwrap_or(u32::MAX);
        live::inc(&live::TIMERS);
        spawn_local(async move {
            let sleep = gloo_timers::future::TimeoutFuture::new(ms);
            let outcome = race(sleep, cancel_rx).await;
            live::dec(&live::TIMERS);
            // Cancelled (sender dropped) or fired: either way the browser timer is cleared.
            if let Outcome::Fired = outcome {
                if let Some(driver) = this.upgrade() {
                    let mut d = driver.borrow_mut();
                    let now = d.clock.now();
                    d.timers[timer.index()] = None;
                    d.machine.on_timer(timer, now);
                    d.run();
                }
            }
        });
    }
}

enum Outcome {
    Fired,
    Cancelled,
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

/// online/offline on the window and visibilitychange on the document, feeding the machine.
fn page_listeners(this: &Weak<RefCell<Driver>>) -> Vec<Listener> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let on = |online: bool| {
        let this = this.clone();
        move |_: web_sys::Event| {
            if let Some(driver) = this.upgrade() {
                let mut d = driver.borrow_mut();
                d.machine.set_online(online);
                d.run();
            }
        }
    };
    let mut listeners = vec![
        Listener::new(window.as_ref(), "online", on(true)),
        Listener::new(window.as_ref(), "offline", on(false)),
    ];
    if let Some(document) = window.document() {
        let this = this.clone();
        let doc = document.clone();
        listeners.push(Listener::new(
            document.unchecked_ref(),
            "visibilitychange",
            move |_| {
                if let Some(driver) = this.upgrade() {
                    let mut d = driver.borrow_mut();
                    d.machine
                        .set_visible(doc.visibility_state() == web_sys::VisibilityState::Visible);
                    d.run();
                }
            },
        ));
    }
    listeners
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.try_borrow() {
            Ok(d) => f
                .debug_struct("Reconnecting")
                .field("ready_state", &d.machine.ready_state())
                .field("attempt", &d.machine.attempt())
                .finish(),
            Err(_) => f.write_str("Reconnecting(..)"),
        }
    }
}
