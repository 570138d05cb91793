//! What the tab holding a shared connection adds (docs/sharing.md): the one [`Machine`],
//! whose session it imports from the mirror when it takes over; the fan-out of every server
//! message; the tabs' sends in each tab's order; acknowledgements held back to what every
//! live tab has; and the mirror posts (written before the frame, so a new holder knows every
//! number the server may have). Never touches a socket: its actions go out as outputs.

use crate::core::machine::{Action, Machine, Time, Timer};
use crate::core::queue::Overflow;
use crate::core::resume::ResumeState;
use crate::core::share::{Output, ShareTimer, Tab};
use crate::core::share_post::{Post, TabId};
use crate::Message;
use std::collections::{HashMap, VecDeque};

/// The holder's side of a tab.
#[derive(Debug)]
pub struct Hub {
    pub(crate) term: u64,
    /// `None` while the takeover delay runs.
    pub(crate) machine: Option<Machine>,
    pub(crate) socket: Option<ConnId>,
    /// The subprotocol while the connection is open.
    pub(crate) open: Option<String>,
    /// The other live tabs: their receipts, and since when they lag behind.
    pub(crate) members: Vec<Member>,
    /// The other tabs whose sockets are open as far as we know (the live ones, and those
    /// not waited for any more but not gone): the connection ends only without them.
    pub(crate) present: Vec<TabId>,
    /// Per tab, its last send taken, and its last one confirmed.
    pub(crate) taken: HashMap<TabId, u64>,
    pub(crate) confirmed: HashMap<TabId, u64>,
    /// Sends taken and not handed to the machine yet (it had no room).
    pub(crate) intake: VecDeque<Entry>,
    /// Sends handed to the machine, in its order; with resume numbered once written.
    pub(crate) outbox: VecDeque<Entry>,
    /// The session number of the last written one, and of the last acknowledged one posted.
    pub(crate) numbered: u64,
    pub(crate) acked: u64,
    pub(crate) timeout_armed: bool,
    /// The user closed the last tab: the machine ends the session, then the lock goes.
    pub(crate) closing: bool,
    /// Took over knowing nothing of the stream (no tab answered its hello): until the
    /// first message, the tabs' receipts tell where the stream's numbers stand.
    pub(crate) fresh: bool,
    /// The machine's session as last posted (imported, or `None`): a change from `None`,
    /// or with a reset, is a new session.
    pub(crate) session: Option<String>,
    /// Whether the server's welcome said what it still has (before, a message this holder
    /// lacks may yet come in its resend): until then the tabs' requests wait in `wants`.
    pub(crate) welcomed: bool,
    pub(crate) wants: Vec<(TabId, u64)>,
    /// For the tab timeout after the takeover the floor stays where it was: a tab the last
    /// holder's posts never told us of has that long to report.
    pub(crate) hold: Option<(Time, u64)>,
}

type ConnId = crate::core::machine::ConnId;

#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) tab: TabId,
    pub(crate) receipt: u64,
    pub(crate) behind_since: Option<Time>,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) tab: TabId,
    pub(crate) seq: u64,
    pub(crate) message: Message,
    pub(crate) n: Option<u64>,
}

impl Hub {
    pub(crate) fn running(&self) -> bool {
        self.machine.is_some()
    }

    pub(crate) fn machine(&mut self) -> Option<&mut Machine> {
        self.machine.as_mut()
    }
}

impl Tab {
    /// The driver got the share's lock: after the takeover delay this tab holds the
    /// connection.
    pub fn lock_acquired(&mut self, now: Time) {
        self.now = self.now.max(now);
        if self.closed || self.hub.is_some() {
            self.out.push_back(Output::ReleaseLock);
            return;
        }
        self.hub = Some(Hub {
            term: 0,
            machine: None,
            socket: None,
            open: None,
            members: Vec::new(),
            present: Vec::new(),
            taken: HashMap::new(),
            confirmed: HashMap::new(),
            intake: VecDeque::new(),
            outbox: VecDeque::new(),
            numbered: 0,
            acked: 0,
            timeout_armed: false,
            closing: false,
            fresh: false,
            welcomed: false,
            session: None,
            wants: Vec::new(),
            hold: None,
        });
        // The last holder's last posts may still be on their way (it crashed, or they are
        // slower than the lock), and a tab that held after it may have posted its `Holder`
        // (a tab can't tell who held the lock last): they arrive meanwhile.
        self.set_timer(ShareTimer::Takeover, self.sharing.takeover_delay);
    }

    /// The lock was taken from this tab (stolen): it stops holding at once.
    pub fn lock_lost(&mut self, now: Time) {
        self.now = self.now.max(now);
        if self.hub.is_some() {
            self.step_down();
            if !self.closed {
                self.out.push_back(Output::RequestLock);
            }
        }
    }

    /// Gives up the connection (no `end`: the session goes on with the next holder).
    pub(crate) fn step_down(&mut self) {
        let Some(hub) = self.hub.take() else {
            return;
        };
        if let Some(id) = hub.socket.filter(|_| hub.machine.is_some()) {
            self.out.push_back(Output::Socket(Action::CloseSocket {
                id,
                code: 1000,
                reason: "handed over".into(),
            }));
        }
        for timer in Timer::ALL {
            self.out
                .push_back(Output::Socket(Action::CancelTimer(timer)));
        }
        self.out
            .push_back(Output::CancelTimer(ShareTimer::TabTimeout));
        self.out
            .push_back(Output::CancelTimer(ShareTimer::Takeover));
        self.holder = None;
    }

    /// The takeover delay is over: this tab holds, resuming the session it mirrored.
    pub(crate) fn take_over(&mut self) {
        if self.hub.as_ref().is_none_or(|h| h.machine.is_some()) {
            return; // gave the lock up meanwhile, or holds already
        }
        if self.stopped {
            // The connection stopped for good (the server ended the session): no dial.
            self.hub = None;
            return self.out.push_back(Output::ReleaseLock);
        }
        // We know nothing of the stream while other tabs do, or the holder stopped waiting
        // for us (the floor passed us: the server no longer has what we lack). The lock
        // goes to the tabs that know more (they asked for it when they joined) and we ask
        // again, behind them. Once per holder: if nobody took over since (they are gone),
        // we get it back and go on.
        let unknowing = !self.joined && self.heard_joined;
        let behind = self.joined && self.floor > self.recv;
        if (unknowing || behind) && self.deferred != Some(self.term) {
            self.deferred = Some(self.term);
            self.hub = None;
            self.out.push_back(Output::ReleaseLock);
            self.out.push_back(Output::RequestLock);
            return self.post(&Post::Hello { tab: self.id });
        }
        // From what every live tab had: the server sends again what some may lack.
        let resume_n = self.session_n(self.floor);
        let Some(hub) = self.hub.as_mut().filter(|h| h.machine.is_none()) else {
            return;
        };
        self.term += 1;
        hub.term = self.term;
        hub.fresh = !self.joined;
        let mut cfg = self.cfg.clone();
        // The tabs' bounds are checked in each tab; the hub only hands over what fits.
        cfg.overflow = Overflow::Reject;
        let mut machine = Machine::new(cfg, self.seed ^ self.term, self.now);
        if let (true, Some(session)) = (machine.resumes(), self.session.clone()) {
            let state = ResumeState {
                session,
                received: resume_n,
                acked: self.mirror.acked,
                unacked: self
                    .mirror
                    .entries
                    .iter()
                    .map(|w| w.message.clone())
                    .collect(),
            };
            machine.import_resume(state);
            hub.session = self.session.clone();
            machine.set_ack_limit(Some(resume_n), self.now);
            hub.numbered = self.mirror.acked + self.mirror.entries.len() as u64;
            hub.acked = self.mirror.acked;
            hub.outbox = (self.mirror.entries.iter())
                .map(|w| Entry {
                    tab: w.tab,
                    seq: w.seq,
                    message: w.message.clone(),
                    n: Some(w.n),
                })
                .collect();
        } else if machine.resumes() {
            machine.set_ack_limit(Some(0), self.now);
        }
        let hub_session = hub.session.clone();
        hub.machine = Some(machine);
        hub.taken = self.mirror.assigned.clone();
        hub.confirmed = self.mirror.assigned.clone();
        for w in &self.mirror.entries {
            // Written, not confirmed: the confirmation comes with the acknowledgement.
            let confirmed = hub.confirmed.entry(w.tab).or_default();
            *confirmed = (*confirmed).min(w.seq - 1);
        }
        // The tabs the last holder waited for: each has the tab timeout to report.
        let (floor, now) = (self.floor, self.now);
        // The first holder of a share has no tabs to wait for.
        let first = self.term == 1;
        hub.present = self
            .members
            .iter()
            .copied()
            .filter(|t| *t != self.id)
            .collect();
        hub.members = (self.live.iter())
            .filter(|tab| **tab != self.id)
            .map(|&tab| Member {
                tab,
                receipt: floor,
                behind_since: Some(now),
            })
            .collect();
        if !first {
            hub.hold = Some((now.saturating_add(self.sharing.tab_timeout), floor));
            hub.timeout_armed = true;
            self.set_timer(ShareTimer::TabTimeout, self.sharing.tab_timeout);
        }
        self.holder = Some(self.id);
        self.joined = true;
        let term = self.term;
        let session = hub_session.clone();
        self.post(&Post::Holder {
            term,
            tab: self.id,
            session,
        });
        self.out.push_back(Output::Holder(self.id));
        self.arm_tab_timeout();
        if hub_session.is_none() {
            // A new session: ours written in an old one are reported, not sent again.
            self.session_restarted();
            self.session = None;
        }
        let own: Vec<(u64, Message)> = self.unconfirmed.iter().cloned().collect();
        let done = self.settled();
        for (seq, message) in own {
            self.take(self.id, seq, done, message);
        }
        self.pump();
    }

    /// The hub takes tab `tab`'s send `seq`, once, in the tab's order (`done`: the tab's
    /// sends settled before it). Returns whether it was written at once.
    pub(crate) fn take(&mut self, tab: TabId, seq: u64, done: u64, message: Message) -> bool {
        let Some(hub) = self.hub.as_mut().filter(|h| h.running()) else {
            return false;
        };
        // What the tab says is settled was taken by some holder, even one whose posts we
        // missed.
        let taken = hub.taken.entry(tab).or_default();
        *taken = (*taken).max(done);
        let taken = *taken;
        if seq <= taken {
            let confirmed = hub.confirmed.get(&tab).copied().unwrap_or(0);
            if seq <= confirmed {
                self.confirm(tab, confirmed);
            }
            return false;
        }
        if seq != taken + 1 {
            return false; // comes again, in order, with the tab's resubmission
        }
        hub.taken.insert(tab, seq);
        if tab != self.id && !hub.present.contains(&tab) {
            hub.present.push(tab);
        }
        hub.intake.push_back(Entry {
            tab,
            seq,
            message,
            n: None,
        });
        self.pump();
        // Written at once: numbered (resume), or confirmed (without).
        let hub = self.hub.as_ref();
        !hub.is_some_and(|h| {
            (h.intake.iter().chain(&h.outbox))
                .any(|e| e.tab == tab && e.seq == seq && e.n.is_none())
        })
    }

    /// Tab `tab`'s sends `..=seq` are confirmed.
    pub(crate) fn confirm(&mut self, tab: TabId, seq: u64) {
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        let confirmed = hub.confirmed.entry(tab).or_default();
        *confirmed = (*confirmed).max(seq);
        let term = hub.term;
        self.mirror.assign(tab, seq);
        if tab == self.id {
            self.confirm_own(seq);
        } else {
            self.post(&Post::Confirmed { term, to: tab, seq });
        }
    }
}
