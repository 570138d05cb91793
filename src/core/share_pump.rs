//! The holder's machine at work (docs/sharing.md): the tabs' sends handed to it as it has
//! room, and each step of its actions carried out, the mirror posts first (a frame is never
//! on the wire before its record is on the channel), then server messages fanned out to
//! every tab and its lifecycle reported to all.

use crate::core::machine::{Action, ConnectionEvent, Machine};
use crate::core::queue::SendOutcome;
use crate::core::resume::LostReason;
use crate::core::share::Tab;
use crate::core::share_follow::lifecycle;
use crate::core::share_hub::Hub;
use crate::core::share_options::Output;
use crate::core::share_post::{Post, TabId};
use crate::Message;

impl Tab {
    /// Hands the intake to the machine as far as it has room, and carries out what the
    /// machine decided, until nothing changes.
    pub(crate) fn pump(&mut self) {
        loop {
            self.feed();
            let Some(machine) = self.hub.as_mut().and_then(Hub::machine) else {
                return;
            };
            let actions: Vec<Action> = std::iter::from_fn(|| machine.poll_action()).collect();
            if actions.is_empty() {
                return;
            }
            self.carry_out(actions);
        }
    }

    fn feed(&mut self) {
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        let Some(machine) = hub.machine.as_mut() else {
            return;
        };
        let resumes = machine.resumes();
        let mut confirmed = Vec::new();
        while let Some(entry) = hub.intake.front() {
            let room = match resumes {
                true => machine.can_accept(entry.message.len()),
                false => machine.open_socket().is_some(),
            };
            if !room {
                break;
            }
            match machine.send(entry.message.clone()) {
                Ok(SendOutcome::Written | SendOutcome::Queued { .. }) => {}
                _ => break,
            }
            let entry = hub.intake.pop_front().expect("front exists");
            if resumes {
                hub.outbox.push_back(entry);
            } else {
                // Without resume, written is as confirmed as a send gets.
                confirmed.push((entry.tab, entry.seq));
            }
        }
        for (tab, seq) in confirmed {
            self.confirm(tab, seq);
        }
    }

    /// One step of the machine's actions: the mirror posts first (so a frame is never on the
    /// wire before its record is on the channel), then the actions in order.
    fn carry_out(&mut self, actions: Vec<Action>) {
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        let Some(machine) = hub.machine.as_ref() else {
            return;
        };
        let term = hub.term;
        let (sent, acked, received) = (machine.sent(), machine.acked(), machine.received());
        let session = machine.session_id().map(str::to_owned);
        let mut posts = Vec::new();
        let mut confirmed = Vec::new();
        let mut lost_own = Vec::new();
        // A session lost in this step: its written messages are either acknowledged (the
        // oldest) or never confirmed (the last `unconfirmed.len()`).
        let reset = actions.iter().find_map(|a| match a {
            Action::Emit(ConnectionEvent::SessionLost {
                reason,
                missed,
                unconfirmed,
            }) if *reason != LostReason::Gap => Some((reason.clone(), *missed, unconfirmed.len())),
            _ => None,
        });
        let was_reset = reset.is_some();
        if let Some((reason, missed, lost)) = reset {
            let written = hub.outbox.iter().take_while(|e| e.n.is_some()).count();
            for e in hub.outbox.drain(..written.saturating_sub(lost)) {
                confirmed.push((e.tab, e.seq));
            }
            let mut ranges: Vec<(TabId, u64, u64)> = Vec::new();
            for e in hub.outbox.drain(..lost.min(written)) {
                match ranges.iter_mut().find(|r| r.0 == e.tab) {
                    Some(r) => r.2 = e.seq,
                    None => ranges.push((e.tab, e.seq, e.seq)),
                }
            }
            lost_own = ranges
                .iter()
                .filter(|r| r.0 == self.id)
                .map(|r| (r.1, r.2))
                .collect();
            hub.numbered = 0;
            hub.acked = 0;
            posts.push(Post::SessionLost {
                term,
                reason,
                missed,
                ranges,
            });
        }
        // A new session (numbered from here: the machine had none, or lost it), or a new
        // identifier for this one.
        if session != hub.session {
            let new = was_reset || hub.session.is_none();
            hub.session = session.clone();
            if let Some(id) = session {
                let start = if new { self.recv } else { self.start };
                posts.push(Post::Session {
                    term,
                    id,
                    start,
                    new,
                });
            }
        }
        // Written in this step: numbered in order.
        let mut n = hub.numbered;
        for e in hub.outbox.iter_mut().filter(|e| e.n.is_none()) {
            if n >= sent {
                break;
            }
            n += 1;
            e.n = Some(n);
            posts.push(Post::Written {
                term,
                n,
                tab: e.tab,
                seq: e.seq,
                message: e.message.clone(),
            });
        }
        hub.numbered = n.max(hub.numbered);
        if acked > hub.acked {
            hub.acked = acked;
            while hub
                .outbox
                .front()
                .is_some_and(|e| e.n.is_some_and(|n| n <= acked))
            {
                let e = hub.outbox.pop_front().expect("front exists");
                confirmed.push((e.tab, e.seq));
            }
            posts.push(Post::Acked { term, n: acked });
        }
        for post in posts {
            self.post(&post);
            self.apply_own(post);
        }
        for (tab, seq) in confirmed {
            self.confirm(tab, seq);
        }
        let deliveries = actions
            .iter()
            .filter(|a| matches!(a, Action::Deliver(_)))
            .count();
        let mut n = received.saturating_sub(deliveries as u64);
        for action in actions {
            match action {
                Action::Deliver(message) => {
                    n += 1;
                    self.fan_out(n, message);
                }
                Action::Emit(event) => self.holder_event(event, &lost_own),
                action => {
                    if let (Action::Dial { id }, Some(hub)) = (&action, self.hub.as_mut()) {
                        hub.socket = Some(*id);
                    }
                    self.out.push_back(Output::Socket(action));
                }
            }
        }
    }

    /// What this tab's follower side keeps of the holder's own posts.
    fn apply_own(&mut self, post: Post) {
        match post {
            Post::Session { id, start, new, .. } => {
                if new {
                    // The machine reported a lost session to this tab itself.
                    self.mirror.reset();
                    self.written_own = 0;
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
            } => {
                if tab == self.id {
                    self.written_own = self.written_own.max(seq);
                }
                self.mirror.written(n, tab, seq, message)
            }
            Post::Acked { n, .. } => self.mirror.acked(n),
            Post::SessionLost { .. } => {
                self.mirror.reset();
                self.written_own = 0;
            }
            _ => {}
        }
    }

    /// Server message `n` reaches every tab: ours now, the others through the channel. One
    /// this tab had already (the server sends again what some tab may lack) goes to the
    /// others only.
    fn fan_out(&mut self, n: u64, message: Message) {
        let mseq = self.start + n;
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        hub.fresh = false;
        let (term, now, tip) = (hub.term, self.now, self.recv);
        let post = Post::Deliver {
            term,
            mseq,
            n,
            message: message.clone(),
        };
        if mseq <= tip {
            self.retained.push(mseq, n, message);
            return self.post(&post);
        }
        for m in hub.members.iter_mut().filter(|m| m.receipt >= tip) {
            m.behind_since = Some(now);
        }
        self.post(&post);
        if mseq > tip + 1 {
            // This tab took over behind the others (its lock came before it could catch
            // up): what it lacks below the server's resend is gone, and said so.
            self.emit(ConnectionEvent::SessionLost {
                reason: LostReason::Gap,
                missed: Some(mseq - tip - 1),
                unconfirmed: Vec::new(),
            });
        }
        let kept = self.retained.floor;
        self.deliver(mseq, n, message);
        if self.retained.floor > kept {
            // Past the bound: what the laggards lacked is gone; they are told when they ask.
            let floor = self.retained.floor;
            if let Some(hub) = self.hub.as_mut() {
                (hub.members.iter_mut()).for_each(|m| m.receipt = m.receipt.max(floor));
            }
        }
        self.arm_tab_timeout();
        self.update_floor(false);
    }

    fn holder_event(&mut self, event: ConnectionEvent, lost_own: &[(u64, u64)]) {
        let Some(hub) = self.hub.as_mut() else {
            return;
        };
        let term = hub.term;
        match &event {
            ConnectionEvent::Open { protocol } => {
                hub.open = Some(protocol.clone());
                if !std::mem::replace(&mut hub.welcomed, true) {
                    for (tab, mseq) in std::mem::take(&mut hub.wants) {
                        self.catch_up(tab, mseq);
                    }
                }
            }
            ConnectionEvent::Closed { .. } => {
                hub.open = None;
                self.stopped = true;
                if hub.closing {
                    self.out.push_back(Output::ReleaseLock);
                }
            }
            ConnectionEvent::SessionLost { reason, .. } if *reason == LostReason::Gap => {
                // The server no longer had messages we resumed from: those beyond what
                // this tab has are lost to it (the other tabs learn theirs when they ask).
                let upto = self.start + hub.machine.as_ref().map_or(0, Machine::received);
                let missed = upto.saturating_sub(self.recv);
                if missed > 0 {
                    self.recv = upto;
                    self.emit(ConnectionEvent::SessionLost {
                        reason: LostReason::Gap,
                        missed: Some(missed),
                        unconfirmed: Vec::new(),
                    });
                }
                return;
            }
            ConnectionEvent::SessionLost { reason, missed, .. } => {
                let own: Vec<Message> = (lost_own.iter())
                    .flat_map(|&(first, last)| self.take_own(first, last))
                    .collect();
                return self.emit(ConnectionEvent::SessionLost {
                    reason: reason.clone(),
                    missed: *missed,
                    unconfirmed: own,
                });
            }
            ConnectionEvent::Connecting { .. }
            | ConnectionEvent::Reconnecting { .. }
            | ConnectionEvent::WaitingForNetwork { .. } => hub.open = None,
            _ => {}
        }
        if let Some(event) = lifecycle(&event) {
            self.post(&Post::Event { term, event });
        }
        self.emit(event);
    }
}
