//! [`MemoryStore`]: session records in this process's memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use ws_tether::Message;

use super::{Changes, Claim, LostReason, Snapshot, Store, StoreFuture};
use crate::Error;

/// Sessions in memory: the default store, for one process. Clones share the records, so
/// two [`Sessions`](crate::Sessions) given clones of one store behave like two processes
/// sharing a Redis store.
///
/// It keeps a copy of each unacknowledged message (so up to twice
/// [`Config::max_buffer_bytes`](crate::Config) per session with the session's own buffer).
/// Lost sessions are remembered until their `keep` time and expired ones until one more
/// time to live has passed; forgotten records are swept as new sessions are created.
///
/// Records are spread over 64 independently locked shards by session, so sessions on
/// different threads rarely wait for each other.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    shards: Arc<[Mutex<Records>]>,
    /// Claims, for [`Store::watch_claims`] (clones of the store share it).
    claims: tokio::sync::broadcast::Sender<(String, u64)>,
}

/// How many independently locked parts the records are spread over.
const SHARDS: usize = 64;

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            claims: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

#[derive(Debug, Default)]
struct Records {
    by_id: HashMap<String, Record>,
    last_sweep: Option<Instant>,
}

#[derive(Debug)]
struct Record {
    epoch: u64,
    /// Who may resume it (a hash the registry made).
    owner: String,
    state: State,
    /// When the session expires (live) or is forgotten (lost).
    deadline: Instant,
    /// The time to live last set, to forget an expired session one more of it later.
    ttl: Duration,
}

#[derive(Debug)]
enum State {
    Live {
        received: u64,
        acknowledged: u64,
        /// Numbered from `acknowledged + 1`.
        unacknowledged: VecDeque<Message>,
        /// Ended by the server ([`Store::end`]): kept until `deadline` for a last resume.
        ended: bool,
    },
    Lost {
        reason: LostReason,
        last_sent: u64,
    },
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The shard holding session `id`, locked.
    fn lock(&self, id: &str) -> MutexGuard<'_, Records> {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::hash::DefaultHasher::new();
        id.hash(&mut hasher);
        let shard = (hasher.finish() % SHARDS as u64) as usize;
        // A panic while holding the lock cannot leave a record half-written (every change
        // is a few assignments), so a poisoned lock is still consistent.
        self.shards[shard]
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn create_now(&self, id: &str, owner: &str, ttl: Duration) -> Result<u64, Error> {
        let now = Instant::now();
        let mut records = self.lock(id);
        records.sweep(now);
        records.by_id.insert(
            id.to_owned(),
            Record {
                epoch: 1,
                owner: owner.to_owned(),
                state: State::Live {
                    received: 0,
                    acknowledged: 0,
                    unacknowledged: VecDeque::new(),
                    ended: false,
                },
                deadline: now + ttl,
                ttl,
            },
        );
        Ok(1)
    }

    fn claim_now(&self, id: &str, owner: &str, ttl: Duration) -> Result<Claim, Error> {
        let now = Instant::now();
        let mut records = self.lock(id);
        let unknown = Claim::Lost {
            reason: LostReason::Unknown,
            last_sent: None,
        };
        let Some(record) = records.by_id.get_mut(id) else {
            return Ok(unknown);
        };
        if record.owner != owner {
            // Another owner's session: not even its existence is told, nor its expiry
            // renewed.
            return Ok(unknown);
        }
        record.expire_if_due(now);
        if record.forgotten(now) {
            records.by_id.remove(id);
            return Ok(unknown);
        }
        match &record.state {
            State::Lost { reason, last_sent } => Ok(Claim::Lost {
                reason: *reason,
                last_sent: Some(*last_sent),
            }),
            State::Live {
                received,
                acknowledged,
                unacknowledged,
                ended,
            } => {
                let snapshot = Snapshot::new(
                    record.epoch + 1,
                    *received,
                    *acknowledged,
                    unacknowledged.iter().cloned().collect(),
                );
                record.epoch += 1;
                if *ended {
                    return Ok(Claim::Ended(snapshot));
                }
                record.deadline = now + ttl;
                record.ttl = ttl;
                // Nobody watching is fine.
                let _ = self.claims.send((id.to_owned(), record.epoch));
                Ok(Claim::Live(snapshot))
            }
        }
    }

    fn with_owned<T>(
        &self,
        id: &str,
        epoch: u64,
        change: impl FnOnce(&mut Record, Instant) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = Instant::now();
        let mut records = self.lock(id);
        let record = records.by_id.get_mut(id).ok_or(Error::Expired)?;
        if record.epoch != epoch {
            return Err(Error::TakenOver);
        }
        record.expire_if_due(now);
        match record.state {
            State::Lost { .. } => return Err(Error::Expired),
            State::Live { ended: true, .. } => return Err(Error::Ended),
            State::Live { .. } => {}
        }
        change(record, now)
    }

    fn save_now(&self, id: &str, epoch: u64, changes: Changes<'_>) -> Result<(), Error> {
        self.with_owned(id, epoch, |record, now| {
            let State::Live {
                received,
                acknowledged,
                unacknowledged,
                ..
            } = &mut record.state
            else {
                return Err(Error::Expired);
            };
            if let Some(n) = changes.received {
                *received = (*received).max(n);
            }
            if !changes.sent.is_empty() {
                let next = *acknowledged + unacknowledged.len() as u64 + 1;
                if changes.first_sent > next {
                    return Err(Error::store(Inconsistent(
                        "outgoing messages recorded out of order",
                    )));
                }
                // A retried save (its reply was lost) repeats what is there already.
                let known = (next - changes.first_sent).min(changes.sent.len() as u64);
                unacknowledged.extend(changes.sent[known as usize..].iter().cloned());
            }
            if let Some(n) = changes.acknowledged {
                let drop = n
                    .saturating_sub(*acknowledged)
                    .min(unacknowledged.len() as u64);
                unacknowledged.drain(..drop as usize);
                *acknowledged += drop;
            }
            if let Some(ttl) = changes.expire_in {
                record.deadline = now + ttl;
                record.ttl = ttl;
            }
            Ok(())
        })
    }
}

impl Records {
    /// Drops forgotten records, at most once a second.
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(1))
        {
            return;
        }
        self.last_sweep = Some(now);
        self.by_id.retain(|_, record| {
            record.expire_if_due(now);
            !record.forgotten(now)
        });
    }
}

impl Record {
    /// A live session past its deadline becomes an expired tombstone, kept one more time
    /// to live.
    fn expire_if_due(&mut self, now: Instant) {
        if let State::Live {
            acknowledged,
            unacknowledged,
            ended,
            ..
        } = &self.state
        {
            if *ended {
                // Kept only for a last resume: forgotten at its deadline.
                if self.deadline <= now {
                    self.state = State::Lost {
                        reason: LostReason::Unknown,
                        last_sent: 0,
                    };
                }
            } else if self.deadline <= now {
                let last_sent = *acknowledged + unacknowledged.len() as u64;
                self.state = State::Lost {
                    reason: LostReason::Expired,
                    last_sent,
                };
                self.deadline += self.ttl;
            }
        }
    }

    fn forgotten(&self, now: Instant) -> bool {
        matches!(self.state, State::Lost { .. }) && self.deadline <= now
    }
}

/// A record that contradicts itself or its caller: a bug, reported as a store error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Inconsistent(&'static str);

impl Store for MemoryStore {
    fn create<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        Box::pin(std::future::ready(self.create_now(id, owner, ttl)))
    }

    fn claim<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(std::future::ready(self.claim_now(id, owner, ttl)))
    }

    fn save<'a>(&'a self, id: &'a str, epoch: u64, changes: Changes<'a>) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.save_now(id, epoch, changes)))
    }

    fn lose<'a>(
        &'a self,
        id: &'a str,
        epoch: u64,
        reason: LostReason,
        last_sent: u64,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        let result = self.with_owned(id, epoch, |record, now| {
            record.state = State::Lost { reason, last_sent };
            record.deadline = now + keep;
            Ok(())
        });
        Box::pin(std::future::ready(result))
    }

    fn end<'a>(&'a self, id: &'a str, epoch: u64, keep: Duration) -> StoreFuture<'a, ()> {
        let result = self.with_owned(id, epoch, |record, now| {
            if let State::Live { ended, .. } = &mut record.state {
                *ended = true;
            }
            record.deadline = now + keep;
            Ok(())
        });
        Box::pin(std::future::ready(result))
    }

    fn watch_claims(&self) -> Option<super::ClaimWatch> {
        let claims = self.claims.subscribe();
        Some(Box::pin(futures_util::stream::unfold(
            claims,
            |mut claims| async move {
                loop {
                    match claims.recv().await {
                        Ok(claim) => return Some((claim, claims)),
                        // Missed claims: their sessions find out at their next write.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        )))
    }

    fn remove<'a>(&'a self, id: &'a str, epoch: u64) -> StoreFuture<'a, ()> {
        let mut records = self.lock(id);
        let result = match records.by_id.get(id) {
            Some(record) if record.epoch != epoch => Err(Error::TakenOver),
            Some(_) => {
                records.by_id.remove(id);
                Ok(())
            }
            None => Ok(()),
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(future: StoreFuture<'_, T>) -> Result<T, Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
            .block_on(future)
    }

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn a_claim_moves_ownership_and_fences_the_old_owner() {
        let store = MemoryStore::new();
        let epoch = block(store.create("s", "o", TTL)).unwrap();
        let sent = [Message::from("a"), Message::from("b")];
        block(store.save("s", epoch, Changes::new().received(3).sent(1, &sent))).unwrap();
        block(store.save("s", epoch, Changes::new().acknowledged(1))).unwrap();
        let Claim::Live(snapshot) = block(store.claim("s", "o", TTL)).unwrap() else {
            panic!("not live")
        };
        assert_eq!(snapshot.epoch, epoch + 1);
        assert_eq!(snapshot.received, 3);
        assert_eq!(snapshot.acknowledged, 1);
        assert_eq!(snapshot.unacknowledged, vec![Message::from("b")]);
        assert!(matches!(
            block(store.save("s", epoch, Changes::new().received(4))),
            Err(Error::TakenOver)
        ));
        assert!(block(store.save("s", epoch + 1, Changes::new().received(4))).is_ok());
    }

    #[test]
    fn out_of_order_outgoing_messages_are_refused() {
        let store = MemoryStore::new();
        let epoch = block(store.create("s", "o", TTL)).unwrap();
        let sent = [Message::from("a")];
        assert!(matches!(
            block(store.save("s", epoch, Changes::new().sent(2, &sent))),
            Err(Error::Store(_))
        ));
    }

    /// A save retried after its reply was lost (it was applied) adds only what is new.
    #[test]
    fn a_retried_save_is_idempotent() {
        let store = MemoryStore::new();
        let epoch = block(store.create("s", "o", TTL)).unwrap();
        let ab = [Message::from("a"), Message::from("b")];
        let abc = [Message::from("a"), Message::from("b"), Message::from("c")];
        block(store.save("s", epoch, Changes::new().sent(1, &ab))).unwrap();
        block(store.save("s", epoch, Changes::new().sent(1, &ab))).unwrap();
        block(store.save("s", epoch, Changes::new().sent(1, &abc))).unwrap();
        let Claim::Live(snapshot) = block(store.claim("s", "o", TTL)).unwrap() else {
            panic!("not live")
        };
        assert_eq!(snapshot.unacknowledged, abc.to_vec());
    }

    #[test]
    fn lost_and_removed_sessions_answer_claims() {
        let store = MemoryStore::new();
        let epoch = block(store.create("s", "o", TTL)).unwrap();
        block(store.lose("s", epoch, LostReason::Overflow, 7, TTL)).unwrap();
        assert_eq!(
            block(store.claim("s", "o", TTL)).unwrap(),
            Claim::Lost {
                reason: LostReason::Overflow,
                last_sent: Some(7)
            }
        );
        let epoch = block(store.create("t", "o", TTL)).unwrap();
        block(store.remove("t", epoch)).unwrap();
        assert_eq!(
            block(store.claim("t", "o", TTL)).unwrap(),
            Claim::Lost {
                reason: LostReason::Unknown,
                last_sent: None
            }
        );
    }

    #[test]
    fn sessions_expire_then_are_forgotten() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let store = MemoryStore::new();
            let epoch = store.create("s", "o", TTL).await.unwrap();
            let sent = [Message::from("a")];
            store
                .save("s", epoch, Changes::new().sent(1, &sent))
                .await
                .unwrap();
            tokio::time::advance(TTL).await;
            assert_eq!(
                store.claim("s", "o", TTL).await.unwrap(),
                Claim::Lost {
                    reason: LostReason::Expired,
                    last_sent: Some(1)
                }
            );
            tokio::time::advance(TTL).await;
            assert_eq!(
                store.claim("s", "o", TTL).await.unwrap(),
                Claim::Lost {
                    reason: LostReason::Unknown,
                    last_sent: None
                }
            );
        });
    }
}
