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

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::time::Duration;
use ws_tether_hooks::Update;
use yew::prelude::*;

/// Opens a reconnecting WebSocket to `url` for the component's lifetime, with the default
/// options; see [`use_reconnecting_websocket_with`].
#[hook]
pub fn use_reconnecting_websocket<F>(url: impl Into<AttrValue>, on_message: F) -> WebSocketHandle
where
    F: Fn(Message) + 'static,
{
    use_reconnecting_websocket_with(url, Options::new(), on_message)
}

/// A hook typed both ways: `on_message` gets each message decoded by `codec` (such as
/// `Json`, with the `serde` feature) into an `R`, or the [`Error::Codec`] saying why it
/// isn't one, and [`TypedWebSocketHandle::send`] takes an `S`, encoded by the same codec.
/// Options as [`use_reconnecting_websocket_with`]'s.
///
/// `S` is inferred from the sends; annotate the handle (`TypedWebSocketHandle<Say, Json>`)
/// if the component sends nothing.
#[hook]
pub fn use_reconnecting_websocket_typed<R, S, C, F>(
    url: impl Into<AttrValue>,
    options: Options,
    codec: C,
    on_message: F,
) -> TypedWebSocketHandle<S, C>
where
    R: 'static,
    C: Decoder<R> + Encoder<S> + Clone + 'static,
    F: Fn(Result<R, Error>) + 'static,
{
    let handle = use_reconnecting_websocket_with(url, options, codec.clone().callback(on_message));
    TypedWebSocketHandle {
        handle,
        codec,
        sends: PhantomData,
    }
}

/// Opens a reconnecting WebSocket to `url` for the component's lifetime.
///
/// - `options`: the socket's options ([`Options::configure`]: backoff, heartbeat, resume,
///   queue...), [`Options::manual`] to connect only on [`Connection::connect`],
///   [`Options::on_open`] to run on every open (with resume too), [`Options::on_event`].
///   Those of the latest render are used.
/// - `on_message` is called once for every message, in the order they arrived, across
///   reconnects; the one passed at the latest render is used. Dispatch to a
///   [`use_reducer`] from it: every dispatch reduces the latest state, and Yew renders
///   after the callback returns, not inside it.
/// - The socket is opened by the first send (so a send during the first render is queued
///   as any later one) or else in an effect after the first render: never while rendering
///   on the server. `url` may be relative (`"/ws"`); when it changes, the old socket is
///   closed and a new one opened, with a new [`Session`].
/// - When the component is destroyed, the socket is closed with 1000, its timers and
///   listeners are removed, and `on_message` is not called again.
///
/// If the options are rejected, [`WebSocketHandle::status`] is [`Status::Failed`].
#[hook]
pub fn use_reconnecting_websocket_with<F>(
    url: impl Into<AttrValue>,
    options: Options,
    on_message: F,
) -> WebSocketHandle
where
    F: Fn(Message) + 'static,
{
    let url: AttrValue = url.into();
    let status = use_state_eq(Status::default);
    let session = use_state_eq(Session::default);
    let connection = {
        let (status, session) = (status.setter(), session.setter());
        let url = url.to_string();
        // Created once; each render hands it that render's callbacks below.
        use_memo((), move |()| {
            Connection::new(
                url,
                Options::new().manual(true),
                |_| {},
                move |update| match update {
                    Update::Status(next) => status.set(next),
                    // Only with resume (without, the session stays `New`): compiled out
                    // without it.
                    Update::Session(next) if Resume::AVAILABLE => session.set(next),
                    _ => {}
                },
            )
        })
    };
    connection.set_callbacks(options, on_message);

    {
        let connection = (*connection).clone();
        use_effect_with(url, move |url| {
            connection.sync(url.to_string());
            move || connection.release()
        });
    }
    {
        let connection = (*connection).clone();
        use_effect_with((), move |()| move || connection.stop());
    }

    WebSocketHandle {
        status: (*status).clone(),
        session: (*session).clone(),
        connection: (*connection).clone(),
    }
}

/// What [`use_reconnecting_websocket`] returns: the status and session at this render, and
/// the ways to act on the socket. Cloning it is cheap.
///
/// Share it in a [`ContextProvider`] with children that show the status; give children that
/// only send the [`Connection`] ([`connection`](Self::connection)), which never changes, so
/// that they are not re-rendered at every retry step.
#[derive(Clone, PartialEq)]
pub struct WebSocketHandle {
    /// The connection's status at this render; a change re-renders the component.
    pub status: Status,
    /// The current socket's resume session: [`Session::New`] (always without resume, and
    /// again for each new socket), [`Session::Resumed`], or [`Session::Lost`], on which you
    /// resynchronise your state.
    pub session: Session,
    connection: Connection,
}

impl WebSocketHandle {
    /// The hook's [`Connection`]: send, flush, close... without the status.
    pub fn connection(&self) -> Connection {
        self.connection.clone()
    }

    /// Writes `message` if open, otherwise queues it, from the first render on; see
    /// [`Connection::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        self.connection.send(message)
    }

    /// Encodes `value` with `encoder` (such as `Json`) and sends it as
    /// [`send`](Self::send) does; [`Error::Codec`] if it can't be encoded.
    pub fn send_encoded<T: ?Sized>(
        &self,
        encoder: &impl Encoder<T>,
        value: &T,
    ) -> Result<SendOutcome, Error> {
        self.connection.send_encoded(encoder, value)
    }

    /// Sends as [`send`](Self::send) does and follows the message to "delivered" (with
    /// resume); see [`Connection::send_tracked`].
    pub fn send_tracked(&self, message: impl Into<Message>) -> Result<Sent, Error> {
        self.connection.send_tracked(message)
    }

    /// Resolves once the server acknowledged everything sent so far (with resume); see
    /// [`Connection::flush`].
    pub fn flush(&self) -> impl Future<Output = Result<(), Error>> + 'static {
        self.connection.flush()
    }

    /// Closes the socket for good with 1000; see [`Connection::close`].
    pub fn close(&self) {
        self.connection.close();
    }

    /// Dials again at once; after [`close`](Self::close) opens a new socket to the same
    /// URL (a new session).
    pub fn reconnect(&self) {
        self.connection.reconnect();
    }

    /// With [`Options::manual`]: opens the socket now.
    pub fn connect(&self) {
        self.connection.connect();
    }

    /// The last heartbeat round-trip time, if the heartbeat is on and was answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.connection.rtt()
    }

    /// Bytes waiting in the send queue.
    pub fn queued_bytes(&self) -> usize {
        self.connection.queued_bytes()
    }
}

impl fmt::Debug for WebSocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketHandle")
            .field("status", &self.status)
            .field("session", &self.session)
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
        self.handle.clone()
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
            handle: self.handle.clone(),
            codec: self.codec.clone(),
            sends: PhantomData,
        }
    }
}

impl<S, C> PartialEq for TypedWebSocketHandle<S, C> {
    fn eq(&self, other: &Self) -> bool {
        self.handle == other.handle
    }
}

impl<S, C> fmt::Debug for TypedWebSocketHandle<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TypedWebSocketHandle")
            .field(&self.handle)
            .finish()
    }
}
