//! What every tab does with the holder's posts (docs/sharing.md): it delivers the server's
//! messages in order and asks for what it lacks, mirrors the session for a takeover,
//! reports the connection's lifecycle, and hands its unconfirmed sends to each new holder.

use crate::core::machine::{ConnectionEvent, StopReason};
use crate::core::policy::Disconnect;
use crate::core::resume::LostReason;
use crate::core::share::Tab;
use crate::core::share_buffers::Retained;
use crate::core::share_options::{Output, ShareTimer};
use crate::core::share_post::{Lifecycle, Post, TabId};
use crate::{CloseInfo, Message};

impl Tab {
    /// A post only a holder makes.
    pub(crate) fn holder_post(&mut self, post: Post) {
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
        // A holder spoke: other tabs may know the stream (see `take_over`).
        self.heard_joined = true;
        if term < self.term {
            let restart = matches!(post, Post::Holder { .. }) && self.hub.is_none();
            if !restart {
                return; // a former holder's late post
            }
            // Posts arrive in the order they were made, so a takeover with a lower term is
            // a restart: every tab that knew the last terms was gone while this one was
            // frozen, and the stream's numbers started over. We start over with it.
            self.rejoin(term);
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
        if let Post::Holder { tab, session, .. } = post {
            return self.new_holder(tab, session);
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
        if let Post::Written { tab, seq, .. } = &post {
            if *tab == self.id {
                // Even before we know where the stream stands (sent before we joined).
                self.written_own = self.written_own.max(*seq);
            }
        }
        if !self.joined {
            return; // where the stream stands comes with `Joined`
        }
        self.apply(post);
    }

    /// A post of the holder this tab follows.
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
            Post::Session { id, start, new, .. } => {
                if new {
                    self.session_restarted();
                }
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
            Post::Floor {
                mseq,
                live,
                present,
                ..
            } => {
                self.floor = self.floor.max(mseq);
                self.retained.advance(mseq);
                // Made before the holder heard of a tab's `Bye`, it may still name it.
                let gone = &self.gone;
                let here = |v: Vec<TabId>| v.into_iter().filter(|t| !gone.contains(t)).collect();
                (self.live, self.members) = (here(live), here(present));
            }
            Post::SessionLost {
                reason,
                missed,
                ranges,
                ..
            } => {
                if reason != LostReason::Gap {
                    self.mirror.reset();
                    self.loss_said = true;
                    self.written_own = 0;
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

    /// Forgets where the stream stood (its numbers restarted under a new line of holders)
    /// and joins again as a new tab would; our sends not confirmed go to the new holder,
    /// those written in the old session are reported.
    fn rejoin(&mut self, term: u64) {
        self.session_restarted();
        self.term = term;
        self.joined = false;
        self.recv = 0;
        self.floor = 0;
        self.start = 0;
        self.session = None;
        self.retained = Retained::new(self.sharing.retain_bytes);
        self.live.clear();
        self.members.clear();
        self.want = false;
    }

    /// A new session replaced the one this tab followed. Unless the holder reported the
    /// old one's loss (`SessionLost`), nobody did (a holder that knew nothing of it started
    /// afresh): this tab reports it, what it missed unknown, with its messages written in
    /// it and never acknowledged, as a single socket reports a session the server doesn't
    /// know.
    pub(crate) fn session_restarted(&mut self) {
        self.mirror.reset();
        let said = std::mem::replace(&mut self.loss_said, false);
        // Ours the old session's holders wrote: they may have reached the server, so they
        // are reported, never sent again (in a new session they would be duplicates).
        let written = std::mem::take(&mut self.written_own);
        let unconfirmed = self.take_own(0, written);
        if (said || self.session.is_none()) && unconfirmed.is_empty() {
            return;
        }
        self.emit(ConnectionEvent::SessionLost {
            reason: LostReason::Unknown,
            missed: None,
            unconfirmed,
        });
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
        if n > 0 && mseq > n {
            // `mseq = start + n` in the session: a tab that missed a `Session` post heals.
            self.start = mseq - n;
        }
        self.recv = mseq;
        self.want = false;
        self.retained.push(mseq, n, message.clone());
        self.out.push_back(Output::Deliver(message));
    }

    pub(crate) fn receipt(&mut self, want: bool) {
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
    fn new_holder(&mut self, tab: TabId, session: Option<String>) {
        self.holder = Some(tab);
        self.out.push_back(Output::Holder(tab));
        // It doesn't resume the session our written messages went out in (or any): they
        // are reported, not sent again, before the rest goes to it.
        let elsewhere = match self.joined {
            true => self.session.is_some() && session != self.session,
            false => session.is_none(),
        };
        if elsewhere {
            self.session_restarted();
            self.session = None;
        }
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
