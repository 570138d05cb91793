//! The simulated server of share_sim.rs: one session at a time, speaking the resume
//! protocol with the core's own codec as ws-tether-server does (takeover of a session's
//! connection with 4000, `welcome lost` for a resume it can't honour).

use super::{text, World};
use crate::core::machine::ConnId;
use crate::core::resume::{wrap, Control, Frame, LostReason};
use crate::core::share_post::TabId;
use crate::{CloseInfo, Message};

/// The server: one session at a time, as ws-tether-server keeps it.
#[derive(Default)]
pub(crate) struct Server {
    pub sessions: u64,
    pub id: Option<String>,
    /// The client's messages received in this session, and everything ever received.
    pub recv: u64,
    pub got: Vec<Message>,
    /// The session's messages, number n at n - 1; the client acknowledged `..=acked`.
    pub sent: Vec<Message>,
    pub acked: u64,
    /// The connection attached to the session.
    pub conn: Option<(TabId, ConnId)>,
    pub app_count: u64,
    /// Resumes it could not honour (`welcome lost`).
    pub lost_sessions: u64,
}

impl World {
    /// The server reads a frame from connection `i`.
    pub(super) fn server_frame(&mut self, i: usize, frame: Message) {
        let key = (self.conns[i].tab, self.conns[i].id);
        let s = &mut self.server;
        let mut out = Vec::new();
        match Frame::parse(frame) {
            Frame::App(m) => {
                s.recv += 1;
                if std::env::var("SHARE_TRACE").is_ok_and(|v| v == "server") {
                    eprintln!(
                        "{:?} server {:?} #{} from tab {}: {m:?}",
                        self.now, s.id, s.recv, key.0
                    );
                }
                s.got.push(m);
                out.push(Control::Ack(s.recv).encode());
            }
            Frame::Control(Control::Hello) => {
                s.sessions += 1;
                let id = format!("s{}", s.sessions);
                (s.recv, s.acked) = (0, 0);
                s.sent.clear();
                s.id = Some(id.clone());
                out.push(
                    Control::New {
                        session: id,
                        window: 1 << 20,
                    }
                    .encode(),
                );
                s.conn = Some(key);
            }
            Frame::Control(Control::Resume { session, recv })
                if Some(&session) != s.id.as_ref() || recv as usize > s.sent.len() =>
            {
                // A session it doesn't have, or a count beyond what it sent: the client lost
                // state (spec section 3). A new session, and the loss said.
                let reason = match Some(&session) == s.id.as_ref() {
                    true => LostReason::Diverged,
                    false => LostReason::Unknown,
                };
                s.lost_sessions += 1;
                s.sessions += 1;
                let id = format!("s{}", s.sessions);
                (s.recv, s.acked) = (0, 0);
                s.sent.clear();
                s.id = Some(id.clone());
                let welcome = Control::Lost {
                    reason,
                    session: id,
                    missed: None,
                    window: 1 << 20,
                };
                out.push(welcome.encode());
                s.conn = Some(key);
            }
            Frame::Control(Control::Resume { session, recv }) => {
                s.acked = s.acked.max(recv);
                let welcome = Control::Resumed {
                    session,
                    recv: s.recv,
                    next: s.acked + 1,
                    window: 1 << 20,
                };
                out.push(welcome.encode());
                out.extend(s.sent[s.acked as usize..].iter().map(wrap));
                if let Some((t, c)) = s.conn.replace(key) {
                    // Taken over: the old connection is closed with 4000.
                    self.conns.retain(|x| !(x.tab == t && x.id == c));
                    let close = CloseInfo {
                        code: 4000,
                        reason: "taken over".into(),
                        was_clean: true,
                    };
                    self.input(t, move |m, now| m.on_close(c, close, now));
                }
            }
            Frame::Control(Control::Ack(n)) => s.acked = s.acked.max(n),
            Frame::Control(Control::Ping(n)) => {
                s.acked = s.acked.max(n);
                out.push(Control::Ack(s.recv).encode());
            }
            Frame::Control(Control::End) => {
                s.id = None;
                s.conn = None;
            }
            other => panic!("the client sent {other:?}"),
        }
        assert!(self.server.acked as usize <= self.server.sent.len());
        if let Some(c) = self.conns.iter_mut().find(|c| (c.tab, c.id) == key) {
            c.s2c.extend(out);
        }
    }

    /// The server's application sends its next message, if a session exists.
    pub fn server_send(&mut self) {
        if self.server.id.is_none() {
            return;
        }
        self.server.app_count += 1;
        let m = text(&format!("s{}", self.server.app_count));
        self.server.sent.push(m.clone());
        if let Some(key) = self.server.conn {
            if let Some(c) = self.conns.iter_mut().find(|c| (c.tab, c.id) == key) {
                c.s2c.push_back(wrap(&m));
            }
        }
    }
}
