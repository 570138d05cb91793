//! The crate's one error type.

use std::sync::Arc;

/// What went wrong with a session, a store or a configuration.
///
/// A session's stream yields it once (then ends) and its sink returns it from then on, so
/// it is `Clone`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The session ended: the client sent `end`, or the application closed the sink.
    /// Nothing to do; the session is gone on both sides.
    #[error("the session ended")]
    Ended,
    /// The session had no connection for its time to live and was discarded. A later
    /// resume by the client starts a new session (`welcome lost expired`).
    #[error("the session expired")]
    Expired,
    /// While no connection was open, the replay buffer could not take a message that could
    /// not wait: a `start_send` without `poll_ready` past the bound (a send through
    /// `poll_ready`, `send().await` or `feed`, waits for room instead, connected or not).
    /// The session is over; `unsent` messages the sink had accepted and the client had not
    /// acknowledged will never reach it, which it is told when it resumes (`welcome lost
    /// overflow`). The message the sink refused is not counted.
    #[error(
        "the replay buffer overflowed while disconnected; {unsent} accepted messages are lost"
    )]
    Overflow {
        /// Messages accepted by the sink that the client had not acknowledged.
        unsent: u64,
    },
    /// The client's count of the server's messages is beyond anything this session sent
    /// (the store lost writes, or a client that is not the session's): the two sides can't
    /// agree, so the session is ended and the client starts a new one (`welcome lost
    /// diverged`). Nothing to do but treat it like any session end.
    #[error("the client and the server disagree on the session's count; it was ended")]
    Diverged,
    /// Another connection or server process resumed this session: it runs there now, and
    /// this handle is finished. With a shared store, messages this handle sent and saw
    /// recorded are replayed by the new owner.
    #[error("the session was resumed elsewhere")]
    TakenOver,
    /// A message larger than the whole replay buffer can never be sent. The session goes
    /// on; send smaller messages or raise [`Config::max_buffer_bytes`](crate::Config).
    #[error("a {len}-byte message exceeds the replay buffer's {max} bytes")]
    TooLarge {
        /// The message's payload length.
        len: usize,
        /// The configured bound.
        max: usize,
    },
    /// The session store failed (for Redis: unreachable, or an unexpected reply). A
    /// session treats its store's failures as transient: its connection stays, nothing is
    /// acknowledged or recorded meanwhile, and the failed work is retried with backoff
    /// (saves are idempotent). Only a store failing for a whole time to live ends the
    /// session with this error (its connection closed with 1011); what was recorded stays
    /// in the store, so the client can resume once the store is back. Also returned for a
    /// record that contradicts itself (a bug).
    #[error("session store: {0}")]
    Store(#[source] Arc<dyn std::error::Error + Send + Sync>),
    /// A configuration value is out of range; `field` names it.
    #[error("invalid configuration: {field} {problem}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl Error {
    /// Wraps a store's own error.
    pub fn store(error: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Store(Arc::new(error))
    }

    /// Whether the session is over for good: every variant but [`Error::TooLarge`] and
    /// [`Error::Config`] means so when a session's stream or sink returns it (a session
    /// returns [`Error::Store`] only once its store failed for a whole time to live).
    pub fn is_session_over(&self) -> bool {
        matches!(
            self,
            Error::Ended
                | Error::Expired
                | Error::Overflow { .. }
                | Error::TakenOver
                | Error::Diverged
                | Error::Store(_)
        )
    }
}
