//! Where sessions are recorded: the [`Store`] trait and its two implementations,
//! [`MemoryStore`] (one process) and, with the `redis` feature, `RedisStore` (shared by
//! processes, kept across restarts).
//!
//! A session's task is the only writer of its record while it owns it. Ownership is an
//! *epoch*: [`Store::create`] starts at 1, every [`Store::claim`] increments it, and every
//! write names the epoch it was made under, so a task that lost its session to another
//! connection or process (a newer epoch) gets [`Error::TakenOver`] instead of overwriting.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ws_tether::Message;

use crate::Error;

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// The claims made on a store ([`Store::watch_claims`]): `(id, epoch)`, the session's key
/// and the epoch its new owner writes under.
pub type ClaimWatch = Pin<Box<dyn futures_core::Stream<Item = (String, u64)> + Send>>;

/// Why a session cannot continue (the `<reason>` of `welcome lost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LostReason {
    /// Never issued, ended, or forgotten.
    Unknown,
    /// Kept too long without a connection.
    Expired,
    /// Its replay buffer overflowed while no connection was open.
    Overflow,
    /// The client's count was beyond what the session had sent (the store lost writes).
    Diverged,
}

impl LostReason {
    /// The word the protocol uses: `unknown`, `expired`, `overflow` or `diverged`.
    pub fn as_str(self) -> &'static str {
        match self {
            LostReason::Unknown => "unknown",
            LostReason::Expired => "expired",
            LostReason::Overflow => "overflow",
            LostReason::Diverged => "diverged",
        }
    }
}

/// A live session's recorded state, as [`Store::claim`] hands it to its new owner.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The epoch the new owner writes under.
    pub epoch: u64,
    /// The client's messages `1..=received` were recorded as received.
    pub received: u64,
    /// The client acknowledged the server's messages `1..=acknowledged`.
    pub acknowledged: u64,
    /// The server's recorded messages the client has not acknowledged, numbered from
    /// `acknowledged + 1`.
    pub unacknowledged: Vec<Message>,
}

impl Snapshot {
    /// A snapshot (for [`Store`] implementations outside this crate).
    pub fn new(epoch: u64, received: u64, acknowledged: u64, unacknowledged: Vec<Message>) -> Self {
        Snapshot {
            epoch,
            received,
            acknowledged,
            unacknowledged,
        }
    }
}

/// What [`Store::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The session lives, and the caller owns it now.
    Live(Snapshot),
    /// The session cannot continue.
    Lost {
        /// Why.
        reason: LostReason,
        /// The number of the last message the server had sent in it, if known.
        last_sent: Option<u64>,
    },
    /// The server ended the session while the client was away ([`Store::end`]): its
    /// last messages, for `welcome ended`. The caller owns the record (to remove it).
    Ended(Snapshot),
}

/// Changes to a session's record, written at once by [`Store::save`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changes<'a> {
    /// The client's messages `1..=n` are received (never decreases).
    pub received: Option<u64>,
    /// The client acknowledged the server's messages `1..=n`: drop them.
    pub acknowledged: Option<u64>,
    /// The number of `sent[0]`: always the record's next outgoing number.
    pub first_sent: u64,
    /// New outgoing messages, to keep until acknowledged.
    pub sent: &'a [Message],
    /// Restart the expiry clock: the session expires this long from now unless refreshed.
    pub expire_in: Option<Duration>,
}

impl<'a> Changes<'a> {
    /// No changes (a starting point for the setters).
    pub fn new() -> Self {
        Changes {
            received: None,
            acknowledged: None,
            first_sent: 0,
            sent: &[],
            expire_in: None,
        }
    }

    /// Sets [`Changes::received`].
    pub fn received(mut self, n: u64) -> Self {
        self.received = Some(n);
        self
    }

    /// Sets [`Changes::acknowledged`].
    pub fn acknowledged(mut self, n: u64) -> Self {
        self.acknowledged = Some(n);
        self
    }

    /// Sets [`Changes::sent`], numbered from `first`.
    pub fn sent(mut self, first: u64, messages: &'a [Message]) -> Self {
        self.first_sent = first;
        self.sent = messages;
        self
    }

    /// Sets [`Changes::expire_in`].
    pub fn expire_in(mut self, ttl: Duration) -> Self {
        self.expire_in = Some(ttl);
        self
    }
}

impl Default for Changes<'_> {
    fn default() -> Self {
        Changes::new()
    }
}

/// Session storage. Implement it to keep sessions elsewhere; the crate ships
/// [`MemoryStore`] and (feature `redis`) `RedisStore`.
///
/// `id` is the session's key: a hash of its identifier, never the identifier itself (a
/// store's contents are not a list of credentials); `owner` a hash of who owns it.
///
/// Every method but `create` and `claim` names the epoch the caller owns the session
/// under, and must fail with [`Error::TakenOver`] if the record has another epoch, and with
/// [`Error::Expired`] if the record is gone or no longer live. A store's own failures are
/// [`Error::Store`].
pub trait Store: Debug + Send + Sync + 'static {
    /// Records a new live session `id` owned by `owner`, with nothing sent or received,
    /// expiring `ttl` from now; returns its epoch.
    fn create<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, u64>;

    /// Takes over session `id` for a resume by `owner`: increments its epoch and restarts
    /// its expiry clock (`ttl`) if it is live, not expired and `owner`'s; a live session
    /// past its expiry is marked expired (and forgotten `ttl` later) and reported lost. A
    /// session of another owner is reported [`LostReason::Unknown`] and left untouched (its
    /// expiry too). A record whose numbers contradict each other (its next outgoing number
    /// is not `acknowledged + unacknowledged + 1`: a lost write, an eviction) is marked
    /// [`LostReason::Diverged`] and reported so.
    fn claim<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, Claim>;

    /// Applies `changes` to a live session owned under `epoch`, all at once.
    fn save<'a>(&'a self, id: &'a str, epoch: u64, changes: Changes<'a>) -> StoreFuture<'a, ()>;

    /// Marks the session lost for `reason` after the server's message `last_sent`, drops
    /// its messages and forgets it `keep` from now.
    fn lose<'a>(
        &'a self,
        id: &'a str,
        epoch: u64,
        reason: LostReason,
        last_sent: u64,
        keep: Duration,
    ) -> StoreFuture<'a, ()>;

    /// The server ended the session: keep its record, unacknowledged messages included,
    /// for `keep` from now (a client that was away gets them with `welcome ended`), then
    /// forget it. Saves to it fail from then on.
    fn end<'a>(&'a self, id: &'a str, epoch: u64, keep: Duration) -> StoreFuture<'a, ()>;

    /// Forgets the session (it ended).
    fn remove<'a>(&'a self, id: &'a str, epoch: u64) -> StoreFuture<'a, ()>;

    /// Every successful [`Store::claim`] of a live session, by any process sharing the
    /// store, as it happens: a process whose session moved elsewhere releases it (its task,
    /// its replay buffer) at once instead of at its next write or its expiry. `None` (the
    /// default) if the store can't tell; a moved session then finds out at its next write
    /// ([`Error::TakenOver`]) or expires.
    fn watch_claims(&self) -> Option<ClaimWatch> {
        None
    }
}
