//! Per-send delivery: what became of each message a hook's `send_tracked` accepted. With
//! resume the server acknowledges in order, so a socket's sends are numbered and settled
//! oldest first: all of them once the socket's flush completes, the oldest ones as
//! unconfirmed when a session is lost, the rest as unsent when the socket stops.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use ws_tether::SendOutcome;

/// What became of a message sent with `send_tracked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Written or queued; the server hasn't acknowledged it yet.
    Pending,
    /// The server acknowledged it (with resume).
    Delivered,
    /// It was sent, but the session ended or the socket was let go (unmount, new URL)
    /// before the server acknowledged it: the server may or may not have it.
    Unconfirmed,
    /// Never sent: dropped by the queue, or still queued when the socket stopped.
    Unsent,
    /// Without resume nothing confirms delivery: the [`SendOutcome`] is all there is.
    Unknown,
}

/// A message a hook accepted: its [`SendOutcome`] now, and its [`Delivery`] later.
#[derive(Debug)]
pub struct Sent {
    outcome: SendOutcome,
    ticket: Ticket,
}

#[derive(Debug)]
enum Ticket {
    Tracked(Rc<Tracker>, u64),
    Settled(Delivery),
}

impl Sent {
    pub(crate) fn new(outcome: SendOutcome, tracker: Option<&Rc<Tracker>>) -> Sent {
        let ticket = match (outcome, tracker) {
            (SendOutcome::Dropped, _) => Ticket::Settled(Delivery::Unsent),
            (_, Some(tracker)) => Ticket::Tracked(Rc::clone(tracker), tracker.issue()),
            (_, None) => Ticket::Settled(Delivery::Unknown),
        };
        Sent { outcome, ticket }
    }

    /// What `send` said: written, queued, or dropped.
    pub fn outcome(&self) -> SendOutcome {
        self.outcome
    }

    /// Its delivery now.
    pub fn delivery(&self) -> Delivery {
        match &self.ticket {
            Ticket::Tracked(tracker, n) => tracker.state(*n),
            Ticket::Settled(delivery) => *delivery,
        }
    }

    /// Resolves once the delivery is known: [`Delivery::Delivered`] when the server
    /// acknowledged it, or why not. Never [`Delivery::Pending`].
    pub fn delivered(self) -> impl Future<Output = Delivery> + 'static {
        let ticket = self.ticket;
        poll_fn(move |cx| match &ticket {
            Ticket::Tracked(tracker, n) => tracker.poll(*n, cx),
            Ticket::Settled(delivery) => Poll::Ready(*delivery),
        })
    }
}

/// One socket's numbered sends.
#[derive(Debug, Default)]
pub(crate) struct Tracker(RefCell<Numbers>);

#[derive(Debug, Default)]
struct Numbers {
    issued: u64,
    /// Every send up to this one is settled.
    settled: u64,
    /// Settled runs, oldest first: `(last send of the run, how)`.
    runs: Vec<(u64, Delivery)>,
    /// No more settling: every send is settled and the watcher may end.
    done: bool,
    waiting: Vec<Waker>,
    watcher: Option<Waker>,
}

impl Tracker {
    fn issue(&self) -> u64 {
        let mut n = self.0.borrow_mut();
        n.issued += 1;
        if let Some(watcher) = n.watcher.take() {
            watcher.wake();
        }
        n.issued
    }

    fn state(&self, ticket: u64) -> Delivery {
        let n = self.0.borrow();
        if ticket > n.settled {
            return Delivery::Pending;
        }
        let run = n.runs.partition_point(|(last, _)| *last < ticket);
        n.runs.get(run).map_or(Delivery::Unknown, |(_, how)| *how)
    }

    fn poll(&self, ticket: u64, cx: &mut Context<'_>) -> Poll<Delivery> {
        match self.state(ticket) {
            Delivery::Pending => {
                self.0.borrow_mut().waiting.push(cx.waker().clone());
                Poll::Pending
            }
            settled => Poll::Ready(settled),
        }
    }

    /// Every send up to `upto` (at most the last issued) is settled as `how`.
    fn settle(&self, upto: u64, how: Delivery) {
        let waiting = {
            let mut n = self.0.borrow_mut();
            let upto = upto.min(n.issued);
            if upto <= n.settled {
                return;
            }
            n.settled = upto;
            match n.runs.last_mut() {
                Some((last, run)) if *run == how => *last = upto,
                _ => n.runs.push((upto, how)),
            }
            std::mem::take(&mut n.waiting)
        };
        waiting.into_iter().for_each(Waker::wake);
    }

    fn issued(&self) -> u64 {
        self.0.borrow().issued
    }

    /// The server acknowledged everything sent so far.
    pub(crate) fn all_delivered(&self) {
        self.settle(self.issued(), Delivery::Delivered);
    }

    /// A lost session: the oldest `count` unsettled sends were never confirmed.
    pub(crate) fn unconfirmed(&self, count: usize) {
        let settled = self.0.borrow().settled;
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        self.settle(settled.saturating_add(count), Delivery::Unconfirmed);
    }

    /// The socket stopped with `unsent` queued messages never written: those are the
    /// newest; anything older still unsettled was written but never confirmed.
    pub(crate) fn stopped(&self, unsent: usize) {
        let issued = self.issued();
        let unsent = u64::try_from(unsent).unwrap_or(u64::MAX);
        self.settle(issued.saturating_sub(unsent), Delivery::Unconfirmed);
        self.settle(issued, Delivery::Unsent);
        self.finish();
    }

    /// The hook let go of the socket: what is unsettled may or may not have arrived.
    pub(crate) fn abandoned(&self) {
        self.settle(self.issued(), Delivery::Unconfirmed);
        self.finish();
    }

    fn finish(&self) {
        let watcher = {
            let mut n = self.0.borrow_mut();
            n.done = true;
            n.watcher.take()
        };
        if let Some(watcher) = watcher {
            watcher.wake();
        }
    }

    /// Ready with `true` while sends wait for their acknowledgement, `false` once done.
    pub(crate) fn poll_unsettled(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut n = self.0.borrow_mut();
        if n.done {
            return Poll::Ready(false);
        }
        if n.issued > n.settled {
            return Poll::Ready(true);
        }
        n.watcher = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(tracker: &Rc<Tracker>) -> Sent {
        Sent::new(SendOutcome::Queued { dropped: 0 }, Some(tracker))
    }

    #[test]
    fn settles_oldest_first() {
        let tracker = Rc::new(Tracker::default());
        let sends: Vec<Sent> = (0..5).map(|_| tracked(&tracker)).collect();
        assert!(sends.iter().all(|s| s.delivery() == Delivery::Pending));
        tracker.settle(2, Delivery::Delivered);
        tracker.unconfirmed(1);
        tracker.stopped(1);
        let states: Vec<Delivery> = sends.iter().map(Sent::delivery).collect();
        use Delivery::*;
        assert_eq!(
            states,
            [Delivered, Delivered, Unconfirmed, Unconfirmed, Unsent]
        );
    }

    #[test]
    fn without_resume_or_when_dropped_it_is_settled_at_once() {
        let unknown = Sent::new(SendOutcome::Written, None);
        assert_eq!(unknown.delivery(), Delivery::Unknown);
        let tracker = Rc::new(Tracker::default());
        let dropped = Sent::new(SendOutcome::Dropped, Some(&tracker));
        assert_eq!(dropped.delivery(), Delivery::Unsent);
        assert_eq!(tracker.issued(), 0);
    }

    #[test]
    fn a_send_after_a_flush_waits_for_the_next() {
        let tracker = Rc::new(Tracker::default());
        let first = tracked(&tracker);
        tracker.all_delivered();
        let second = tracked(&tracker);
        assert_eq!(first.delivery(), Delivery::Delivered);
        assert_eq!(second.delivery(), Delivery::Pending);
        tracker.abandoned();
        assert_eq!(second.delivery(), Delivery::Unconfirmed);
    }
}
