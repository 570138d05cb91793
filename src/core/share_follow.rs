//! What every tab does with the holder's posts (docs/sharing.md): it delivers the server's
//! messages in order and asks for what it lacks, mirrors the session for a takeover,
//! reports the connection's lifecycle, and hands its unconfirmed sends to each new holder.

use crate::core::machine::{ConnectionEvent, StopReason};
use crate::core::policy::Disconnect;
use crate::core::resume::LostReason;
use crate::core::share::Tab;
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
                self.live = live;
                self.members = present;
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

    /// A new session replaced the one the mirror was for, without a word of the old one's
    /// fate (a holder that knew nothing of it started afresh): our messages written in it
    /// and never acknowledged are reported, as a single socket reports an unknown session.
    pub(crate) fn session_restarted(&mut self) {
        let id = self.id;
        let mine: Vec<u64> = (self.mirror.entries.iter())
            .filter(|w| w.tab == id)
            .map(|w| w.seq)
            .collect();
        self.mirror.reset();
        if let (Some(&first), Some(&last)) = (mine.first(), mine.last()) {
            let unconfirmed = self.take_own(first, last);
            self.emit(ConnectionEvent::SessionLost {
                reason: LostReason::Unknown,
                missed: None,
                unconfirmed,
            });
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
