//! The single-connection socket: the public types and their `Stream`/`Sink` impls. All
//! browser work is delegated to `crate::sys` (the web driver on wasm32, a stub elsewhere).

use crate::core::{close::check_reason, validate};
use crate::sys;
use crate::{CloseCode, CloseInfo, Error, Event, Message, ReadyState};
use futures_core::Stream;
use futures_sink::Sink;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The default backpressure high-water mark: 1 MiB.
///
/// Large enough that a burst of ordinary messages never waits, small enough that a slow
/// peer stalls the sender before the browser buffers megabytes on its behalf.
pub const DEFAULT_HIGH_WATER_MARK: u32 = 1 << 20;

/// Options for opening a [`WebSocket`]. Start with [`WebSocket::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` or `connect` is called"]
pub struct WebSocketBuilder {
    url: String,
    protocols: Vec<String>,
    high_water_mark: u32,
    receive_backpressure: bool,
}

impl WebSocketBuilder {
    /// Offers one more subprotocol (the server picks at most one; see
    /// [`WebSocket::protocol`]). Names must be unique HTTP tokens.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocols.push(protocol.into());
        self
    }

    /// Offers these subprotocols, in order of preference, replacing any offered before.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// While the browser holds more than this many bytes not yet sent (`bufferedAmount`),
    /// the `Sink` is not ready. Default [`DEFAULT_HIGH_WATER_MARK`]; must be at least 1.
    pub fn high_water_mark(mut self, bytes: u32) -> Self {
        self.high_water_mark = bytes;
        self
    }

    /// Reads messages only as fast as the `Stream` is polled, so that a consumer that falls
    /// behind slows the server down (TCP backpressure) instead of the browser buffering
    /// everything the server sends. Default `false`.
    ///
    /// Works where the page has `WebSocketStream` (Chromium 124 and later; checked when the
    /// socket opens); elsewhere (Firefox, Safari today) the option does nothing and the
    /// socket behaves as without it. [`WebSocket::reads_with_backpressure`] says which path a
    /// socket took. Events, states, close codes and errors are the same on both; what
    /// differs on the `WebSocketStream` path:
    ///
    /// - [`WebSocket::events`] sees each message when the `Stream` takes it, not sooner, and
    ///   a close only after the messages before it were read;
    /// - there is no `bufferedAmount`: the `Sink`'s backpressure and
    ///   [`WebSocket::buffered_amount`] count the bytes of messages the browser hasn't taken
    ///   yet (each write settles when it has);
    /// - `WebSocket::as_web_sys` (on wasm32, where the browser socket is) returns `None`.
    ///
    /// Off by default because of those differences and because only Chromium has it.
    pub fn receive_backpressure(mut self, enabled: bool) -> Self {
        self.receive_backpressure = enabled;
        self
    }

    /// Checks the options and starts the handshake; the socket returned is
    /// [`ReadyState::Connecting`]. Subscribe to [`WebSocket::events`] here to see every event,
    /// `open` included. The `Sink` waits until the socket opens.
    pub fn open(self) -> Result<WebSocket, Error> {
        let url = sys::resolve_url(&self.url)?;
        validate::check_protocols(&self.protocols)?;
        if self.high_water_mark == 0 {
            return Err(Error::InvalidOption {
                field: "high_water_mark",
                allowed: "a byte count of at least 1",
            });
        }
        let conn = sys::Conn::open(
            &url,
            &self.protocols,
            self.high_water_mark,
            self.receive_backpressure,
        )?;
        Ok(WebSocket {
            tx: WsSender {
                conn: conn.clone(),
                wait: None,
            },
            rx: WsReceiver { conn },
        })
    }

    /// Opens the socket and waits until it is open.
    ///
    /// Fails with [`Error::ConnectFailed`] (carrying the close code and reason) when the
    /// connection never opens. Dropping the returned future closes the attempt and detaches
    /// everything.
    pub async fn connect(self) -> Result<WebSocket, Error> {
        let ws = self.open()?;
        std::future::poll_fn(|cx| ws.rx.conn.poll_opened(cx)).await?;
        Ok(ws)
    }
}

/// One browser WebSocket connection, as a `Stream` of incoming messages and a `Sink` of
/// outgoing ones. No reconnect.
///
/// - The stream yields `Ok(Message)` for each message. After a normal close (clean, with 1000
///   or no code, or a clean close this side started) it ends with `None`; after any other
///   close it yields one `Err` with the code and reason, then `None`.
/// - The sink is not ready while connecting or while more than the high-water mark is
///   buffered; once the socket is closing or closed it returns [`Error::AlreadyClosed`].
///   `close` sends a normal close frame and resolves when the socket has closed.
/// - Dropping the socket (both halves, after [`split`](WebSocket::split)) closes it with 1000
///   and removes every listener.
///
/// ```no_run
/// use futures::{SinkExt, StreamExt};
/// use ws_tether::{Message, WebSocket};
///
/// # async fn run() -> Result<(), ws_tether::Error> {
/// let mut ws = WebSocket::connect("wss://example.com/echo").await?;
/// ws.send(Message::Text("hello".into())).await?;
/// while let Some(message) = ws.next().await {
///     println!("{:?}", message?);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocket {
    tx: WsSender,
    rx: WsReceiver,
}

impl WebSocket {
    /// A builder for a socket to `url` (`ws://` or `wss://`).
    pub fn builder(url: impl Into<String>) -> WebSocketBuilder {
        WebSocketBuilder {
            url: url.into(),
            protocols: Vec::new(),
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            receive_backpressure: false,
        }
    }

    /// Connects to `url` with default options and waits until the socket is open.
    pub async fn connect(url: impl Into<String>) -> Result<WebSocket, Error> {
        WebSocket::builder(url).connect().await
    }

    /// Splits into a sending and a receiving half. Either half, or a [`CloseHandle`], can
    /// close the connection; it stays open until both halves are dropped or it is closed.
    pub fn split(self) -> (WsSender, WsReceiver) {
        (self.tx, self.rx)
    }

    /// The browser's `readyState` now.
    pub fn ready_state(&self) -> ReadyState {
        self.rx.conn.ready_state()
    }

    /// The subprotocol the server selected; empty if none (or not open yet).
    pub fn protocol(&self) -> String {
        self.rx.conn.protocol()
    }

    /// The URL as the browser resolved it.
    pub fn url(&self) -> String {
        self.rx.conn.url()
    }

    /// The extensions the server selected (e.g. `permessage-deflate`).
    pub fn extensions(&self) -> String {
        self.rx.conn.extensions()
    }

    /// Bytes handed to the browser but not yet sent on the network (on the
    /// `WebSocketStream` path: not yet taken by the browser).
    pub fn buffered_amount(&self) -> u32 {
        self.rx.conn.buffered_amount()
    }

    /// Whether this socket reads through `WebSocketStream`, only as fast as its `Stream` is
    /// polled: asked for with [`WebSocketBuilder::receive_backpressure`] and available in
    /// this browser.
    pub fn reads_with_backpressure(&self) -> bool {
        self.rx.conn.reads_with_backpressure()
    }

    /// The browser's own socket underneath, for what this type doesn't cover (wasm32 only);
    /// `None` when the socket reads through `WebSocketStream`
    /// ([`WebSocketBuilder::receive_backpressure`]), which has no `WebSocket` object.
    ///
    /// Read it freely. Writing through it bypasses this type: don't change `binaryType`
    /// (binary messages would stop arriving) or set its `on*` handlers (ours are listeners
    /// and keep working, but yours would see the same events); a `send` or `close` on it
    /// works but skips the checks and the `Sink`'s backpressure.
    #[cfg(target_arch = "wasm32")]
    #[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
    pub fn as_web_sys(&self) -> Option<&web_sys::WebSocket> {
        self.rx.conn.web_sys()
    }

    /// A stream of every event from now on: open (if still connecting), message, error and
    /// close. It ends after the close event, or when the socket is dropped. Independent of
    /// the message stream: both see every message.
    pub fn events(&self) -> Events {
        Events(self.rx.conn.subscribe_events())
    }

    /// A stream of `readyState` changes from now on: `Open`, `Closing` (when this side starts
    /// a close) and `Closed`. It ends after `Closed`.
    pub fn state_changes(&self) -> StateChanges {
        StateChanges(self.rx.conn.subscribe_states())
    }

    /// A cloneable handle that can close this socket from anywhere; it doesn't keep the
    /// socket alive.
    pub fn close_handle(&self) -> CloseHandle {
        self.rx.close_handle()
    }

    /// Starts a normal close (code 1000). Messages already received stay readable; the
    /// stream then ends with `None`. Does nothing if already closing or closed.
    pub fn close(&self) {
        self.rx.conn.close(Some(CloseCode::NORMAL), "");
    }

    /// Starts a close with this code and reason (at most 123 bytes of UTF-8). Does nothing if
    /// already closing or closed.
    pub fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        check_reason(reason)?;
        self.rx.conn.close(Some(code), reason);
        Ok(())
    }

    /// Resolves when the socket has closed, with how it closed.
    pub async fn closed(&self) -> CloseInfo {
        std::future::poll_fn(|cx| self.rx.conn.poll_closed(cx)).await
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

impl Sink<Message> for WebSocket {
    type Error = Error;
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().tx).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().tx).start_send(item)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().tx).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().tx).poll_close(cx)
    }
}

/// What the sink's `poll_ready` found; the driver registers the waker for `Connecting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) enum Writable {
    Yes,
    Connecting,
    Full,
    Closed,
}

/// The sending half of a [`WebSocket`]: a `Sink<Message>`.
#[derive(Debug)]
pub struct WsSender {
    conn: sys::Conn,
    /// Browsers fire no event when `bufferedAmount` drains, so a full buffer is re-checked
    /// on this timer.
    wait: Option<sys::Delay>,
}

impl WsSender {
    /// Sends a message now if the socket is open, without waiting for buffer space.
    /// [`Error::AlreadyClosed`] when closing or closed; the `Sink` is the waiting variant.
    pub fn send_now(&self, message: &Message) -> Result<(), Error> {
        self.conn.send(message)
    }

    /// Bytes handed to the browser but not yet sent on the network (on the
    /// `WebSocketStream` path: not yet taken by the browser).
    pub fn buffered_amount(&self) -> u32 {
        self.conn.buffered_amount()
    }

    /// The browser's `readyState` now.
    pub fn ready_state(&self) -> ReadyState {
        self.conn.ready_state()
    }

    /// A handle that can close the connection.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle(self.conn.downgrade())
    }
}

impl Sink<Message> for WsSender {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = &mut *self;
        loop {
            match this.conn.poll_writable(cx) {
                Writable::Yes => {
                    this.wait = None;
                    return Poll::Ready(Ok(()));
                }
                Writable::Closed => {
                    this.wait = None;
                    return Poll::Ready(Err(Error::AlreadyClosed));
                }
                Writable::Connecting => return Poll::Pending,
                Writable::Full => {
                    let conn = &this.conn;
                    let wait = this.wait.get_or_insert_with(|| conn.backpressure_delay());
                    if Pin::new(wait).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.wait = None;
                }
            }
        }
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.conn.send(&item)
    }

    /// The browser takes ownership of each message on `start_send`; there is nothing to
    /// flush. Fails only when closed.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    /// Sends a normal close frame (if not closing already) and resolves once closed.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.conn.close(Some(CloseCode::NORMAL), "");
        self.conn.poll_closed(cx).map(|_| Ok(()))
    }
}

/// The receiving half of a [`WebSocket`]: a `Stream` of messages.
#[derive(Debug)]
pub struct WsReceiver {
    conn: sys::Conn,
}

impl WsReceiver {
    /// The browser's `readyState` now.
    pub fn ready_state(&self) -> ReadyState {
        self.conn.ready_state()
    }

    /// A handle that can close the connection.
    pub fn close_handle(&self) -> CloseHandle {
        CloseHandle(self.conn.downgrade())
    }
}

impl Stream for WsReceiver {
    type Item = Result<Message, Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.conn.poll_message(cx)
    }
}

impl Drop for WsReceiver {
    fn drop(&mut self) {
        // Nobody will read: stop queueing incoming messages.
        self.conn.receiver_dropped();
    }
}

/// Closes a socket from anywhere. Cloneable; it doesn't keep the socket alive, and closing
/// a socket that is already gone does nothing.
#[derive(Debug, Clone)]
pub struct CloseHandle(sys::WeakConn);

impl CloseHandle {
    /// Starts a normal close (code 1000).
    pub fn close(&self) {
        if let Some(conn) = self.0.upgrade() {
            conn.close(Some(CloseCode::NORMAL), "");
        }
    }

    /// Starts a close with this code and reason (at most 123 bytes of UTF-8).
    pub fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        check_reason(reason)?;
        if let Some(conn) = self.0.upgrade() {
            conn.close(Some(code), reason);
        }
        Ok(())
    }

    /// The socket's `readyState`; `Closed` once the socket is gone.
    pub fn ready_state(&self) -> ReadyState {
        self.0
            .upgrade()
            .map_or(ReadyState::Closed, |conn| conn.ready_state())
    }
}

/// The stream returned by [`WebSocket::events`].
#[derive(Debug)]
pub struct Events(sys::Subscription<Event>);

impl Stream for Events {
    type Item = Event;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.0.poll_next(cx)
    }
}

/// The stream returned by [`WebSocket::state_changes`].
#[derive(Debug)]
pub struct StateChanges(sys::Subscription<ReadyState>);

impl Stream for StateChanges {
    type Item = ReadyState;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ReadyState>> {
        self.0.poll_next(cx)
    }
}
