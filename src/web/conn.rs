//! One browser connection and the state its callbacks feed: a `WebSocket` with four
//! listeners, or (opt-in, where the page has it) a `WebSocketStream` read only on demand
//! (`super::stream`). Both transports feed the same state through the same functions, so
//! events, states, close codes and errors are the same on either. Callbacks only record
//! state and wake tasks; all decisions are made by whoever polls.

use super::listener::Listener;
use super::stream::{self, StreamState, WebSocketStream, Writer};
use crate::socket::Writable;
use crate::{CloseCode, CloseInfo, Error, Event, Message, ReadyState};
use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_core::Stream;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent};

/// How often a sender waiting for `bufferedAmount` to drain looks again, in ms. Browsers
/// fire no event when it drains.
const BACKPRESSURE_POLL_MS: u32 = 5;

#[derive(Clone)]
pub(crate) struct Conn(Rc<Shared>);

#[derive(Clone)]
pub(crate) struct WeakConn(Weak<Shared>);

pub(crate) struct Shared {
    transport: Transport,
    high_water: u32,
    state: RefCell<State>,
}

enum Transport {
    Socket {
        ws: web_sys::WebSocket,
        _listeners: [Listener; 4],
    },
    /// Its task (`stream::run`) holds only a weak reference and ends after the close.
    /// Without the `receive-backpressure` feature there is none (see `core::Off`).
    #[cfg_attr(not(feature = "receive-backpressure"), allow(dead_code))]
    Stream(
        WebSocketStream,
        #[cfg(not(feature = "receive-backpressure"))] crate::core::Off,
    ),
}

struct State {
    opened: bool,
    closing_by_us: bool,
    close: Option<CloseInfo>,
    end_reported: bool,
    receiving: bool,
    inbox: VecDeque<Message>,
    rx_waker: Option<Waker>,
    /// Tasks waiting for the socket to open or close.
    waiters: Vec<Waker>,
    events: Vec<UnboundedSender<Event>>,
    states: Vec<UnboundedSender<ReadyState>>,
    stream: StreamState,
}

impl State {
    fn new() -> State {
        State {
            opened: false,
            closing_by_us: false,
            close: None,
            end_reported: false,
            receiving: true,
            inbox: VecDeque::new(),
            rx_waker: None,
            waiters: Vec::new(),
            events: Vec::new(),
            states: Vec::new(),
            stream: StreamState::default(),
        }
    }

    fn emit_event(&mut self, event: Event) {
        broadcast(&mut self.events, event);
    }

    fn emit_state(&mut self, state: ReadyState) {
        self.states.retain(|tx| tx.unbounded_send(state).is_ok());
    }

    /// The `readyState` a `WebSocketStream` connection would have.
    fn stream_ready_state(&self) -> ReadyState {
        if self.close.is_some() {
            ReadyState::Closed
        } else if self.closing_by_us {
            ReadyState::Closing
        } else if self.opened {
            ReadyState::Open
        } else {
            ReadyState::Connecting
        }
    }

    fn wait(&mut self, cx: &Context<'_>) {
        if !self.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            self.waiters.push(cx.waker().clone());
        }
    }
}

fn js_message(err: &JsValue) -> String {
    js_sys::Reflect::get(err, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| String::from("unknown browser error"))
}

impl Conn {
    /// Opens a connection; with `backpressure`, through `WebSocketStream` where the page has
    /// it.
    #[cfg_attr(not(feature = "receive-backpressure"), allow(unused_variables))]
    pub(crate) fn open(
        url: &str,
        protocols: &[String],
        high_water: u32,
        backpressure: bool,
    ) -> Result<Conn, Error> {
        #[cfg(feature = "receive-backpressure")]
        if backpressure && stream::available() {
            let ws = stream::open(url, protocols).map_err(|err| open_error(url, &err))?;
            let shared = Rc::new(Shared {
                transport: Transport::Stream(ws.clone()),
                high_water,
                state: RefCell::new(State::new()),
            });
            super::live::inc(&super::live::SOCKETS);
            wasm_bindgen_futures::spawn_local(stream::run(Rc::downgrade(&shared), ws));
            return Ok(Conn(shared));
        }
        let ws = if protocols.is_empty() {
            web_sys::WebSocket::new(url)
        } else {
            let list: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
            web_sys::WebSocket::new_with_str_sequence(url, &list)
        }
        .map_err(|err| open_error(url, &err))?;
        ws.set_binary_type(BinaryType::Arraybuffer);

        let shared = Rc::new_cyclic(|weak: &Weak<Shared>| {
            let target: &web_sys::EventTarget = ws.as_ref();
            let (w1, w2, w3, w4) = (weak.clone(), weak.clone(), weak.clone(), weak.clone());
            Shared {
                transport: Transport::Socket {
                    ws: ws.clone(),
                    _listeners: [
                        Listener::new(target, "open", move |_| on_open(&w1)),
                        Listener::new(target, "message", move |e| on_message(&w2, e)),
                        Listener::new(target, "error", move |_| {
                            if let Some(shared) = w3.upgrade() {
                                on_error(&shared);
                            }
                        }),
                        Listener::new(target, "close", move |e| on_close(&w4, e)),
                    ],
                },
                high_water,
                state: RefCell::new(State::new()),
            }
        });
        super::live::inc(&super::live::SOCKETS);
        Ok(Conn(shared))
    }

    fn state(&self) -> std::cell::RefMut<'_, State> {
        self.0.state.borrow_mut()
    }

    pub(crate) fn poll_opened(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut st = self.state();
        if st.opened {
            Poll::Ready(Ok(()))
        } else if let Some(info) = &st.close {
            Poll::Ready(Err(Error::ConnectFailed {
                code: info.code,
                reason: info.reason.clone(),
            }))
        } else {
            st.wait(cx);
            Poll::Pending
        }
    }

    pub(crate) fn ready_state(&self) -> ReadyState {
        match &self.0.transport {
            Transport::Socket { ws, .. } => ReadyState::from_u16(ws.ready_state()),
            Transport::Stream(..) => self.state().stream_ready_state(),
        }
    }

    pub(crate) fn protocol(&self) -> String {
        match &self.0.transport {
            Transport::Socket { ws, .. } => ws.protocol(),
            Transport::Stream(..) => self.state().stream.protocol.clone(),
        }
    }

    pub(crate) fn url(&self) -> String {
        match &self.0.transport {
            Transport::Socket { ws, .. } => ws.url(),
            Transport::Stream(ws, ..) => ws.url(),
        }
    }

    pub(crate) fn extensions(&self) -> String {
        match &self.0.transport {
            Transport::Socket { ws, .. } => ws.extensions(),
            Transport::Stream(..) => self.state().stream.extensions.clone(),
        }
    }

    /// On the stream transport: bytes of writes the browser hasn't taken yet.
    pub(crate) fn buffered_amount(&self) -> u32 {
        match &self.0.transport {
            Transport::Socket { ws, .. } => ws.buffered_amount(),
            Transport::Stream(..) => {
                let mut st = self.state();
                st.stream
                    .settle_writes(&mut Context::from_waker(Waker::noop()));
                st.stream.unsent
            }
        }
    }

    pub(crate) fn web_sys(&self) -> Option<&web_sys::WebSocket> {
        match &self.0.transport {
            Transport::Socket { ws, .. } => Some(ws),
            Transport::Stream(..) => None,
        }
    }

    /// Whether messages are read through `WebSocketStream`, only as the consumer asks.
    pub(crate) fn reads_with_backpressure(&self) -> bool {
        matches!(self.0.transport, Transport::Stream(..))
    }

    pub(crate) fn subscribe_events(&self) -> Subscription<Event> {
        let (tx, rx) = unbounded();
        let mut st = self.state();
        if st.close.is_none() {
            st.events.push(tx);
        }
        Subscription::new(rx)
    }

    pub(crate) fn subscribe_states(&self) -> Subscription<ReadyState> {
        let (tx, rx) = unbounded();
        let mut st = self.state();
        if st.close.is_none() {
            st.states.push(tx);
        }
        Subscription::new(rx)
    }

    /// Starts closing; `None` sends no status code (the peer sees 1005).
    pub(crate) fn close(&self, code: Option<CloseCode>, reason: &str) {
        let live = matches!(
            self.ready_state(),
            ReadyState::Connecting | ReadyState::Open
        );
        let waiters = {
            let mut st = self.state();
            if st.closing_by_us || !live {
                return;
            }
            st.closing_by_us = true;
            match &self.0.transport {
                // Code and reason were validated by the caller, so this cannot throw.
                Transport::Socket { ws, .. } => {
                    let _ = match code {
                        Some(code) => ws.close_with_code_and_reason(code.get(), reason),
                        None => ws.close(),
                    };
                }
                Transport::Stream(ws, ..) => stream::close(ws, code.map(CloseCode::get), reason),
            }
            st.emit_state(ReadyState::Closing);
            std::mem::take(&mut st.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<CloseInfo> {
        let mut st = self.state();
        match &st.close {
            Some(info) => Poll::Ready(info.clone()),
            None => {
                st.wait(cx);
                Poll::Pending
            }
        }
    }

    pub(crate) fn send(&self, message: &Message) -> Result<(), Error> {
        match self.ready_state() {
            ReadyState::Open if !self.state().closing_by_us => {}
            ReadyState::Connecting if !self.state().closing_by_us => return Err(Error::NotOpen),
            _ => return Err(Error::AlreadyClosed),
        }
        let ws = match &self.0.transport {
            Transport::Socket { ws, .. } => ws,
            Transport::Stream(..) => return self.state().stream.write(message),
        };
        match message {
            Message::Text(text) => ws.send_with_str(text),
            Message::Binary(bytes) => ws.send_with_u8_array(bytes),
        }
        .map_err(|err| Error::Browser {
            message: js_message(&err),
        })
    }

    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Writable {
        let ready_state = self.ready_state();
        let buffered = match &self.0.transport {
            Transport::Socket { ws, .. } => ws.buffered_amount(),
            Transport::Stream(..) => {
                // Settling writes wake this task: no need for the sender's timer.
                let mut st = self.state();
                st.stream.settle_writes(cx);
                st.stream.unsent
            }
        };
        let mut st = self.state();
        if st.closing_by_us {
            return Writable::Closed;
        }
        match ready_state {
            ReadyState::Connecting => {
                st.wait(cx);
                Writable::Connecting
            }
            ReadyState::Open if buffered > self.0.high_water => {
                // The drain timer wakes the sender; this lets a close wake it sooner.
                st.wait(cx);
                Writable::Full
            }
            ReadyState::Open => Writable::Yes,
            ReadyState::Closing | ReadyState::Closed => Writable::Closed,
        }
    }

    pub(crate) fn poll_message(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        let mut st = self.state();
        if let Some(message) = st.inbox.pop_front() {
            return Poll::Ready(Some(Ok(message)));
        }
        let Some(info) = st.close.clone() else {
            st.rx_waker = Some(cx.waker().clone());
            // The stream transport reads one message now (nothing on the other).
            st.stream.demand = true;
            if let Some(waker) = st.stream.reader_waker.take() {
                drop(st);
                waker.wake();
            }
            return Poll::Pending;
        };
        if std::mem::replace(&mut st.end_reported, true) || st.closing_by_us || info.is_normal() {
            return Poll::Ready(None);
        }
        let CloseInfo {
            code,
            reason,
            was_clean,
        } = info;
        Poll::Ready(Some(Err(if st.opened {
            Error::Closed {
                code,
                reason,
                was_clean,
            }
        } else {
            Error::ConnectFailed { code, reason }
        })))
    }

    /// With nobody reading the stream (after `receiver_dropped`), stops or resumes reading
    /// on the stream transport; messages then reach the event subscribers only as reading
    /// allows. Nothing changes on the `WebSocket` transport, which can't stop reading.
    pub(crate) fn pause_reading(&self, paused: bool) {
        let waker = {
            let mut st = self.state();
            if std::mem::replace(&mut st.stream.read_paused, paused) == paused || paused {
                return;
            }
            st.stream.reader_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn receiver_dropped(&self) {
        let mut st = self.state();
        st.receiving = false;
        st.inbox = VecDeque::new();
    }

    pub(crate) fn downgrade(&self) -> WeakConn {
        WeakConn(Rc::downgrade(&self.0))
    }

    pub(crate) fn backpressure_delay(&self) -> Delay {
        Delay(gloo_timers::future::TimeoutFuture::new(
            BACKPRESSURE_POLL_MS,
        ))
    }
}

impl WeakConn {
    pub(crate) fn upgrade(&self) -> Option<Conn> {
        self.0.upgrade().map(Conn)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        super::live::dec(&super::live::SOCKETS);
        match &self.transport {
            // The listeners are removed right after this, when the fields drop.
            Transport::Socket { ws, .. } => {
                let live = matches!(
                    ReadyState::from_u16(ws.ready_state()),
                    ReadyState::Connecting | ReadyState::Open
                );
                if live {
                    let _ = ws.close_with_code(CloseCode::NORMAL.get());
                }
            }
            // Settles the stream's promises, which ends its task.
            Transport::Stream(ws, ..) => {
                let st = self.state.borrow();
                if st.close.is_none() && !st.closing_by_us {
                    stream::close(ws, Some(CloseCode::NORMAL.get()), "");
                }
            }
        }
    }
}

fn open_error(url: &str, err: &JsValue) -> Error {
    match js_message(err) {
        // Our checks ran first, so this is the browser's finer URL parser speaking.
        // Compared as bytes: `str::contains("URL")` links a substring searcher (0.7 KB gzip).
        m if m.as_bytes().windows(3).any(|w| w == b"URL" || w == b"url") => Error::InvalidUrl {
            url: url.to_owned(),
            reason: "the browser could not parse it",
        },
        message => Error::Browser { message },
    }
}

fn on_open(weak: &Weak<Shared>) {
    let Some(shared) = weak.upgrade() else { return };
    let Transport::Socket { ws, .. } = &shared.transport else {
        return;
    };
    opened(&shared, ws.protocol());
}

/// The stream transport's `opened`: keeps the writer and what was negotiated, then opens.
pub(super) fn on_stream_open(
    shared: &Shared,
    writer: Writer,
    protocol: String,
    extensions: String,
) {
    {
        let mut st = shared.state.borrow_mut();
        st.stream.writer = Some(writer);
        st.stream.protocol = protocol.clone();
        st.stream.extensions = extensions;
    }
    opened(shared, protocol);
}

fn opened(shared: &Shared, protocol: String) {
    let waiters = {
        let mut st = shared.state.borrow_mut();
        st.opened = true;
        st.emit_event(Event::Open { protocol });
        st.emit_state(ReadyState::Open);
        std::mem::take(&mut st.waiters)
    };
    waiters.into_iter().for_each(Waker::wake);
}

fn on_message(weak: &Weak<Shared>, event: web_sys::Event) {
    let Some(shared) = weak.upgrade() else { return };
    let Ok(event) = event.dyn_into::<MessageEvent>() else {
        return;
    };
    let data = event.data();
    let message = match data.as_string() {
        Some(text) => Message::Text(text),
        // binaryType is "arraybuffer", so every binary message is an ArrayBuffer.
        None => Message::Binary(js_sys::Uint8Array::new(&data).to_vec()),
    };
    deliver(&shared, message);
}

/// The stream transport's task may read a message: the consumer is waiting for one, or
/// nobody reads the stream (then messages go to the event subscribers only, as they come)
/// and reading isn't paused.
/// Otherwise `cx` is woken when the consumer asks.
pub(super) fn wants_message(shared: &Shared, cx: &Context<'_>) -> bool {
    let mut st = shared.state.borrow_mut();
    if st.stream.demand || (!st.receiving && !st.stream.read_paused) {
        return true;
    }
    st.stream.reader_waker = Some(cx.waker().clone());
    false
}

/// A message received: to the inbox and the event subscribers.
pub(super) fn deliver(shared: &Shared, message: Message) {
    let waker = {
        let mut st = shared.state.borrow_mut();
        st.stream.demand = false;
        if !st.receiving {
            // Nobody reads the stream (the reconnecting driver): the message itself goes on.
            st.emit_event(Event::Message(message));
            return;
        }
        if !st.events.is_empty() {
            st.emit_event(Event::Message(message.clone()));
        }
        st.inbox.push_back(message);
        st.rx_waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

pub(super) fn on_error(shared: &Shared) {
    let opened = {
        let mut st = shared.state.borrow_mut();
        st.emit_event(Event::Error);
        st.opened
    };
    // An error before open ends the attempt: browsers fire it only when failing the
    // connection, and follow it with close 1006, except WebKit for a refused connection (a
    // blocked port): error with readyState still CONNECTING, then CLOSED, and no `close`.
    // So finish it here as the others report it; a `close` that follows is ignored. The npm
    // glue (js/index.js, `onerror`) does the same.
    if !opened {
        let info = CloseInfo {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        };
        finish(shared, info);
    }
}

fn on_close(weak: &Weak<Shared>, event: web_sys::Event) {
    let Some(shared) = weak.upgrade() else { return };
    let Ok(event) = event.dyn_into::<CloseEvent>() else {
        return;
    };
    // As the reconnecting socket's machine reads it: a code below 1000 (Deno's 0 for a
    // drop) is reported as the standard code.
    let info = CloseInfo {
        code: event.code(),
        reason: event.reason(),
        was_clean: event.was_clean(),
    }
    .standard();
    finish(&shared, info);
}

/// Records the close once and wakes everyone waiting on the socket.
pub(super) fn finish(shared: &Shared, info: CloseInfo) {
    let (rx_waker, waiters) = {
        let mut st = shared.state.borrow_mut();
        if st.close.is_some() {
            return;
        }
        st.emit_event(Event::Close(info.clone()));
        st.emit_state(ReadyState::Closed);
        // Nothing follows a close: end the subscribers' streams.
        st.events.clear();
        st.states.clear();
        st.close = Some(info);
        (st.rx_waker.take(), std::mem::take(&mut st.waiters))
    };
    rx_waker.into_iter().chain(waiters).for_each(Waker::wake);
}

/// Sends `item` to every live subscriber, dropping those that are gone. Only the extra
/// subscribers get a copy: the last one takes the item itself (messages pass here).
pub(crate) fn broadcast<T: Clone>(subscribers: &mut Vec<UnboundedSender<T>>, item: T) {
    subscribers.retain(|tx| !tx.is_closed());
    if let Some((last, rest)) = subscribers.split_last() {
        for tx in rest {
            let _ = tx.unbounded_send(item.clone());
        }
        let _ = last.unbounded_send(item);
    }
}

/// A stream of values pushed by the listeners. `!Send` like the socket it came from (the
/// channel alone would be `Send`), so the public stream types are the same on every target.
#[derive(Debug)]
pub(crate) struct Subscription<T>(UnboundedReceiver<T>, std::marker::PhantomData<Rc<()>>);

impl<T> Subscription<T> {
    pub(crate) fn new(rx: UnboundedReceiver<T>) -> Self {
        Subscription(rx, std::marker::PhantomData)
    }

    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

/// A one-shot timer; dropping it clears the browser timer.
pub(crate) struct Delay(gloo_timers::future::TimeoutFuture);

impl Delay {
    /// The wait before a sender looks at `bufferedAmount` again.
    pub(crate) fn backpressure() -> Delay {
        Delay(gloo_timers::future::TimeoutFuture::new(
            BACKPRESSURE_POLL_MS,
        ))
    }
}

impl Future for Delay {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl std::fmt::Debug for Delay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Delay")
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("url", &self.url())
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl std::fmt::Debug for WeakConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeakConn")
    }
}
