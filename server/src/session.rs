//! What the application holds: [`Session`], its halves [`SessionSink`] and
//! [`SessionStream`], and [`Incoming`]. They share a small state with the session's task
//! (`actor.rs`), which owns the socket and the store; these types never touch either.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::sync::Notify;
use ws_tether::Message;

use crate::Error;

/// One application message from the client, with its sequence number in the session.
///
/// Numbers start at 1 and grow by one per message. A message counts as received (recorded,
/// acknowledged) only once the application has finished with it: it asked the stream for
/// the next one, or dropped the stream. If the server process dies (or another process
/// takes the session over) before that, the message arrives again on the process the client
/// resumes on, with the same session and number: keep the last number processed per session
/// (in the same transaction as the processing) to deduplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Incoming {
    /// The message's number in the session (1, 2, ...).
    pub seq: u64,
    /// The message.
    pub message: Message,
}

/// State shared by the application's handles and the session's task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Wakes the session's task: messages queued, the sink closed or dropped.
    pub(crate) actor: Notify,
}

#[derive(Debug)]
pub(crate) struct State {
    /// Accepted by the sink, not yet taken by the task; numbered.
    pub(crate) queue: VecDeque<(u64, Message)>,
    /// The number the next accepted message gets.
    pub(crate) next_seq: u64,
    /// Messages `..=recorded` are in the store.
    pub(crate) recorded: u64,
    /// The application has finished with the client's messages `1..=finished` (it asked
    /// the stream for the next one).
    pub(crate) finished: u64,
    /// The client acknowledged the server's messages `1..=acknowledged`.
    pub(crate) acknowledged: u64,
    /// Payload bytes queued plus unacknowledged.
    pub(crate) buffered: usize,
    /// The client's messages the application has not taken yet, in order. Bounded by the
    /// receive window the server announced (the client never has more in flight).
    pub(crate) incoming: VecDeque<Incoming>,
    /// The stream was dropped: the client's messages are finished with as they come.
    pub(crate) stream_dropped: bool,
    pub(crate) stream_waker: Option<Waker>,
    pub(crate) max_buffered: usize,
    pub(crate) connected: bool,
    /// Why the session is over, once it is.
    pub(crate) over: Option<Error>,
    /// The sink asked to end the session.
    pub(crate) end_requested: bool,
    pub(crate) sink_dropped: bool,
    pub(crate) sink_waker: Option<Waker>,
}

impl Shared {
    pub(crate) fn new(
        next_seq: u64,
        unacknowledged: u64,
        max_buffered: usize,
        buffered: usize,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                next_seq,
                recorded: next_seq - 1,
                finished: 0,
                acknowledged: next_seq - 1 - unacknowledged,
                buffered,
                incoming: VecDeque::new(),
                stream_dropped: false,
                stream_waker: None,
                max_buffered,
                connected: false,
                over: None,
                end_requested: false,
                sink_dropped: false,
                sink_waker: None,
            }),
            actor: Notify::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is a few assignments; a poisoned lock is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl State {
    pub(crate) fn wake_sink(&mut self) {
        if let Some(waker) = self.sink_waker.take() {
            waker.wake();
        }
    }

    pub(crate) fn wake_stream(&mut self) {
        if let Some(waker) = self.stream_waker.take() {
            waker.wake();
        }
    }

    /// Messages accepted by the sink that the client has not acknowledged.
    pub(crate) fn unacknowledged(&self) -> u64 {
        self.next_seq - 1 - self.acknowledged
    }
}

/// A resumable session: a [`Stream`] of the client's messages and a [`Sink`] for the
/// server's, across every connection of the session.
///
/// [`Session::split`] gives the two halves to separate tasks. Closing the sink
/// ([`futures_util::SinkExt::close`]) ends the session for good (`end`, then close 1000);
/// so does dropping both halves. With only the stream dropped, the client's messages are
/// acknowledged and discarded; with only the sink dropped, the session goes on. A message
/// the stream yielded is acknowledged once the stream is polled again (or dropped): see
/// [`Incoming`]. The stream ends with `None` when the client ends the
/// session, and with one `Err` then `None` otherwise ([`Error::Expired`],
/// [`Error::Overflow`], [`Error::TakenOver`], [`Error::Store`]).
#[derive(Debug)]
pub struct Session {
    sink: SessionSink,
    stream: SessionStream,
}

impl Session {
    pub(crate) fn new(id: String, resumed: bool, shared: Arc<Shared>) -> Session {
        let id: Arc<str> = id.into();
        Session {
            sink: SessionSink {
                id: id.clone(),
                shared: shared.clone(),
                pending: None,
            },
            stream: SessionStream {
                id,
                resumed,
                shared,
                handed: None,
                done: false,
            },
        }
    }

    /// The session identifier (the client's resume credential: don't log it in full).
    pub fn id(&self) -> &str {
        &self.stream.id
    }

    /// Whether this process took the session over from the store (a resume of a session
    /// another process or an earlier run of this one started) rather than starting it. The
    /// first [`Incoming::seq`] may then be above 1, and messages the previous owner's
    /// application had not finished with arrive again (see [`Incoming`]).
    pub fn resumed(&self) -> bool {
        self.stream.resumed
    }

    /// Whether a connection is open right now.
    pub fn is_connected(&self) -> bool {
        self.sink.is_connected()
    }

    /// The number the next message sent through the sink will have.
    pub fn next_seq(&self) -> u64 {
        self.sink.next_seq()
    }

    /// The two halves, for a reading task and a writing task.
    pub fn split(self) -> (SessionSink, SessionStream) {
        (self.sink, self.stream)
    }
}

impl Stream for Session {
    type Item = Result<Incoming, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().stream).poll_next(cx)
    }
}

impl Sink<Message> for Session {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().sink).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().sink).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().sink).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().sink).poll_close(cx)
    }
}

/// The sending half of a [`Session`].
///
/// A message is numbered when the sink accepts it. `send(..).await` (a flush) completes
/// once the message is recorded in the store: from then on it reaches the client once,
/// whichever process the client resumes on, unless the session is lost. While connected,
/// a full replay buffer makes the sink wait for acknowledgements; while disconnected, a
/// message that does not fit ends the session with [`Error::Overflow`] (spec section 6).
#[derive(Debug)]
pub struct SessionSink {
    id: Arc<str>,
    shared: Arc<Shared>,
    /// Taken by `start_send`, waiting for room while connected.
    pending: Option<Message>,
}

impl SessionSink {
    /// The session identifier.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a connection is open right now.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// The number the next message sent through this sink will have.
    pub fn next_seq(&self) -> u64 {
        self.shared.lock().next_seq + u64::from(self.pending.is_some())
    }

    /// Moves the pending message into the queue if the bound allows; `Ok(false)` if it
    /// must wait for acknowledgements.
    ///
    /// `force` accepts it past the bound (only for a `start_send` without `poll_ready`,
    /// rather than reorder or drop a message).
    fn try_accept(&mut self, cx: Option<&mut Context<'_>>, force: bool) -> Result<bool, Error> {
        let Some(message) = self.pending.take() else {
            return Ok(true);
        };
        let mut state = self.shared.lock();
        if let Some(over) = &state.over {
            return Err(over.clone());
        }
        let len = message.len();
        if state.buffered + len > state.max_buffered {
            if !force {
                // Connected or not, a send that can wait waits for acknowledgements (a
                // blip must not end a session under backpressure); the session's time to
                // live bounds the wait.
                if let Some(cx) = cx {
                    state.sink_waker = Some(cx.waker().clone());
                }
                self.pending = Some(message);
                return Ok(false);
            }
            if !state.connected {
                // A `start_send` without `poll_ready` can't wait: while disconnected, past
                // the bound, the session overflows (spec section 6).
                let unsent = state.unacknowledged();
                state.over = Some(Error::Overflow { unsent });
                drop(state);
                self.shared.actor.notify_one();
                return Err(Error::Overflow { unsent });
            }
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.buffered += len;
        state.queue.push_back((seq, message));
        drop(state);
        self.shared.actor.notify_one();
        Ok(true)
    }
}

impl Sink<Message> for SessionSink {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match this.try_accept(Some(cx), false) {
            Ok(true) => match &this.shared.lock().over {
                Some(over) => Poll::Ready(Err(over.clone())),
                None => Poll::Ready(Ok(())),
            },
            Ok(false) => Poll::Pending,
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        let this = self.get_mut();
        let max = this.shared.lock().max_buffered;
        if item.len() > max {
            return Err(Error::TooLarge {
                len: item.len(),
                max,
            });
        }
        if this.pending.is_some() {
            // `poll_ready` was skipped: queue the earlier message past the bound.
            this.try_accept(None, true)?;
        }
        this.pending = Some(item);
        this.try_accept(None, false).map(|_| ())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match this.try_accept(Some(cx), false) {
            Ok(true) => {}
            Ok(false) => return Poll::Pending,
            Err(error) => return Poll::Ready(Err(error)),
        }
        let mut state = this.shared.lock();
        if state.recorded + 1 >= state.next_seq {
            return Poll::Ready(Ok(()));
        }
        if let Some(over) = &state.over {
            return Poll::Ready(Err(over.clone()));
        }
        state.sink_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.as_mut().poll_flush(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(Error::Ended)) => return Poll::Ready(Ok(())),
            other => return other,
        }
        let this = self.get_mut();
        let mut state = this.shared.lock();
        match &state.over {
            Some(Error::Ended) => Poll::Ready(Ok(())),
            Some(over) => Poll::Ready(Err(over.clone())),
            None => {
                state.sink_waker = Some(cx.waker().clone());
                if !state.end_requested {
                    state.end_requested = true;
                    drop(state);
                    this.shared.actor.notify_one();
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for SessionSink {
    fn drop(&mut self) {
        self.shared.lock().sink_dropped = true;
        self.shared.actor.notify_one();
    }
}

/// The receiving half of a [`Session`]: the client's messages in order, each once (see
/// [`Incoming`] for the one exception, a server process dying or losing the session while
/// the application works on a message).
///
/// Polling the stream again after it yielded a message means the application has finished
/// with that message: only then is it recorded and acknowledged to the client.
#[derive(Debug)]
pub struct SessionStream {
    id: Arc<str>,
    resumed: bool,
    shared: Arc<Shared>,
    /// The number of the message last yielded, until the application asks for the next.
    handed: Option<u64>,
    done: bool,
}

impl SessionStream {
    /// The session identifier.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// See [`Session::resumed`].
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The application has finished with the message last yielded: tell the session's task,
    /// which records and acknowledges it.
    fn finish_handed(&mut self) {
        if let Some(seq) = self.handed.take() {
            let mut state = self.shared.lock();
            state.finished = state.finished.max(seq);
            drop(state);
            self.shared.actor.notify_one();
        }
    }
}

impl Stream for SessionStream {
    type Item = Result<Incoming, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.finish_handed();
        if this.done {
            return Poll::Ready(None);
        }
        if matches!(this.shared.lock().over, Some(Error::TakenOver)) {
            // The messages still queued belong to the session's new owner, which has them
            // from the client again (none of them was recorded as received here).
            this.done = true;
            return Poll::Ready(Some(Err(Error::TakenOver)));
        }
        let mut state = this.shared.lock();
        if let Some(incoming) = state.incoming.pop_front() {
            this.handed = Some(incoming.seq);
            return Poll::Ready(Some(Ok(incoming)));
        }
        match state.over.clone() {
            Some(error) => {
                this.done = true;
                match error {
                    Error::Ended => Poll::Ready(None),
                    error => Poll::Ready(Some(Err(error))),
                }
            }
            None => {
                state.stream_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for SessionStream {
    fn drop(&mut self) {
        // Dropping the stream finishes with every message: those waiting and those to come.
        self.handed = None;
        let mut state = self.shared.lock();
        state.stream_dropped = true;
        state.incoming.clear();
        drop(state);
        self.shared.actor.notify_one();
    }
}
