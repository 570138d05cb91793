//! The hooks' options beyond the socket's own: when to connect, and what to run on open
//! and on every event.

use crate::{Connection, Session};
use std::fmt;
use std::rc::Rc;
use ws_tether::{ConnectionEvent, ReconnectingBuilder};

pub(crate) type Configure = Rc<dyn Fn(ReconnectingBuilder) -> ReconnectingBuilder>;
pub(crate) type OnOpen = Rc<dyn Fn(&Connection, &Session)>;
pub(crate) type OnEvent = Rc<dyn Fn(&ConnectionEvent)>;

/// How a hook opens and watches its socket. `Options::new()` (the default) connects at
/// once with the socket's default options.
///
/// ```
/// use ws_tether_hooks::{Options, Session};
/// use ws_tether::{ExponentialBackoff, Resume};
/// use std::time::Duration;
///
/// let options = Options::new()
///     .configure(|builder| {
///         builder
///             .backoff(ExponentialBackoff::new().max(Duration::from_secs(5)))
///             .resume(Resume::new())
///     })
///     // After every open (also after a resume): join the room again on a new session.
///     .on_open(|ws, session| {
///         if !matches!(session, Session::Resumed { .. }) {
///             let _ = ws.send("join");
///         }
///     });
/// ```
#[derive(Clone, Default)]
pub struct Options {
    pub(crate) configure: Option<Configure>,
    pub(crate) manual: bool,
    pub(crate) on_open: Option<OnOpen>,
    pub(crate) on_event: Option<OnEvent>,
    #[cfg(feature = "share")]
    pub(crate) share: Option<String>,
}

impl Options {
    /// Connect at once, with the socket's default options.
    pub fn new() -> Options {
        Options::default()
    }

    /// The socket's options: gets [`ReconnectingWebSocket::builder(url)`](ws_tether::ReconnectingWebSocket::builder)
    /// and returns it with yours (backoff, heartbeat, resume, queue, subprotocols...). Runs
    /// each time a socket is opened. The hook turns on
    /// [`messages_as_events`](ReconnectingBuilder::messages_as_events), which it relies on.
    pub fn configure(
        mut self,
        configure: impl Fn(ReconnectingBuilder) -> ReconnectingBuilder + 'static,
    ) -> Options {
        self.configure = Some(Rc::new(configure));
        self
    }

    /// `true`: open nothing until [`Connection::connect`] (as leptos-use's
    /// `immediate(false)`, yew-hooks' `manual`); sends fail with
    /// [`Error::NotOpen`](ws_tether::Error::NotOpen) until then. Default `false`.
    pub fn manual(mut self, manual: bool) -> Options {
        self.manual = manual;
        self
    }

    /// Runs on every open (the first and each reconnect), after a resume handshake and with
    /// its outcome: [`Session::Resumed`] when the server kept the session (nothing to redo),
    /// [`Session::New`] or [`Session::Lost`] when it is a new one (join, subscribe,
    /// authenticate again). What it sends is written right away, after the messages that
    /// were queued while down. Works with resume, which takes no
    /// [`handshake`](ReconnectingBuilder::handshake) hook.
    pub fn on_open(mut self, on_open: impl Fn(&Connection, &Session) + 'static) -> Options {
        self.on_open = Some(Rc::new(on_open));
        self
    }

    /// Shares one connection between every socket of the origin opened with the same
    /// `name`: this component's, other components' and other tabs' (feature `share`; see
    /// [`ReconnectingBuilder::share`]). Each component still gets every message, its own
    /// send outcomes and the lifecycle events; [`Connection::holder`] and
    /// [`ConnectionEvent::Holder`] (through [`on_event`](Self::on_event)) say which
    /// socket holds the connection. Applied after [`configure`](Self::configure). Default:
    /// not shared.
    ///
    /// Feature `share` (of this crate, or of `ws-tether-leptos` / `ws-tether-yew`).
    ///
    /// ```
    /// # use ws_tether_hooks::Options;
    /// use ws_tether::Resume;
    /// // One connection for every tab of the app, resumed by the next tab when one closes.
    /// let options = Options::new()
    ///     .configure(|builder| builder.resume(Resume::new()))
    ///     .share("chat");
    /// ```
    #[cfg(feature = "share")]
    pub fn share(mut self, name: impl Into<String>) -> Options {
        self.share = Some(name.into());
        self
    }

    /// Runs for every [`ConnectionEvent`] except messages (which go to `on_message`), in
    /// order with them: heartbeat round trips, retries with their close, `Unsent`...
    pub fn on_event(mut self, on_event: impl Fn(&ConnectionEvent) + 'static) -> Options {
        self.on_event = Some(Rc::new(on_event));
        self
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("configure", &self.configure.is_some())
            .field("manual", &self.manual)
            .field("on_open", &self.on_open.is_some())
            .field("on_event", &self.on_event.is_some())
            .finish()
    }
}
