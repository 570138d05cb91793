//! The session's task: owns the session's connection (at most one at a time), its replay
//! buffer, its counters and its timers, and is the only writer of its store record. It
//! ends with the session (end, expiry, overflow, takeover, store failure) and leaves no
//! task or timer behind. It never calls the application: it only fills the incoming
//! channel and drains the queue of the sink's messages.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use tokio::sync::mpsc;
use tokio::sync::oneshot;
use tokio::time::Instant;
use ws_tether::sans_io::resume::{Control, Frame};
use ws_tether::Message;

use crate::connection::{close_cleanly, Activity, Connection, Outbound, Outgoing};
use crate::registry::Registry;
use crate::session::{Incoming, Shared};
use crate::store::{Changes, LostReason, Snapshot};
use crate::Error;

/// Close codes the server uses besides 1000 (end) and 1002 (protocol error).
pub(crate) const CLOSE_TAKEN_OVER: u16 = 4000;
const CLOSE_IDLE: u16 = 1001;
const CLOSE_STORE_FAILED: u16 = 1011;

/// Retries of a failed store: the first after this, doubling up to the most.
const STORE_RETRY_FIRST: Duration = Duration::from_millis(100);
const STORE_RETRY_MAX: Duration = Duration::from_secs(5);

/// The most messages written to the store in one call (Lua's argument limit is ~8000).
const MAX_BATCH: usize = 1000;

/// Turns the task lets the application take before writing what it recorded (see
/// `main_loop`): bounds how long a busy sink holds up the socket.
const BATCH_TURNS: usize = 16;

/// Messages the session's task takes from outside.
#[derive(Debug)]
pub(crate) enum Command {
    /// A client resumed this session on a new connection, presenting `owner` (a hash).
    Attach {
        socket: Box<WebSocket>,
        client_recv: u64,
        owner: Arc<str>,
        reply: oneshot::Sender<Attached>,
    },
    /// Another process claimed the session under `epoch` (the store said so).
    Moved { epoch: u64 },
    /// Close the open connection (the session stays).
    Disconnect {
        code: u16,
        reason: String,
        done: oneshot::Sender<()>,
    },
}

/// What became of a resume's connection sent to a running session.
#[derive(Debug)]
pub(crate) enum Attached {
    /// The session continues on it.
    Joined,
    /// The session is over: the caller answers from the store.
    Returned(Box<WebSocket>),
    /// The session is another owner's: the caller answers `welcome lost unknown`.
    NotOwner(Box<WebSocket>),
}

/// How the first connection starts.
pub(crate) enum Start {
    /// `welcome new` or `welcome lost` on `socket` (a fresh session).
    Fresh { socket: WebSocket, welcome: Control },
    /// `welcome resumed` on `socket`, replaying from the snapshot (taken over from the
    /// store).
    Resumed {
        socket: WebSocket,
        client_recv: u64,
        snapshot: Snapshot,
    },
}

pub(crate) struct Actor {
    id: String,
    /// The session's key in the store (a hash of `id`), and a hash of its owner.
    key: String,
    owner: Arc<str>,
    token: u64,
    epoch: u64,
    registry: Arc<Registry>,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    conn: Option<Connection>,
    /// The client's messages received on this connection and not covered by an `ack` sent
    /// yet: (number, bytes). The client keeps them within the announced receive window.
    held: VecDeque<(u64, usize)>,
    held_bytes: usize,
    /// The client sent `end`: the session ends once the application finished.
    client_ended: bool,
    /// The number the client's next data frame on this connection has (the client resends
    /// everything after the welcome's `recv`).
    next_in: u64,
    /// The client's messages `1..=delivered` were handed to the application (put in its
    /// channel, or discarded with the stream dropped).
    delivered: u64,
    /// ... and the application finished with `1..=received` (asked for the next one, or
    /// dropped the stream): those count as received.
    received: u64,
    /// ... and `1..=recorded_received` recorded in the store.
    recorded_received: u64,
    /// The last `ack` sent to the client.
    acked_to_client: u64,
    ack_deadline: Option<Instant>,
    /// When the application's finishing with messages after `acked_to_client` became known
    /// (`received` then, and the instant): each is acknowledged within the ack delay of it.
    finished_at: VecDeque<(u64, Instant)>,
    /// The client acknowledged the server's messages `1..=acknowledged`.
    acknowledged: u64,
    /// Recorded, unacknowledged messages, numbered from `acknowledged + 1`, as their
    /// frames (shared bytes: sending one again copies nothing) with their payload sizes.
    replay: VecDeque<Outbound>,
    idle_deadline: Option<Instant>,
    /// The store failed: store work waits until then (a retry), and since when it fails.
    store_retry: Option<Instant>,
    store_backoff: Duration,
    store_down_since: Option<Instant>,
    /// When to ask a quiet client for proof of life (`ping`), so that a connection without
    /// traffic is not cut as idle: the client answers with an `ack`.
    ping_at: Option<Instant>,
    expiry: Option<Instant>,
    touch_at: Option<Instant>,
    /// Messages were recorded for the open connection in this turn (see `main_loop`).
    recorded_for_conn: bool,
    /// The last save had to wait for the store (see `main_loop`).
    save_waited: bool,
}

/// What woke the task.
enum Wake {
    Command(Option<Command>),
    Frame(Option<Result<WsMessage, axum::Error>>),
    /// The connection failed to take frames, or took none for the write timeout.
    WriteFailed,
    Shared,
    AckDue,
    PingDue,
    StoreRetry,
    Idle,
    Expire,
    Touch,
}

/// Why a connection must go: the session continues.
enum Loss {
    Lost,
    Close(u16, &'static str),
}

type Step = Result<(), Outcome>;

/// How the task ends or loses its connection.
enum Outcome {
    Connection(Loss),
    Session(Error),
    /// The store failed: transient, retried (see `store_failed`).
    StoreDown(Error),
}

impl From<Error> for Outcome {
    fn from(error: Error) -> Self {
        match error {
            Error::Store(_) => Outcome::StoreDown(error),
            end => Outcome::Session(end),
        }
    }
}

impl Actor {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: String,
        key: String,
        owner: Arc<str>,
        token: u64,
        epoch: u64,
        registry: Arc<Registry>,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
        received: u64,
        acknowledged: u64,
        replay: Vec<Message>,
    ) -> Actor {
        Actor {
            id,
            key,
            owner,
            token,
            epoch,
            registry,
            shared,
            commands,
            conn: None,
            held: VecDeque::new(),
            held_bytes: 0,
            client_ended: false,
            next_in: received + 1,
            delivered: received,
            received,
            recorded_received: received,
            acked_to_client: received,
            ack_deadline: None,
            finished_at: VecDeque::new(),
            acknowledged,
            replay: replay.into_iter().map(Outbound::new).collect(),
            idle_deadline: None,
            ping_at: None,
            store_retry: None,
            store_backoff: STORE_RETRY_FIRST,
            store_down_since: None,
            expiry: None,
            touch_at: None,
            recorded_for_conn: false,
            save_waited: false,
        }
    }

    fn config(&self) -> &crate::Config {
        &self.registry.config
    }

    /// The number of the next recorded outgoing message.
    fn next_out(&self) -> u64 {
        self.acknowledged + self.replay.len() as u64 + 1
    }

    pub(crate) async fn run(mut self, start: Start) {
        let first = match start {
            Start::Fresh { socket, welcome } => self.open_fresh(socket, welcome).await,
            Start::Resumed {
                socket,
                client_recv,
                snapshot,
            } => {
                debug_assert_eq!(snapshot.epoch, self.epoch);
                self.attach(socket, client_recv).await
            }
        };
        let end = match self.settle(first).await {
            Some(end) => end,
            None => self.main_loop().await,
        };
        self.finish(end).await;
    }

    async fn main_loop(&mut self) -> Error {
        // One timer for every deadline (a timer per deadline, rebuilt on every wake-up, was
        // a good part of each message's cost), moved only when a deadline comes earlier than
        // the one it is set for: the idle and ping clocks restart with every frame, and a
        // timer that fires before anything is due is set again then.
        let timer = tokio::time::sleep_until(Instant::now());
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            if let Some(at) = self.next_deadline() {
                if armed.is_none_or(|armed| at < armed) {
                    timer.as_mut().reset(at);
                    armed = Some(at);
                }
            }
            // Unbiased: neither a flood of client frames nor a busy sink starves the other.
            // The socket is read at all times (acks, pings, `end` and closes are handled at
            // once, however far behind the application is): the receive window bounds what
            // the client can have in flight.
            let outgoing = Outgoing {
                messages: &self.replay,
                first: self.acknowledged + 1,
            };
            let wake = tokio::select! {
                command = self.commands.recv() => Wake::Command(command),
                () = self.shared.actor.notified() => Wake::Shared,
                // Written as the socket takes frames (the task never waits on it). After the
                // client's `end` nothing more is read: its close frame waits, so the closing
                // handshake completes only once the application finished.
                activity = activity(&mut self.conn, outgoing, !self.client_ended) => {
                    match activity {
                        Activity::Frame(frame) => Wake::Frame(frame),
                        Activity::Wrote => continue,
                        Activity::WriteFailed => Wake::WriteFailed,
                    }
                }
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    match self.due(Instant::now()) {
                        Some(wake) => wake,
                        None => continue,
                    }
                }
            };
            let step = self.handle(wake).await;
            if let Some(end) = self.settle(step).await {
                return end;
            }
            // Writes batched: the application was just told its messages are recorded, and
            // often has its next one ready (an echo of the next message already received).
            // It runs before the write, so its replies go out in one flush (one system
            // call, and the client's answers then come back together) rather than one each.
            // A recorded reply waits this way for at most one store call that had to be
            // waited for (a Redis round trip), never for a chain of them.
            let mut turns = 0;
            while std::mem::take(&mut self.recorded_for_conn) && turns < BATCH_TURNS {
                turns += 1;
                tokio::task::yield_now().await;
                if self.shared.lock().queue.is_empty() {
                    break;
                }
                self.save_waited = false;
                let step = self.check_shared().await;
                if let Some(end) = self.settle(step).await {
                    return end;
                }
                if self.save_waited {
                    break;
                }
            }
            self.recorded_for_conn = false;
        }
    }

    /// The earliest deadline that can fire now (store work waits while the store is down:
    /// its retry comes first).
    fn next_deadline(&self) -> Option<Instant> {
        let store_work = [self.ack_deadline, self.ping_at, self.expiry, self.touch_at];
        let store_up = self.store_retry.is_none();
        let write = self.conn.as_ref().and_then(Connection::deadline);
        [self.idle_deadline, self.store_retry, write]
            .into_iter()
            .chain(store_work.into_iter().filter(|_| store_up))
            .flatten()
            .min()
    }

    /// Which deadline is due at `now`, first in this order.
    fn due(&self, now: Instant) -> Option<Wake> {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        if due(self.store_retry) {
            return Some(Wake::StoreRetry);
        }
        if due(self.idle_deadline) {
            return Some(Wake::Idle);
        }
        if due(self.conn.as_ref().and_then(Connection::deadline)) {
            return Some(Wake::WriteFailed);
        }
        if self.store_retry.is_some() {
            return None;
        }
        [
            (self.ack_deadline, Wake::AckDue),
            (self.ping_at, Wake::PingDue),
            (self.expiry, Wake::Expire),
            (self.touch_at, Wake::Touch),
        ]
        .into_iter()
        .find_map(|(deadline, wake)| due(deadline).then_some(wake))
    }

    /// Applies a step's outcome: a dropped connection is closed (the session goes on), a
    /// session end is returned.
    async fn settle(&mut self, step: Step) -> Option<Error> {
        match step {
            Ok(()) => None,
            Err(Outcome::Connection(loss)) => match self.disconnect(loss).await {
                Ok(()) => None,
                Err(error @ Error::Store(_)) => self.store_failed(error),
                Err(end) => Some(end),
            },
            Err(Outcome::Session(end)) => Some(end),
            Err(Outcome::StoreDown(error)) => self.store_failed(error),
        }
    }

    /// A store call failed (a timeout, a connection lost): transient. The session and its
    /// connection stay; nothing is acknowledged or recorded until a retry succeeds (with
    /// backoff). A store down for a whole time to live ends the session with the error.
    fn store_failed(&mut self, error: Error) -> Option<Error> {
        let now = Instant::now();
        let since = *self.store_down_since.get_or_insert(now);
        if now.duration_since(since) >= self.config().ttl {
            return Some(error);
        }
        tracing::warn!(session = %short(&self.id), "session store failed, retrying: {error}");
        self.store_retry = Some(now + self.store_backoff);
        self.store_backoff = (self.store_backoff * 2).min(STORE_RETRY_MAX);
        None
    }

    async fn handle(&mut self, wake: Wake) -> Step {
        match wake {
            // The registry holds a sender as long as the task is registered.
            Wake::Command(None) => Err(Error::Ended.into()),
            Wake::Command(Some(Command::Attach {
                socket,
                client_recv,
                owner,
                reply,
            })) => {
                if owner != self.owner {
                    // A leaked id presented by someone else: this session is not touched.
                    let _ = reply.send(Attached::NotOwner(socket));
                    return Ok(());
                }
                match self.check_owner().await {
                    Ok(()) => {}
                    Err(Outcome::StoreDown(error)) => {
                        // Ownership can't be confirmed now: this connection is refused (the
                        // client retries), the session stays.
                        let _ = reply.send(Attached::Joined);
                        let limit = self.config().handshake_timeout;
                        let reason = "session store unavailable".to_owned();
                        tokio::spawn(close_cleanly(*socket, CLOSE_STORE_FAILED, reason, limit));
                        return Err(Outcome::StoreDown(error));
                    }
                    Err(end) => {
                        let _ = reply.send(Attached::Returned(socket));
                        return Err(end);
                    }
                }
                if client_recv >= self.next_out() {
                    // The client has messages this session never sent: the two can't agree
                    // on a count. The session ends (never a loop of refused resumes) and
                    // the registry answers the connection with `welcome lost diverged`.
                    let ttl = self.config().ttl;
                    let last_sent = self.next_out() - 1;
                    let lost = self
                        .registry
                        .store
                        .lose(&self.key, self.epoch, LostReason::Diverged, last_sent, ttl)
                        .await;
                    let _ = reply.send(Attached::Returned(socket));
                    lost?;
                    return Err(Error::Diverged.into());
                }
                let _ = reply.send(Attached::Joined);
                // Not waited on: the old connection may be half-open (what it had not
                // sent is replayed on the new one).
                self.close_connection(CLOSE_TAKEN_OVER, "taken over", false);
                self.attach(*socket, client_recv).await
            }
            Wake::Command(Some(Command::Moved { epoch })) => {
                if epoch > self.epoch {
                    // It runs elsewhere now: released at once (the app is told; a
                    // connection still open here is closed with 4000).
                    return Err(Error::TakenOver.into());
                }
                Ok(())
            }
            Wake::Command(Some(Command::Disconnect { code, reason, done })) => {
                if self.conn.is_some() {
                    self.close_connection(code, &reason, false);
                    self.disconnect(Loss::Lost).await?;
                }
                let _ = done.send(());
                Ok(())
            }
            Wake::Frame(frame) => self.on_frame(frame).await,
            Wake::WriteFailed => Err(Outcome::Connection(Loss::Lost)),
            Wake::Shared => self.check_shared().await,
            Wake::AckDue => self.ack_due().await,
            Wake::PingDue => {
                self.ping_at = None;
                self.catch_up_finished();
                self.record_received().await?;
                self.acknowledge(true);
                Ok(())
            }
            Wake::StoreRetry => {
                self.store_retry = None;
                self.check_shared().await?;
                if self.received > self.acked_to_client {
                    self.send_ack().await?;
                }
                Ok(())
            }
            Wake::Idle => Err(Outcome::Connection(Loss::Close(CLOSE_IDLE, "idle"))),
            Wake::Expire => {
                let last_sent = self.next_out() - 1;
                let ttl = self.config().ttl;
                self.registry
                    .store
                    .lose(&self.key, self.epoch, LostReason::Expired, last_sent, ttl)
                    .await?;
                Err(Error::Expired.into())
            }
            Wake::Touch => {
                let ttl = self.config().ttl;
                self.save(Changes::new().expire_in(ttl)).await?;
                self.touch_at = Some(Instant::now() + ttl / 4);
                Ok(())
            }
        }
    }

    /// Before a resume joins this task: the application's side as usual, then whether this
    /// task still owns the session (another process may have claimed it since this task's
    /// last write: its state is then stale, and the resume must claim the session from the
    /// store instead).
    async fn check_owner(&mut self) -> Step {
        self.check_shared().await?;
        let ttl = self.config().ttl;
        self.save(Changes::new().expire_in(ttl)).await?;
        Ok(())
    }

    /// The application finished with the client's messages `..=seq`: they count as
    /// received, and are acknowledged within the ack delay, or at once after `ack_every` or
    /// with half the receive window held.
    async fn finished(&mut self, seq: u64) -> Step {
        let seq = seq.min(self.delivered);
        if seq <= self.received {
            return Ok(());
        }
        self.received = seq;
        // At once after `ack_every` messages, or when half the receive window is held: the
        // client may soon have to wait for room, and the ack delay must not pace it.
        let window_half_held = self.held_bytes * 2 >= self.config().max_incoming_bytes;
        if self.received - self.acked_to_client >= self.config().ack_every || window_half_held {
            self.send_ack().await
        } else {
            let now = Instant::now();
            self.finished_at.push_back((seq, now));
            if self.ack_deadline.is_none() {
                self.ack_deadline = Some(now + self.config().ack_delay);
            }
            Ok(())
        }
    }

    /// Takes what the application finished with by now (its wake-up may still be queued),
    /// without acknowledging: for a write of `received` about to happen.
    fn catch_up_finished(&mut self) {
        let finished = self.shared.lock().finished.min(self.delivered);
        self.received = self.received.max(finished);
    }

    /// Reacts to the application's side: finished messages, queued messages, overflow,
    /// end, dropped handles.
    async fn check_shared(&mut self) -> Step {
        let (finished, stream_dropped) = {
            let state = self.shared.lock();
            (state.finished, state.stream_dropped)
        };
        // With the stream dropped, whatever the application had not taken is finished with.
        let finished = if stream_dropped {
            self.delivered
        } else {
            finished
        };
        self.finished(finished).await?;
        self.drain_queue().await?;
        let (over, end_requested, sink_dropped, stream_dropped) = {
            let state = self.shared.lock();
            (
                state.over.clone(),
                state.end_requested,
                state.sink_dropped,
                state.stream_dropped,
            )
        };
        if let Some(Error::Overflow { unsent }) = over {
            let keep = self.config().ttl;
            // The last number the sink gave: the client missed everything after its count.
            let last_sent = self.shared.lock().next_seq - 1;
            self.registry
                .store
                .lose(&self.key, self.epoch, LostReason::Overflow, last_sent, keep)
                .await?;
            return Err(Error::Overflow { unsent }.into());
        }
        if end_requested || (sink_dropped && stream_dropped) {
            if !self.shared.lock().queue.is_empty() {
                // Not all recorded yet (the store is down): the end waits for the retry.
                return Ok(());
            }
            // Kept, last messages included, for a client that was away: its resume gets
            // `welcome ended`, those messages, then `end`.
            let keep = self.config().ttl;
            self.registry.store.end(&self.key, self.epoch, keep).await?;
            if let Some(conn) = self.conn.as_mut() {
                // Sent after the last messages, when the connection closes (`finish`).
                conn.end();
            }
            return Err(Error::Ended.into());
        }
        if self.client_ended {
            self.end_when_finished().await?;
        }
        Ok(())
    }

    /// After the client's `end`: once the application has finished with every message the
    /// client sent (or dropped its stream), the session's record goes and the connection
    /// closes with 1000. Until then the session waits (a process dying meanwhile leaves the
    /// client's close unclean, so it reports the messages unconfirmed).
    async fn end_when_finished(&mut self) -> Step {
        self.catch_up_finished();
        if self.shared.lock().stream_dropped {
            self.received = self.delivered;
        }
        if self.received < self.delivered {
            return Ok(());
        }
        self.end_session().await?;
        // What the application sent before the end still goes out before the close.
        self.close_connection(1000, "", true);
        Err(Error::Ended.into())
    }

    /// Records the sink's queued messages, then writes them if connected.
    async fn drain_queue(&mut self) -> Step {
        loop {
            if self.store_retry.is_some() {
                // The store is down: the messages wait in the queue (the sink's flush too).
                return Ok(());
            }
            // Taken from the queue, and put back at its front if the save fails: nothing is
            // lost (and the retry is idempotent: same epoch, same first number).
            let (first, messages): (u64, Vec<Message>) = {
                let mut state = self.shared.lock();
                let n = state.queue.len().min(MAX_BATCH);
                let Some(&(first, _)) = state.queue.front() else {
                    return Ok(());
                };
                (first, state.queue.drain(..n).map(|(_, m)| m).collect())
            };
            if first != self.next_out() {
                return Err(Outcome::Session(Error::store(
                    crate::registry::Inconsistent("the sink numbered a message out of order"),
                )));
            }
            // What the application finished with rides along: the ack that follows needs no
            // save of its own (see `ack_due`).
            let received = self.received;
            let changes = Changes::new()
                .sent(first, &messages)
                .received(received)
                .acknowledged(self.acknowledged);
            if let Err(error) = self.save(changes).await {
                let mut state = self.shared.lock();
                let mut n = first + messages.len() as u64;
                for message in messages.into_iter().rev() {
                    n -= 1;
                    state.queue.push_front((n, message));
                }
                return Err(error.into());
            }
            self.recorded_received = self.recorded_received.max(received);
            let last = first + messages.len() as u64 - 1;
            {
                let mut state = self.shared.lock();
                state.recorded = last;
                state.wake_sink();
            }
            // Sent from the replay buffer as the connection takes them.
            self.replay.extend(messages.into_iter().map(Outbound::new));
            if let Some(conn) = self.conn.as_mut() {
                conn.wrote();
                self.recorded_for_conn = true;
            }
        }
    }

    async fn on_frame(&mut self, frame: Option<Result<WsMessage, axum::Error>>) -> Step {
        let decoded = match frame {
            // The client's close: answered (a clean closing handshake), the session stays.
            Some(Ok(WsMessage::Close(_))) => {
                return Err(Outcome::Connection(Loss::Close(1000, "")));
            }
            None | Some(Err(_)) => return Err(Outcome::Connection(Loss::Lost)),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {
                self.heard_from_client();
                return Ok(());
            }
            Some(Ok(WsMessage::Text(text))) => Frame::App(Message::Text(text.as_str().to_owned())),
            Some(Ok(WsMessage::Binary(bytes))) => Frame::parse_bytes(&bytes),
        };
        self.heard_from_client();
        match decoded {
            Frame::Invalid(why) => Err(Outcome::Connection(Loss::Close(1002, why))),
            Frame::App(message) => self.on_data(message).await,
            Frame::Control(Control::Ack(n)) => self.on_client_ack(n),
            Frame::Control(Control::Ping(n)) => {
                self.on_client_ack(n)?;
                self.send_ack().await
            }
            Frame::Control(Control::End) => {
                // The session ends once the application finished with every message: the
                // client counts the clean close that follows as "all delivered".
                self.client_ended = true;
                self.end_when_finished().await
            }
            Frame::Control(_) => Err(Outcome::Connection(Loss::Close(
                1002,
                "only data, ack, ping and end after the welcome",
            ))),
            _ => Err(Outcome::Connection(Loss::Close(1002, "unknown frame"))),
        }
    }

    /// A frame from the client: the idle clock and the ping clock restart.
    fn heard_from_client(&mut self) {
        let now = Instant::now();
        self.idle_deadline = Some(now + self.config().idle_timeout);
        self.ping_at = Some(now + self.config().ping_every());
    }

    /// The client's messages covered by the acknowledgement just sent no longer count in
    /// its window.
    fn release_held(&mut self) {
        while self
            .held
            .front()
            .is_some_and(|&(seq, _)| seq <= self.acked_to_client)
        {
            if let Some((_, len)) = self.held.pop_front() {
                self.held_bytes -= len;
            }
        }
    }

    /// An application message from the client: held for the application, whatever it is
    /// doing, within the receive window.
    async fn on_data(&mut self, message: Message) -> Step {
        let seq = self.next_in;
        self.next_in += 1;
        let len = message.len();
        self.held.push_back((seq, len));
        self.held_bytes += len;
        if self.held.len() > 1 && self.held_bytes > self.config().max_incoming_bytes {
            return Err(Outcome::Connection(Loss::Close(
                1002,
                "receive window exceeded",
            )));
        }
        if seq <= self.delivered {
            // Sent again after a resume whose welcome did not cover it (the application
            // had it, unfinished): it has it already.
            return Ok(());
        }
        self.delivered = seq;
        let taken = {
            let mut state = self.shared.lock();
            if !state.stream_dropped {
                state.incoming.push_back(Incoming { seq, message });
                state.wake_stream();
            }
            !state.stream_dropped
        };
        if taken {
            Ok(())
        } else {
            // The application refused its messages: they count as received.
            self.finished(seq).await
        }
    }

    /// `ack n` or `ping n` from the client: drop the acknowledged messages.
    fn on_client_ack(&mut self, n: u64) -> Step {
        if n < self.acknowledged {
            return Err(Outcome::Connection(Loss::Close(1002, "ack went backwards")));
        }
        if n >= self.next_out() {
            return Err(Outcome::Connection(Loss::Close(
                1002,
                "ack of a message never sent",
            )));
        }
        let count = (n - self.acknowledged) as usize;
        let freed: usize = self.replay.drain(..count).map(|m| m.len).sum();
        self.acknowledged = n;
        let mut state = self.shared.lock();
        state.buffered -= freed;
        state.acknowledged = n;
        state.wake_sink();
        Ok(())
    }

    /// The ack delay ran out. While the application sends, its saves record what it
    /// finished with (`drain_queue`): that is acknowledged without a save of its own, and
    /// the rest when its own delay runs out (by then usually recorded the same way; if not,
    /// saved then).
    async fn ack_due(&mut self) -> Step {
        if self.conn.is_some() && self.recorded_received > self.acked_to_client {
            self.acknowledge(false);
            // The rest is due the ack delay after the application finished with it.
            let delay = self.config().ack_delay;
            self.ack_deadline = (self.received > self.recorded_received).then(|| {
                let since = self.finished_at.front().map(|&(_, at)| at);
                since.unwrap_or_else(Instant::now) + delay
            });
            return Ok(());
        }
        self.send_ack().await
    }

    /// Records what was received, then acknowledges it (spec section 5: an ack only covers
    /// recorded messages).
    async fn send_ack(&mut self) -> Step {
        self.ack_deadline = None;
        self.catch_up_finished();
        self.record_received().await?;
        self.acknowledge(false);
        Ok(())
    }

    async fn record_received(&mut self) -> Step {
        // While the store is down nothing new is recorded (nor acknowledged).
        if self.received > self.recorded_received && self.store_retry.is_none() {
            let changes = Changes::new()
                .received(self.received)
                .acknowledged(self.acknowledged);
            self.save(changes).await?;
            self.recorded_received = self.received;
        }
        Ok(())
    }

    async fn save(&mut self, changes: Changes<'_>) -> Result<(), Error> {
        let mut saving = self.registry.store.save(&self.key, self.epoch, changes);
        // Whether the store had to be waited for (a round trip to Redis; MemoryStore
        // answers at once): see `main_loop`.
        let mut waited = false;
        std::future::poll_fn(|cx| {
            let poll = saving.as_mut().poll(cx);
            waited |= poll.is_pending();
            poll
        })
        .await?;
        self.save_waited = waited;
        // The store answers again.
        self.store_down_since = None;
        self.store_backoff = STORE_RETRY_FIRST;
        Ok(())
    }

    async fn end_session(&mut self) -> Result<(), Error> {
        self.registry.store.remove(&self.key, self.epoch).await
    }

    /// The first connection of a fresh session: the welcome, and the session is live.
    async fn open_fresh(&mut self, socket: WebSocket, welcome: Control) -> Step {
        let limit = self.config().handshake_timeout;
        let next = self.acknowledged + 1;
        self.conn = Some(Connection::new(socket, &welcome, next, limit));
        self.next_in = self.received + 1;
        self.connected(true);
        Ok(())
    }

    /// A resume (`client_recv`: what the client has received) on a new connection, right
    /// after the claim or the ownership check that restarted the session's expiry: record
    /// what was received, welcome, replay.
    async fn attach(&mut self, socket: WebSocket, client_recv: u64) -> Step {
        // Record what the sink queued before the connection is ours: nothing may be written
        // to it before the welcome.
        self.drain_queue().await?;
        if client_recv >= self.next_out() {
            // Checked by the registry and on attach before this: a bug if it happens.
            let limit = self.config().handshake_timeout;
            let reason = "resume beyond the messages sent".to_owned();
            tokio::spawn(close_cleanly(socket, 1002, reason, limit));
            return Err(Outcome::Connection(Loss::Lost));
        }
        self.held.clear();
        self.held_bytes = 0;
        let acknowledged = self.acknowledged;
        if client_recv > self.acknowledged {
            self.on_client_ack(client_recv)?;
        }
        // The claim (or the ownership check) before this restarted the expiry clock: a save
        // is needed only for what this resume changed (one store call fewer per resume in
        // a reconnect storm).
        let changed = self.received > self.recorded_received || self.acknowledged > acknowledged;
        let ttl = self.config().ttl;
        let changes = Changes::new()
            .received(self.received)
            .acknowledged(self.acknowledged)
            .expire_in(ttl);
        let saved = if changed {
            self.save(changes).await
        } else {
            Ok(())
        };
        if let Err(error) = saved {
            // What was received can't be recorded, so no welcome can confirm it: this
            // connection is refused (the client retries); the session waits for it.
            let limit = self.config().handshake_timeout;
            let reason = "session store unavailable".to_owned();
            tokio::spawn(close_cleanly(socket, CLOSE_STORE_FAILED, reason, limit));
            self.connected(false);
            return Err(error.into());
        }
        self.recorded_received = self.received;
        self.acked_to_client = self.received;
        self.finished_at.clear();
        self.next_in = self.received + 1;
        let welcome = Control::Resumed {
            session: self.id.clone(),
            recv: self.received,
            next: self.acknowledged + 1,
            window: self.config().max_incoming_bytes as u64,
        };
        // The welcome, then every message the client has not acknowledged.
        let limit = self.config().handshake_timeout;
        let next = self.acknowledged + 1;
        self.conn = Some(Connection::new(socket, &welcome, next, limit));
        self.connected(true);
        Ok(())
    }

    fn connected(&mut self, connected: bool) {
        let now = Instant::now();
        let registry = self.registry.clone();
        let config = &registry.config;
        if connected {
            self.idle_deadline = Some(now + config.idle_timeout);
            self.ping_at = Some(now + config.ping_every());
            self.touch_at = Some(now + config.ttl / 4);
            self.expiry = None;
        } else {
            self.idle_deadline = None;
            self.ping_at = None;
            self.touch_at = None;
            self.ack_deadline = None;
            self.expiry = Some(now + config.ttl);
        }
        let mut state = self.shared.lock();
        state.connected = connected;
        state.wake_sink();
    }

    /// The connection is gone (or must go): close it if asked, then record what was
    /// received and restart the expiry clock. The session goes on.
    async fn disconnect(&mut self, loss: Loss) -> Result<(), Error> {
        if let Loss::Close(code, reason) = loss {
            self.close_connection(code, reason, false);
        }
        self.conn = None;
        self.catch_up_finished();
        let ttl = self.config().ttl;
        let changes = Changes::new()
            .received(self.received)
            .acknowledged(self.acknowledged)
            .expire_in(ttl);
        let saved = self.save(changes).await;
        // Reported after the save, so whoever watches the state sees it recorded.
        self.connected(false);
        saved?;
        self.recorded_received = self.received;
        Ok(())
    }

    /// Closes the connection without waiting on it (it may be half-open): the closing
    /// handshake finishes in a task of its own, bounded by the write timeout. With
    /// `deliver`, what waits for the client goes first (`end` and the messages before it).
    fn close_connection(&mut self, code: u16, reason: &str, deliver: bool) {
        if let Some(conn) = self.conn.take() {
            let outgoing = Outgoing {
                messages: &self.replay,
                first: self.acknowledged + 1,
            };
            conn.close(code, reason, deliver.then_some(outgoing));
        }
    }

    /// Acknowledges what was recorded as received (`ping`: asking for the client's ack).
    fn acknowledge(&mut self, ping: bool) {
        if let Some(conn) = self.conn.as_mut() {
            let recv = self.recorded_received;
            conn.acknowledge(recv, ping);
            self.acked_to_client = recv;
            while self
                .finished_at
                .front()
                .is_some_and(|&(seq, _)| seq <= recv)
            {
                self.finished_at.pop_front();
            }
            self.release_held();
        }
    }

    /// The session is over: close the connection, tell the application, leave the
    /// registry, and hand back any connection that arrived meanwhile.
    async fn finish(mut self, end: Error) {
        let (code, reason) = match &end {
            Error::Ended => (1000, ""),
            Error::TakenOver => (CLOSE_TAKEN_OVER, "taken over"),
            Error::Store(_) => (CLOSE_STORE_FAILED, "session store failed"),
            _ => (1000, ""),
        };
        // A session that ended sends its last messages and `end` before closing.
        self.close_connection(code, reason, matches!(end, Error::Ended));
        if !matches!(end, Error::Ended) {
            tracing::debug!(session = %short(&self.id), "session over: {end}");
        }
        {
            let mut state = self.shared.lock();
            if state.over.is_none() {
                state.over = Some(end);
            }
            state.connected = false;
            state.wake_sink();
            state.wake_stream();
        }
        self.registry.leave(&self.key, self.token);
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Attach { socket, reply, .. } => {
                    let _ = reply.send(Attached::Returned(socket));
                }
                Command::Disconnect { done, .. } => {
                    let _ = done.send(());
                }
                Command::Moved { .. } => {}
            }
        }
    }
}

/// The start of a session id, for logs (the id is a credential).
fn short(id: &str) -> &str {
    id.get(..6).unwrap_or(id)
}

/// Writes what waits on the connection and reads its next frame; pending without one.
async fn activity(conn: &mut Option<Connection>, outgoing: Outgoing<'_>, read: bool) -> Activity {
    match conn {
        Some(conn) => conn.activity(outgoing, read).await,
        None => std::future::pending().await,
    }
}
