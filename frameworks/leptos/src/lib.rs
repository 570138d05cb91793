//! [Leptos](https://leptos.dev) 0.8 integration for [`ws_tether`]: a reconnecting
//! WebSocket that lives as long as the component that opened it.
//!
//! [`use_reconnecting_websocket`] opens the socket in an effect, so server-side rendering
//! opens nothing, and closes it when the component's owner is cleaned up. It calls your
//! callback for **every** message, in order, also for a burst of thousands within a
//! millisecond (there is no "latest message" signal to lose them in), shows the connection
//! as a reactive [`Status`], and gives a [`Copy`] handle to send, close and reconnect.
//!
//! ```no_run
//! use leptos::prelude::*;
//! use ws_tether_leptos::{use_reconnecting_websocket, Message, Status};
//!
//! #[component]
//! fn Chat() -> impl IntoView {
//!     let (lines, set_lines) = signal(Vec::<String>::new());
//!     let ws = use_reconnecting_websocket("wss://chat.example/room", move |message| {
//!         if let Message::Text(text) = message {
//!             set_lines.update(|lines| lines.push(text));
//!         }
//!     });
//!     view! {
//!         <p>{move || if ws.status.get() == Status::Open { "online" } else { "offline" }}</p>
//!         <button on:click=move |_| { let _ = ws.send("hello"); }>"Say hello"</button>
//!         <ul>{move || lines.get().into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}</ul>
//!     }
//! }
//! ```
//!
//! Leptos's own reactive values must be `Send + Sync`; the socket is not, so it lives in
//! local storage ([`StoredValue::new_local`]) and only the handle travels.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

/// The core library, for its builder options and types.
pub use ws_tether;
/// The connection status, from the core library.
pub use ws_tether::ConnectionStatus as Status;
/// JSON over text frames, for [`use_reconnecting_websocket_typed`] and
/// [`WebSocketHandle::send_encoded`] (the `serde` feature).
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub use ws_tether::Json;
pub use ws_tether::{Decoder, Encoder, Error, Message, ReconnectingBuilder, SendOutcome};

use leptos::prelude::*;
use std::rc::Rc;
use ws_tether::{ReadyState, ReconnectingHandle, ReconnectingWebSocket};

/// The socket of one hook, and whether [`WebSocketHandle::close`] closed it.
#[derive(Default)]
struct Slot {
    /// The socket's handle; its receiver is dropped at once (messages come as events).
    socket: Option<ReconnectingHandle>,
    /// Bumped for every socket opened: a pump whose socket was replaced stops.
    opened: u64,
    closed_by_user: bool,
}

/// Opens a reconnecting WebSocket to `url` for the current component's lifetime, with the
/// default options; see [`use_reconnecting_websocket_with`].
pub fn use_reconnecting_websocket(
    url: impl Into<Signal<String>>,
    on_message: impl Fn(Message) + 'static,
) -> WebSocketHandle {
    use_reconnecting_websocket_with(url, |builder| builder, on_message)
}

/// [`use_reconnecting_websocket_with`] for typed messages: `on_message` gets each message
/// decoded by `decoder` (such as `Json`, with the `serde` feature), or the
/// [`Error::Codec`] saying why it isn't a `T`. Send typed values with
/// [`WebSocketHandle::send_encoded`].
///
/// ```no_run
/// # #[cfg(feature = "serde")] mod chat {
/// use leptos::prelude::*;
/// use serde::Deserialize;
/// use ws_tether_leptos::{use_reconnecting_websocket_typed, Json};
///
/// #[derive(Deserialize)]
/// struct Said { name: String, text: String }
///
/// #[component]
/// fn Chat() -> impl IntoView {
///     let (last, set_last) = signal(String::new());
///     let ws = use_reconnecting_websocket_typed("wss://chat.example/room", |b| b, Json,
///         move |said: Result<Said, _>| match said {
///             Ok(said) => set_last.set(format!("{}: {}", said.name, said.text)),
///             Err(error) => set_last.set(format!("not a chat message: {error}")),
///         });
///     view! {
///         <p>{last}</p>
///         <button on:click=move |_| { let _ = ws.send_encoded(&Json, &"hi"); }>"hi"</button>
///     }
/// }
/// # }
/// ```
pub fn use_reconnecting_websocket_typed<T: 'static>(
    url: impl Into<Signal<String>>,
    configure: impl Fn(ReconnectingBuilder) -> ReconnectingBuilder + 'static,
    decoder: impl Decoder<T> + 'static,
    on_message: impl Fn(Result<T, Error>) + 'static,
) -> WebSocketHandle {
    use_reconnecting_websocket_with(url, configure, decoder.callback(on_message))
}

/// Opens a reconnecting WebSocket to `url` for the current component's lifetime.
///
/// - `configure` gets [`ReconnectingWebSocket::builder(url)`](ws_tether::ReconnectingWebSocket::builder)
///   and returns it with your options (backoff, heartbeat, queue, subprotocols...). It runs
///   untracked each time a socket is opened. The hook then turns on
///   [`messages_as_events`](ReconnectingBuilder::messages_as_events), which it relies on.
/// - `on_message` is called once for every message, in the order they arrived, across
///   reconnects. Update signals from it: Leptos renders after it returns, not inside it.
/// - The socket is opened in an [`Effect`]: on the next tick in the browser, never while
///   rendering on the server. When `url` is a signal and changes, the old socket is closed
///   and a new one opened.
/// - When the owner is cleaned up (the component unmounts), the socket is closed with 1000,
///   its timers and listeners are removed, and `on_message` is not called again.
///
/// If the options are rejected, [`WebSocketHandle::status`] becomes [`Status::Failed`].
pub fn use_reconnecting_websocket_with(
    url: impl Into<Signal<String>>,
    configure: impl Fn(ReconnectingBuilder) -> ReconnectingBuilder + 'static,
    on_message: impl Fn(Message) + 'static,
) -> WebSocketHandle {
    let url = url.into();
    let status = RwSignal::new(Status::default());
    let session = RwSignal::new(None::<ws_tether::ConnectionEvent>);
    let slot = StoredValue::new_local(Slot::default());
    // Bumped by `reconnect()` after a user `close()`: the effect then opens a fresh socket.
    let reopen = Trigger::new();
    let on_message: Rc<dyn Fn(Message)> = Rc::new(on_message);

    Effect::new(move |_| {
        let url = url.get();
        reopen.track();
        let builder = untrack(|| configure(ReconnectingWebSocket::builder(url)));
        // One ordered stream of messages and events, read by one task.
        let opened = builder.messages_as_events(true).open();
        let socket = match opened {
            Ok(socket) => socket,
            Err(error) => {
                status.set(Status::Failed(error));
                return;
            }
        };
        // `open` already emitted the first events, before anyone could subscribe.
        status.set(socket.status());
        // Subscribed before yielding: no message can arrive unseen.
        let events = socket.events();
        let (socket, receiver) = socket.split();
        drop(receiver);
        let opened = slot
            .try_update_value(|slot| {
                slot.socket = Some(socket);
                slot.closed_by_user = false;
                slot.opened = slot.opened.wrapping_add(1);
                slot.opened
            })
            .unwrap_or_default();
        let on_message = Rc::clone(&on_message);
        leptos::task::spawn_local(ws_tether_hooks::pump(
            events,
            move || {
                slot.try_with_value(|slot| slot.opened == opened && slot.socket.is_some())
                    .unwrap_or(false)
            },
            move |message| on_message(message),
            move |next| {
                // The signal may be gone already if the owner is being torn down.
                let _ = status.try_set(next);
            },
            move |event| {
                let _ = session.try_set(Some(event));
            },
        ));
        // Runs before the effect runs again (new URL, reopen) and when the owner is
        // cleaned up. Taking the handle out of the slot also ends the task.
        on_cleanup(move || {
            let socket = slot.try_update_value(|slot| slot.socket.take()).flatten();
            if let Some(socket) = socket {
                socket.close();
            }
        });
    });

    WebSocketHandle {
        status: status.read_only().into(),
        session: session.read_only().into(),
        set_status: status.write_only(),
        slot,
        reopen,
    }
}

/// What [`use_reconnecting_websocket`] returns: the reactive status and the ways to act on
/// the socket. It is `Copy`, so move it into as many closures as you like.
#[derive(Clone, Copy)]
pub struct WebSocketHandle {
    /// The connection's status; reading it in a reactive context subscribes to it.
    pub status: Signal<Status>,
    /// With [`resume`](ReconnectingBuilder::resume): the latest
    /// [`ConnectionEvent::Resumed`](ws_tether::ConnectionEvent::Resumed) or
    /// [`ConnectionEvent::SessionLost`](ws_tether::ConnectionEvent::SessionLost) (`None`
    /// until one happens). On `SessionLost`, resynchronise your state.
    pub session: Signal<Option<ws_tether::ConnectionEvent>>,
    set_status: WriteSignal<Status>,
    slot: StoredValue<Slot, LocalStorage>,
    reopen: Trigger,
}

impl WebSocketHandle {
    fn socket(&self) -> Option<ReconnectingHandle> {
        self.slot
            .try_with_value(|slot| slot.socket.clone())
            .flatten()
    }

    /// Writes `message` if open, otherwise queues it to be written, in order, after the
    /// next connect (see [`SendOutcome`]). Never drops a message without saying so.
    ///
    /// Errors: those of [`ReconnectingWebSocket::send`]; [`Error::NotOpen`] before the
    /// effect has opened the socket (the first tick after the component is created);
    /// [`Error::Unsupported`] off the browser (server-side rendering); the options' error if
    /// they were rejected; [`Error::Stopped`] once the component is gone.
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        match self.socket() {
            Some(socket) => socket.send(message.into()),
            None => Err(self.no_socket()),
        }
    }

    /// Encodes `value` with `encoder` (such as `Json`) and sends it as
    /// [`send`](Self::send) does; [`Error::Codec`] if it can't be encoded.
    pub fn send_encoded<T: ?Sized>(
        &self,
        encoder: &impl Encoder<T>,
        value: &T,
    ) -> Result<SendOutcome, Error> {
        self.send(encoder.encode(value)?)
    }

    fn no_socket(&self) -> Error {
        if self.slot.is_disposed() {
            return Error::Stopped;
        }
        match self.status.try_get_untracked() {
            Some(Status::Failed(error)) => error,
            _ if cfg!(not(target_arch = "wasm32")) => Error::Unsupported,
            _ => Error::NotOpen,
        }
    }

    /// Closes the socket for good with 1000 (normal closure); no retry runs. The status is
    /// [`Status::Closing`] until the closing handshake ends, then [`Status::Closed`].
    /// Messages that arrived before are still delivered.
    pub fn close(&self) {
        self.slot
            .try_update_value(|slot| slot.closed_by_user = slot.socket.is_some());
        if let Some(socket) = self.socket() {
            socket.close();
            if socket.ready_state() == ReadyState::Closing {
                let _ = self.set_status.try_set(Status::Closing);
            }
        }
    }

    /// Dials again at once with the backoff reset. After [`close`](Self::close) it opens a
    /// new socket to the same URL.
    pub fn reconnect(&self) {
        let closed_by_user = self
            .slot
            .try_with_value(|slot| slot.closed_by_user)
            .unwrap_or(false);
        if closed_by_user {
            self.reopen.notify();
        } else if let Some(socket) = self.socket() {
            socket.reconnect();
        }
    }
}

impl std::fmt::Debug for WebSocketHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketHandle")
            .field("status", &self.status.try_get_untracked())
            .finish_non_exhaustive()
    }
}
