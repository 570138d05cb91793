//! The two buffers every tab of a shared connection keeps, so that any of them can take the
//! connection over: the server messages not every tab has yet (bounded in bytes), and the
//! mirror of the session's unacknowledged messages (bounded by the holder's queue bound).

use crate::core::share_post::TabId;
use crate::Message;
use std::collections::{HashMap, VecDeque};

/// Server messages after the floor (what every live tab has), in order; holes where this
/// tab never had one.
#[derive(Debug)]
pub struct Retained {
    items: VecDeque<(u64, u64, Message)>,
    bytes: usize,
    max_bytes: usize,
    /// Every live tab has the messages `..=floor` (share-wide numbers).
    pub(crate) floor: u64,
}

impl Retained {
    pub(crate) fn new(max_bytes: usize) -> Retained {
        Retained {
            items: VecDeque::new(),
            bytes: 0,
            max_bytes,
            floor: 0,
        }
    }

    /// Keeps message `mseq` (session number `n`), in order, once. The oldest go past the
    /// bound (the floor rises over them: tabs that lack them are told when they ask).
    pub(crate) fn push(&mut self, mseq: u64, n: u64, message: Message) {
        if mseq <= self.floor {
            return;
        }
        let at = self.items.partition_point(|(m, ..)| *m < mseq);
        if self.items.get(at).is_some_and(|(m, ..)| *m == mseq) {
            return;
        }
        self.bytes += message.len();
        self.items.insert(at, (mseq, n, message));
        while self.bytes > self.max_bytes {
            let Some((m, _, message)) = self.items.pop_front() else {
                break;
            };
            self.bytes -= message.len();
            self.floor = m;
        }
    }

    /// Every live tab has `..=mseq`: forget them.
    pub(crate) fn advance(&mut self, mseq: u64) {
        while let Some((m, _, message)) = self.items.front() {
            if *m > mseq {
                break;
            }
            self.bytes -= message.len();
            self.items.pop_front();
        }
        self.floor = self.floor.max(mseq);
    }

    /// The messages after `mseq` this tab has: `(mseq, n, message)`.
    pub(crate) fn after(&self, mseq: u64) -> impl Iterator<Item = &(u64, u64, Message)> {
        self.items.iter().filter(move |(m, ..)| *m > mseq)
    }
}

/// The session's messages written and not acknowledged, as the holder posted them: a new
/// holder resumes with them. Numbers are the session's, from `acked + 1`, contiguous.
#[derive(Debug, Default)]
pub struct Mirror {
    pub(crate) acked: u64,
    pub(crate) entries: VecDeque<Written>,
    /// Per tab, the last of its sends a holder took (written or confirmed): a new holder
    /// takes each number once.
    pub(crate) assigned: HashMap<TabId, u64>,
}

/// A send the holder wrote: the session's message `n`, tab `tab`'s send `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) n: u64,
    pub(crate) tab: TabId,
    pub(crate) seq: u64,
    pub(crate) message: Message,
}

impl Mirror {
    /// The number the next written message has.
    pub(crate) fn next(&self) -> u64 {
        self.acked + self.entries.len() as u64 + 1
    }

    /// Only in order: a later number after a gap (a post this tab missed) can't be resumed
    /// with, and is left out (a new holder then finds the server ahead: reported).
    pub(crate) fn written(&mut self, n: u64, tab: TabId, seq: u64, message: Message) {
        self.assign(tab, seq);
        if n == self.next() {
            self.entries.push_back(Written {
                n,
                tab,
                seq,
                message,
            });
        }
    }

    pub(crate) fn assign(&mut self, tab: TabId, seq: u64) {
        let last = self.assigned.entry(tab).or_default();
        *last = (*last).max(seq);
    }

    pub(crate) fn acked(&mut self, n: u64) {
        while self.entries.front().is_some_and(|w| w.n <= n) {
            self.entries.pop_front();
        }
        self.acked = self.acked.max(n);
    }

    /// The session was lost: numbering starts again.
    pub(crate) fn reset(&mut self) {
        self.acked = 0;
        self.entries.clear();
    }
}
