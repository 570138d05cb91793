//! One connection for every tab of an origin (issue #24; the protocol: docs/sharing.md).
//! Each tab's socket is a [`Tab`]: it follows the holder's stream over the channel and, when
//! its driver gets the share's Web Lock, becomes the holder, running the one [`Machine`] and
//! resuming the session the previous holder had. This file owns what every tab does (the
//! follower's side); share_hub.rs what the holder adds. No I/O: the driver moves posts
//! between the BroadcastChannel and [`Tab::on_post`], lock grants into
//! [`Tab::lock_acquired`], socket events into [`Tab::socket`], and carries out [`Output`]s.

use crate::core::machine::{Action, ConnectionEvent, Machine, StopReason, Time};
use crate::core::policy::{Config, Disconnect};
use crate::core::queue::SendOutcome;
use crate::core::resume::LostReason;
use crate::core::share_buffers::{Mirror, Retained};
use crate::core::share_hub::Hub;
use crate::core::share_wire::{Lifecycle, Post, TabId};
use crate::{CloseInfo, Error, Message};
use std::collections::VecDeque;
use std::time::Duration;

/// How tabs share one connection: the sharing policy, a value with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sharing {
    pub(crate) tab_timeout: Duration,
    pub(crate) retain_bytes: usize,
    pub(crate) takeover_delay: Duration,
    pub(crate) receipt_delay: Duration,
    pub(crate) receipt_every: u32,
    pub(crate) hello_timeout: Duration,
}

impl Default for Sharing {
    fn default() -> Self {
        Sharing {
            tab_timeout: Duration::from_secs(5),
            retain_bytes: 1 << 20,
            takeover_delay: Duration::from_millis(50),
            receipt_delay: Duration::from_millis(20),
            receipt_every: 32,
            hello_timeout: Duration::from_millis(100),
        }
    }
}

impl Sharing {
    /// The defaults.
    pub fn new() -> Sharing {
        Sharing::default()
    }

    /// How long a tab may stay behind the holder's stream before the holder stops waiting
    /// for it (default 5 s): until then the server keeps what it lacks (the holder
    /// acknowledges only what every live tab has). A tab that comes back catches up from
    /// the holder's buffer, or is told what it lost.
    pub fn tab_timeout(mut self, timeout: Duration) -> Self {
        self.tab_timeout = timeout;
        self
    }

    /// Bytes of server messages every tab keeps beyond what all tabs have (default 1 MiB):
    /// what the holder replays to a tab that fell behind, and what a new holder gives the
    /// others after a takeover. Past it the oldest go, and tabs that lacked them are told.
    pub fn retain_bytes(mut self, bytes: usize) -> Self {
        self.retain_bytes = bytes;
        self
    }

    /// How long a tab granted the lock waits for the previous holder's last posts before it
    /// dials (default 50 ms).
    pub fn takeover_delay(mut self, delay: Duration) -> Self {
        self.takeover_delay = delay;
        self
    }

    /// How long a new tab waits for the holder's answer before it asks for the lock itself
    /// (default 100 ms). A tab asks for the lock once it knows where the stream stands, so
    /// that a tab knowing nothing takes over only when no other tab is waiting.
    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.hello_timeout = timeout;
        self
    }

    /// A follower confirms what it received within this delay (default 20 ms), and at once
    /// after `receipt_every` messages (default 32).
    pub fn receipt_delay(mut self, delay: Duration, every: u32) -> Self {
        self.receipt_delay = delay;
        self.receipt_every = every.max(1);
        self
    }
}

/// The timers of a [`Tab`] (the holder's [`Machine`] has its own, as [`Output::Socket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShareTimer {
    /// The lock was granted: take over when it fires.
    Takeover,
    /// The holder: a tab has been behind for the tab timeout.
    TabTimeout,
    /// A follower: confirm what it received.
    Receipt,
    /// A new tab's hello went unanswered: no holder runs, ask for the lock.
    Hello,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Post these bytes on the share's BroadcastChannel.
    Post(Vec<u8>),
    /// The holder's machine asks this of the socket (or of its timers); feed what happens
    /// back through [`Tab::socket`].
    Socket(Action),
    /// Hand this server message to this tab's application.
    Deliver(Message),
    /// Report this event to this tab's application.
    Emit(ConnectionEvent),
    /// (Re)start a share timer.
    SetTimer {
        /// Which.
        timer: ShareTimer,
        /// When it fires, from now.
        after: Duration,
    },
    /// Stop a share timer.
    CancelTimer(ShareTimer),
    /// Ask for the share's Web Lock (report the grant with [`Tab::lock_acquired`]).
    RequestLock,
    /// Release the lock, or give up the request for it.
    ReleaseLock,
    /// This tab's application learns which tab holds the connection now.
    Holder(TabId),
}

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
    /// Another tab that knows the stream spoke (a receipt), and the holder term at which
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
    pub(crate) start: u64,
    /// Every live tab has `..=floor`, as the holder last said: a new holder resumes the
    /// session from there (what it has beyond, it keeps from the server's resend).
    pub(crate) floor: u64,
    pub(crate) retained: Retained,
    pub(crate) mirror: Mirror,
    pub(crate) members: Vec<TabId>,
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
            start: 0,
            floor: 0,
            mirror: Mirror::default(),
            members: Vec::new(),
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

    /// This tab's sends not confirmed yet (acknowledged by the server with resume, written
    /// without), and their bytes: what its `bufferedAmount` reports.
    pub fn unconfirmed(&self) -> (usize, usize) {
        (self.unconfirmed.len(), self.unconfirmed_bytes)
    }

    /// This tab becomes a candidate to hold the connection.
    fn request_lock(&mut self) {
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
    pub fn close(&mut self, code: u16, reason: &str, now: Time) {
        self.now = self.now.max(now);
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        self.post(&Post::Bye { tab: self.id });
        if self.close_holder(code, reason) {
            return; // the machine's own close reports it
        }
        self.out.push_back(Output::ReleaseLock);
        self.out.push_back(Output::CancelTimer(ShareTimer::Receipt));
        self.out.push_back(Output::CancelTimer(ShareTimer::Hello));
        self.emit(ConnectionEvent::Closed {
            reason: StopReason::UserClosed,
            unsent: 0,
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
            Post::Bye { tab } => self.hub_bye(tab),
            post => self.holder_post(post),
        }
        Ok(())
    }

    /// A post only a holder makes.
    fn holder_post(&mut self, post: Post) {
        let term = match &post {
            Post::Holder { term, .. }
            | Post::Joined { term, .. }
            | Post::Deliver { term, .. }
            | Post::Event { term, .. }
            | Post::Session { term, .. }
            | Post::Written { term, .. }
            | Post::Acked { term, .. }
            | Post::Confirmed { term, .. }
            | Post::Floor { term, .. }
            | Post::SessionLost { term, .. }
            | Post::Missed { term, .. } => *term,
            _ => return,
        };
        if term < self.term {
            return; // a former holder's late post
        }
        if term > self.term {
            self.term = term;
            if self.is_holder() {
                // Someone took over while we held (the lock was stolen from us): stop now.
                // (While we wait to take over, a newer term is a former holder's post that
                // was late: the lock is ours, nobody else holds.)
                self.step_down();
                self.out.push_back(Output::ReleaseLock);
                self.out.push_back(Output::RequestLock);
            }
        }
        if let Post::Holder { tab, .. } = post {
            return self.new_holder(tab);
        }
        if let Post::Joined {
            holder,
            to,
            mseq,
            session,
            start,
            open,
            ..
        } = post
        {
            if to == self.id && !self.joined {
                self.joined = true;
                self.holder = Some(holder);
                self.out.push_back(Output::Holder(holder));
                self.request_lock();
                self.recv = mseq;
                self.retained.advance(mseq);
                self.session = session;
                self.start = start;
                if let Some(protocol) = open {
                    self.emit(ConnectionEvent::Open { protocol });
                }
                // Sent before the holder knew us: it may have let them pass.
                self.resubmit();
            }
            return;
        }
        if !self.joined {
            return; // where the stream stands comes with `Joined`
        }
        self.apply(post);
    }

    /// A holder's post (also those of our own hub, for the mirror).
    pub(crate) fn apply(&mut self, post: Post) {
        match post {
            Post::Deliver {
                mseq, n, message, ..
            } => self.on_deliver(mseq, n, message),
            Post::Event { event, .. } => {
                if let Lifecycle::Closed { .. } = event {
                    self.stopped = true;
                }
                self.emit(lifecycle_event(event));
            }
            Post::Session { id, start, .. } => {
                self.session = Some(id);
                self.start = start;
            }
            Post::Written {
                n,
                tab,
                seq,
                message,
                ..
            } => self.mirror.written(n, tab, seq, message),
            Post::Acked { n, .. } => self.mirror.acked(n),
            Post::Confirmed { to, seq, .. } => {
                self.mirror.assign(to, seq);
                if to == self.id {
                    self.confirm_own(seq);
                }
            }
            Post::Floor { mseq, members, .. } => {
                self.floor = self.floor.max(mseq);
                self.retained.advance(mseq);
                self.members = members;
            }
            Post::SessionLost {
                reason,
                missed,
                ranges,
                ..
            } => {
                if reason != LostReason::Gap {
                    self.mirror.reset();
                }
                let mine = ranges.iter().find(|(tab, ..)| *tab == self.id);
                let unconfirmed = match mine {
                    Some(&(_, first, last)) => self.take_own(first, last),
                    None => Vec::new(),
                };
                self.emit(ConnectionEvent::SessionLost {
                    reason,
                    missed,
                    unconfirmed,
                });
            }
            Post::Missed { to, upto, .. } if to == self.id && upto > self.recv => {
                // The holder no longer has them: said, never skipped silently.
                self.emit(ConnectionEvent::SessionLost {
                    reason: LostReason::Gap,
                    missed: Some(upto - self.recv),
                    unconfirmed: Vec::new(),
                });
                self.recv = upto;
                self.want = false;
            }
            _ => {}
        }
    }

    fn on_deliver(&mut self, mseq: u64, n: u64, message: Message) {
        // Every tab keeps what it got, for the tabs that lack it should it take over.
        self.retained.push(mseq, n, message.clone());
        if mseq <= self.recv {
            return; // a resend for another tab, or one we have
        }
        if mseq > self.recv + 1 {
            if !std::mem::replace(&mut self.want, true) {
                self.receipt(true);
            }
            return;
        }
        self.deliver(mseq, n, message);
        self.unreceipted += 1;
        if self.unreceipted >= self.sharing.receipt_every {
            self.receipt(false);
        } else if !std::mem::replace(&mut self.receipt_armed, true) {
            self.set_timer(ShareTimer::Receipt, self.sharing.receipt_delay);
        }
    }

    /// Server message `mseq` (session number `n`) reaches this tab's application.
    pub(crate) fn deliver(&mut self, mseq: u64, n: u64, message: Message) {
        self.recv = mseq;
        self.want = false;
        self.retained.push(mseq, n, message.clone());
        self.out.push_back(Output::Deliver(message));
    }

    fn receipt(&mut self, want: bool) {
        self.unreceipted = 0;
        let post = Post::Receipt {
            tab: self.id,
            mseq: self.recv,
            want,
        };
        self.post(&post);
    }

    /// A new holder: it gets our receipt (and sends what we lack) and every send of ours
    /// not confirmed yet, in order (it takes each number once).
    fn new_holder(&mut self, tab: TabId) {
        self.holder = Some(tab);
        self.out.push_back(Output::Holder(tab));
        if !self.joined {
            return self.post(&Post::Hello { tab: self.id });
        }
        self.receipt(true);
        self.resubmit();
    }

    /// Every send of ours not confirmed yet goes (again) to the holder, in order.
    fn resubmit(&mut self) {
        let done = self.settled();
        let sends: Vec<Post> = (self.unconfirmed.iter())
            .map(|(seq, message)| Post::Send {
                tab: self.id,
                seq: *seq,
                done,
                message: message.clone(),
            })
            .collect();
        sends.iter().for_each(|post| self.post(post));
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

/// A lifecycle event as the application sees it.
fn lifecycle_event(event: Lifecycle) -> ConnectionEvent {
    match event {
        Lifecycle::Connecting { attempt } => ConnectionEvent::Connecting { attempt },
        Lifecycle::Open { protocol } => ConnectionEvent::Open { protocol },
        Lifecycle::Reconnecting {
            attempt,
            delay,
            code,
            reason,
            was_open,
        } => ConnectionEvent::Reconnecting {
            attempt,
            delay,
            last_close: Disconnect {
                close: CloseInfo {
                    code,
                    reason,
                    was_clean: false,
                },
                was_open,
            },
        },
        Lifecycle::WaitingForNetwork => ConnectionEvent::WaitingForNetwork { last_close: None },
        Lifecycle::Resumed { session, resent } => ConnectionEvent::Resumed {
            session,
            resent: resent as usize,
        },
        Lifecycle::Closed {
            ended,
            code,
            reason,
        } => {
            let close = CloseInfo {
                code,
                reason,
                was_clean: ended,
            };
            let reason = match ended {
                true => StopReason::SessionEnded,
                false => StopReason::GaveUp(Disconnect {
                    close: close.clone(),
                    was_open: false,
                }),
            };
            ConnectionEvent::Closed {
                reason,
                unsent: 0,
                close: Some(close),
            }
        }
    }
}

/// The post for a machine event every tab reports (`None`: the holder's alone).
pub(crate) fn lifecycle(event: &ConnectionEvent) -> Option<Lifecycle> {
    Some(match event {
        ConnectionEvent::Connecting { attempt } => Lifecycle::Connecting { attempt: *attempt },
        ConnectionEvent::Open { protocol } => Lifecycle::Open {
            protocol: protocol.clone(),
        },
        ConnectionEvent::Reconnecting {
            attempt,
            delay,
            last_close,
        } => Lifecycle::Reconnecting {
            attempt: *attempt,
            delay: *delay,
            code: last_close.close.code,
            reason: last_close.close.reason.clone(),
            was_open: last_close.was_open,
        },
        ConnectionEvent::WaitingForNetwork { .. } => Lifecycle::WaitingForNetwork,
        ConnectionEvent::Resumed { session, resent } => Lifecycle::Resumed {
            session: session.clone(),
            resent: *resent as u64,
        },
        ConnectionEvent::Closed { reason, close, .. } => Lifecycle::Closed {
            ended: *reason == StopReason::SessionEnded,
            code: close.as_ref().map_or(1006, |c| c.code),
            reason: close.as_ref().map_or(String::new(), |c| c.reason.clone()),
        },
        _ => return None,
    })
}

// Native only, like the machine's: a virtual clock and simulated tabs.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "share_tests.rs"]
mod tests;
