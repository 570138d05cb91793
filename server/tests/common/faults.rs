//! A `Store` that fails on purpose, wrapped around a real one: the faults a store has in
//! production (a reply that times out, a bug that panics), injected one call at a time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ws_tether_server::{Changes, Claim, Error, LostReason, Store, StoreFuture};

/// What went wrong, as a store's own error.
#[derive(Debug, thiserror::Error)]
#[error("injected store failure")]
pub struct Injected;

#[derive(Debug, Clone)]
pub struct FaultyStore<S> {
    inner: Arc<S>,
    panic_claim: Arc<AtomicBool>,
    failing_saves: Arc<AtomicUsize>,
    lost_replies: Arc<AtomicUsize>,
    /// Saves wait for a permit (a slow store, one reply at a time).
    held: Arc<AtomicBool>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Saves asked for so far (each a round trip on a remote store), and those of them
    /// without a message.
    saves: Arc<AtomicUsize>,
    bare_saves: Arc<AtomicUsize>,
}

impl<S: Store> FaultyStore<S> {
    pub fn new(inner: S) -> Self {
        FaultyStore {
            inner: Arc::new(inner),
            panic_claim: Arc::new(AtomicBool::new(false)),
            failing_saves: Arc::new(AtomicUsize::new(0)),
            lost_replies: Arc::new(AtomicUsize::new(0)),
            held: Arc::new(AtomicBool::new(false)),
            permits: Arc::new(tokio::sync::Semaphore::new(0)),
            saves: Arc::new(AtomicUsize::new(0)),
            bare_saves: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Saves asked for so far.
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    /// Saves asked for so far that carried no message.
    pub fn bare_saves(&self) -> usize {
        self.bare_saves.load(Ordering::SeqCst)
    }

    /// From now on every save waits until `release_save` lets it go (a slow store).
    pub fn hold_saves(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// The longest waiting held save goes on.
    pub fn release_save(&self) {
        self.permits.add_permits(1);
    }

    /// The next `claim` panics.
    pub fn panic_next_claim(&self) {
        self.panic_claim.store(true, Ordering::SeqCst);
    }

    /// The next `n` saves are applied, then reported failed (a reply lost in a timeout).
    pub fn apply_then_fail_saves(&self, n: usize) {
        self.lost_replies.store(n, Ordering::SeqCst);
    }

    /// The next `n` saves fail with a store error, writing nothing.
    pub fn fail_saves(&self, n: usize) {
        self.failing_saves.store(n, Ordering::SeqCst);
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn create<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        self.inner.create(id, owner, ttl)
    }

    fn claim<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, Claim> {
        if self.panic_claim.swap(false, Ordering::SeqCst) {
            return Box::pin(async { panic!("injected: claim panics") });
        }
        self.inner.claim(id, owner, ttl)
    }

    fn save<'a>(&'a self, id: &'a str, epoch: u64, changes: Changes<'a>) -> StoreFuture<'a, ()> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        if changes.sent.is_empty() {
            self.bare_saves.fetch_add(1, Ordering::SeqCst);
        }
        let failing = self
            .failing_saves
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Box::pin(async { Err(Error::store(Injected)) });
        }
        let lose_reply = self
            .lost_replies
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let save = self.inner.save(id, epoch, changes);
        if self.held.load(Ordering::SeqCst) {
            let permits = self.permits.clone();
            return Box::pin(async move {
                permits.acquire().await.expect("never closed").forget();
                save.await
            });
        }
        if lose_reply {
            return Box::pin(async move {
                save.await?;
                Err(Error::store(Injected))
            });
        }
        save
    }

    fn lose<'a>(
        &'a self,
        id: &'a str,
        epoch: u64,
        reason: LostReason,
        last_sent: u64,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        self.inner.lose(id, epoch, reason, last_sent, keep)
    }

    fn end<'a>(&'a self, id: &'a str, epoch: u64, keep: Duration) -> StoreFuture<'a, ()> {
        self.inner.end(id, epoch, keep)
    }

    fn remove<'a>(&'a self, id: &'a str, epoch: u64) -> StoreFuture<'a, ()> {
        self.inner.remove(id, epoch)
    }
}
