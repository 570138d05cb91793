//! [Yew](https://yew.rs) 0.23 integration for [`ws_tether`]: a reconnecting WebSocket that
//! lives as long as the component that opened it.
//!
//! [`use_reconnecting_websocket`] opens the socket in an effect, so server-side rendering
//! opens nothing, and closes it when the component is destroyed. It calls your callback for
//! **every** message, in order, also for a burst of thousands within a millisecond (there
//! is no "latest message" state to lose them in), re-renders with the connection's
//! [`Status`], and returns a handle to send, close and reconnect.
//!
//! ```no_run
//! use std::rc::Rc;
//! use yew::prelude::*;
//! use ws_tether_yew::{use_reconnecting_websocket, Message, Status};
//!
//! #[derive(Default, PartialEq)]
//! struct Lines(Vec<String>);
//!
//! impl Reducible for Lines {
//!     type Action = String;
//!     fn reduce(self: Rc<Self>, line: String) -> Rc<Self> {
//!         let mut lines = self.0.clone();
//!         lines.push(line);
//!         Rc::new(Lines(lines))
//!     }
//! }
//!
//! #[function_component]
//! fn Chat() -> Html {
//!     // A reducer sees every action; a `use_state` set from a stale handle would not.
//!     let lines = use_reducer(Lines::default);
//!     let add = lines.dispatcher();
//!     let ws = use_reconnecting_websocket("wss://chat.example/room", move |message| {
//!         if let Message::Text(text) = message {
//!             add.dispatch(text);
//!         }
//!     });
//!     let hello = {
//!         let ws = ws.clone();
//!         Callback::from(move |_| { let _ = ws.send("hello"); })
//!     };
//!     html! {
//!         <>
//!             <p>{ if ws.status == Status::Open { "online" } else { "offline" } }</p>
//!             <button onclick={hello}>{ "Say hello" }</button>
//!             <ul>{ for lines.0.iter().map(|line| html! { <li>{ line }</li> }) }</ul>
//!         </>
//!     }
//! }
//! ```

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

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use ws_tether::{ReadyState, ReconnectingHandle, ReconnectingWebSocket};
use yew::prelude::*;

type Configure = Rc<dyn Fn(ReconnectingBuilder) -> ReconnectingBuilder>;
type OnMessage = Rc<dyn Fn(Message)>;

/// What the hook keeps between renders.
#[derive(Default)]
struct Slot {
    /// The socket's handle; its receiver is dropped at once (messages come as events).
    socket: Option<ReconnectingHandle>,
    /// Bumped for every socket opened: a pump whose socket was replaced stops.
    opened: u64,
    /// Set by `close()`; `reconnect()` then opens a new socket.
    closed_by_user: bool,
    /// Bumped to open a new socket after a user close.
    generation: u32,
    /// Set when the component is destroyed: sends then fail with `Stopped`.
    unmounted: bool,
    /// This render's callbacks: a socket opened at an earlier render calls these.
    configure: Option<Configure>,
    on_message: Option<OnMessage>,
}

/// Opens a reconnecting WebSocket to `url` for the component's lifetime, with the default
/// options; see [`use_reconnecting_websocket_with`].
#[hook]
pub fn use_reconnecting_websocket<F>(url: impl Into<AttrValue>, on_message: F) -> WebSocketHandle
where
    F: Fn(Message) + 'static,
{
    use_reconnecting_websocket_with(url, |builder| builder, on_message)
}

/// [`use_reconnecting_websocket_with`] for typed messages: `on_message` gets each message
/// decoded by `decoder` (such as `Json`, with the `serde` feature), or the
/// [`Error::Codec`] saying why it isn't a `T`. Send typed values with
/// [`WebSocketHandle::send_encoded`].
///
/// ```no_run
/// # #[cfg(feature = "serde")] mod chat {
/// use serde::Deserialize;
/// use yew::prelude::*;
/// use ws_tether_yew::{use_reconnecting_websocket_typed, Json};
///
/// #[derive(Deserialize)]
/// struct Said { name: String, text: String }
///
/// #[function_component]
/// fn Chat() -> Html {
///     let ws = use_reconnecting_websocket_typed("wss://chat.example/room", |b| b, Json,
///         move |said: Result<Said, _>| match said {
///             Ok(said) => log(&format!("{}: {}", said.name, said.text)),
///             Err(error) => log(&format!("not a chat message: {error}")),
///         });
///     let hi = Callback::from(move |_| { let _ = ws.send_encoded(&Json, &"hi"); });
///     html! { <button onclick={hi}>{ "hi" }</button> }
/// }
/// # fn log(_: &str) {}
/// # }
/// ```
#[hook]
pub fn use_reconnecting_websocket_typed<T, C, D, F>(
    url: impl Into<AttrValue>,
    configure: C,
    decoder: D,
    on_message: F,
) -> WebSocketHandle
where
    T: 'static,
    C: Fn(ReconnectingBuilder) -> ReconnectingBuilder + 'static,
    D: Decoder<T> + 'static,
    F: Fn(Result<T, Error>) + 'static,
{
    use_reconnecting_websocket_with(url, configure, decoder.callback(on_message))
}

/// Opens a reconnecting WebSocket to `url` for the component's lifetime.
///
/// - `configure` gets [`ReconnectingWebSocket::builder(url)`](ws_tether::ReconnectingWebSocket::builder)
///   and returns it with your options (backoff, heartbeat, queue, subprotocols...). The
///   hook then turns on [`messages_as_events`](ReconnectingBuilder::messages_as_events),
///   which it relies on.
/// - `on_message` is called once for every message, in the order they arrived, across
///   reconnects; the one passed at the latest render is used. Dispatch to a
///   [`use_reducer`] from it: every dispatch reduces the latest state, and Yew renders
///   after the callback returns, not inside it.
/// - The socket is opened in an effect: after the first render in the browser, never while
///   rendering on the server. When `url` changes, the old socket is closed and a new one
///   opened.
/// - When the component is destroyed, the socket is closed with 1000, its timers and
///   listeners are removed, and `on_message` is not called again.
///
/// If the options are rejected, [`WebSocketHandle::status`] is [`Status::Failed`].
#[hook]
pub fn use_reconnecting_websocket_with<C, F>(
    url: impl Into<AttrValue>,
    configure: C,
    on_message: F,
) -> WebSocketHandle
where
    C: Fn(ReconnectingBuilder) -> ReconnectingBuilder + 'static,
    F: Fn(Message) + 'static,
{
    let url: AttrValue = url.into();
    let status = use_state_eq(Status::default);
    let session = use_state_eq(|| None::<ws_tether::ConnectionEvent>);
    let slot = use_mut_ref(Slot::default);
    let generation = use_state_eq(|| 0u32);
    {
        let mut slot = slot.borrow_mut();
        slot.configure = Some(Rc::new(configure));
        slot.on_message = Some(Rc::new(on_message));
    }

    {
        let slot = Rc::clone(&slot);
        let status = status.setter();
        let session_setter = session.setter();
        use_effect_with((url, *generation), move |(url, _)| {
            open(url, &slot, status, session_setter);
            move || {
                let socket = slot.borrow_mut().socket.take();
                if let Some(socket) = socket {
                    socket.close();
                }
            }
        });
    }
    {
        let slot = Rc::clone(&slot);
        use_effect_with((), move |()| move || slot.borrow_mut().unmounted = true);
    }

    WebSocketHandle {
        status: (*status).clone(),
        session: (*session).clone(),
        set_status: status.setter(),
        slot,
        reopen: generation.setter(),
    }
}

/// Opens the socket into `slot` and spawns the task that feeds the component.
fn open(
    url: &str,
    slot: &Rc<RefCell<Slot>>,
    status: UseStateSetter<Status>,
    session: UseStateSetter<Option<ws_tether::ConnectionEvent>>,
) {
    let configure = slot.borrow().configure.clone();
    let builder = ReconnectingWebSocket::builder(url);
    let builder = match configure {
        Some(configure) => configure(builder),
        None => builder,
    };
    // One ordered stream of messages and events, read by one task.
    let socket = match builder.messages_as_events(true).open() {
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
    let opened = {
        let mut slot = slot.borrow_mut();
        slot.socket = Some(socket);
        slot.closed_by_user = false;
        slot.opened = slot.opened.wrapping_add(1);
        slot.opened
    };
    let this_socket = Rc::downgrade(slot);
    let callbacks = Rc::downgrade(slot);
    yew::platform::spawn_local(ws_tether_hooks::pump(
        events,
        move || {
            this_socket.upgrade().is_some_and(|slot| {
                let slot = slot.borrow();
                slot.opened == opened && slot.socket.is_some()
            })
        },
        move |message| {
            // Cloned out first: the callback may render, and a render writes the slot.
            let on_message = callbacks
                .upgrade()
                .and_then(|slot| slot.borrow().on_message.clone());
            if let Some(on_message) = on_message {
                on_message(message);
            }
        },
        move |next| status.set(next),
        move |event| session.set(Some(event)),
    ));
}

/// What [`use_reconnecting_websocket`] returns: the status at this render and the ways to
/// act on the socket. Cloning it is cheap.
#[derive(Clone)]
pub struct WebSocketHandle {
    /// The connection's status at this render; a change re-renders the component.
    pub status: Status,
    /// With [`resume`](ReconnectingBuilder::resume): the latest
    /// [`ConnectionEvent::Resumed`](ws_tether::ConnectionEvent::Resumed) or
    /// [`ConnectionEvent::SessionLost`](ws_tether::ConnectionEvent::SessionLost) (`None`
    /// until one happens). On `SessionLost`, resynchronise your state.
    pub session: Option<ws_tether::ConnectionEvent>,
    set_status: UseStateSetter<Status>,
    slot: Rc<RefCell<Slot>>,
    reopen: UseStateSetter<u32>,
}

impl WebSocketHandle {
    fn socket(&self) -> Option<ReconnectingHandle> {
        self.slot.borrow().socket.clone()
    }

    /// Writes `message` if open, otherwise queues it to be written, in order, after the
    /// next connect (see [`SendOutcome`]). Never drops a message without saying so.
    ///
    /// Errors: those of [`ReconnectingWebSocket::send`]; [`Error::NotOpen`] before the
    /// effect has opened the socket (during the first render); [`Error::Unsupported`] off
    /// the browser (server-side rendering); the options' error if they were rejected;
    /// [`Error::Stopped`] once the component is destroyed.
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        match self.socket() {
            Some(socket) => socket.send(message.into()),
            None if self.slot.borrow().unmounted => Err(Error::Stopped),
            None => Err(match &self.status {
                Status::Failed(error) => error.clone(),
                _ if cfg!(not(target_arch = "wasm32")) => Error::Unsupported,
                _ => Error::NotOpen,
            }),
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

    /// Closes the socket for good with 1000 (normal closure); no retry runs. The status is
    /// [`Status::Closing`] until the closing handshake ends, then [`Status::Closed`].
    /// Messages that arrived before are still delivered.
    pub fn close(&self) {
        let socket = {
            let mut slot = self.slot.borrow_mut();
            slot.closed_by_user = slot.socket.is_some();
            slot.socket.clone()
        };
        if let Some(socket) = socket {
            socket.close();
            if socket.ready_state() == ReadyState::Closing {
                self.set_status.set(Status::Closing);
            }
        }
    }

    /// Dials again at once with the backoff reset. After [`close`](Self::close) it opens a
    /// new socket to the same URL.
    pub fn reconnect(&self) {
        let (socket, generation) = {
            let mut slot = self.slot.borrow_mut();
            if slot.closed_by_user {
                slot.generation = slot.generation.wrapping_add(1);
                (None, Some(slot.generation))
            } else {
                (slot.socket.clone(), None)
            }
        };
        if let Some(generation) = generation {
            self.reopen.set(generation);
        } else if let Some(socket) = socket {
            socket.reconnect();
        }
    }
}

impl PartialEq for WebSocketHandle {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status && Rc::ptr_eq(&self.slot, &other.slot)
    }
}

impl fmt::Debug for WebSocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketHandle")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
