//! The holder's view of the other tabs (docs/sharing.md): who is live, what each has
//! received, the floor every live tab has reached (the limit of the holder's
//! acknowledgements to the server), catching a lagging tab up, and leaving.

use crate::core::share::{Output, ShareTimer, Tab};
use crate::core::share_hub::Member;
use crate::core::share_post::{Post, TabId};

/// How many of the tabs that left a tab remembers (tab ids are random: never reused).
pub(crate) const GONE_KEPT: usize = 64;

impl Tab {
    /// A tab opened its socket: tell it where the stream stands, and mirror the session to
    /// it.
    pub(crate) fn hub_hello(&mut self, tab: TabId) {
        let Some(hub) = self.hub.as_mut().filter(|h| h.running()) else {
            return;
        };
        let (term, open) = (hub.term, hub.open.clone());
        if !hub.present.contains(&tab) {
            hub.present.push(tab);
        }
        if !hub.members.iter().any(|m| m.tab == tab) {
            hub.members.push(Member {
                tab,
                receipt: self.recv,
                behind_since: None,
            });
        }
        self.post(&Post::Joined {
            term,
            holder: self.id,
            to: tab,
            mseq: self.recv,
            session: self.session.clone(),
            start: self.start,
            n: self.session_n(self.recv),
            open,
        });
        let n = self.mirror.acked;
        self.post(&Post::Acked { term, n });
        let written: Vec<Post> = (self.mirror.entries.iter())
            .map(|w| Post::Written {
                term,
                n: w.n,
                tab: w.tab,
                seq: w.seq,
                message: w.message.clone(),
            })
            .collect();
        written.iter().for_each(|post| self.post(post));
        self.update_floor(true);
    }

    /// Tab `tab` has the messages `..=mseq`; `want`: it lacks what follows.
    pub(crate) fn hub_receipt(&mut self, tab: TabId, mseq: u64, want: bool) {
        if self.hub.as_ref().is_some_and(|h| h.fresh) && mseq > self.recv {
            // We took over knowing nothing: the stream's numbers go on after the tabs'.
            self.recv = mseq;
            self.start = mseq;
            self.floor = mseq;
            self.retained.advance(mseq);
            if let Some(id) = self.session.clone() {
                let term = self.term;
                self.post(&Post::Session {
                    term,
                    id,
                    start: mseq,
                    new: false,
                });
            }
        }
        let (floor, tip, now) = (self.retained.floor, self.recv, self.now);
        let Some(hub) = self.hub.as_mut().filter(|h| h.running()) else {
            return;
        };
        let mut joined = !hub.present.contains(&tab);
        if joined {
            hub.present.push(tab);
        }
        let member = match hub.members.iter().position(|m| m.tab == tab) {
            Some(i) => &mut hub.members[i],
            None => {
                // Back after the holder stopped waiting for it (frozen, slow), or a holder
                // change: waited for again from where the floor is.
                joined = true;
                hub.members.push(Member {
                    tab,
                    receipt: floor,
                    behind_since: None,
                });
                hub.members.last_mut().expect("pushed")
            }
        };
        member.receipt = member.receipt.max(mseq).max(floor);
        member.behind_since = match member.receipt >= tip {
            true => None,
            false => member.behind_since.or(Some(now)),
        };
        if want {
            self.catch_up(tab, mseq);
        }
        self.arm_tab_timeout();
        self.update_floor(joined);
    }

    /// Sends tab `tab` what follows `mseq`, as far as it is kept; says what is not (never
    /// skipped silently) once the server's welcome said what it still has.
    pub(crate) fn catch_up(&mut self, tab: TabId, mseq: u64) {
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        let term = hub.term;
        if !hub.welcomed {
            // What this holder lacks may yet come from the server: answered after the welcome.
            return hub.wants.push((tab, mseq));
        }
        let start = self.start;
        // Messages past the machine's position still come (sent again after a takeover).
        let coming = start + hub.machine.as_ref().map_or(0, |m| m.received()) + 1;
        let missed = |from: u64, upto: u64, posts: &mut Vec<Post>| {
            let upto = upto.min(coming - 1);
            if from <= upto {
                let n = upto.saturating_sub(start);
                let (to, term) = (tab, term);
                posts.push(Post::Missed {
                    term,
                    to,
                    from,
                    upto,
                    n,
                });
            }
        };
        let mut posts = Vec::new();
        missed(mseq + 1, self.retained.floor, &mut posts);
        let mut next = (mseq + 1).max(self.retained.floor + 1);
        for (m, n, message) in self.retained.after(mseq) {
            missed(next, m - 1, &mut posts);
            posts.push(Post::Deliver {
                term,
                mseq: *m,
                n: *n,
                message: message.clone(),
            });
            next = m + 1;
        }
        missed(next, self.recv, &mut posts);
        posts.iter().for_each(|post| self.post(post));
    }

    /// Tab `tab` said `Bye`: its socket closed. No holder waits for it again, even one whose
    /// posts made before it heard the `Bye` still name it.
    pub(crate) fn bye(&mut self, tab: TabId) {
        if self.gone.len() == GONE_KEPT {
            self.gone.pop_front();
        }
        self.gone.push_back(tab);
        self.members.retain(|t| *t != tab);
        self.live.retain(|t| *t != tab);
        self.hub_bye(tab);
    }

    /// Tab `tab`'s socket closed: not waited for any more.
    pub(crate) fn hub_bye(&mut self, tab: TabId) {
        if let Some(hub) = self.hub.as_mut() {
            hub.members.retain(|m| m.tab != tab);
            hub.present.retain(|t| *t != tab);
            self.update_floor(true);
        }
    }

    /// Tabs behind for the tab timeout are not waited for any more.
    pub(crate) fn hub_tab_timeout(&mut self) {
        let (now, timeout) = (self.now, self.sharing.tab_timeout);
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        hub.timeout_armed = false;
        let before = hub.members.len();
        hub.members.retain(|m| {
            m.behind_since
                .is_none_or(|since| now < since.saturating_add(timeout))
        });
        let evicted = hub.members.len() != before;
        self.arm_tab_timeout();
        self.update_floor(evicted);
    }

    pub(crate) fn arm_tab_timeout(&mut self) {
        let (now, timeout) = (self.now, self.sharing.tab_timeout);
        let Some(hub) = self.hub.as_mut().filter(|h| !h.timeout_armed) else {
            return;
        };
        let Some(since) = hub.members.iter().filter_map(|m| m.behind_since).min() else {
            return;
        };
        hub.timeout_armed = true;
        let after = since.saturating_add(timeout).saturating_sub(now);
        self.set_timer(ShareTimer::TabTimeout, after);
    }

    /// Every live tab has `..=floor`: the retained buffers forget them and the machine may
    /// acknowledge them. Posted (before the acknowledgement can go out) when it rises or the
    /// members change.
    pub(crate) fn update_floor(&mut self, members_changed: bool) {
        let (tip, kept) = (self.recv, self.floor);
        let Some(hub) = self.hub.as_mut().filter(|h| h.running()) else {
            return;
        };
        let mut floor = (hub.members.iter().map(|m| m.receipt)).fold(tip, u64::min);
        match hub.hold {
            Some((until, held)) if self.now < until => floor = floor.min(held),
            _ => hub.hold = None,
        }
        let floor = floor.max(kept);
        if floor == kept && !members_changed {
            return;
        }
        let term = hub.term;
        let live: Vec<TabId> = hub.members.iter().map(|m| m.tab).collect();
        let present = hub.present.clone();
        self.floor = floor;
        self.retained.advance(floor);
        self.live = live.clone();
        self.members = present.clone();
        if !present.is_empty() || members_changed {
            self.post(&Post::Floor {
                term,
                mseq: floor,
                live,
                present,
            });
        }
        let (limit, now) = (self.session_n(floor), self.now);
        if let Some(machine) = self.hub.as_mut().and_then(|h| h.machine()) {
            if machine.resumes() {
                machine.set_ack_limit(Some(limit), now);
                self.pump();
            }
        }
    }

    /// The user closes the holder's socket. The last tab ends the session (`true`: the
    /// machine's close reports it); otherwise the connection is handed over.
    pub(crate) fn close_holder(&mut self, code: u16, reason: &str) -> bool {
        let Some(hub) = self.hub.as_mut() else {
            return false;
        };
        match hub.machine.as_mut() {
            Some(machine) if hub.present.is_empty() => {
                hub.closing = true;
                machine.close(code, reason);
                self.pump();
                true
            }
            _ => {
                self.step_down();
                self.out
                    .push_back(Output::CancelTimer(ShareTimer::Takeover));
                false
            }
        }
    }
}
