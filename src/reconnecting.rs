//! The reconnecting socket's public face: builder, `Stream`/`Sink`, getters. Every decision
//! is made by `core::machine`; the browser work is done by `sys` (the driver on wasm32).

use crate::core::backoff::Backoff;
use crate::core::machine::ConnectionEvent;
#[cfg(any(feature = "heartbeat", test))]
use crate::core::policy::Heartbeat;
use crate::core::policy::{ClosePolicy, Config};
use crate::core::queue::{Overflow, SendOutcome};
use crate::core::validate;
use crate::handle::{ReconnectingHandle, ReconnectingReceiver};
#[cfg(any(feature = "handshake", test))]
use crate::handshake::Handshake;
use crate::handshake::HookFn;
use crate::socket::DEFAULT_HIGH_WATER_MARK;
use crate::{sys, CloseCode, Error, Message, ReadyState};
use futures_core::Stream;
use futures_sink::Sink;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Where to connect: a URL and the subprotocols to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// A `ws://` or `wss://` URL; `http(s)://` and relative URLs are resolved as the
    /// browser's `WebSocket` does.
    pub url: String,
    /// Subprotocols, in order of preference.
    pub protocols: Vec<String>,
}

impl Endpoint {
    /// An endpoint with no subprotocols.
    pub fn new(url: impl Into<String>) -> Endpoint {
        Endpoint {
            url: url.into(),
            protocols: Vec::new(),
        }
    }

    /// The same endpoint offering these subprotocols.
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, protocols: I) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The endpoint to dial: checked, with the URL as the browser resolves it.
    pub(crate) fn resolve(&self) -> Result<Endpoint, Error> {
        let url = sys::resolve_url(&self.url)?;
        validate::check_protocols(&self.protocols)?;
        Ok(Endpoint {
            url,
            protocols: self.protocols.clone(),
        })
    }
}

impl From<String> for Endpoint {
    fn from(url: String) -> Self {
        Endpoint::new(url)
    }
}

impl From<&str> for Endpoint {
    fn from(url: &str) -> Self {
        Endpoint::new(url)
    }
}

pub(crate) type EndpointFuture = Pin<Box<dyn Future<Output = Result<Endpoint, String>>>>;

/// A fixed endpoint, or a provider asked before every attempt.
#[derive(Clone)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) enum EndpointSource {
    Fixed(Endpoint),
    Provider(Rc<dyn Fn() -> EndpointFuture>),
}

impl fmt::Debug for EndpointSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointSource::Fixed(e) => e.fmt(f),
            EndpointSource::Provider(_) => f.write_str("Provider(..)"),
        }
    }
}

/// Options for a [`ReconnectingWebSocket`]; every setter documents its default.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `open` is called"]
pub struct ReconnectingBuilder {
    source: EndpointSource,
    hook: Option<HookFn>,
    high_water_mark: u32,
    messages_as_events: bool,
    receive_backpressure: bool,
    /// The share's name.
    #[cfg(feature = "share")]
    share: Option<String>,
    cfg: Config,
}

impl ReconnectingBuilder {
    /// Subprotocols to offer, in order of preference. Default: none.
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, protocols: I) -> Self {
        if let EndpointSource::Fixed(e) = &mut self.source {
            e.protocols = protocols.into_iter().map(Into::into).collect();
        }
        self
    }

    /// Asks `provider` for the URL and subprotocols before every attempt (a fresh token,
    /// say). Its error counts as a failed attempt and is retried with backoff; it never ends
    /// the loop by itself. Replaces the URL given to `builder`.
    pub fn url_provider<F, Fut, E>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<Endpoint, E>> + 'static,
        E: fmt::Display,
    {
        let provider = Rc::new(provider);
        self.source = EndpointSource::Provider(Rc::new(move || -> EndpointFuture {
            let fut = provider();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        }));
        self
    }

    /// The retry policy. Default: [`ExponentialBackoff::default`](crate::ExponentialBackoff)
    /// (500 ms to 30 s, factor 2, full jitter, unlimited attempts).
    pub fn backoff(mut self, backoff: impl Into<Backoff>) -> Self {
        self.cfg.backoff = backoff.into();
        self
    }

    /// An attempt that hasn't opened after this long is abandoned and counted as failed.
    /// Default 10 s: long enough for a slow mobile handshake, short enough that a black-holed
    /// dial doesn't stall recovery.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.connect_timeout = timeout;
        self
    }

    /// The retry counter resets only after a connection stayed open this long, so a server
    /// that accepts and then drops can't pin the backoff at its minimum. Default 5 s.
    pub fn stable_after(mut self, uptime: Duration) -> Self {
        self.cfg.stable_after = uptime;
        self
    }

    /// Which closes are retried. Default [`ClosePolicy::Default`]; see
    /// [`Disconnect::should_retry_by_default`](crate::Disconnect::should_retry_by_default).
    pub fn close_policy(mut self, policy: ClosePolicy) -> Self {
        self.cfg.close_policy = policy;
        self
    }

    /// Turns the application heartbeat on, in your server's wire format. Default: off. See
    /// [`Heartbeat`] for which constructor fits which server.
    #[cfg(any(feature = "heartbeat", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "heartbeat")))]
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.cfg.heartbeat = Some(heartbeat);
        self
    }

    /// Runs `hook` on every connection after it opens, before anything queued is written
    /// and before the application sees it open: a protocol's handshake (auth,
    /// `connection_init` then `connection_ack`, resubscribing). The hook sends and receives
    /// through its [`Handshake`]; when it returns `Ok` the connection opens for the
    /// application (messages it didn't read are delivered first, in order). An `Err`, or not
    /// finishing within the connect timeout (which bounds the whole attempt), fails the
    /// attempt: the close policy and the backoff decide as for any failed attempt, and the
    /// reason (after [`HANDSHAKE_FAILED_REASON`](crate::HANDSHAKE_FAILED_REASON)) reaches
    /// [`ConnectionEvent::Reconnecting`]. Default: none.
    #[cfg(any(feature = "handshake", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "handshake")))]
    pub fn handshake<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: Fn(Handshake) -> Fut + 'static,
        Fut: Future<Output = Result<(), E>> + 'static,
        E: fmt::Display,
    {
        self.hook = Some(HookFn(Rc::new(move |hs: Handshake| {
            let fut = hook(hs);
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
                as Pin<Box<dyn Future<Output = Result<(), String>>>>
        })));
        self.cfg.handshake = true;
        self
    }

    /// Resumes the session across reconnects (`docs/resume-protocol.md`): the server
    /// acknowledges every message, and after a reconnect both sides send again what the
    /// other hasn't received, in order, without duplicates; a session the server can't
    /// resume is reported as [`ConnectionEvent::SessionLost`] with counts. Needs a server
    /// that speaks it (ws-tether-server), negotiated by the first frames; a server that
    /// answers anything else stops the socket with close code 1002 and
    /// [`RESUME_UNSUPPORTED_REASON`](crate::RESUME_UNSUPPORTED_REASON). With resume:
    /// - your subprotocols are offered as usual; the socket takes no
    ///   [`handshake`](Self::handshake) hook (the resume handshake runs instead);
    /// - a [`heartbeat`](Self::heartbeat) must ping ([`Heartbeat::new`]): the protocol's
    ///   own ping is sent, its custom ping/pong functions are not used;
    /// - `queue_max_bytes` bounds queued plus unacknowledged bytes, and the `Sink`'s
    ///   `poll_flush` resolves once the server acknowledged everything sent.
    ///
    /// Default: off.
    #[cfg(any(feature = "resume", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "resume")))]
    pub fn resume(mut self, resume: crate::Resume) -> Self {
        self.cfg.resume = Some(resume);
        self
    }

    /// The most bytes queued while not open. Default
    /// [`DEFAULT_QUEUE_BYTES`](crate::DEFAULT_QUEUE_BYTES) (1 MiB).
    pub fn queue_max_bytes(mut self, bytes: usize) -> Self {
        self.cfg.queue_max_bytes = bytes;
        self
    }

    /// What a send does when the queue is full. Default [`Overflow::Reject`].
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.cfg.overflow = overflow;
        self
    }

    /// Whether messages sent while not open are queued and written when a connection opens.
    /// Default `true`. Turn it off for protocols that can't take a replay into a new session:
    /// sends while not open then fail with [`Error::NotOpen`].
    pub fn replay(mut self, replay: bool) -> Self {
        self.cfg.replay = replay;
        self
    }

    /// The `Sink` waits while the open socket buffers more than this. Default
    /// [`DEFAULT_HIGH_WATER_MARK`] (1 MiB); at least 1.
    pub fn high_water_mark(mut self, bytes: u32) -> Self {
        self.high_water_mark = bytes;
        self
    }

    /// Delivers every message as [`ConnectionEvent::Message`] to the
    /// [`events`](ReconnectingWebSocket::events) subscribers, in exact order with the
    /// lifecycle events (a message, then the close that followed it), instead of to the
    /// `Stream`, which then yields nothing. For callback-style consumers (JavaScript bindings,
    /// framework hooks). Subscribe before yielding to the event loop: messages that arrive
    /// while nobody is subscribed are dropped. Default `false`.
    pub fn messages_as_events(mut self, on: bool) -> Self {
        self.messages_as_events = on;
        self
    }

    /// Stops reading the open connection while 16 messages wait unread for the `Stream`,
    /// and reads again once it has taken half of them, so that a consumer that falls behind
    /// slows the server down (TCP backpressure) instead of the page buffering everything.
    /// The heartbeat counts no silence while reading is paused (the peer's answers wait
    /// behind the unread messages), and starts its clock again on resume. Default `false`.
    ///
    /// Works where the page has `WebSocketStream` (Chromium 124 and later); elsewhere the
    /// option does nothing. [`ReconnectingWebSocket::reads_with_backpressure`] says which.
    /// Messages before a connection opens (a [`handshake`](Self::handshake)'s, resume's)
    /// are always read; with [`messages_as_events`](Self::messages_as_events) nothing is
    /// paused. As for [`WebSocketBuilder::receive_backpressure`](crate::WebSocketBuilder::receive_backpressure),
    /// [`buffered_amount`](ReconnectingWebSocket::buffered_amount) and the `Sink`'s
    /// high-water mark count what the stream's writer hasn't taken yet.
    pub fn receive_backpressure(mut self, enabled: bool) -> Self {
        self.receive_backpressure = enabled;
        self
    }

    /// Shares one connection between every socket of the origin (and storage partition)
    /// built with the same `name`: the sockets of all its tabs, workers and of this page.
    /// One of them, the holder, runs the connection; the others follow it over a
    /// BroadcastChannel, and the next one takes over (resuming the session, with
    /// [`resume`](Self::resume)) when the holder closes or its page goes. Each socket
    /// still behaves as its own: every server message, in order; its own sends, outcomes
    /// and [`flush`](futures_sink::Sink::poll_flush); the lifecycle events. Its `close`
    /// detaches this socket only; the connection closes when the last socket leaves.
    /// [`ConnectionEvent::Holder`] and [`ReconnectingWebSocket::holder`] say which socket
    /// holds. The protocol and its guarantees: `docs/sharing.md`.
    ///
    /// The holder runs the connection with its own options (tabs agree on nothing but the
    /// name: give every socket of a share the same URL and options). A shared socket's
    /// [`overflow`](Self::overflow) is `Reject` whatever is set, and the `Sink` waits
    /// while its unconfirmed sends fill [`queue_max_bytes`](Self::queue_max_bytes).
    /// Where the page has no Web Locks or no BroadcastChannel the socket connects by
    /// itself, and its [`Holder`](crate::Holder) says `shared: false`. Default: not shared.
    /// `open` fails with [`Error::InvalidOption`] for an empty name.
    #[cfg(feature = "share")]
    #[cfg_attr(docsrs, doc(cfg(feature = "share")))]
    pub fn share(mut self, name: impl Into<String>) -> Self {
        self.share = Some(name.into());
        self
    }

    /// For drivers of your own: the machine pauses each connection in a handshake phase
    /// ([`Action::Handshake`](crate::sans_io::Action::Handshake)) that your driver runs and
    /// ends with [`Machine::handshake_done`](crate::sans_io::Machine::handshake_done), as
    /// [`handshake`](Self::handshake) does for this crate's socket. Default `false`.
    #[cfg(feature = "sans-io")]
    pub fn handshake_phase(mut self, on: bool) -> Self {
        self.cfg.handshake = on;
        self
    }

    /// Checks the policy options and returns them as a sans-IO
    /// [`Machine`](crate::sans_io::Machine) that has just asked to dial: you carry out its
    /// actions. The URL, protocols, `high_water_mark` and `messages_as_events` are yours to
    /// apply. `seed` seeds the backoff's jitter (vary it per client); `now` is your clock's
    /// current reading.
    #[cfg(feature = "sans-io")]
    pub fn into_machine(self, seed: u64, now: Duration) -> Result<crate::sans_io::Machine, Error> {
        self.cfg.validate()?;
        Ok(crate::core::machine::Machine::new(self.cfg, seed, now))
    }

    /// Checks the policy options and returns them as one tab's sans-IO
    /// [`Tab`](crate::sans_io::share::Tab) of a connection shared between tabs
    /// (`docs/sharing.md`): it posts its hello and asks for the lock; the tab that gets the
    /// lock runs the connection with these options. `id`: random, unique in the origin.
    /// A shared socket's overflow policy is `Reject` whatever is set here.
    #[cfg(feature = "share")]
    pub fn into_shared_tab(
        self,
        id: crate::sans_io::share::TabId,
        sharing: crate::sans_io::share::Sharing,
        seed: u64,
        now: Duration,
    ) -> Result<crate::sans_io::share::Tab, Error> {
        self.cfg.validate()?;
        Ok(crate::core::share::Tab::new(
            id, self.cfg, sharing, seed, now,
        ))
    }

    /// Checks every option and starts connecting.
    pub fn open(self) -> Result<ReconnectingWebSocket, Error> {
        let source = match self.source {
            EndpointSource::Fixed(e) => EndpointSource::Fixed(e.resolve()?),
            provider => provider,
        };
        self.cfg.validate()?;
        if self.high_water_mark == 0 {
            return Err(Error::InvalidOption {
                field: "high_water_mark",
                allowed: "a byte count of at least 1",
            });
        }
        #[cfg(feature = "share")]
        let share = match self.share {
            Some(name) if name.is_empty() => {
                return Err(Error::InvalidOption {
                    field: "share",
                    allowed: "a non-empty name",
                })
            }
            share => share,
        };
        #[cfg(not(feature = "share"))]
        let share = None;
        let inner = sys::Reconnecting::start(
            source,
            self.hook,
            self.high_water_mark,
            self.messages_as_events,
            self.receive_backpressure,
            share,
            self.cfg,
        )?;
        let (handle, receiver) = crate::handle::halves(inner);
        Ok(ReconnectingWebSocket { handle, receiver })
    }
}

/// A WebSocket that stays up: it reconnects with backoff, can detect a dead peer with a
/// heartbeat, and queues what you send while it is down.
///
/// - As a `Stream`, it yields every message from every connection, in order. It ends (`None`)
///   when it stops: after [`close`](Self::close), or when the policy or the backoff stops
///   retrying. Once ended it stays ended (it is a `FusedStream`: every poll returns `None`)
///   until [`reconnect`](Self::reconnect) restarts a socket that gave up, which starts the
///   stream again: the one documented restart. Messages are buffered for the stream until it
///   is polled (the socket owns that memory; poll it, or use
///   [`messages_as_events`](ReconnectingBuilder::messages_as_events)).
/// - As a `Sink`, it writes while open and queues while not; it is not ready while the queue
///   is full or the open socket buffers more than the high-water mark, and fails with
///   [`Error::Stopped`] only once closed for good.
/// - [`events`](Self::events) reports connecting, open, reconnecting, round-trip times and
///   the final close.
/// - [`split`](Self::split) gives a cloneable [`ReconnectingHandle`] (send, close,
///   reconnect, status, events; also a `Sink`) and a [`ReconnectingReceiver`] (the
///   `Stream`), to hand to different tasks or components.
/// - Dropping it (after `split`: every handle and the receiver) closes the connection,
///   cancels every timer and removes every listener.
#[derive(Debug)]
pub struct ReconnectingWebSocket {
    handle: ReconnectingHandle,
    receiver: ReconnectingReceiver,
}

impl ReconnectingWebSocket {
    /// A builder for a socket to `url` (`ws://` or `wss://`).
    pub fn builder(url: impl Into<String>) -> ReconnectingBuilder {
        ReconnectingBuilder {
            source: EndpointSource::Fixed(Endpoint::new(url)),
            hook: None,
            high_water_mark: DEFAULT_HIGH_WATER_MARK,
            messages_as_events: false,
            receive_backpressure: false,
            #[cfg(feature = "share")]
            share: None,
            cfg: Config::default(),
        }
    }

    /// Splits into a cloneable handle that sends, closes, reconnects and reads the status,
    /// and the receiving `Stream`. The connection stays up until it is closed, or every
    /// handle and the receiver are dropped. Dropping the receiver first discards the
    /// messages that arrive from then on (nobody could read them); to read them with the
    /// events instead, use [`messages_as_events`](ReconnectingBuilder::messages_as_events).
    pub fn split(self) -> (ReconnectingHandle, ReconnectingReceiver) {
        (self.handle, self.receiver)
    }

    /// Writes `message` if open, otherwise queues it (see [`SendOutcome`]). Fails with
    /// [`Error::QueueFull`] (overflow `Reject`), [`Error::NotOpen`] (replay off) or
    /// [`Error::Stopped`]; never drops a message without saying so.
    pub fn send(&self, message: Message) -> Result<SendOutcome, Error> {
        self.handle.send(message)
    }

    /// A stream of [`ConnectionEvent`]s from now on; it ends when the socket is dropped or
    /// closed by the user.
    pub fn events(&self) -> ConnectionEvents {
        self.handle.events()
    }

    /// Where the connection is now, folded from every [`ConnectionEvent`] so far (including
    /// those emitted before anyone subscribed, such as the first `Connecting`).
    pub fn status(&self) -> crate::ConnectionStatus {
        self.handle.status()
    }

    /// `Open` while connected; `Connecting` while dialling or waiting to retry; `Closed` once
    /// closed for good.
    pub fn ready_state(&self) -> ReadyState {
        self.handle.ready_state()
    }

    /// Retries since the last stable connection (0 while the first attempt runs).
    pub fn attempt(&self) -> u32 {
        self.handle.attempt()
    }

    /// The last heartbeat round-trip time, if the heartbeat is on and was answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.handle.rtt()
    }

    /// Bytes waiting in the send queue.
    pub fn queued_bytes(&self) -> usize {
        self.handle.queued_bytes()
    }

    /// Whether [`resume`](ReconnectingBuilder::resume) is on (see
    /// [`ReconnectingHandle::resumes`]).
    pub fn resumes(&self) -> bool {
        self.handle.resumes()
    }

    /// The subprotocol of the last connection that opened (empty if none).
    pub fn protocol(&self) -> String {
        self.handle.protocol()
    }

    /// The extensions of the last connection that opened (empty if none).
    pub fn extensions(&self) -> String {
        self.handle.extensions()
    }

    /// Bytes the socket holds but hasn't sent yet, also while it closes after
    /// [`close`](crate::ReconnectingWebSocket::close) (0 between connections). With
    /// [`resume`](crate::ReconnectingBuilder::resume), instead, the bytes of every message
    /// the server has not acknowledged yet, connected or not: a new connection sends them
    /// again. Queued messages are counted apart:
    /// [`queued_bytes`](crate::ReconnectingWebSocket::queued_bytes) (the npm package's
    /// `bufferedAmount` is the sum of both).
    pub fn buffered_amount(&self) -> u32 {
        self.handle.buffered_amount()
    }

    /// Whether connections read through `WebSocketStream`, pausing while the `Stream` isn't
    /// polled: asked for with [`ReconnectingBuilder::receive_backpressure`] and available
    /// in this browser.
    pub fn reads_with_backpressure(&self) -> bool {
        self.handle.reads_with_backpressure()
    }

    /// A shared socket ([`ReconnectingBuilder::share`]): which socket holds the connection,
    /// as the last [`ConnectionEvent::Holder`] said. `None` before it is known (a new
    /// socket learns it from the holder, or takes over) and for a socket that isn't shared.
    #[cfg(feature = "share")]
    #[cfg_attr(docsrs, doc(cfg(feature = "share")))]
    pub fn holder(&self) -> Option<crate::Holder> {
        self.handle.holder()
    }

    /// Closes for good with 1000: no retry will run, whatever is scheduled or in flight.
    /// `ready_state` is `Closing` until the closing handshake ends (at most the connect
    /// timeout); the final [`ConnectionEvent::Closed`] carries the close the browser reported.
    pub fn close(&self) {
        self.handle.close();
    }

    /// Closes for good with this code and reason (at most 123 bytes of UTF-8).
    pub fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.handle.close_with(code, reason)
    }

    /// Closes for good sending no status code, as the browser's `WebSocket.close()` without
    /// arguments does: the peer sees 1005.
    pub fn close_without_status(&self) {
        self.handle.close_without_status();
    }

    /// Drops the current connection (if any) and dials at once with the backoff reset; also
    /// restarts after the policy gave up. Does nothing after [`close`](Self::close).
    pub fn reconnect(&self) {
        self.handle.reconnect();
    }
}

impl Stream for ReconnectingWebSocket {
    type Item = Message;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        Pin::new(&mut self.get_mut().receiver).poll_next(cx)
    }
}

impl futures_core::FusedStream for ReconnectingWebSocket {
    /// True while stopped with nothing left to read; `reconnect()` after giving up makes it
    /// false again.
    fn is_terminated(&self) -> bool {
        self.receiver.is_terminated()
    }
}

impl Sink<Message> for ReconnectingWebSocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().handle).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().handle).start_send(item)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().handle).poll_flush(cx)
    }
    /// Hands over the last message, closes for good with 1000 and resolves once closed.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().handle).poll_close(cx)
    }
}

/// Whether the core can take a message now; the driver registers the waker for `Wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) enum Accept {
    Yes,
    /// Not open and the queue has no room (or replay is off): wait for a state change.
    Wait,
    /// Open, but the browser buffers more than the high-water mark: poll again on a timer.
    Full,
    Stopped,
}

/// The stream returned by [`ReconnectingWebSocket::events`].
#[derive(Debug)]
pub struct ConnectionEvents(pub(crate) sys::Subscription<ConnectionEvent>);

impl Stream for ConnectionEvents {
    type Item = ConnectionEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ConnectionEvent>> {
        self.0.poll_next(cx)
    }
}
