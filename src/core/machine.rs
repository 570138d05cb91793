//! The reconnect state machine. It owns every decision of the reconnecting socket (when to
//! dial, when the peer is dead, what to queue, when to stop) and does no I/O: the driver
//! feeds it inputs with the current time and carries out the actions it returns.

use crate::core::backoff::{RetryContext, Rng};
use crate::core::clock::MAX_TIMER;
use crate::core::policy::{
    ClosePolicy, Config, Disconnect, Liveness, Pong, ACK_TIMEOUT_REASON, CONNECT_TIMEOUT_REASON,
    HANDSHAKE_FAILED_REASON, HEARTBEAT_TIMEOUT_CODE, HEARTBEAT_TIMEOUT_REASON,
};
use crate::core::queue::{SendOutcome, SendQueue};
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
use crate::core::resume::ResumeState;
use crate::core::resume::{
    Control, Frame, LostReason, Resume, Session, DEFAULT_ACK_TIMEOUT, PROTOCOL_ERROR_REASON,
    RESUME_UNSUPPORTED_REASON,
};
use crate::core::text::joined;
use crate::{CloseInfo, Error, Message, ReadyState};
use std::collections::VecDeque;
use std::time::Duration;

/// Time as the driver measures it: elapsed since an origin of its choice.
pub type Time = Duration;
/// Identifies one socket; a late callback from a replaced socket carries an old id.
pub type ConnId = u64;

/// A heartbeat timer firing this much after it was due counts as late.
const LATE_TIMER_SLACK: Duration = Duration::from_secs(1);
/// The reason reported when the peer never answered the user's close.
const CLOSING_TIMEOUT_REASON: &str = "closing handshake timed out";

/// With resume, while data or a ping is in flight on the open connection: how far the wait
/// for the server's acknowledgement has got. Any inbound message proves the server sends,
/// only an acknowledgement proves it receives (a one-way partition lets its pushes through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckWait {
    /// Half the timeout (counted by the timer alone: `send` carries no clock reading) until
    /// a ping asks for an acknowledgement, which the server sends at once however busy its
    /// application is.
    Armed,
    /// Pinged: dead at `dead_at` unless an acknowledgement comes. `excused`: a late timer
    /// (a frozen page) already earned a fresh ping and a full timeout once.
    Probed { dead_at: Time, excused: bool },
}

/// The machine's timers; the driver keeps at most one of each.
///
/// `#[non_exhaustive]`: a driver keeps them by [`index`](Self::index) in an array of
/// [`Timer::ALL`]`.len()`, which grows with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// Waiting out the backoff delay before the next attempt.
    Retry,
    /// Bounds an attempt (the WebSocket handshake and the handshake hook), and the closing
    /// handshake after a user close.
    ConnectTimeout,
    /// The next heartbeat check: send a ping, or find the peer dead.
    Heartbeat,
    /// With resume: acknowledge the messages received since the last acknowledgement.
    Ack,
    /// With resume: data (or a ping) is in flight and the server has acknowledged nothing
    /// for a while: ask with a ping, then find the link dead.
    AckTimeout,
}

impl Timer {
    /// Every timer, each at its [`index`](Self::index): a driver can keep them in an array.
    pub const ALL: [Timer; 5] = [
        Timer::Retry,
        Timer::ConnectTimeout,
        Timer::Heartbeat,
        Timer::Ack,
        Timer::AckTimeout,
    ];

    /// This timer's place in [`Timer::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why the reconnecting socket stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// `close()` was called.
    UserClosed,
    /// The close policy said not to retry after this disconnect.
    Policy(Disconnect),
    /// The backoff gave up (attempts used up, or a custom backoff returned `None`).
    GaveUp(Disconnect),
    /// With resume: the server ended the session (it sent `end`).
    SessionEnded,
}

/// What happens to the connection, as a stream of events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A dial started. `attempt` is 0 for the first connection and counts retries since
    /// the last stable connection.
    Connecting {
        /// The retry number (0 = first try).
        attempt: u32,
    },
    /// The connection opened and the queued messages were written.
    Open {
        /// The subprotocol the server selected (empty if none).
        protocol: String,
    },
    /// The connection was lost (or an attempt failed) and a retry is scheduled.
    Reconnecting {
        /// The retry number that will run after `delay`.
        attempt: u32,
        /// How long until that retry.
        delay: Duration,
        /// How the connection or attempt ended.
        last_close: Disconnect,
    },
    /// The browser is offline: no dialling until it is online again.
    WaitingForNetwork {
        /// How the connection or attempt ended, when its loss is what started the wait
        /// (`None` when the browser went offline while a retry was already scheduled).
        last_close: Option<Disconnect>,
    },
    /// A heartbeat was answered after this round-trip time.
    Rtt(Duration),
    /// A message, in order with the other events. Only with
    /// [`ReconnectingBuilder::messages_as_events`](crate::ReconnectingBuilder::messages_as_events);
    /// otherwise messages go to the `Stream`.
    Message(Message),
    /// A message that `send` accepted as [`SendOutcome::Written`] but the browser refused to
    /// write, because its socket was already closing. With replay on it is queued for the
    /// next connection instead; this event means replay is off (or the socket stopped for
    /// good), so it was not sent and comes back to you.
    Unsent(Message),
    /// A queued message the [`Overflow::DropOldest`](crate::Overflow::DropOldest) overflow
    /// evicted to make room for a newer one: it will not be sent and comes back to you (the
    /// send that evicted it reported how many, [`SendOutcome::Queued`]). Oldest first.
    Evicted(Message),
    /// With resume: the connection continues the session. Sent after `Open`.
    Resumed {
        /// The session's identifier, as the server issued it.
        session: String,
        /// Messages the server hadn't received before, sent again (before any newer one).
        resent: usize,
    },
    /// With resume: the session could not continue (or ended before the server confirmed
    /// everything). Sent after `Open` when a connection starts a new session instead; before
    /// `Closed` when the socket stops with messages unconfirmed.
    SessionLost {
        /// Why.
        reason: LostReason,
        /// How many of the server's messages will never arrive (`None`: the server doesn't
        /// know).
        missed: Option<u64>,
        /// Messages sent but never acknowledged: the server may or may not have processed
        /// them. They are not sent again; resend what you must.
        unconfirmed: Vec<Message>,
    },
    /// Closed for good. `unsent` queued messages were discarded (they are counted, not lost
    /// silently). `reconnect()` starts again, except after a user close.
    Closed {
        /// Why.
        reason: StopReason,
        /// Queued messages that were never sent.
        unsent: usize,
        /// How the last socket closed: after a user close, the close the browser reported
        /// at the end of the closing handshake. `None` if no socket was connected.
        close: Option<CloseInfo>,
    },
    /// A shared socket ([`ReconnectingBuilder::share`](crate::ReconnectingBuilder::share))
    /// learnt which tab holds the connection: when it first knows, and at every change.
    #[cfg(feature = "share")]
    #[cfg_attr(docsrs, doc(cfg(feature = "share")))]
    Holder(Holder),
}

/// Which tab holds a shared connection, as [`ConnectionEvent::Holder`] and
/// [`ReconnectingWebSocket::holder`](crate::ReconnectingWebSocket::holder) report it.
#[cfg(feature = "share")]
#[cfg_attr(docsrs, doc(cfg(feature = "share")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holder {
    /// The holding tab's socket (random, unique in the origin).
    pub tab: u64,
    /// Whether it is this socket: this one runs the connection for the others.
    pub this_tab: bool,
    /// `false`: the page has no Web Locks or no BroadcastChannel (a context that isn't
    /// secure, an old engine), so this socket connects by itself and holds alone.
    pub shared: bool,
}

/// What the driver must do, in the order returned by [`Machine::poll_action`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Open a new socket tagged `id` (resolving the URL provider first). If it can't even
    /// be created, report [`Machine::on_dial_failed`].
    Dial {
        /// The new socket's tag; later inputs about it carry it.
        id: ConnId,
    },
    /// Write a frame to socket `id`. If the browser refuses, hand the message back with
    /// [`Machine::write_failed`].
    Write {
        /// The socket to write to.
        id: ConnId,
        /// The frame.
        message: Message,
    },
    /// Close socket `id` with this code and reason, and detach its listeners now: the
    /// machine has already accounted for its loss.
    CloseSocket {
        /// The socket.
        id: ConnId,
        /// The close code to send (1005: close without a status code).
        code: u16,
        /// The close reason to send.
        reason: String,
    },
    /// Start closing socket `id` (the user's close) and keep listening for its close event.
    StartClose {
        /// The socket.
        id: ConnId,
        /// The close code to send (1005: close without a status code).
        code: u16,
        /// The close reason to send.
        reason: String,
    },
    /// (Re)start `timer` to fire after `after`, replacing a running one of the same kind.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When it fires, from now.
        after: Duration,
    },
    /// Stop `timer` if it runs.
    CancelTimer(Timer),
    /// Socket `id` opened: run the handshake hook on it, hand it the messages that come as
    /// [`Action::ToHandshake`], and report [`Machine::handshake_done`]. Only with a hook.
    Handshake {
        /// The socket.
        id: ConnId,
    },
    /// A message for the running handshake hook, not for the application.
    ToHandshake {
        /// The socket.
        id: ConnId,
        /// The message.
        message: Message,
    },
    /// Report this event to the application.
    Emit(ConnectionEvent),
    /// Hand this message to the application.
    Deliver(Message),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting {
        id: ConnId,
    },
    /// Open, and the handshake hook runs; the application doesn't see it open yet.
    Handshaking {
        id: ConnId,
    },
    Open {
        id: ConnId,
        since: Time,
    },
    /// A retry timer is set.
    Waiting,
    /// Offline: waiting for the network before dialling.
    Offline,
    /// The user closed; waiting for the socket's close event to end the handshake.
    Closing {
        id: ConnId,
    },
    /// Gave up; `reconnect()` restarts.
    Stopped,
    /// Closed by the user; terminal.
    Closed,
}

/// The reconnecting socket's every decision, without I/O: feed it what happened (`on_*`,
/// `send`, `close`, ...) with the current time, then carry out every [`Action`] from
/// [`poll_action`](Self::poll_action) until it returns `None`.
#[derive(Debug)]
pub struct Machine {
    cfg: Config,
    rng: Rng,
    phase: Phase,
    next_id: ConnId,
    /// Retries since the last stable connection; the next retry's number.
    retries: u32,
    down_since: Option<Time>,
    online: bool,
    queue: SendQueue,
    last_seen: Time,
    /// The outstanding ping: its number and when it was sent.
    ping: Option<(u64, Time)>,
    ping_seq: u64,
    /// Whether the current ping (or wait, without pings) excuses a late timer.
    excused: bool,
    /// The heartbeat messages written last (ping, answer): refused, they are not replayed.
    last_ping: Option<Message>,
    last_answer: Option<Message>,
    /// The subprotocol of the socket whose handshake hook runs, for its `Open`.
    handshake_protocol: String,
    heartbeat_due: Time,
    /// Pings sent on the current connection and not answered yet: only their pongs are
    /// consumed (an application message that merely looks like a pong is delivered).
    unanswered: Vec<u64>,
    rtt: Option<Duration>,
    /// With resume: the session carried across connections.
    session: Session,
    /// With resume: `end` went out on the socket being closed by the user.
    end_sent: bool,
    /// With resume: waiting for the server to acknowledge what is in flight.
    ack_wait: Option<AckWait>,
    /// With resume: the server answered `welcome ended`; its last messages and its `end`
    /// are coming, and nothing more is sent in the session.
    ending: bool,
    /// With resume, for a shared connection: acknowledgements (and the resume greeting)
    /// cover at most this many of the server's messages, what every tab has confirmed.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    ack_limit: Option<u64>,
    /// With resume: the session was imported from another machine and not welcomed since;
    /// a server that has more of our messages than it knew of means the exporter's last
    /// records never arrived (reported as diverged, not retried for ever).
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    imported: bool,
    /// The socket the driver reported created (after the URL provider, if any).
    created: Option<ConnId>,
    /// The driver doesn't read the open socket (receive backpressure): no silence counts.
    reading_paused: bool,
    /// The latest time an input carried.
    now: Time,
    /// When each timer set beyond [`MAX_TIMER`] is really due; it was asked for in steps.
    long_deadline: [Option<Time>; Timer::ALL.len()],
    actions: VecDeque<Action>,
}

impl Machine {
    /// A machine that dials at once.
    pub(crate) fn new(cfg: Config, seed: u64, now: Time) -> Machine {
        let queue = SendQueue::new(cfg.queue_max_bytes, cfg.overflow);
        let mut m = Machine {
            cfg,
            rng: Rng::new(seed),
            phase: Phase::Stopped,
            next_id: 1,
            retries: 0,
            down_since: None,
            online: true,
            queue,
            last_seen: now,
            ping: None,
            ping_seq: 0,
            excused: false,
            last_ping: None,
            last_answer: None,
            handshake_protocol: String::new(),
            heartbeat_due: now,
            unanswered: Vec::new(),
            rtt: None,
            session: Session::default(),
            end_sent: false,
            ack_wait: None,
            ending: false,
            #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
            ack_limit: None,
            #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
            imported: false,
            created: None,
            reading_paused: false,
            now,
            long_deadline: [None; Timer::ALL.len()],
            actions: VecDeque::new(),
        };
        m.dial();
        m
    }

    /// The next thing to do, in order; `None` when there is nothing left.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// `Connecting` also while waiting to retry or for the network.
    pub fn ready_state(&self) -> ReadyState {
        match self.phase {
            Phase::Open { .. } => ReadyState::Open,
            Phase::Connecting { .. }
            | Phase::Handshaking { .. }
            | Phase::Waiting
            | Phase::Offline => ReadyState::Connecting,
            Phase::Closing { .. } => ReadyState::Closing,
            Phase::Stopped | Phase::Closed => ReadyState::Closed,
        }
    }

    /// Retries since the last stable connection.
    pub fn attempt(&self) -> u32 {
        self.retries
    }

    /// The last heartbeat round trip, if any.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Bytes waiting in the send queue.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }

    /// The socket currently open, if any.
    pub fn open_socket(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Open { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether `send` would take a message of `len` bytes now without an error or a drop.
    pub fn can_accept(&self, len: usize) -> bool {
        match self.phase {
            // With resume, unacknowledged messages count against the bound too.
            Phase::Open { .. } => self.cfg.resume().is_none() || self.queue.fits(len),
            Phase::Closing { .. } | Phase::Stopped | Phase::Closed => false,
            // Without replay nothing is taken until a connection is open.
            _ => self.cfg.replay && self.queue.fits(len),
        }
    }

    /// With resume: messages sent and not acknowledged by the server yet (always 0 without).
    pub fn unacknowledged(&self) -> usize {
        self.session.unacked.len()
    }

    /// With resume: the bytes of the messages not acknowledged yet, which a new connection
    /// sends again (always 0 without). A driver counts them in its `bufferedAmount`.
    #[cfg_attr(not(feature = "sans-io"), allow(dead_code))]
    pub fn unacknowledged_bytes(&self) -> usize {
        self.session.unacked_bytes
    }

    /// With resume: the session as it stands, to continue it in another machine (another
    /// tab's, when a shared connection changes hands). `None` before the first welcome.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn resume_state(&self) -> Option<ResumeState> {
        let session = self.session.id.clone()?;
        Some(ResumeState {
            session,
            received: self.session.recv,
            acked: self.session.acked(),
            unacked: self.session.unacked.iter().cloned().collect(),
        })
    }

    /// With resume: continues `state` (exported by [`resume_state`](Self::resume_state) or
    /// rebuilt from a mirror) instead of starting a session: the next connection resumes it,
    /// and its unacknowledged messages go out again first, keeping their numbers. Only
    /// before this machine's first welcome; `false` (and nothing changed) otherwise.
    ///
    /// If the server then has more of our messages than `state` holds (the exporter wrote
    /// some whose record never arrived), the session is reported lost as
    /// [`LostReason::Diverged`] with its unacknowledged messages and a new one starts.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn import_resume(&mut self, state: ResumeState) -> bool {
        let fresh = self.session.id.is_none() && self.session.sent == 0;
        let before_welcome = matches!(
            self.phase,
            Phase::Connecting { .. } | Phase::Waiting | Phase::Offline
        );
        if self.cfg.resume().is_none() || !fresh || !before_welcome {
            return false;
        }
        let session = &mut self.session;
        session.id = Some(state.session);
        session.recv = state.received;
        session.reported = state.received;
        session.sent = state.acked.saturating_add(state.unacked.len() as u64);
        session.unacked_bytes = state.unacked.iter().map(Message::len).sum();
        session.unacked = state.unacked.into();
        self.imported = true;
        self.sync_reserved();
        true
    }

    /// With resume, for a shared connection: our acknowledgements to the server (and the
    /// resume greeting) cover at most the server's messages `..=limit` (`None`: all we
    /// received), so the server keeps the rest until every tab has them. Raising it sends
    /// the acknowledgement it allows (within the ack delay, at once after `ack_every`).
    /// A new session starts with a limit of 0. A limit below what was acknowledged already
    /// counts as that: an acknowledgement can't be taken back (the server forgot those).
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn set_ack_limit(&mut self, limit: Option<u64>, now: Time) {
        self.tick(now);
        let before = self.ackable();
        let reported = self.session.reported;
        self.ack_limit = limit.map(|limit| limit.max(reported));
        let (Some(resume), Phase::Open { id, .. }) = (self.cfg.resume(), self.phase) else {
            return;
        };
        let pending = self.ackable().saturating_sub(reported);
        if pending >= u64::from(resume.ack_every) {
            self.send_ack(id);
        } else if pending > 0 && before <= reported {
            // Nothing was waiting: the delay starts now.
            self.set_timer(Timer::Ack, resume.ack_delay);
        }
    }

    /// With resume: the session's identifier, once a welcome issued one.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn session_id(&self) -> Option<&str> {
        self.session.id.as_deref()
    }

    /// With resume: the number of the server's last message received in order, in the
    /// current session (a [`Action::Deliver`] out of `on_message` carries this number).
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn received(&self) -> u64 {
        self.session.recv
    }

    /// With resume: how many of our messages went out in the current session (numbered
    /// `1..=sent`); the server has `..=`[`acked`](Self::acked) of them.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn sent(&self) -> u64 {
        self.session.sent
    }

    /// With resume: the server acknowledged our messages `1..=acked` of the current session.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    pub fn acked(&self) -> u64 {
        self.session.acked()
    }

    /// What a driver reports as its `bufferedAmount`, given the bytes the browser `holds`
    /// for its current socket: that count while there is one (opening, open or closing; a
    /// driver passes 0 once the socket it holds is no longer the machine's, as browsers keep
    /// counting what a closed socket never sent). With resume, instead, every byte the server
    /// has not acknowledged, connected or not: a new connection sends it again. The queue is
    /// apart ([`queued_bytes`](Self::queued_bytes)).
    pub fn buffered_amount(&self, holds: usize) -> usize {
        if self.cfg.resume().is_some() {
            self.session.unacked_bytes
        } else if matches!(
            self.phase,
            Phase::Waiting | Phase::Offline | Phase::Stopped | Phase::Closed
        ) {
            0
        } else {
            holds
        }
    }

    /// Whether sessions are resumed ([`Resume`](crate::Resume)).
    pub fn resumes(&self) -> bool {
        self.cfg.resume().is_some()
    }

    /// The socket whose handshake hook runs, if one does.
    pub fn handshaking(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Handshaking { id } => Some(id),
            _ => None,
        }
    }

    /// Whether socket `id` is the attempt in flight (a provider's late answer may not be).
    pub fn is_dialing(&self, id: ConnId) -> bool {
        self.phase == Phase::Connecting { id }
    }

    /// Closed by the user: nothing will ever happen again.
    pub fn is_closed_for_good(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// No more sends: closing, closed or given up.
    pub fn is_stopped(&self) -> bool {
        matches!(
            self.phase,
            Phase::Closing { .. } | Phase::Stopped | Phase::Closed
        )
    }

    /// Nothing more will arrive until `reconnect()`: closed or given up.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Stopped | Phase::Closed)
    }

    fn emit(&mut self, event: ConnectionEvent) {
        self.actions.push_back(Action::Emit(event));
    }

    /// Asks for `timer` in `after`, at most [`MAX_TIMER`] at a time.
    fn set_timer(&mut self, timer: Timer, after: Duration) {
        self.long_deadline[timer.index()] =
            (after > MAX_TIMER).then(|| self.now.saturating_add(after));
        let after = after.min(MAX_TIMER);
        self.actions.push_back(Action::SetTimer { timer, after });
    }

    fn cancel_timer(&mut self, timer: Timer) {
        self.long_deadline[timer.index()] = None;
        self.actions.push_back(Action::CancelTimer(timer));
    }

    /// Moves the machine's clock to `now` (inputs may carry an older reading: ignored).
    fn tick(&mut self, now: Time) {
        self.now = self.now.max(now);
    }

    fn dial(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        self.phase = Phase::Connecting { id };
        self.ping = None;
        self.unanswered.clear();
        self.ack_wait = None;
        self.emit(ConnectionEvent::Connecting {
            attempt: self.retries,
        });
        self.actions.push_back(Action::Dial { id });
        self.set_timer(Timer::ConnectTimeout, self.cfg.connect_timeout);
    }

    /// Closes and forgets the current socket, if there is one.
    fn drop_socket(&mut self, code: u16, reason: &str) {
        if let Phase::Connecting { id } | Phase::Handshaking { id } | Phase::Open { id, .. } =
            self.phase
        {
            self.actions.push_back(Action::CloseSocket {
                id,
                code,
                reason: reason.to_owned(),
            });
        }
        self.cancel_timer(Timer::ConnectTimeout);
        self.cancel_timer(Timer::Heartbeat);
        if self.cfg.resume().is_some() {
            self.cancel_timer(Timer::Ack);
            self.cancel_timer(Timer::AckTimeout);
        }
    }

    fn stop(&mut self, reason: StopReason, close: Option<CloseInfo>) {
        let user = reason == StopReason::UserClosed;
        if user {
            // A close from inside a handler of this very step: what was decided before it
            // (a retry, its announcement) will not happen, so it is not carried out either.
            // Not `VecDeque::retain`: its index checks link panic formatting into the wasm.
            let actions = std::mem::take(&mut self.actions);
            self.actions = actions
                .into_iter()
                .filter(|action| {
                    !matches!(
                        action,
                        Action::Dial { .. }
                            | Action::SetTimer { .. }
                            | Action::Emit(
                                ConnectionEvent::Connecting { .. }
                                    | ConnectionEvent::Reconnecting { .. }
                                    | ConnectionEvent::WaitingForNetwork { .. }
                            )
                    )
                })
                .collect();
        }
        self.cancel_timer(Timer::Retry);
        let unsent = self.queue.clear();
        if self.cfg.resume().is_some() {
            self.cancel_timer(Timer::Ack);
            // After `end` and a clean close the server has everything (one ordered stream).
            let delivered = user && self.end_sent && close.as_ref().is_some_and(|c| c.was_clean);
            let unconfirmed = self.session.reset();
            self.sync_reserved();
            #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
            self.forget_share_state();
            self.end_sent = false;
            // After `welcome ended` the server processed nothing beyond its welcome's count.
            let reason = if std::mem::take(&mut self.ending) {
                LostReason::Ended
            } else {
                LostReason::Stopped
            };
            if !delivered && !unconfirmed.is_empty() {
                self.emit(ConnectionEvent::SessionLost {
                    reason,
                    missed: None,
                    unconfirmed,
                });
            }
        }
        self.phase = if user { Phase::Closed } else { Phase::Stopped };
        self.emit(ConnectionEvent::Closed {
            reason,
            unsent,
            close,
        });
    }

    /// The current socket (or attempt) is gone: decide between retrying and stopping.
    fn lost(&mut self, close: CloseInfo, now: Time) {
        let was_open = match self.phase {
            Phase::Open { since, .. } => {
                if now.saturating_sub(since) >= self.cfg.stable_after {
                    self.retries = 0;
                }
                self.down_since = Some(now);
                true
            }
            _ => false,
        };
        self.cancel_timer(Timer::ConnectTimeout);
        self.cancel_timer(Timer::Heartbeat);
        if self.cfg.resume().is_some() {
            self.cancel_timer(Timer::Ack);
            self.cancel_timer(Timer::AckTimeout);
        }
        self.ping = None;
        self.unanswered.clear();
        let down_since = *self.down_since.get_or_insert(now);
        // With resume, a 1002 from the server is a protocol error on this connection only:
        // the session survives and is resumed (spec section 3). By default only our own
        // finding that the server doesn't speak the protocol stops.
        let resumable = self.cfg.resume().is_some()
            && close.code == 1002
            && close.reason != RESUME_UNSUPPORTED_REASON
            && matches!(self.cfg.close_policy, ClosePolicy::Default);
        let last_close = Disconnect { close, was_open };
        if !resumable && !self.cfg.close_policy.should_retry(&last_close) {
            let close = Some(last_close.close.clone());
            self.stop(StopReason::Policy(last_close), close);
            return;
        }
        self.retries = self.retries.saturating_add(1);
        let ctx = RetryContext {
            attempt: self.retries,
            elapsed: now.saturating_sub(down_since),
            last_close: last_close.close.clone(),
        };
        let Some(delay) = self.cfg.backoff.delay(&ctx, &mut self.rng) else {
            let close = Some(last_close.close.clone());
            self.stop(StopReason::GaveUp(last_close), close);
            return;
        };
        if !self.online {
            self.phase = Phase::Offline;
            self.emit(ConnectionEvent::WaitingForNetwork {
                last_close: Some(last_close),
            });
            return;
        }
        self.phase = Phase::Waiting;
        self.set_timer(Timer::Retry, delay);
        self.emit(ConnectionEvent::Reconnecting {
            attempt: self.retries,
            delay,
            last_close,
        });
    }

    /// The driver created socket `id` (for a URL provider, once it answered). Until then a
    /// `close()` has no socket to wait for and closes at once.
    pub fn socket_created(&mut self, id: ConnId) {
        if self.phase == (Phase::Connecting { id }) {
            self.created = Some(id);
        }
    }

    /// Socket `id` opened.
    pub fn on_open(&mut self, id: ConnId, protocol: String, now: Time) {
        self.tick(now);
        if self.phase != (Phase::Connecting { id }) {
            return;
        }
        self.last_seen = now;
        if self.cfg.resume().is_some() {
            // The first frames negotiate: our greeting, the server's welcome. The connect
            // timeout keeps running: it bounds the welcome too.
            self.phase = Phase::Handshaking { id };
            self.handshake_protocol = protocol;
            #[allow(unused_mut)]
            let mut greeting = self.session.greeting();
            // Shared: the server may forget only what every tab has.
            #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
            if let Control::Resume { recv, .. } = &mut greeting {
                *recv = self.ackable();
            }
            let message = greeting.encode_client();
            self.actions.push_back(Action::Write { id, message });
            return;
        }
        if self.cfg.handshake() {
            // The connect timeout keeps running: it bounds the hook too.
            self.phase = Phase::Handshaking { id };
            self.handshake_protocol = protocol;
            self.actions.push_back(Action::Handshake { id });
            return;
        }
        self.become_open(id, protocol, now);
    }

    /// The handshake hook on socket `id` finished: `Ok` opens the connection for the
    /// application (the driver then delivers the messages the hook left unread, before any
    /// newer one); `Err` fails the attempt with the hook's reason.
    pub fn handshake_done(&mut self, id: ConnId, result: Result<(), String>, now: Time) {
        self.tick(now);
        if self.phase != (Phase::Handshaking { id }) {
            return;
        }
        match result {
            Ok(()) => {
                let protocol = std::mem::take(&mut self.handshake_protocol);
                self.become_open(id, protocol, now);
            }
            Err(reason) => self.handshake_failed(&reason, now),
        }
    }

    fn handshake_failed(&mut self, reason: &str, now: Time) {
        self.drop_socket(1000, HANDSHAKE_FAILED_REASON);
        let close = CloseInfo {
            code: 1006,
            reason: joined(HANDSHAKE_FAILED_REASON, reason),
            was_clean: false,
        };
        self.lost(close, now);
    }

    fn become_open(&mut self, id: ConnId, protocol: String, now: Time) {
        self.phase = Phase::Open { id, since: now };
        self.down_since = None;
        self.cancel_timer(Timer::ConnectTimeout);
        // Everything queued goes out first, in order, before anything newer (with resume:
        // after what the server hasn't received yet); then `Open` is announced, so what a
        // driver runs on it (a close) comes after the backlog, as `send`s in the browser's
        // `onopen` would.
        if self.cfg.resume().is_some() {
            self.write_queued(id);
        } else {
            while let Some(message) = self.queue.pop() {
                self.actions.push_back(Action::Write { id, message });
            }
        }
        self.emit(ConnectionEvent::Open { protocol });
        self.last_seen = now;
        self.excused = false;
        if let Some(hb) = self.cfg.heartbeat() {
            let first = if hb.pings() { hb.interval } else { hb.timeout };
            self.schedule_heartbeat(first, now);
        }
    }

    /// A message arrived on socket `id`.
    pub fn on_message(&mut self, id: ConnId, message: Message, now: Time) {
        self.tick(now);
        match self.phase {
            // Sent by the peer before it saw our close: still the user's data (a late answer
            // to our own ping is not).
            Phase::Closing { id: cur } if cur == id && self.cfg.resume().is_some() => {
                self.on_frame(id, message, now)
            }
            Phase::Closing { id: cur } if cur == id => self.deliver_unless_pong(message),
            Phase::Handshaking { id: cur } if cur == id && self.cfg.resume().is_some() => {
                self.last_seen = now;
                self.on_welcome(id, message, now);
            }
            Phase::Handshaking { id: cur } if cur == id => {
                self.last_seen = now;
                if !self.answer_ping(id, &message) {
                    self.actions.push_back(Action::ToHandshake { id, message });
                }
            }
            Phase::Open { id: cur, .. } if cur == id => self.on_open_message(id, message, now),
            _ => {}
        }
    }

    fn deliver_unless_pong(&mut self, message: Message) {
        if self.take_pong(&message).is_none() {
            self.actions.push_back(Action::Deliver(message));
        }
    }

    fn on_open_message(&mut self, id: ConnId, message: Message, now: Time) {
        self.last_seen = now;
        self.excused = false;
        if let Some(hb) = self.cfg.heartbeat() {
            // The pending tick may be a ping's deadline, later than the new idle limit.
            let idle = if hb.pings() { hb.interval } else { hb.timeout };
            if self.heartbeat_due > now.saturating_add(idle) {
                self.schedule_heartbeat(idle, now);
            }
        }
        if self.cfg.resume().is_some() {
            self.on_frame(id, message, now);
            return;
        }
        if self.answer_ping(id, &message) {
            return;
        }
        if let Some(seq) = self.take_pong(&message) {
            self.pong(seq, now);
            return;
        }
        self.actions.push_back(Action::Deliver(message));
    }

    /// Our ping `seq` was answered.
    fn pong(&mut self, seq: u64, now: Time) {
        if let Some((sent_seq, sent)) = self.ping {
            if sent_seq == seq {
                let rtt = now.saturating_sub(sent);
                self.rtt = Some(rtt);
                self.ping = None;
                self.emit(ConnectionEvent::Rtt(rtt));
            }
        }
    }

    /// With resume: a frame on the open (or closing) socket `id`.
    fn on_frame(&mut self, id: ConnId, message: Message, now: Time) {
        match Frame::parse(message) {
            Frame::App(message) => {
                if self.session.skip > 0 {
                    // Sent again by the server, but we have it already.
                    self.session.skip -= 1;
                    return;
                }
                let before = self.ackable();
                self.session.recv += 1;
                self.actions.push_back(Action::Deliver(message));
                let ack = self.cfg.resume().map(|r| (r.ack_every, r.ack_delay));
                if let (Some((every, delay)), Phase::Open { .. }) = (ack, self.phase) {
                    let pending = self.ackable() - self.session.reported;
                    // The first one to acknowledge (under a limit, this one may not count;
                    // without one it always does: one rule, tested, in every build).
                    let first = pending == 1 && self.ackable() > before;
                    if pending >= u64::from(every) {
                        self.send_ack(id);
                    } else if first {
                        self.set_timer(Timer::Ack, delay);
                    }
                }
            }
            Frame::Control(Control::Ack(n)) => {
                if !self.take_ack(n) {
                    return self.protocol_error("acknowledged messages never sent", now);
                }
                if matches!(self.phase, Phase::Open { .. }) {
                    self.ack_seen();
                    // Room in the server's window: what waited goes out.
                    self.write_queued(id);
                }
                // Every answer to a ping is an ack: it answers the oldest one outstanding.
                // (Not `remove(0)`: its index check links integer formatting into the wasm.)
                if let Some(&seq) = self.unanswered.first() {
                    self.unanswered.retain(|s| *s != seq);
                    self.pong(seq, now);
                }
            }
            Frame::Control(Control::Ping(n)) => {
                if !self.take_ack(n) {
                    return self.protocol_error("acknowledged messages never sent", now);
                }
                if matches!(self.phase, Phase::Open { .. }) {
                    self.send_ack(id);
                    self.write_queued(id);
                }
            }
            Frame::Control(Control::End) => {
                if matches!(self.phase, Phase::Open { .. }) {
                    self.drop_socket(1000, "");
                    let close = CloseInfo {
                        code: 1000,
                        reason: "the server ended the session".into(),
                        was_clean: true,
                    };
                    self.stop(StopReason::SessionEnded, Some(close));
                }
            }
            Frame::Control(_) => self.protocol_error("a welcome on an open connection", now),
            Frame::Invalid(why) => self.protocol_error(why, now),
        }
    }

    /// The server has our messages `..=n`.
    fn take_ack(&mut self, n: u64) -> bool {
        let ok = self.session.ack(n);
        self.sync_reserved();
        ok
    }

    /// The count our acknowledgements may report: what we received, within the limit.
    fn ackable(&self) -> u64 {
        #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
        if let Some(limit) = self.ack_limit {
            return limit.min(self.session.recv);
        }
        self.session.recv
    }

    fn send_ack(&mut self, id: ConnId) {
        self.session.reported = self.ackable();
        let message = Control::Ack(self.session.reported).encode_client();
        self.actions.push_back(Action::Write { id, message });
        self.cancel_timer(Timer::Ack);
    }

    /// The server broke the protocol: drop the connection and resume on a new one.
    fn protocol_error(&mut self, why: &str, now: Time) {
        if matches!(self.phase, Phase::Closing { .. }) {
            return; // closing anyway
        }
        self.drop_socket(1000, PROTOCOL_ERROR_REASON);
        let close = CloseInfo {
            code: 1006,
            reason: joined(PROTOCOL_ERROR_REASON, why),
            was_clean: false,
        };
        self.lost(close, now);
    }

    /// The server's first frame was not a welcome: it doesn't speak the protocol. Never a
    /// silent downgrade to plain messages: the socket stops (close code 1002 by default).
    fn unsupported(&mut self, now: Time) {
        // Browsers can't send 1002; the reason says it. The app sees 1002 below.
        self.drop_socket(1000, RESUME_UNSUPPORTED_REASON);
        let close = CloseInfo {
            code: 1002,
            reason: RESUME_UNSUPPORTED_REASON.into(),
            was_clean: false,
        };
        self.lost(close, now);
    }

    /// With resume: the server's first frame on socket `id`, its welcome.
    fn on_welcome(&mut self, id: ConnId, message: Message, now: Time) {
        let welcome = match Frame::parse(message) {
            Frame::Control(
                c @ (Control::New { .. }
                | Control::Resumed { .. }
                | Control::Lost { .. }
                | Control::Ended { .. }),
            ) => c,
            // An application message, an echo of our greeting, anything else.
            _ => return self.unsupported(now),
        };
        let resuming = self.session.id.is_some();
        self.ending = false;
        let event = match welcome {
            Control::New { session, window } if !resuming => {
                self.session.id = Some(session);
                self.session.connected(window);
                None
            }
            // Asked to resume, got a new session: as if the server had said "unknown".
            Control::New { session, window } => {
                self.session.connected(window);
                Some(self.session_lost(LostReason::Unknown, None, session))
            }
            Control::Lost {
                reason,
                session,
                missed,
                window,
            } if resuming => {
                self.session.connected(window);
                Some(self.session_lost(reason, missed, session))
            }
            Control::Resumed {
                session,
                recv,
                next,
                window,
            } if resuming => {
                if !self.take_welcome_recv(id, recv, now) {
                    return;
                }
                self.session.connected(window);
                self.session.id = Some(session.clone());
                self.skip_to(next);
                let resent = self.session.unacked.len();
                let protocol = std::mem::take(&mut self.handshake_protocol);
                self.become_open(id, protocol, now);
                self.emit(ConnectionEvent::Resumed { session, resent });
                return;
            }
            Control::Ended {
                session: _,
                recv,
                next,
            } if resuming => {
                if !self.take_welcome_recv(id, recv, now) {
                    return;
                }
                // The server's last messages follow, then its `end`: the connection stays
                // open to receive them, and nothing more is sent in the session.
                self.skip_to(next);
                self.session.connected(0);
                self.ending = true;
                let protocol = std::mem::take(&mut self.handshake_protocol);
                self.become_open(id, protocol, now);
                return;
            }
            _ => return self.protocol_error("an unexpected welcome", now),
        };
        let protocol = std::mem::take(&mut self.handshake_protocol);
        self.become_open(id, protocol, now);
        if let Some(event) = event {
            self.emit(event);
        }
    }

    /// A resuming welcome's `recv`: the server has our messages `..=recv`. `false` (and the
    /// connection handled) when it is impossible.
    fn take_welcome_recv(&mut self, id: ConnId, recv: u64, now: Time) -> bool {
        if recv < self.session.acked() {
            // The server confirmed more before than it has now (its store lost writes):
            // resuming on its count would lose or repeat messages.
            self.diverged(id, now);
            return false;
        }
        #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
        if self.imported && recv > self.session.sent {
            // The exporter wrote messages whose records never reached us: which ones, and
            // whose, is unknown. Reported with what we have, never resumed on a wrong count.
            self.diverged(id, now);
            return false;
        }
        if !self.take_ack(recv) {
            self.protocol_error("resumed past the messages sent", now);
            return false;
        }
        #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
        {
            self.imported = false;
        }
        true
    }

    /// After a resuming welcome: the server sends from its message `next` on. Numbers we
    /// have already are discarded when they come again; numbers we never got are reported.
    fn skip_to(&mut self, next: u64) {
        let expected = self.session.recv.saturating_add(1);
        let gap = next.saturating_sub(expected);
        self.session.skip = expected.saturating_sub(next);
        self.session.recv = self.session.recv.max(next.saturating_sub(1));
        self.session.reported = self.ackable();
        if gap > 0 {
            self.emit(ConnectionEvent::SessionLost {
                reason: LostReason::Gap,
                missed: Some(gap),
                unconfirmed: Vec::new(),
            });
        }
    }

    /// The server resumed behind what it had confirmed: the session can't go on. Ended on
    /// our side (the server may forget it: `end`), reported with what was never confirmed;
    /// the next connection starts a new session. Never a reconnect loop on the old one.
    fn diverged(&mut self, id: ConnId, now: Time) {
        self.actions.push_back(Action::Write {
            id,
            message: Control::End.encode_client(),
        });
        let unconfirmed = self.session.reset();
        self.sync_reserved();
        #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
        self.forget_share_state();
        self.emit(ConnectionEvent::SessionLost {
            reason: LostReason::Diverged,
            missed: None,
            unconfirmed,
        });
        self.drop_socket(1000, PROTOCOL_ERROR_REASON);
        let close = CloseInfo {
            code: 1006,
            // PROTOCOL_ERROR_REASON, then why.
            reason: "resume protocol error: resumed behind its acknowledgements".to_owned(),
            was_clean: false,
        };
        self.lost(close, now);
    }

    /// The old session is gone: start `session` afresh and say what was lost.
    fn session_lost(
        &mut self,
        reason: LostReason,
        missed: Option<u64>,
        session: String,
    ) -> ConnectionEvent {
        let unconfirmed = self.session.reset();
        self.session.id = Some(session);
        self.sync_reserved();
        #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
        self.forget_share_state();
        ConnectionEvent::SessionLost {
            reason,
            missed,
            unconfirmed,
        }
    }

    /// With resume: writes what the server's window allows, in order: first the
    /// unacknowledged messages this connection hasn't carried yet, then the queued ones
    /// (numbering them). The rest waits for acknowledgements.
    fn write_queued(&mut self, id: ConnId) {
        if self.ending {
            return;
        }
        while let Some(message) = self.session.next_resend() {
            self.actions.push_back(Action::Write { id, message });
        }
        if self.session.all_resent() {
            while let Some(len) = self.queue.front_len() {
                if !self.session.fits(len) {
                    break;
                }
                let Some(message) = self.queue.pop() else {
                    break;
                };
                let message = self.session.record_sent(message);
                self.actions.push_back(Action::Write { id, message });
            }
        }
        self.sync_reserved();
        if self.session.in_flight() {
            self.await_ack();
        }
    }

    /// The queue's bound covers the unacknowledged messages too.
    fn sync_reserved(&mut self) {
        self.queue.set_reserved(self.session.unacked_bytes);
    }

    /// The session was reset: a new one is neither imported nor confirmed by any tab.
    #[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
    fn forget_share_state(&mut self) {
        self.imported = false;
        if self.ack_limit.is_some() {
            self.ack_limit = Some(0);
        }
    }

    /// With [`Heartbeat::answer`](crate::Heartbeat::answer): answers `message` if it is the
    /// server's ping (it is then not delivered).
    fn answer_ping(&mut self, id: ConnId, message: &Message) -> bool {
        let Some(Liveness::Answer(answer)) = self.cfg.heartbeat().map(|h| &h.liveness) else {
            return false;
        };
        let Some(reply) = answer(message) else {
            return false;
        };
        self.last_answer = Some(reply.clone());
        self.actions.push_back(Action::Write { id, message: reply });
        true
    }

    /// Consumes `message` if it answers one of our unanswered pings: the ping's number.
    fn take_pong(&mut self, message: &Message) -> Option<u64> {
        let Some(Liveness::Ping { pong, .. }) = self.cfg.heartbeat().map(|h| &h.liveness) else {
            return None;
        };
        let seq = match pong(message)? {
            Pong::Numbered(n) => n,
            _ => *self.unanswered.first()?,
        };
        if !self.unanswered.contains(&seq) {
            return None;
        }
        self.unanswered.retain(|s| *s != seq);
        Some(seq)
    }

    /// Socket `id` closed (or its attempt failed).
    pub fn on_close(&mut self, id: ConnId, close: CloseInfo, now: Time) {
        self.tick(now);
        let close = close.standard();
        match self.phase {
            Phase::Connecting { id: cur }
            | Phase::Handshaking { id: cur }
            | Phase::Open { id: cur, .. }
                if cur == id =>
            {
                self.lost(close, now)
            }
            Phase::Closing { id: cur } if cur == id => {
                self.cancel_timer(Timer::ConnectTimeout);
                self.stop(StopReason::UserClosed, Some(close));
            }
            _ => {}
        }
    }

    /// Socket `id` could not even be created (the URL provider failed, or the browser threw).
    pub fn on_dial_failed(&mut self, id: ConnId, reason: String, now: Time) {
        let close = CloseInfo {
            code: 1006,
            reason,
            was_clean: false,
        };
        self.on_close(id, close, now);
    }

    /// `timer` fired.
    pub fn on_timer(&mut self, timer: Timer, now: Time) {
        self.tick(now);
        if let Some(due) = self.long_deadline[timer.index()] {
            if now < due {
                // A long wait asked for in steps: ask for the next one.
                self.set_timer(timer, due - now);
                return;
            }
            self.long_deadline[timer.index()] = None;
        }
        match (timer, self.phase) {
            (Timer::Retry, Phase::Waiting) => self.dial(),
            (Timer::ConnectTimeout, Phase::Connecting { .. }) => {
                self.drop_socket(1000, CONNECT_TIMEOUT_REASON);
                let close = CloseInfo {
                    code: 1006,
                    reason: CONNECT_TIMEOUT_REASON.into(),
                    was_clean: false,
                };
                self.lost(close, now);
            }
            (Timer::ConnectTimeout, Phase::Handshaking { .. }) => {
                self.handshake_failed("not done within the connect timeout", now)
            }
            (Timer::Heartbeat, Phase::Open { id, .. }) => self.heartbeat_tick(id, now),
            // Only resume sets these: without the feature they compile out.
            (Timer::AckTimeout, Phase::Open { id, .. }) if Resume::AVAILABLE => {
                self.ack_tick(id, now)
            }
            (Timer::Ack, Phase::Open { id, .. })
                if Resume::AVAILABLE && self.ackable() > self.session.reported =>
            {
                self.send_ack(id)
            }
            (Timer::ConnectTimeout, Phase::Closing { id }) => {
                // The peer never finished the closing handshake: stop waiting for it.
                self.actions.push_back(Action::CloseSocket {
                    id,
                    code: 1000,
                    reason: String::new(),
                });
                let close = CloseInfo {
                    code: 1006,
                    reason: CLOSING_TIMEOUT_REASON.into(),
                    was_clean: false,
                };
                self.stop(StopReason::UserClosed, Some(close));
            }
            _ => {}
        }
    }

    fn schedule_heartbeat(&mut self, after: Duration, now: Time) {
        self.heartbeat_due = now.saturating_add(after);
        self.set_timer(Timer::Heartbeat, after);
    }

    fn send_ping(&mut self, id: ConnId, now: Time) {
        let Some(Liveness::Ping { ping, .. }) = self.cfg.heartbeat().map(|h| &h.liveness) else {
            return;
        };
        self.ping_seq += 1;
        let message = if self.cfg.resume().is_some() {
            // The protocol's own ping, which also acknowledges what we received.
            self.session.reported = self.ackable();
            Control::Ping(self.session.reported).encode_client()
        } else {
            ping(self.ping_seq)
        };
        self.ping = Some((self.ping_seq, now));
        self.unanswered.push(self.ping_seq);
        self.last_ping = Some(message.clone());
        self.actions.push_back(Action::Write { id, message });
        if self.cfg.resume().is_some() {
            self.await_ack();
        }
    }

    /// The peer is dead (`reason`: how we know): drop the socket and reconnect.
    fn heartbeat_dead(&mut self, reason: &str, now: Time) {
        self.drop_socket(HEARTBEAT_TIMEOUT_CODE, reason);
        let close = CloseInfo {
            code: HEARTBEAT_TIMEOUT_CODE,
            reason: reason.into(),
            was_clean: false,
        };
        self.lost(close, now);
    }

    /// With resume: how long what is in flight may go without any acknowledgement.
    fn ack_timeout(&self) -> Duration {
        self.cfg
            .heartbeat
            .as_ref()
            .map_or(DEFAULT_ACK_TIMEOUT, |hb| hb.timeout)
    }

    /// With resume: something the server must acknowledge went out on the open connection.
    fn await_ack(&mut self) {
        if self.ack_wait.is_none() {
            self.arm_ack_wait();
        }
    }

    fn arm_ack_wait(&mut self) {
        self.ack_wait = Some(AckWait::Armed);
        self.set_timer(Timer::AckTimeout, self.ack_timeout() / 2);
    }

    /// With resume: the server acknowledged, so it reads this connection. The wait ends, or
    /// starts again for what is still in flight (a slow application acknowledges late).
    fn ack_seen(&mut self) {
        self.ack_wait = None;
        if self.session.in_flight() {
            self.arm_ack_wait();
        } else {
            self.cancel_timer(Timer::AckTimeout);
        }
    }

    fn ack_tick(&mut self, id: ConnId, now: Time) {
        if self.reading_paused {
            // Its acks may wait unread; reading again re-arms.
            return;
        }
        let timeout = self.ack_timeout();
        let (wait, excused) = match self.ack_wait {
            None => return,
            Some(AckWait::Armed) => (timeout / 2, false),
            Some(AckWait::Probed { dead_at, excused }) => {
                if excused || now <= dead_at.saturating_add(LATE_TIMER_SLACK) {
                    return self.heartbeat_dead(ACK_TIMEOUT_REASON, now);
                }
                // The page may have been frozen and the acks not dispatched yet: ask again
                // and give the server a full timeout, once.
                (timeout, true)
            }
        };
        self.probe_ack(id);
        self.ack_wait = Some(AckWait::Probed {
            dead_at: now.saturating_add(wait),
            excused,
        });
        self.set_timer(Timer::AckTimeout, wait);
    }

    /// The protocol's ping, which the server answers with an `ack` at once.
    fn probe_ack(&mut self, id: ConnId) {
        self.session.reported = self.ackable();
        let message = Control::Ping(self.session.reported).encode_client();
        self.actions.push_back(Action::Write { id, message });
    }

    fn heartbeat_tick(&mut self, id: ConnId, now: Time) {
        let Some(hb) = self.cfg.heartbeat() else {
            return;
        };
        let (interval, timeout, pings) = (hb.interval, hb.timeout, hb.pings());
        if self.reading_paused {
            // Re-armed by a message read just before the pause, or by a new connection:
            // nothing to check until reading resumes (which schedules the next tick).
            return;
        }
        let late = now > self.heartbeat_due.saturating_add(LATE_TIMER_SLACK);
        if !pings {
            // Only the server speaks: silence for `timeout` is death.
            let dead_at = self.last_seen.saturating_add(timeout);
            if now < dead_at {
                self.schedule_heartbeat(dead_at - now, now);
            } else if late && !self.excused {
                // The page may have been frozen and the server's messages not dispatched
                // yet: wait a full timeout once more.
                self.excused = true;
                self.last_seen = now;
                self.schedule_heartbeat(timeout, now);
            } else {
                self.heartbeat_dead(HEARTBEAT_TIMEOUT_REASON, now);
            }
            return;
        }
        match self.ping {
            // Nothing at all has arrived since the ping.
            Some((_, sent)) if self.last_seen < sent => {
                let deadline = sent.saturating_add(timeout);
                if now < deadline {
                    self.schedule_heartbeat(deadline - now, now);
                } else if late && !self.excused {
                    // The page may have been frozen and the answer not dispatched yet: ping
                    // again and give the peer a full timeout, once.
                    self.excused = true;
                    self.send_ping(id, now);
                    self.schedule_heartbeat(timeout, now);
                } else {
                    self.heartbeat_dead(HEARTBEAT_TIMEOUT_REASON, now);
                }
            }
            _ => {
                self.excused = false;
                let idle_until = self.last_seen.saturating_add(interval);
                if now >= idle_until {
                    self.send_ping(id, now);
                    self.schedule_heartbeat(timeout, now);
                } else {
                    self.schedule_heartbeat(idle_until - now, now);
                }
            }
        }
    }

    /// The user sends a message.
    pub fn send(&mut self, message: Message) -> Result<SendOutcome, Error> {
        match self.phase {
            Phase::Open { id, .. } if self.cfg.resume().is_some() => {
                // Through the queue: the bound covers what awaits its acknowledgement.
                match self.enqueue(message)? {
                    SendOutcome::Dropped => Ok(SendOutcome::Dropped),
                    queued => {
                        self.write_queued(id);
                        // Written unless it waits for room in the server's window.
                        if self.queue.front_len().is_none() {
                            Ok(SendOutcome::Written)
                        } else {
                            Ok(queued)
                        }
                    }
                }
            }
            Phase::Open { id, .. } => {
                self.actions.push_back(Action::Write { id, message });
                Ok(SendOutcome::Written)
            }
            Phase::Closing { .. } | Phase::Stopped | Phase::Closed => Err(Error::Stopped),
            _ if !self.cfg.replay => Err(Error::NotOpen),
            _ => self.enqueue(message),
        }
    }

    /// Queues a sent message; what it evicts comes back as [`ConnectionEvent::Evicted`].
    fn enqueue(&mut self, message: Message) -> Result<SendOutcome, Error> {
        let outcome = self.queue.push(message);
        for old in self.queue.take_evicted() {
            self.emit(ConnectionEvent::Evicted(old));
        }
        outcome
    }

    /// The error `send` would return for a message of `len` bytes now, without sending one:
    /// for a payload the driver has yet to read (a `Blob`). `Ok` where `send` would take it
    /// or report a drop.
    // Used by drivers that read payloads late (the npm package's Blobs).
    #[cfg_attr(not(feature = "sans-io"), allow(dead_code))]
    pub fn check_send(&self, len: usize) -> Result<(), Error> {
        match self.phase {
            Phase::Open { .. } if self.cfg.resume().is_none() => Ok(()),
            Phase::Closing { .. } | Phase::Stopped | Phase::Closed => Err(Error::Stopped),
            Phase::Open { .. } => self.queue.check(len),
            _ if !self.cfg.replay => Err(Error::NotOpen),
            _ => self.queue.check(len),
        }
    }

    /// The browser refused a write the machine issued: its socket is already closing and
    /// the close event is on its way. With replay on, the message goes back in the queue, in
    /// order, to be written on the next connection; otherwise (or once stopped) it comes back
    /// to the application as [`ConnectionEvent::Unsent`]. Never dropped silently.
    pub fn write_failed(&mut self, message: Message) {
        if self.cfg.resume().is_some() {
            // Already in the replay buffer (or one of the protocol's own frames): the next
            // connection sends it again, or the session's loss reports it. `end` goes last, so
            // after any refused write it never reached the server: a clean close then
            // confirms nothing.
            self.end_sent = false;
            return;
        }
        // Our own heartbeat messages are not the application's: not replayed.
        let ours = |sent: &Option<Message>| sent.as_ref() == Some(&message);
        if ours(&self.last_ping) || ours(&self.last_answer) {
            return;
        }
        if self.cfg.replay && !self.is_stopped() {
            self.queue.push_accepted(message);
        } else {
            self.emit(ConnectionEvent::Unsent(message));
        }
    }

    /// The user closes for good.
    ///
    /// With a socket connected (or connecting), the machine waits in `Closing` for its close
    /// event (at most `connect_timeout`), so the final event carries the real close.
    pub fn close(&mut self, code: u16, reason: &str) {
        match self.phase {
            Phase::Closed | Phase::Closing { .. } => {}
            // Already stopped and reported: like a closed browser socket, nothing more.
            Phase::Stopped => self.phase = Phase::Closed,
            // No socket exists yet (the URL provider hasn't answered): nothing to wait for.
            Phase::Connecting { id } if self.created != Some(id) => {
                self.cancel_timer(Timer::ConnectTimeout);
                self.stop(StopReason::UserClosed, None);
            }
            Phase::Connecting { id } | Phase::Handshaking { id } | Phase::Open { id, .. } => {
                self.cancel_timer(Timer::Retry);
                self.cancel_timer(Timer::Heartbeat);
                if self.cfg.resume().is_some() {
                    self.cancel_timer(Timer::Ack);
                    self.cancel_timer(Timer::AckTimeout);
                    if matches!(self.phase, Phase::Open { .. }) {
                        // The session ends: the server may forget it.
                        let message = Control::End.encode_client();
                        self.actions.push_back(Action::Write { id, message });
                        self.end_sent = true;
                    }
                }
                let reason = reason.to_owned();
                self.actions
                    .push_back(Action::StartClose { id, code, reason });
                self.phase = Phase::Closing { id };
                self.set_timer(Timer::ConnectTimeout, self.cfg.connect_timeout);
            }
            Phase::Waiting | Phase::Offline => self.stop(StopReason::UserClosed, None),
        }
    }

    /// The user asks for a fresh connection now (also after giving up; not after `close`).
    pub fn reconnect(&mut self) {
        if matches!(self.phase, Phase::Closed | Phase::Closing { .. }) {
            return;
        }
        self.drop_socket(1000, "reconnect");
        self.cancel_timer(Timer::Retry);
        self.retries = 0;
        self.dial();
    }

    /// The driver stopped (`true`) or resumed reading the open socket, because the
    /// application's unread messages reached its bound (receive backpressure). While paused
    /// the peer's messages and answers wait in the TCP buffers, so the heartbeat neither
    /// pings nor counts silence; on resume its silence clock starts again.
    pub fn set_reading_paused(&mut self, paused: bool, now: Time) {
        self.tick(now);
        if std::mem::replace(&mut self.reading_paused, paused) == paused {
            return;
        }
        if !matches!(self.phase, Phase::Open { .. }) {
            return;
        }
        if paused {
            self.cancel_timer(Timer::Heartbeat);
            if self.ack_wait.is_some() {
                self.cancel_timer(Timer::AckTimeout);
            }
            return;
        }
        if self.ack_wait.is_some() {
            self.arm_ack_wait();
        }
        if let Some(hb) = self.cfg.heartbeat() {
            let first = if hb.pings() { hb.interval } else { hb.timeout };
            self.last_seen = now;
            self.excused = false;
            self.schedule_heartbeat(first, now);
        }
    }

    /// The browser went online or offline (`navigator.onLine` and its events).
    pub fn set_online(&mut self, online: bool) {
        self.online = online;
        match (online, self.phase) {
            (false, Phase::Waiting) => {
                self.cancel_timer(Timer::Retry);
                self.phase = Phase::Offline;
                self.emit(ConnectionEvent::WaitingForNetwork { last_close: None });
            }
            (true, Phase::Offline | Phase::Waiting) => self.redial_now(),
            _ => {}
        }
    }

    /// The page became visible or hidden: visible again retries a waiting socket at once
    /// (the retry counter is kept: a page shown and hidden repeatedly still gives up).
    pub fn set_visible(&mut self, visible: bool) {
        if visible && self.online && self.phase == Phase::Waiting {
            self.redial_now();
        }
    }

    /// Runs the scheduled retry now instead of after its delay.
    fn redial_now(&mut self) {
        self.cancel_timer(Timer::Retry);
        self.dial();
    }
}

// Native only: the core is tested with a virtual clock, and proptest doesn't run on wasm32.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "machine_tests.rs"]
mod tests;
