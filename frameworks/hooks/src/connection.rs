//! The socket a component holds. It owns the socket's lifetime: opened on the first send or
//! when the framework's effect asks (never while rendering on the server), replaced when
//! the URL changes, closed when the component goes. The component only ever sees this
//! handle, never the socket.

use crate::delivery::{Sent, Tracker};
use crate::options::{OnEvent, OnOpen, Options};
use crate::pump;
use crate::Session;
use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;
use ws_tether::{
    ConnectionStatus, Encoder, Error, Message, ReadyState, ReconnectingHandle,
    ReconnectingWebSocket, Resume, SendOutcome, Sink,
};

/// What the framework side shows: the hook turns these into its reactive state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Update {
    /// The connection's status changed.
    Status(ConnectionStatus),
    /// The current socket's session changed.
    Session(Session),
}

type OnMessage = Rc<dyn Fn(Message)>;

/// The hook's connection: send, flush, close, reconnect, connect, and the socket's numbers.
/// Cloning it is cheap and every clone acts on the same connection; two clones are equal
/// (`==`) always, so a component that holds only this (say, from a context) is not
/// re-rendered by status changes. It does not keep the socket alive beyond the component:
/// once the component is gone, sends fail with [`Error::Stopped`].
#[derive(Clone)]
pub struct Connection(pub(crate) Rc<Inner>);

pub(crate) struct Inner {
    state: RefCell<State>,
    notify: Box<dyn Fn(Update)>,
}

struct State {
    url: String,
    options: Options,
    on_message: Option<OnMessage>,
    socket: Option<Current>,
    /// Bumped for every socket opened: a pump whose socket was replaced stops.
    opened: u64,
    /// Whether a socket may be opened: not `manual`, or `connect()` was called.
    wanted: bool,
    closed_by_user: bool,
    /// The component is gone.
    stopped: bool,
    /// Why the last open failed (the options were rejected).
    failed: Option<Error>,
}

struct Current {
    handle: ReconnectingHandle,
    url: String,
    tracker: Option<Rc<Tracker>>,
}

impl Connection {
    /// For the framework crates: a connection to `url` that reports to `notify`. Nothing is
    /// opened yet.
    pub fn new(
        url: String,
        options: Options,
        on_message: impl Fn(Message) + 'static,
        notify: impl Fn(Update) + 'static,
    ) -> Connection {
        let wanted = !options.manual;
        Connection(Rc::new(Inner {
            state: RefCell::new(State {
                url,
                options,
                on_message: Some(Rc::new(on_message)),
                socket: None,
                opened: 0,
                wanted,
                closed_by_user: false,
                stopped: false,
                failed: None,
            }),
            notify: Box::new(notify),
        }))
    }

    /// For the framework crates: the callbacks of the latest render (Yew runs the hook on
    /// every render); the socket keeps its options until it is replaced. Options without
    /// [`manual`](Options::manual) allow opening; with it, only `connect` does.
    pub fn set_callbacks(&self, options: Options, on_message: impl Fn(Message) + 'static) {
        let mut state = self.0.state.borrow_mut();
        state.wanted |= !options.manual;
        state.options = options;
        state.on_message = Some(Rc::new(on_message));
    }

    /// For the framework crates, from the effect that tracks the URL: the socket goes to
    /// `url`. Opens one if wanted and there is none for `url` (a send during the first
    /// render may have opened it already); a socket to another URL is closed first.
    pub fn sync(&self, url: String) {
        let open = {
            let mut state = self.0.state.borrow_mut();
            let same = state.socket.as_ref().is_some_and(|s| s.url == url);
            state.url = url;
            state.wanted && !state.stopped && !same
        };
        if open {
            self.release();
            self.open();
        }
    }

    /// For the framework crates, from the effect's cleanup: closes the socket (the URL is
    /// changing, or the component is going).
    pub fn release(&self) {
        let current = self.0.state.borrow_mut().socket.take();
        if let Some(current) = current {
            current.let_go();
        }
    }

    /// For the framework crates: the component is gone. The socket is closed and sends fail
    /// with [`Error::Stopped`] from now on.
    pub fn stop(&self) {
        self.0.state.borrow_mut().stopped = true;
        self.release();
    }

    /// Opens a socket to the current URL, if none is open and the component is in the
    /// browser: called by sends, so the first render's are queued as later ones are.
    fn ensure_open(&self) {
        let open = {
            let state = self.0.state.borrow();
            state.socket.is_none() && state.wanted && !state.stopped && state.failed.is_none()
        };
        if open {
            self.open();
        }
    }

    fn open(&self) {
        // Server-side rendering opens nothing; the browser's render will.
        if cfg!(not(target_arch = "wasm32")) {
            return;
        }
        let (url, configure) = {
            let state = self.0.state.borrow();
            (state.url.clone(), state.options.configure.clone())
        };
        #[cfg(feature = "share")]
        let share = self.0.state.borrow().options.share.clone();
        let builder = ReconnectingWebSocket::builder(url.clone());
        // Called with nothing borrowed: it may read the component's state.
        let builder = match configure {
            Some(configure) => configure(builder),
            None => builder,
        };
        #[cfg(feature = "share")]
        let builder = match share {
            Some(name) => builder.share(name),
            None => builder,
        };
        // One ordered stream of messages and events, read by one task.
        let socket = match builder.messages_as_events(true).open() {
            Ok(socket) => socket,
            Err(error) => {
                self.0.state.borrow_mut().failed = Some(error.clone());
                (self.0.notify)(Update::Status(ConnectionStatus::Failed(error)));
                return;
            }
        };
        // Subscribed before yielding: no message can arrive unseen.
        let events = socket.events();
        let status = socket.status();
        let (handle, receiver) = socket.split();
        drop(receiver);
        let tracker = handle.resumes().then(|| Rc::new(Tracker::default()));
        let opened = {
            let mut state = self.0.state.borrow_mut();
            state.opened = state.opened.wrapping_add(1);
            state.closed_by_user = false;
            state.failed = None;
            state.socket = Some(Current {
                handle: handle.clone(),
                url,
                tracker: tracker.clone(),
            });
            state.opened
        };
        // `open` already emitted the first events, before anyone could subscribe.
        (self.0.notify)(Update::Status(status));
        // Without resume every session is `New`, as the hook's state starts.
        if Resume::AVAILABLE {
            (self.0.notify)(Update::Session(Session::New));
        }
        spawn(pump::pump(events, Rc::downgrade(&self.0), opened));
        if let Some(tracker) = tracker {
            spawn(watch_acks(handle, tracker));
        }
    }

    fn handle(&self) -> Option<ReconnectingHandle> {
        let state = self.0.state.borrow();
        state.socket.as_ref().map(|s| s.handle.clone())
    }

    /// Why there is no socket to send to.
    fn no_socket(&self) -> Result<SendOutcome, Error> {
        let state = self.0.state.borrow();
        if state.stopped {
            Err(Error::Stopped)
        } else if let Some(error) = &state.failed {
            Err(error.clone())
        } else if !state.wanted {
            Err(Error::NotOpen)
        } else {
            // Rendering on the server: the browser's first render makes the same send and
            // queues it, so both render the same result (and the browser's is the real one).
            Ok(SendOutcome::Queued { dropped: 0 })
        }
    }

    /// Writes `message` if open, otherwise queues it to be written, in order, after the
    /// next connect (see [`SendOutcome`]), also during the component's first render (the
    /// socket is opened then). Never drops a message without saying so.
    ///
    /// Errors: those of [`ReconnectingWebSocket::send`]; [`Error::NotOpen`] with
    /// [`Options::manual`] before [`connect`](Self::connect); the options' error if they
    /// were rejected; [`Error::Stopped`] after [`close`](Self::close) and once the
    /// component is gone. While rendering on the server nothing is sent and the result is
    /// `Queued`, as the browser's hydrating render will say when it queues the same send.
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        self.ensure_open();
        match self.handle() {
            Some(handle) => handle.send(message.into()),
            None => self.no_socket(),
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

    /// As [`send`](Self::send), and follows the message: [`Sent::delivery`] is
    /// [`Delivery::Pending`](crate::Delivery::Pending) until the server acknowledges it
    /// (with resume), and [`Sent::delivered`] resolves then. Without resume its delivery is
    /// [`Delivery::Unknown`](crate::Delivery::Unknown). With
    /// [`Overflow::DropOldest`](ws_tether::Overflow::DropOldest) the messages it drops are
    /// not told apart from the ones delivered.
    pub fn send_tracked(&self, message: impl Into<Message>) -> Result<Sent, Error> {
        let outcome = self.send(message)?;
        Ok(Sent::new(outcome, self.0.tracker().as_ref()))
    }

    /// Resolves once everything sent so far is through: with resume, when the server
    /// acknowledged all of it (across reconnects); without, once it was handed to the
    /// browser. `Err(Stopped)` if the socket stops first (a close, the component going).
    /// The future holds no socket past the component's life: it ends with it.
    pub fn flush(&self) -> impl Future<Output = Result<(), Error>> + 'static {
        let socket = self.handle().ok_or_else(|| match self.no_socket() {
            Err(error) => error,
            Ok(_) => Error::NotOpen,
        });
        async move {
            let mut handle = socket?;
            poll_fn(|cx| Pin::new(&mut handle).poll_flush(cx)).await
        }
    }

    /// Closes the socket for good with 1000 (normal closure); no retry runs. The status is
    /// [`Closing`](ConnectionStatus::Closing) until the closing handshake ends, then
    /// [`Closed`](ConnectionStatus::Closed). Messages that arrived before are still
    /// delivered.
    pub fn close(&self) {
        let handle = {
            let mut state = self.0.state.borrow_mut();
            state.closed_by_user = state.socket.is_some();
            state.socket.as_ref().map(|s| s.handle.clone())
        };
        if let Some(handle) = handle {
            handle.close();
            if handle.ready_state() == ReadyState::Closing {
                (self.0.notify)(Update::Status(ConnectionStatus::Closing));
            }
        }
    }

    /// Dials again at once with the backoff reset. After [`close`](Self::close) (or a
    /// rejected option) it opens a new socket to the same URL, with a new session.
    pub fn reconnect(&self) {
        let (closed, handle) = {
            let mut state = self.0.state.borrow_mut();
            let closed = state.closed_by_user || state.failed.is_some();
            state.failed = None;
            (closed, state.socket.as_ref().map(|s| s.handle.clone()))
        };
        match handle {
            Some(handle) if !closed => handle.reconnect(),
            _ => {
                self.release();
                self.ensure_open();
            }
        }
    }

    /// With [`Options::manual`]: opens the socket now (does nothing if one is open). In the
    /// browser only; on the server it does nothing.
    pub fn connect(&self) {
        self.0.state.borrow_mut().wanted = true;
        self.ensure_open();
    }

    /// The last heartbeat round-trip time, if the heartbeat is on and was answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.handle().and_then(|h| h.rtt())
    }

    /// Bytes waiting in the send queue (0 without a socket).
    pub fn queued_bytes(&self) -> usize {
        self.handle().map_or(0, |h| h.queued_bytes())
    }

    /// Bytes the open socket holds but hasn't sent yet (0 when not open).
    pub fn buffered_amount(&self) -> u32 {
        self.handle().map_or(0, |h| h.buffered_amount())
    }

    /// Whether the socket has [`resume`](ws_tether::ReconnectingBuilder::resume) on.
    pub fn resumes(&self) -> bool {
        self.handle().is_some_and(|h| h.resumes())
    }

    /// The subprotocol of the last connection that opened (empty if none).
    pub fn protocol(&self) -> String {
        self.handle().map(|h| h.protocol()).unwrap_or_default()
    }

    /// With [`Options::share`]: which socket holds the shared connection (`None` before it
    /// is known, without a socket, or when not shared).
    /// Feature `share`.
    #[cfg(feature = "share")]
    pub fn holder(&self) -> Option<ws_tether::Holder> {
        self.handle().and_then(|h| h.holder())
    }
}

impl Inner {
    /// Whether `opened` is still the hook's socket.
    pub(crate) fn is_current(&self, opened: u64) -> bool {
        let state = self.state.borrow();
        state.opened == opened && state.socket.is_some() && !state.stopped
    }

    pub(crate) fn notify(&self, update: Update) {
        (self.notify)(update);
    }

    pub(crate) fn on_message(&self) -> Option<OnMessage> {
        self.state.borrow().on_message.clone()
    }

    /// Cloned out: the callback may act on the connection.
    pub(crate) fn on_open(&self) -> Option<OnOpen> {
        self.state.borrow().options.on_open.clone()
    }

    pub(crate) fn on_event(&self) -> Option<OnEvent> {
        self.state.borrow().options.on_event.clone()
    }

    /// The current socket's tracked sends (with resume only).
    pub(crate) fn tracker(&self) -> Option<Rc<Tracker>> {
        let state = self.state.borrow();
        state.socket.as_ref().and_then(|s| s.tracker())
    }
}

impl Current {
    /// Always `None` without the `resume` feature, so tracking compiles out.
    fn tracker(&self) -> Option<Rc<Tracker>> {
        self.tracker.clone().filter(|_| Resume::AVAILABLE)
    }

    fn let_go(self) {
        self.handle.close();
        if let Some(tracker) = self.tracker() {
            tracker.abandoned();
        }
    }
}

impl Drop for Inner {
    /// The component's state was dropped without a cleanup (it was created and discarded
    /// before its effects ran): the socket goes with it.
    fn drop(&mut self) {
        if let Some(current) = self.state.get_mut().socket.take() {
            current.let_go();
        }
    }
}

impl PartialEq for Connection {
    fn eq(&self, other: &Connection) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.0.state.borrow();
        f.debug_struct("Connection")
            .field("url", &state.url)
            .field("open", &state.socket.is_some())
            .field("stopped", &state.stopped)
            .finish_non_exhaustive()
    }
}

/// With resume: settles the socket's tracked sends each time the server has acknowledged
/// everything sent. Ends when the socket stops or the hook lets go of it.
async fn watch_acks(mut handle: ReconnectingHandle, tracker: Rc<Tracker>) {
    while poll_fn(|cx| tracker.poll_unsettled(cx)).await {
        if poll_fn(|cx| Pin::new(&mut handle).poll_flush(cx))
            .await
            .is_err()
        {
            return;
        }
        // Nothing ran between the flush completing and here: every send so far is in.
        tracker.all_delivered();
    }
}

#[cfg(target_arch = "wasm32")]
fn spawn(task: impl Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(task);
}

#[cfg(not(target_arch = "wasm32"))]
fn spawn(task: impl Future<Output = ()> + 'static) {
    // Nothing is opened off the browser, so nothing is spawned.
    drop(task);
}

/// Off the browser (server-side rendering), where nothing may be opened.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn connection(options: Options) -> (Connection, Rc<RefCell<Vec<Update>>>) {
        let updates = Rc::new(RefCell::new(Vec::new()));
        let seen = Rc::clone(&updates);
        let connection = Connection::new(
            "/chat".into(),
            options,
            |_| {},
            move |update| seen.borrow_mut().push(update),
        );
        (connection, updates)
    }

    #[test]
    fn on_the_server_a_send_opens_nothing_and_says_queued_as_the_browser_will() {
        let (ws, updates) = connection(Options::new());
        ws.sync("/chat".into());
        assert_eq!(ws.send("joined"), Ok(SendOutcome::Queued { dropped: 0 }));
        let sent = ws.send_tracked("joined").map(|sent| sent.delivery());
        assert_eq!(sent, Ok(crate::Delivery::Unknown));
        assert!(
            updates.borrow().is_empty(),
            "no status change: nothing opened"
        );
        assert_eq!(ws.queued_bytes(), 0);
    }

    #[test]
    fn manual_waits_for_connect_and_a_stopped_hook_refuses() {
        let (ws, _) = connection(Options::new().manual(true));
        ws.sync("/chat".into());
        assert_eq!(ws.send("early"), Err(Error::NotOpen));
        ws.connect();
        assert_eq!(ws.send("now"), Ok(SendOutcome::Queued { dropped: 0 }));
        ws.stop();
        assert_eq!(ws.send("late"), Err(Error::Stopped));
    }
}
