//! One connection for every tab of an origin (issue #24; the protocol: docs/sharing.md).
//! Each tab's socket is a [`Tab`]: it follows the holder's stream over the channel and, when
//! its driver gets the share's Web Lock, becomes the holder, running the one [`Machine`] and
//! resuming the session the previous holder had. This file owns what every tab does (the
//! follower's side); share_hub.rs what the holder adds. No I/O: the driver moves posts
//! between the BroadcastChannel and [`Tab::on_post`], lock grants into
//! [`Tab::lock_acquired`], socket events into [`Tab::socket`], and carries out [`Output`]s.

use crate::core::machine::{ConnectionEvent, Machine, StopReason, Time};
use crate::core::policy::Config;
use crate::core::queue::SendOutcome;
use crate::core::share_buffers::{Mirror, Retained};
use crate::core::share_hub::Hub;
pub use crate::core::share_options::{Output, ShareTimer, Sharing};
use crate::core::share_post::{Post, TabId};
use crate::{Error, Message};
use std::collections::VecDeque;
use std::time::Duration;

/// One tab's socket on a shared connection.
#[derive(Debug)]
pub struct Tab {
    pub(crate) id: TabId,
    pub(crate) cfg: Config,
    pub(crate) sharing: Sharing,
    pub(crate) seed: u64,
    pub(crate) now: Time,
    /// The newest holder's term heard (ours while we hold).
    pub(crate) term: u64,
    pub(crate) holder: Option<TabId>,
    /// Whether this tab knows where the stream stands (a holder answered its hello).
    pub(crate) joined: bool,
    /// Whether this tab asked for the lock.
    pub(crate) requested: bool,
    /// A tab that knows the stream spoke (a holder, a receipt), and the holder term at which
    /// this tab last let the lock go to such tabs instead of taking over.
    pub(crate) heard_joined: bool,
    pub(crate) deferred: Option<u64>,
    /// The user closed this socket.
    pub(crate) closed: bool,
    /// The connection stopped for good.
    pub(crate) stopped: bool,
    /// The last server message delivered here (share-wide number `mseq`).
    pub(crate) recv: u64,
    /// The session, and the `mseq` before its first message: its message `n` is
    /// `mseq = start + n` in every tab.
    pub(crate) session: Option<String>,
    /// The holder reported the session's loss (`SessionLost`): the next new session needs
    /// no report of its own.
    pub(crate) loss_said: bool,
    /// The last of our sends a holder wrote in the current session.
    pub(crate) written_own: u64,
    pub(crate) start: u64,
    /// Every live tab has `..=floor`, as the holder last said: a new holder resumes the
    /// session from there (what it has beyond, it keeps from the server's resend).
    pub(crate) floor: u64,
    pub(crate) retained: Retained,
    pub(crate) mirror: Mirror,
    /// The tabs the holder last said it waits for, and those it knows are open.
    pub(crate) live: Vec<TabId>,
    pub(crate) members: Vec<TabId>,
    /// The last tabs that said `Bye`, newest last (at most `GONE_KEPT`): a holder's post
    /// made before it heard one may still name it, and a tab that left is never waited
    /// for again.
    pub(crate) gone: VecDeque<TabId>,
    /// A gap was found and a resend asked for.
    pub(crate) want: bool,
    pub(crate) unreceipted: u32,
    pub(crate) receipt_armed: bool,
    /// This tab's sends: the last number given, those not confirmed yet and their bytes.
    pub(crate) seq: u64,
    pub(crate) unconfirmed: VecDeque<(u64, Message)>,
    pub(crate) unconfirmed_bytes: usize,
    pub(crate) hub: Option<Hub>,
    pub(crate) out: VecDeque<Output>,
}

impl Tab {
    /// A tab's socket `id` (random, unique in the origin), with the connection's options
    /// (those of the holder's machine when this tab holds) and the sharing policy. It says
    /// hello on the channel and asks for the lock.
    pub(crate) fn new(id: TabId, cfg: Config, sharing: Sharing, seed: u64, now: Time) -> Tab {
        let mut tab = Tab {
            id,
            retained: Retained::new(sharing.retain_bytes),
            cfg,
            sharing,
            seed,
            now,
            term: 0,
            holder: None,
            joined: false,
            requested: false,
            heard_joined: false,
            deferred: None,
            closed: false,
            stopped: false,
            recv: 0,
            session: None,
            loss_said: false,
            written_own: 0,
            start: 0,
            floor: 0,
            mirror: Mirror::default(),
            live: Vec::new(),
            members: Vec::new(),
            gone: VecDeque::new(),
            want: false,
            unreceipted: 0,
            receipt_armed: false,
            seq: 0,
            unconfirmed: VecDeque::new(),
            unconfirmed_bytes: 0,
            hub: None,
            out: VecDeque::new(),
        };
        tab.emit(ConnectionEvent::Connecting { attempt: 0 });
        tab.post(&Post::Hello { tab: id });
        tab.set_timer(ShareTimer::Hello, sharing.hello_timeout);
        tab
    }

    /// The next thing to do; `None` when there is nothing left.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// This tab's identifier.
    pub fn id(&self) -> TabId {
        self.id
    }

    /// The tab holding the connection, as far as this tab knows.
    pub fn holder(&self) -> Option<TabId> {
        self.holder
    }

    /// Whether this tab runs the connection.
    pub fn is_holder(&self) -> bool {
        self.hub.as_ref().is_some_and(Hub::running)
    }

    /// The holder's machine, while this tab runs the connection (for a driver's reads).
    pub(crate) fn machine(&self) -> Option<&Machine> {
        self.hub.as_ref().and_then(|h| h.machine.as_ref())
    }

    /// Whether this tab's socket was closed, or the connection stopped for good.
    pub(crate) fn is_stopped(&self) -> bool {
        self.closed || self.stopped
    }

    /// The connection's options (the holder's machine runs with them).
    pub(crate) fn config(&self) -> &Config {
        &self.cfg
    }

    /// This tab's sends not confirmed yet (acknowledged by the server with resume, written
    /// without), and their bytes: what its `bufferedAmount` reports.
    pub fn unconfirmed(&self) -> (usize, usize) {
        (self.unconfirmed.len(), self.unconfirmed_bytes)
    }

    /// This tab becomes a candidate to hold the connection.
    pub(crate) fn request_lock(&mut self) {
        if !self.closed && !std::mem::replace(&mut self.requested, true) {
            self.out.push_back(Output::CancelTimer(ShareTimer::Hello));
            self.out.push_back(Output::RequestLock);
        }
    }

    pub(crate) fn emit(&mut self, event: ConnectionEvent) {
        self.out.push_back(Output::Emit(event));
    }

    pub(crate) fn post(&mut self, post: &Post) {
        self.out.push_back(Output::Post(post.encode()));
    }

    pub(crate) fn set_timer(&mut self, timer: ShareTimer, after: Duration) {
        self.out.push_back(Output::SetTimer { timer, after });
    }

    /// Share-wide number `mseq` as a number of the current session (0: before it).
    pub(crate) fn session_n(&self, mseq: u64) -> u64 {
        mseq.saturating_sub(self.start)
    }

    /// The application sends a message. Its outcome is `Queued` (on its way to the holder)
    /// unless this tab holds the connection and wrote it; confirmation comes when the
    /// server acknowledges it (resume) or the holder wrote it. Bounded per tab by the
    /// connection's queue bound (`queue_max_bytes`, overflow `Reject`).
    pub fn send(&mut self, message: Message) -> Result<SendOutcome, Error> {
        if self.closed || self.stopped {
            return Err(Error::Stopped);
        }
        let free = self
            .cfg
            .queue_max_bytes
            .saturating_sub(self.unconfirmed_bytes);
        if message.len() > free {
            return Err(Error::QueueFull {
                message_bytes: message.len(),
                free_bytes: free,
            });
        }
        self.seq += 1;
        let seq = self.seq;
        self.unconfirmed_bytes += message.len();
        self.unconfirmed.push_back((seq, message.clone()));
        if self.is_holder() {
            let written = self.take(self.id, seq, self.settled(), message);
            return Ok(match written {
                true => SendOutcome::Written,
                false => SendOutcome::Queued { dropped: 0 },
            });
        }
        self.post(&Post::Send {
            tab: self.id,
            seq,
            done: self.settled(),
            message,
        });
        Ok(SendOutcome::Queued { dropped: 0 })
    }

    /// The application closes this tab's socket: it leaves the share. The connection
    /// closes (ending the session) when this was the last tab; otherwise another takes it.
    /// A follower's unconfirmed sends are the holder's to send; a holder handing over
    /// reports those it never wrote as `unsent` (the ones it wrote, the next holder sends).
    pub fn close(&mut self, code: u16, reason: &str, now: Time) {
        self.now = self.now.max(now);
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        self.post(&Post::Bye { tab: self.id });
        let held = self.is_holder();
        if self.close_holder(code, reason) {
            return; // the machine's own close reports it
        }
        let id = self.id;
        let written =
            |seq: &u64| (self.mirror.entries.iter()).any(|w| w.tab == id && w.seq == *seq);
        let unsent = match held {
            true => (self.unconfirmed.iter())
                .filter(|(seq, _)| !written(seq))
                .count(),
            false => 0,
        };
        self.out.push_back(Output::ReleaseLock);
        self.out.push_back(Output::CancelTimer(ShareTimer::Receipt));
        self.out.push_back(Output::CancelTimer(ShareTimer::Hello));
        self.emit(ConnectionEvent::Closed {
            reason: StopReason::UserClosed,
            unsent,
            close: None,
        });
    }

    /// A post from another tab arrived. An unreadable one is ignored (the error says why).
    pub fn on_post(&mut self, bytes: &[u8], now: Time) -> Result<(), Error> {
        self.now = self.now.max(now);
        let post = Post::decode(bytes)?;
        if self.closed {
            return Ok(());
        }
        match post {
            Post::Hello { tab } => self.hub_hello(tab),
            Post::Send {
                tab,
                seq,
                done,
                message,
            } => {
                self.take(tab, seq, done, message);
            }
            Post::Receipt { tab, mseq, want } => {
                self.heard_joined = true;
                self.hub_receipt(tab, mseq, want)
            }
            Post::Bye { tab } => self.bye(tab),
            post => self.holder_post(post),
        }
        Ok(())
    }

    /// Our sends `..=settled` are confirmed or reported lost.
    pub(crate) fn settled(&self) -> u64 {
        self.unconfirmed
            .front()
            .map_or(self.seq, |(seq, _)| seq - 1)
    }

    pub(crate) fn confirm_own(&mut self, seq: u64) {
        while let Some((_, m)) = self.unconfirmed.front().filter(|(s, _)| *s <= seq) {
            self.unconfirmed_bytes -= m.len();
            self.unconfirmed.pop_front();
        }
    }

    /// Removes our sends `first..=last` (the session lost them); returns them.
    pub(crate) fn take_own(&mut self, first: u64, last: u64) -> Vec<Message> {
        let mut taken = Vec::new();
        let mut kept = VecDeque::new();
        for (seq, m) in self.unconfirmed.drain(..) {
            if (first..=last).contains(&seq) {
                self.unconfirmed_bytes -= m.len();
                taken.push(m);
            } else {
                kept.push_back((seq, m));
            }
        }
        self.unconfirmed = kept;
        taken
    }

    /// A timer fired.
    pub fn on_timer(&mut self, timer: ShareTimer, now: Time) {
        self.now = self.now.max(now);
        match timer {
            ShareTimer::Receipt => {
                self.receipt_armed = false;
                if self.unreceipted > 0 && !self.is_holder() {
                    self.receipt(false);
                }
            }
            ShareTimer::Takeover => self.take_over(),
            ShareTimer::Hello => self.request_lock(),
            ShareTimer::TabTimeout => self.hub_tab_timeout(),
        }
    }

    /// Feeds the holder's machine one input about its socket or its timers (what a driver
    /// of a [`Machine`] would call), then carries out what it decided. Nothing happens if
    /// this tab no longer holds (a late event of a socket it gave up).
    pub fn socket(&mut self, now: Time, input: impl FnOnce(&mut Machine, Time)) {
        self.now = self.now.max(now);
        if let Some(machine) = self.hub.as_mut().and_then(Hub::machine) {
            input(machine, now);
            self.pump();
        }
    }
}

// Native only, like the machine's: a virtual clock and simulated tabs.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "share_tests.rs"]
mod tests;
