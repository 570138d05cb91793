#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

/// The core library, for the options and types not re-exported here.
pub use ws_tether;
/// The connection status, from the core library.
pub use ws_tether::ConnectionStatus as Status;
/// Which socket holds a shared connection (the `share` feature).
#[cfg(feature = "share")]
#[cfg_attr(docsrs, doc(cfg(feature = "share")))]
pub use ws_tether::Holder;
/// JSON over text frames, for [`use_reconnecting_websocket_typed`] and
/// [`WebSocketHandle::send_encoded`] (the `serde` feature).
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use ws_tether::Json;
pub use ws_tether::{
    Backoff, CloseCode, ClosePolicy, ConnectionEvent, Decoder, Encoder, Error, ExponentialBackoff,
    Heartbeat, LostReason, Message, Overflow, ReconnectingBuilder, Resume, SendOutcome,
};
pub use ws_tether_hooks::{Connection, Delivery, Options, Sent, Session};

use leptos::prelude::*;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::time::Duration;
use ws_tether_hooks::Update;

/// Opens a reconnecting WebSocket to `url` for the current component's lifetime, with the
/// default options; see [`use_reconnecting_websocket_with`].
pub fn use_reconnecting_websocket(
    url: impl Into<Signal<String>>,
    on_message: impl Fn(Message) + 'static,
) -> WebSocketHandle {
    use_reconnecting_websocket_with(url, Options::new(), on_message)
}

/// A hook typed both ways: `on_message` gets each message decoded by `codec` (such as
/// `Json`, with the `serde` feature) into an `R`, or the [`Error::Codec`] saying why it
/// isn't one, and [`TypedWebSocketHandle::send`] takes an `S`, encoded by the same codec.
/// Options as [`use_reconnecting_websocket_with`]'s.
///
/// `S` is inferred from the sends; annotate the handle (`TypedWebSocketHandle<Say, Json>`)
/// if the component sends nothing.
pub fn use_reconnecting_websocket_typed<R, S, C>(
    url: impl Into<Signal<String>>,
    options: Options,
    codec: C,
    on_message: impl Fn(Result<R, Error>) + 'static,
) -> TypedWebSocketHandle<S, C>
where
    R: 'static,
    C: Decoder<R> + Encoder<S> + Clone + Send + Sync + 'static,
{
    let decoder = codec.clone();
    let handle = use_reconnecting_websocket_with(url, options, decoder.callback(on_message));
    TypedWebSocketHandle {
        handle,
        codec,
        sends: PhantomData,
    }
}

/// Opens a reconnecting WebSocket to `url` for the current component's lifetime.
///
/// - `options`: the socket's options ([`Options::configure`]: backoff, heartbeat, resume,
///   queue...), [`Options::manual`] to connect only on [`WebSocketHandle::connect`],
///   [`Options::on_open`] to run on every open (with resume too), [`Options::on_event`].
/// - `on_message` is called once for every message, in the order they arrived, across
///   reconnects. Update signals from it: Leptos renders after it returns, not inside it.
/// - The socket is opened by the first send (so a send while the component is created is
///   queued as any later one) or else by an [`Effect`]: never while rendering on the
///   server. `url` may be relative (`"/ws"`) and may be a signal: when it changes, the old
///   socket is closed and a new one opened, with a new [`Session`].
/// - When the owner is cleaned up (the component unmounts), the socket is closed with 1000,
///   its timers and listeners are removed, and `on_message` is not called again.
///
/// If the options are rejected, [`WebSocketHandle::status`] becomes [`Status::Failed`].
pub fn use_reconnecting_websocket_with(
    url: impl Into<Signal<String>>,
    options: Options,
    on_message: impl Fn(Message) + 'static,
) -> WebSocketHandle {
    let url = url.into();
    let status = RwSignal::new(Status::default());
    let session = RwSignal::new(Session::New);
    let connection = Connection::new(url.get_untracked(), options, on_message, move |update| {
        // The signals may be gone already if the owner is being torn down.
        match update {
            Update::Status(next) => drop(status.try_set(next)),
            // Only with resume (without, the session stays `New`): compiled out without it.
            Update::Session(next) if Resume::AVAILABLE => drop(session.try_set(next)),
            _ => {}
        }
    });
    // Leptos's reactive values must be `Send + Sync`; the socket is not, so the connection
    // lives in local storage and only the handle travels. Disposing of it with the owner
    // closes the socket, also if the effect never ran.
    let connection = StoredValue::new_local(connection);

    Effect::new(move |_| {
        let url = url.get();
        // The options' closure may read signals: the effect tracks only the URL.
        untrack(|| {
            if let Some(connection) = connection.try_get_value() {
                connection.sync(url);
            }
        });
        // Runs before the effect runs again (a new URL) and when the owner is cleaned up.
        on_cleanup(move || {
            if let Some(connection) = connection.try_get_value() {
                connection.release();
            }
        });
    });
    on_cleanup(move || {
        if let Some(connection) = connection.try_get_value() {
            connection.stop();
        }
    });

    WebSocketHandle {
        status: status.read_only().into(),
        session: session.read_only().into(),
        connection,
    }
}

/// What [`use_reconnecting_websocket`] returns: the reactive status and session, and the
/// ways to act on the socket. It is `Copy`, so move it into as many closures as you like,
/// or [`provide_context`] it to share one socket with child components.
#[derive(Clone, Copy)]
pub struct WebSocketHandle {
    /// The connection's status; reading it in a reactive context subscribes to it.
    pub status: Signal<Status>,
    /// The current socket's resume session: [`Session::New`] (always without resume, and
    /// again for each new socket), [`Session::Resumed`], or [`Session::Lost`], on which you
    /// resynchronise your state.
    pub session: Signal<Session>,
    connection: StoredValue<Connection, LocalStorage>,
}

impl WebSocketHandle {
    /// The hook's [`Connection`], while the component lives.
    pub fn connection(&self) -> Option<Connection> {
        self.connection.try_get_value()
    }

    fn with<T>(&self, act: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        match self.connection.try_get_value() {
            Some(connection) => act(&connection),
            None => Err(Error::Stopped),
        }
    }

    /// Writes `message` if open, otherwise queues it, from the first render on; see
    /// [`Connection::send`]. [`Error::Stopped`] once the component is gone.
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        self.with(|c| c.send(message))
    }

    /// Encodes `value` with `encoder` (such as `Json`) and sends it as
    /// [`send`](Self::send) does; [`Error::Codec`] if it can't be encoded.
    pub fn send_encoded<T: ?Sized>(
        &self,
        encoder: &impl Encoder<T>,
        value: &T,
    ) -> Result<SendOutcome, Error> {
        self.with(|c| c.send_encoded(encoder, value))
    }

    /// Sends as [`send`](Self::send) does and follows the message to "delivered" (with
    /// resume); see [`Connection::send_tracked`].
    pub fn send_tracked(&self, message: impl Into<Message>) -> Result<Sent, Error> {
        self.with(|c| c.send_tracked(message))
    }

    /// Resolves once the server acknowledged everything sent so far (with resume); see
    /// [`Connection::flush`].
    pub fn flush(&self) -> impl Future<Output = Result<(), Error>> + 'static {
        let connection = self.connection.try_get_value();
        async move {
            match connection {
                Some(connection) => connection.flush().await,
                None => Err(Error::Stopped),
            }
        }
    }

    /// Closes the socket for good with 1000; see [`Connection::close`].
    pub fn close(&self) {
        if let Some(c) = self.connection() {
            c.close();
        }
    }

    /// Dials again at once; after [`close`](Self::close) opens a new socket to the same
    /// URL (a new session).
    pub fn reconnect(&self) {
        if let Some(c) = self.connection() {
            c.reconnect();
        }
    }

    /// With [`Options::manual`]: opens the socket now.
    pub fn connect(&self) {
        if let Some(c) = self.connection() {
            c.connect();
        }
    }

    /// The last heartbeat round-trip time, if the heartbeat is on and was answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.connection().and_then(|c| c.rtt())
    }

    /// Bytes waiting in the send queue.
    pub fn queued_bytes(&self) -> usize {
        self.connection().map_or(0, |c| c.queued_bytes())
    }
}

impl std::fmt::Debug for WebSocketHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketHandle")
            .field("status", &self.status.try_get_untracked())
            .finish_non_exhaustive()
    }
}

/// What [`use_reconnecting_websocket_typed`] returns: a [`WebSocketHandle`] (it derefs to
/// one: status, session, flush, close...) whose [`send`](Self::send) takes an `S`.
pub struct TypedWebSocketHandle<S, C> {
    handle: WebSocketHandle,
    codec: C,
    sends: PhantomData<fn(S)>,
}

impl<S, C: Encoder<S>> TypedWebSocketHandle<S, C> {
    /// Encodes `value` and sends it as [`WebSocketHandle::send`] does;
    /// [`Error::Codec`] if it can't be encoded.
    pub fn send(&self, value: S) -> Result<SendOutcome, Error> {
        self.handle.send_encoded(&self.codec, &value)
    }

    /// Encodes `value` and sends it as [`WebSocketHandle::send_tracked`] does.
    pub fn send_tracked(&self, value: S) -> Result<Sent, Error> {
        self.handle.send_tracked(self.codec.encode(&value)?)
    }

    /// The untyped handle.
    pub fn untyped(&self) -> WebSocketHandle {
        self.handle
    }
}

impl<S, C> Deref for TypedWebSocketHandle<S, C> {
    type Target = WebSocketHandle;
    fn deref(&self) -> &WebSocketHandle {
        &self.handle
    }
}

impl<S, C: Clone> Clone for TypedWebSocketHandle<S, C> {
    fn clone(&self) -> Self {
        TypedWebSocketHandle {
            handle: self.handle,
            codec: self.codec.clone(),
            sends: PhantomData,
        }
    }
}

impl<S, C: Copy> Copy for TypedWebSocketHandle<S, C> {}

impl<S, C> std::fmt::Debug for TypedWebSocketHandle<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedWebSocketHandle")
            .field(&self.handle)
            .finish()
    }
}
