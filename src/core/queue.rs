//! The bounded send queue used while the socket is not open: FIFO, bounded in bytes, with
//! an overflow policy that never drops a message without saying so.

use crate::{Error, Message};
use std::collections::VecDeque;

/// What happens when a message doesn't fit in the send queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// The send fails with [`Error::QueueFull`]; the queue is unchanged (the default: the
    /// caller decides what to do with its message).
    #[default]
    Reject,
    /// The oldest queued messages are dropped to make room; the send reports how many.
    DropOldest,
    /// The new message is dropped; the send reports it.
    DropNewest,
}

/// What became of a message given to `send`.
///
/// `#[must_use]`: `ws.send(message)?;` would let an `Ok(Dropped)` pass unnoticed, so the
/// compiler warns until you look at it (`matches!(.., SendOutcome::Dropped)`, or `let _ =`
/// when any outcome will do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "`Dropped` means the message was not sent: check the outcome"]
pub enum SendOutcome {
    /// Handed to the open socket.
    Written,
    /// Queued; it will be written, in order, when a connection opens (with
    /// [`Resume`](crate::Resume): or when the server's receive window has room).
    Queued {
        /// Older messages dropped to make room ([`Overflow::DropOldest`]).
        dropped: usize,
    },
    /// Not sent and not queued: the queue was full ([`Overflow::DropNewest`]).
    Dropped,
}

#[derive(Debug)]
pub(crate) struct SendQueue {
    max_bytes: usize,
    overflow: Overflow,
    bytes: usize,
    /// Bytes of the bound taken by messages outside the queue (with resume: sent and not
    /// acknowledged yet).
    reserved: usize,
    items: VecDeque<Message>,
    /// What the last `push` evicted ([`Overflow::DropOldest`]), oldest first, for the
    /// machine to hand back (`take_evicted`).
    evicted: Vec<Message>,
}

impl SendQueue {
    pub(crate) fn new(max_bytes: usize, overflow: Overflow) -> SendQueue {
        SendQueue {
            max_bytes,
            overflow,
            bytes: 0,
            reserved: 0,
            items: VecDeque::new(),
            evicted: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, message: Message) -> Result<SendOutcome, Error> {
        let len = message.len();
        // Refused before anything is dropped: an error leaves the queue as it was.
        self.check(len)?;
        let mut dropped = 0;
        if len > self.free() {
            if self.overflow == Overflow::DropNewest {
                return Ok(SendOutcome::Dropped);
            }
            // Drop oldest (`check` refused the rest): it made sure that dropping every queued
            // message makes room; what is reserved is not ours to drop.
            while len > self.free() {
                let Some(old) = self.items.pop_front() else {
                    break;
                };
                self.bytes -= old.len();
                self.evicted.push(old);
                dropped += 1;
            }
        }
        self.bytes += len;
        self.items.push_back(message);
        Ok(SendOutcome::Queued { dropped })
    }

    /// The messages the last pushes evicted, oldest first.
    pub(crate) fn take_evicted(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.evicted)
    }

    /// The error `push` would return for a message of `len` bytes, if any.
    pub(crate) fn check(&self, len: usize) -> Result<(), Error> {
        let fits = len <= self.free()
            || match self.overflow {
                Overflow::Reject => false,
                Overflow::DropNewest => len <= self.max_bytes,
                Overflow::DropOldest => len <= self.max_bytes.saturating_sub(self.reserved),
            };
        match fits {
            true => Ok(()),
            false => Err(Error::QueueFull {
                message_bytes: len,
                free_bytes: self.free(),
            }),
        }
    }

    /// Queues a message that was already accepted (a write the browser refused), even past
    /// the bound: it was promised delivery.
    pub(crate) fn push_accepted(&mut self, message: Message) {
        self.bytes += message.len();
        self.items.push_back(message);
    }

    /// Whether a message of `len` bytes would be queued without dropping anything.
    pub(crate) fn fits(&self, len: usize) -> bool {
        len <= self.free()
    }

    pub(crate) fn free(&self) -> usize {
        self.max_bytes.saturating_sub(self.bytes + self.reserved)
    }

    /// Takes `bytes` of the bound for messages kept elsewhere.
    pub(crate) fn set_reserved(&mut self, bytes: usize) {
        self.reserved = bytes;
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The length of the message `pop` would return.
    pub(crate) fn front_len(&self) -> Option<usize> {
        self.items.front().map(Message::len)
    }

    pub(crate) fn pop(&mut self) -> Option<Message> {
        let m = self.items.pop_front()?;
        self.bytes -= m.len();
        Some(m)
    }

    pub(crate) fn clear(&mut self) -> usize {
        let n = self.items.len();
        self.items.clear();
        self.bytes = 0;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize, c: char) -> Message {
        Message::Text(c.to_string().repeat(n))
    }

    #[test]
    fn reject_keeps_the_queue_and_says_how_much_fits() {
        let mut q = SendQueue::new(10, Overflow::Reject);
        assert_eq!(q.push(text(6, 'a')), Ok(SendOutcome::Queued { dropped: 0 }));
        assert_eq!(
            q.push(text(5, 'b')),
            Err(Error::QueueFull {
                message_bytes: 5,
                free_bytes: 4
            })
        );
        assert_eq!((q.len(), q.bytes()), (1, 6));
    }

    #[test]
    fn drop_oldest_makes_room_and_counts() {
        let mut q = SendQueue::new(10, Overflow::DropOldest);
        for c in ['a', 'b', 'c'] {
            let _ = q.push(text(3, c)).unwrap();
        }
        assert_eq!(q.push(text(5, 'd')), Ok(SendOutcome::Queued { dropped: 2 }));
        assert_eq!(q.pop(), Some(text(3, 'c')));
        assert_eq!(q.pop(), Some(text(5, 'd')));
        assert_eq!(q.pop(), None);
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn drop_oldest_drops_no_more_than_it_must() {
        let mut q = SendQueue::new(10, Overflow::DropOldest);
        for c in ['a', 'b', 'c'] {
            let _ = q.push(text(3, c)).unwrap();
        }
        // 1 byte free: dropping "aaa" leaves exactly the 4 needed.
        assert_eq!(q.push(text(4, 'd')), Ok(SendOutcome::Queued { dropped: 1 }));
        assert_eq!(q.pop(), Some(text(3, 'b')));
    }

    #[test]
    fn drop_newest_reports_the_drop() {
        let mut q = SendQueue::new(4, Overflow::DropNewest);
        let _ = q.push(text(4, 'a')).unwrap();
        assert_eq!(q.push(text(1, 'b')), Ok(SendOutcome::Dropped));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn check_predicts_push() {
        for overflow in [Overflow::Reject, Overflow::DropOldest, Overflow::DropNewest] {
            for first in [0, 3, 10] {
                for len in [0, 1, 4, 7, 10, 11] {
                    let mut q = SendQueue::new(10, overflow);
                    let _ = q.push(text(first, 'a')).unwrap();
                    let checked = q.check(len);
                    let pushed = q.push(text(len, 'b')).map(|_| ());
                    assert_eq!(checked, pushed, "{overflow:?} {first} {len}");
                }
            }
        }
    }

    #[test]
    fn reserved_room_counts_against_the_bound_and_is_never_dropped() {
        let mut q = SendQueue::new(10, Overflow::DropOldest);
        q.set_reserved(8);
        assert_eq!(q.free(), 2);
        assert!(q.check(3).is_err());
        assert!(matches!(
            q.push(text(3, 'a')),
            Err(Error::QueueFull {
                message_bytes: 3,
                free_bytes: 2
            })
        ));
        assert_eq!(q.push(text(2, 'b')), Ok(SendOutcome::Queued { dropped: 0 }));
        q.set_reserved(5);
        assert_eq!(q.push(text(4, 'c')), Ok(SendOutcome::Queued { dropped: 1 }));
        assert_eq!(q.len(), 1);
    }

    /// With resume, what awaits its acknowledgement takes part of the bound. A message that
    /// wouldn't fit even with every queued one dropped is refused, and nothing is dropped
    /// for it: an error means the queue is unchanged.
    #[test]
    fn drop_oldest_drops_nothing_for_a_message_that_cannot_fit_anyway() {
        let mut q = SendQueue::new(10, Overflow::DropOldest);
        q.set_reserved(3);
        let _ = q.push(text(3, 'a')).unwrap();
        let refused = Error::QueueFull {
            message_bytes: 8,
            free_bytes: 4,
        };
        assert_eq!(q.check(8), Err(refused.clone()));
        assert_eq!(q.push(text(8, 'b')), Err(refused));
        assert_eq!((q.len(), q.bytes()), (1, 3));
        assert_eq!(q.pop(), Some(text(3, 'a')));
    }

    #[test]
    fn a_message_larger_than_the_whole_queue_is_always_an_error() {
        for overflow in [Overflow::Reject, Overflow::DropOldest, Overflow::DropNewest] {
            let mut q = SendQueue::new(4, overflow);
            assert!(matches!(q.push(text(5, 'x')), Err(Error::QueueFull { .. })));
        }
    }
}
