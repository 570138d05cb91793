//! The resume protocol in the machine (docs/resume-protocol.md), driven by the `Sim` of
//! machine_tests and, for the randomized test, a model server that follows the spec.

use super::*;
use crate::core::resume::{Control, Frame, LostReason, Resume};

fn ctl(text: &str) -> Message {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(text.as_bytes());
    Message::Binary(bytes)
}

fn resume_cfg() -> Config {
    Config {
        backoff: no_jitter(ms(100), ms(100)),
        resume: Some(Resume::default()),
        ..Config::default()
    }
}

/// Opens the current socket (the server selects the application's subprotocol "chat").
fn open_resume(sim: &mut Sim) -> Vec<Action> {
    let id = sim.current();
    sim.open(id)
}

/// Opens and welcomes a new session `s1`.
fn start(sim: &mut Sim) -> ConnId {
    open_resume(sim);
    sim.recv(ctl("welcome new s1 1048576"));
    sim.current()
}

fn sent_on(sim: &Sim, id: ConnId) -> Vec<Message> {
    sim.writes.get(&id).cloned().unwrap_or_default()
}

#[test]
fn a_server_whose_first_frame_is_not_a_welcome_stops_the_socket_with_1002() {
    // An echo server returns our hello; others say something of their own first.
    for first in [
        ctl("hello"),
        text("welcome!"),
        ctl("ack 0"),
        Message::Binary(vec![9]),
    ] {
        let mut sim = Sim::new(resume_cfg(), 1);
        let id = sim.current();
        open_resume(&mut sim);
        let acts = sim.recv(first.clone());
        assert_eq!(
            close_sockets_in(&acts),
            vec![(id, 1000, RESUME_UNSUPPORTED_REASON.to_owned())],
            "{first:?}"
        );
        let (reason, _) = the_closed(&acts);
        let StopReason::Policy(d) = reason else {
            panic!("{reason:?}")
        };
        assert_eq!(d.close.code, 1002);
        assert_eq!(d.close.reason, RESUME_UNSUPPORTED_REASON);
        assert!(!sim
            .events
            .iter()
            .any(|e| matches!(e, ConnectionEvent::Open { .. })));
        assert!(sim.delivered.is_empty(), "nothing reaches the application");
    }
}

#[test]
fn hello_then_welcome_opens_and_numbers_messages() {
    let mut sim = Sim::new(resume_cfg(), 1);
    let _ = sim.m.send(text("queued"));
    let acts = open_resume(&mut sim);
    assert_eq!(
        writes_in(&acts),
        vec![ctl("hello")],
        "nothing before the welcome"
    );
    assert!(!events_in(&acts)
        .iter()
        .any(|e| matches!(e, ConnectionEvent::Open { .. })));
    let acts = sim.recv(ctl("welcome new s1 1048576"));
    assert!(events_in(&acts).contains(&ConnectionEvent::Open {
        protocol: "chat".into()
    }));
    assert_eq!(writes_in(&acts), vec![text("queued")]);
    let (out, acts) = sim.send(Message::Binary(vec![7]));
    assert_eq!(out, Ok(SendOutcome::Written));
    assert_eq!(writes_in(&acts), vec![Message::Binary(vec![0, 7])]);
    assert_eq!(sim.m.unacknowledged(), 2);
    sim.recv(ctl("ack 1"));
    assert_eq!(sim.m.unacknowledged(), 1);
    sim.recv(ctl("ack 2"));
    assert_eq!(sim.m.unacknowledged(), 0);
}

#[test]
fn after_a_drop_both_sides_replay_what_the_other_lacks_without_duplicates() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    for m in ["a", "b", "c"] {
        let _ = sim.send(text(m));
    }
    sim.recv(ctl("ack 1"));
    sim.recv(text("s1"));
    sim.recv(text("s2"));
    sim.drop_current(1006);
    let _ = sim.m.send(text("d")); // queued while down
    sim.advance_to_next_timer(); // the retry dials
    let acts = open_resume(&mut sim);
    assert_eq!(writes_in(&acts), vec![ctl("resume s1 2")]);
    // The server had "a" and "b"; it sends again from its message 2 ("s2", a duplicate).
    let acts = sim.recv(ctl("welcome resumed s1 2 2 1048576"));
    assert_eq!(
        writes_in(&acts),
        vec![text("c"), text("d")],
        "c again, then d"
    );
    let events = events_in(&acts);
    assert!(events.contains(&ConnectionEvent::Resumed {
        session: "s1".into(),
        resent: 1
    }));
    let acts = sim.recv(text("s2"));
    assert!(delivered_in(&acts).is_empty(), "a duplicate is discarded");
    let acts = sim.recv(text("s3"));
    assert_eq!(delivered_in(&acts), vec![text("s3")]);
    assert_eq!(sim.delivered, vec![text("s1"), text("s2"), text("s3")]);
}

#[test]
fn a_session_the_server_lost_is_reported_with_its_unconfirmed_messages() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    let _ = sim.send(text("a"));
    let _ = sim.send(text("b"));
    sim.recv(ctl("ack 1"));
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    open_resume(&mut sim);
    let acts = sim.recv(ctl("welcome lost expired s2 5 1048576"));
    let events = events_in(&acts);
    assert!(events.contains(&ConnectionEvent::SessionLost {
        reason: LostReason::Expired,
        missed: Some(5),
        unconfirmed: vec![text("b")],
    }));
    assert!(writes_in(&acts).is_empty(), "not sent again on its own");
    // A new session: numbering restarts, the next drop resumes s2 from 0.
    let _ = sim.send(text("c"));
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let acts = open_resume(&mut sim);
    assert_eq!(writes_in(&acts), vec![ctl("resume s2 0")]);
    let acts = sim.recv(ctl("welcome resumed s2 0 1 1048576"));
    assert_eq!(writes_in(&acts), vec![text("c")]);
}

#[test]
fn a_gap_in_the_servers_replay_is_reported_as_missed() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    sim.recv(text("s1"));
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    open_resume(&mut sim);
    let acts = sim.recv(ctl("welcome resumed s1 0 5 1048576"));
    assert!(events_in(&acts).contains(&ConnectionEvent::SessionLost {
        reason: LostReason::Gap,
        missed: Some(3),
        unconfirmed: vec![],
    }));
    sim.recv(text("s5"));
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let acts = open_resume(&mut sim);
    assert_eq!(writes_in(&acts), vec![ctl("resume s1 5")]);
}

#[test]
fn acks_go_out_after_the_delay_or_at_once_after_every_64() {
    let mut sim = Sim::new(resume_cfg(), 1);
    let id = start(&mut sim);
    sim.recv(text("1"));
    assert!(sent_on(&sim, id).iter().all(|m| *m != ctl("ack 1")));
    sim.advance(ms(100));
    assert!(sent_on(&sim, id).contains(&ctl("ack 1")));
    for n in 2..=65 {
        sim.recv(text(&n.to_string()));
    }
    assert!(sent_on(&sim, id).contains(&ctl("ack 65")), "64 pending");
    let acks = sent_on(&sim, id)
        .iter()
        .filter(|m| Frame::parse((*m).clone()) != Frame::App((*m).clone()))
        .count();
    assert_eq!(acks, 3, "hello, ack 1, ack 65");
}

#[test]
fn a_steady_stream_is_acknowledged_within_the_delay_of_each_first_unacknowledged_message() {
    let mut sim = Sim::new(resume_cfg(), 1);
    let id = start(&mut sim);
    // A message every 40 ms, far fewer than 64: the server hears back 100 ms after the
    // first message an ack covers, however long the stream goes on.
    for n in 1..=6 {
        sim.recv(text(&n.to_string()));
        sim.advance(ms(40));
    }
    let acks: Vec<Message> = sent_on(&sim, id)
        .into_iter()
        .filter(|m| m.as_binary().is_some_and(|b| b.starts_with(b"\x01ack")))
        .collect();
    // 1..=3 arrived by 80 ms, acknowledged at 100; 4..=6 by 200, acknowledged at 220.
    assert_eq!(acks, vec![ctl("ack 3"), ctl("ack 6")]);
}

#[test]
fn every_ping_answered_by_an_ack_measures_its_round_trip() {
    let mut cfg = resume_cfg();
    cfg.heartbeat = Some(Heartbeat::new(secs(5), secs(2)));
    let mut sim = Sim::new(cfg, 1);
    start(&mut sim);
    let mut rtts = Vec::new();
    for answer_after in [ms(30), ms(50), ms(70)] {
        sim.advance(secs(5));
        sim.advance(answer_after);
        let acts = sim.recv(ctl("ack 0"));
        rtts.extend(
            events_in(&acts)
                .into_iter()
                .filter(|e| matches!(e, ConnectionEvent::Rtt(_))),
        );
    }
    assert_eq!(
        rtts,
        vec![
            ConnectionEvent::Rtt(ms(30)),
            ConnectionEvent::Rtt(ms(50)),
            ConnectionEvent::Rtt(ms(70)),
        ]
    );
}

#[test]
fn the_heartbeat_pings_in_the_protocol_and_any_ack_answers_it() {
    let mut cfg = resume_cfg();
    cfg.heartbeat = Some(Heartbeat::new(secs(5), secs(2)));
    let mut sim = Sim::new(cfg, 1);
    let id = start(&mut sim);
    sim.recv(text("x"));
    sim.advance(secs(5));
    assert!(sent_on(&sim, id).contains(&ctl("ping 1")));
    sim.advance(ms(30));
    let acts = sim.recv(ctl("ack 0"));
    assert!(events_in(&acts).contains(&ConnectionEvent::Rtt(ms(30))));
    // Unanswered: the peer is dead.
    sim.advance(secs(5));
    let acts = sim.advance(secs(2));
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
}

#[test]
fn the_bound_covers_unacknowledged_messages_and_acks_free_it() {
    let mut cfg = resume_cfg();
    cfg.queue_max_bytes = 10;
    let mut sim = Sim::new(cfg, 1);
    start(&mut sim);
    assert_eq!(sim.send(text("12345678")).0, Ok(SendOutcome::Written));
    assert!(!sim.m.can_accept(3));
    assert!(matches!(
        sim.send(text("abc")).0,
        Err(Error::QueueFull {
            message_bytes: 3,
            free_bytes: 2
        })
    ));
    sim.recv(ctl("ack 1"));
    assert!(sim.m.can_accept(10));
    assert_eq!(sim.send(text("abc")).0, Ok(SendOutcome::Written));
}

#[test]
fn drop_oldest_cannot_drop_what_is_in_flight() {
    let mut cfg = resume_cfg();
    cfg.queue_max_bytes = 10;
    cfg.overflow = Overflow::DropOldest;
    let mut sim = Sim::new(cfg, 1);
    start(&mut sim);
    let _ = sim.send(text("12345678"));
    assert!(sim.m.check_send(3).is_err());
    assert!(matches!(
        sim.send(text("abc")).0,
        Err(Error::QueueFull { .. })
    ));
}

#[test]
fn close_ends_the_session_and_a_clean_close_confirms_everything() {
    let mut sim = Sim::new(resume_cfg(), 1);
    let id = start(&mut sim);
    let _ = sim.send(text("a"));
    let acts = sim.close(1000, "bye");
    let w = writes_in(&acts);
    assert_eq!(w, vec![ctl("end")]);
    assert_eq!(start_close(&acts)[0].0, id);
    let acts = sim.close_event(id, 1000);
    assert!(!events_in(&acts)
        .iter()
        .any(|e| matches!(e, ConnectionEvent::SessionLost { .. })));
}

#[test]
fn giving_up_reports_the_unconfirmed_messages_before_the_final_close() {
    let mut cfg = resume_cfg();
    cfg.close_policy = ClosePolicy::Custom(Rc::new(|_| false));
    let mut sim = Sim::new(cfg, 1);
    start(&mut sim);
    let _ = sim.send(text("a"));
    let acts = sim.drop_current(1006);
    let events = events_in(&acts);
    let lost = events
        .iter()
        .position(|e| {
            *e == ConnectionEvent::SessionLost {
                reason: LostReason::Stopped,
                missed: None,
                unconfirmed: vec![text("a")],
            }
        })
        .expect("reported");
    let closed = events
        .iter()
        .position(|e| matches!(e, ConnectionEvent::Closed { .. }))
        .expect("closed");
    assert!(lost < closed);
}

#[test]
fn a_1002_from_the_server_is_resumed_not_final() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    let acts = sim.drop_current(1002);
    let (attempt, _, last) = the_reconnecting(&acts);
    assert_eq!((attempt, last.close.code), (1, 1002));
    sim.advance_to_next_timer();
    let acts = open_resume(&mut sim);
    assert_eq!(writes_in(&acts), vec![ctl("resume s1 0")]);
    // Without resume the default policy stops on 1002.
    let mut plain = Sim::new(Config::default(), 1);
    plain.open_current();
    let acts = plain.drop_current(1002);
    assert!(matches!(the_closed(&acts).0, StopReason::Policy(_)));
}

#[test]
fn the_server_ending_the_session_stops_the_socket() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    let acts = sim.recv(ctl("end"));
    assert_eq!(the_closed(&acts).0, StopReason::SessionEnded);
    assert!(dials_in(&acts).is_empty());
}

#[test]
fn protocol_errors_drop_the_connection_and_resume_on_the_next() {
    for bad in [
        ctl("welcome new s9 1048576"),
        ctl("ack 9"),
        ctl("bogus"),
        Message::Binary(vec![]),
    ] {
        let mut sim = Sim::new(resume_cfg(), 1);
        start(&mut sim);
        let acts = sim.recv(bad.clone());
        assert_eq!(close_sockets_in(&acts)[0].1, 1000, "{bad:?}");
        let (_, _, last) = the_reconnecting(&acts);
        assert!(
            last.close.reason.starts_with("resume protocol error"),
            "{last:?}"
        );
        sim.advance_to_next_timer();
        let acts = open_resume(&mut sim);
        assert_eq!(writes_in(&acts), vec![ctl("resume s1 0")]);
    }
}

/// A model server following the spec, on a lossy link: every connection may be cut with
/// frames in flight both ways. Nothing is lost, duplicated or reordered either way.
#[test]
fn randomized_drops_lose_nothing_in_either_direction() {
    struct Server {
        session: u64,
        recv: u64,
        got: Vec<Message>,
        /// Everything the server app sent, message n at n - 1.
        sent: Vec<Message>,
        acked: u64,
        /// Whether the current connection has been welcomed.
        live: bool,
    }
    impl Server {
        fn on_frame(&mut self, frame: Message, out: &mut Vec<Message>) {
            match Frame::parse(frame) {
                Frame::App(m) => {
                    self.recv += 1;
                    self.got.push(m);
                    out.push(Control::Ack(self.recv).encode());
                }
                Frame::Control(Control::Hello) => {
                    // The client never learned an earlier session (its welcome was lost in
                    // flight) and sent nothing in it; what the server sent there is gone.
                    assert!(self.got.is_empty() || self.session == 0);
                    self.sent.clear();
                    self.recv = 0;
                    self.session += 1;
                    out.push(ctl(&format!("welcome new s{} 1048576", self.session)));
                    self.live = true;
                }
                Frame::Control(Control::Resume { recv, .. }) => {
                    self.acked = self.acked.max(recv);
                    let next = recv + 1;
                    out.push(ctl(&format!(
                        "welcome resumed s{} {} {next} 1048576",
                        self.session, self.recv
                    )));
                    for m in &self.sent[recv as usize..] {
                        out.push(crate::core::resume::wrap(m));
                    }
                    self.live = true;
                }
                Frame::Control(Control::Ack(n)) => self.acked = self.acked.max(n),
                Frame::Control(Control::Ping(n)) => {
                    self.acked = self.acked.max(n);
                    out.push(Control::Ack(self.recv).encode());
                }
                other => panic!("the client sent {other:?}"),
            }
        }
    }

    for seed in 0..200u64 {
        let mut rng = crate::core::backoff::Rng::new(seed);
        let mut cfg = resume_cfg();
        cfg.heartbeat = Some(Heartbeat::new(secs(1), secs(1)));
        let mut sim = Sim::new(cfg, seed);
        let mut server = Server {
            session: 0,
            recv: 0,
            got: Vec::new(),
            sent: Vec::new(),
            acked: 0,
            live: false,
        };
        let mut client_sent = Vec::new();
        // Frames in flight on the current connection, and how many client writes were seen.
        let (mut c2s, mut s2c) = (VecDeque::new(), VecDeque::<Message>::new());
        let mut seen_writes = 0usize;
        let mut conn: Option<ConnId> = None;
        for step in 0..400 {
            // Pick up the client's new writes on the current connection.
            if let Some(id) = conn {
                let w = sent_on(&sim, id);
                c2s.extend(w[seen_writes..].iter().cloned());
                seen_writes = w.len();
            }
            match (rng.next_f64() * 10.0) as u32 {
                0 | 1 => {
                    let m = text(&format!("c{step}"));
                    if let Ok(SendOutcome::Written | SendOutcome::Queued { .. }) =
                        sim.m.send(m.clone())
                    {
                        client_sent.push(m);
                    }
                    sim.drain();
                }
                2 if server.session > 0 => {
                    let m = text(&format!("s{step}"));
                    server.sent.push(m.clone());
                    if server.live {
                        s2c.push_back(crate::core::resume::wrap(&m));
                    }
                }
                3 | 4 => {
                    if let Some(f) = c2s.pop_front() {
                        let mut out = Vec::new();
                        server.on_frame(f, &mut out);
                        s2c.extend(out);
                    }
                }
                5 | 6 => {
                    if let (Some(f), Some(id)) = (s2c.pop_front(), conn) {
                        sim.recv_on(id, f);
                    }
                }
                7 if rng.next_f64() < 0.25 => {
                    // The connection drops: whatever is in flight is gone.
                    if let Some(id) = conn.take() {
                        if sim.live.contains(&id) {
                            sim.close_event(id, 1006);
                        }
                    }
                    c2s.clear();
                    s2c.clear();
                    server.live = false;
                }
                _ => {
                    sim.advance(ms(50));
                }
            }
            // A dial opens at once (the server selects the protocol).
            if conn.is_none() && sim.live.len() == 1 && !sim.opened.contains(&sim.live[0]) {
                let id = sim.live[0];
                conn = Some(id);
                seen_writes = 0;
                open_resume(&mut sim);
            }
            if let Some(id) = conn {
                if !sim.live.contains(&id) {
                    // The client dropped it (heartbeat, protocol error).
                    conn = None;
                    c2s.clear();
                    s2c.clear();
                    server.live = false;
                }
            }
        }
        // Heal: deliver everything both ways until quiet.
        for _ in 0..10_000 {
            if conn.is_none() {
                if sim.live.len() == 1 && !sim.opened.contains(&sim.live[0]) {
                    let id = sim.live[0];
                    conn = Some(id);
                    seen_writes = 0;
                    open_resume(&mut sim);
                } else {
                    sim.advance_to_next_timer();
                    continue;
                }
            }
            let id = conn.expect("connected");
            let w = sent_on(&sim, id);
            c2s.extend(w[seen_writes..].iter().cloned());
            seen_writes = w.len();
            let mut busy = false;
            while let Some(f) = c2s.pop_front() {
                let mut out = Vec::new();
                server.on_frame(f, &mut out);
                s2c.extend(out);
                busy = true;
            }
            while let Some(f) = s2c.pop_front() {
                sim.recv_on(id, f);
                busy = true;
            }
            if !busy {
                if sim.m.unacknowledged() == 0 && sim.m.queued_bytes() == 0 {
                    break;
                }
                sim.advance(ms(100));
            }
        }
        assert_eq!(server.got, client_sent, "client to server, seed {seed}");
        assert_eq!(sim.delivered, server.sent, "server to client, seed {seed}");
        assert!(!sim
            .events
            .iter()
            .any(|e| matches!(e, ConnectionEvent::SessionLost { .. })));
    }
}

/// The server's receive window (issue: a busy server app must not make the client flood
/// it): the client never has more unacknowledged bytes in flight than the welcome allows,
/// except one message alone; acks let the rest out, in order.
#[test]
fn the_client_keeps_to_the_servers_receive_window() {
    let mut sim = Sim::new(resume_cfg(), 1);
    open_resume(&mut sim);
    sim.recv(ctl("welcome new s1 10"));
    let (out, acts) = sim.send(text("aaaa"));
    assert_eq!(out, Ok(SendOutcome::Written));
    assert_eq!(writes_in(&acts), vec![text("aaaa")]);
    let (out, acts) = sim.send(text("bbbbbb"));
    assert_eq!(
        out,
        Ok(SendOutcome::Written),
        "4 + 6 bytes: the window is full"
    );
    assert_eq!(writes_in(&acts), vec![text("bbbbbb")]);
    let (out, acts) = sim.send(text("c"));
    assert_eq!(out, Ok(SendOutcome::Queued { dropped: 0 }));
    assert!(writes_in(&acts).is_empty(), "beyond the window: waits");
    let (_, acts) = sim.send(text("ddddddddddddddd"));
    assert!(writes_in(&acts).is_empty(), "in order behind c");
    assert_eq!(sim.m.queued_bytes(), 16);
    let acts = sim.recv(ctl("ack 1"));
    assert_eq!(writes_in(&acts), vec![text("c")], "6 + 1 fit, 15 does not");
    let acts = sim.recv(ctl("ack 3"));
    assert_eq!(
        writes_in(&acts),
        vec![text("ddddddddddddddd")],
        "larger than the window, it goes alone"
    );
    let (out, acts) = sim.send(text("e"));
    assert_eq!(out, Ok(SendOutcome::Queued { dropped: 0 }));
    assert!(writes_in(&acts).is_empty());
    // A ping's acknowledgement frees the window too.
    let acts = sim.recv(ctl("ping 4"));
    assert_eq!(writes_in(&acts), vec![ctl("ack 0"), text("e")]);
}

#[test]
fn a_resume_resends_within_the_new_connections_window() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    for m in ["aaaa", "bbbb", "cccc"] {
        let _ = sim.send(text(m));
    }
    sim.drop_current(1006);
    let _ = sim.m.send(text("dd"));
    sim.advance_to_next_timer();
    open_resume(&mut sim);
    let acts = sim.recv(ctl("welcome resumed s1 0 1 8"));
    assert_eq!(writes_in(&acts), vec![text("aaaa"), text("bbbb")]);
    let acts = sim.recv(ctl("ack 1"));
    assert_eq!(writes_in(&acts), vec![text("cccc")]);
    let acts = sim.recv(ctl("ack 3"));
    assert_eq!(writes_in(&acts), vec![text("dd")]);
    assert_eq!(sim.m.unacknowledged(), 1);
}

/// Sent again in order: a newer message that would fit the window never overtakes an older
/// one waiting for room (the server numbers messages in the order they arrive).
#[test]
fn a_newer_message_never_overtakes_one_waiting_to_be_sent_again() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    for m in ["aaaa", "bbbbbb"] {
        let _ = sim.send(text(m));
    }
    sim.drop_current(1006);
    let _ = sim.m.send(text("c"));
    sim.advance_to_next_timer();
    open_resume(&mut sim);
    let acts = sim.recv(ctl("welcome resumed s1 0 1 8"));
    assert_eq!(writes_in(&acts), vec![text("aaaa")], "4 + 6 do not fit");
    let (out, acts) = sim.send(text("d"));
    assert_eq!(out, Ok(SendOutcome::Queued { dropped: 0 }));
    assert!(writes_in(&acts).is_empty(), "d overtook bbbbbb: {acts:?}");
    let acts = sim.recv(ctl("ack 1"));
    assert_eq!(writes_in(&acts), vec![text("bbbbbb"), text("c"), text("d")]);
}

/// A welcome's count covers only what the server had recorded; it may record more of what
/// it received before the drop while the new connection waits for room, and acknowledge it:
/// such messages are not sent again, and what follows them goes out.
#[test]
fn an_acknowledgement_may_cover_messages_not_sent_again_yet() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    for m in ["aaaa", "bbbbbb"] {
        let _ = sim.send(text(m));
    }
    sim.drop_current(1006);
    let _ = sim.m.send(text("c"));
    sim.advance_to_next_timer();
    let id = sim.current();
    open_resume(&mut sim);
    sim.recv(ctl("welcome resumed s1 0 1 8"));
    assert_eq!(sent_on(&sim, id).last(), Some(&text("aaaa")));
    let acts = sim.recv(ctl("ack 2"));
    assert_eq!(writes_in(&acts), vec![text("c")], "bbbbbb sent again");
    assert_eq!(sim.m.unacknowledged(), 1);
    let (_, acts) = sim.send(text("d"));
    assert_eq!(writes_in(&acts), vec![text("d")]);
}

/// A store that lost writes (failover, old snapshot) resumes behind what it confirmed:
/// the client reports the session lost with what it never had confirmed, ends it and
/// starts a new one, instead of retrying the old one for ever.
#[test]
fn a_welcome_behind_an_earlier_ack_loses_the_session_instead_of_looping() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    for m in ["a", "b", "c"] {
        let _ = sim.send(text(m));
    }
    sim.recv(ctl("ack 2"));
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let id = sim.current();
    open_resume(&mut sim);
    let acts = sim.recv(ctl("welcome resumed s1 1 1 1048576"));
    assert!(events_in(&acts).contains(&ConnectionEvent::SessionLost {
        reason: LostReason::Diverged,
        missed: None,
        unconfirmed: vec![text("c")],
    }));
    assert_eq!(
        writes_in(&acts),
        vec![ctl("end")],
        "the old session is ended"
    );
    assert_eq!(close_sockets_in(&acts)[0].0, id);
    assert!(!events_in(&acts)
        .iter()
        .any(|e| matches!(e, ConnectionEvent::Resumed { .. })));
    sim.advance_to_next_timer();
    let acts = open_resume(&mut sim);
    assert_eq!(writes_in(&acts), vec![ctl("hello")], "a new session");
}

/// The server ended the session while we were away: its last messages arrive, then its
/// `end`; what it never confirmed is reported as not processed; nothing is sent again.
#[test]
fn a_session_the_server_ended_delivers_its_last_messages_then_stops() {
    let mut sim = Sim::new(resume_cfg(), 1);
    start(&mut sim);
    let _ = sim.send(text("a"));
    let _ = sim.send(text("b"));
    sim.recv(text("s1"));
    sim.drop_current(1006);
    let _ = sim.m.send(text("c"));
    sim.advance_to_next_timer();
    open_resume(&mut sim);
    let acts = sim.recv(ctl("welcome ended s1 1 2"));
    assert!(writes_in(&acts).is_empty(), "nothing more is sent");
    let acts = sim.recv(text("bye"));
    assert_eq!(delivered_in(&acts), vec![text("bye")]);
    let acts = sim.recv(ctl("end"));
    assert!(events_in(&acts).contains(&ConnectionEvent::SessionLost {
        reason: LostReason::Ended,
        missed: None,
        unconfirmed: vec![text("b")],
    }));
    let (reason, unsent) = the_closed(&acts);
    assert_eq!(reason, StopReason::SessionEnded);
    assert_eq!(unsent, 1, "c was never written");
    assert!(dials_in(&acts).is_empty());
}

// Gaps found by mutation testing (issue #26). Server frames are built through the codec, so a
// change of the wire format flows through.

/// A resume config, a session `s1` started on the first connection (welcomed through the
/// codec), and its socket.
fn started(cfg: Config) -> (Sim, ConnId) {
    let mut sim = Sim::new(cfg, 80);
    open_resume(&mut sim);
    sim.recv(welcome_new("s1"));
    let id = sim.current();
    (sim, id)
}

/// Drops the connection and opens the next one, up to the server's welcome.
fn redial(sim: &mut Sim) -> Vec<Action> {
    sim.drop_current(1006);
    retry_and_open(sim)
}

/// The retry (after the machine dropped the connection) opens the next one.
fn retry_and_open(sim: &mut Sim) -> Vec<Action> {
    sim.advance_to_next_timer();
    open_resume(sim)
}

fn binary(message: Message) -> Vec<u8> {
    match message {
        Message::Binary(bytes) => bytes,
        Message::Text(text) => panic!("a control message as text: {text:?}"),
    }
}

fn lost_event(events: &[ConnectionEvent]) -> Option<(LostReason, Vec<Message>)> {
    events.iter().find_map(|e| match e {
        ConnectionEvent::SessionLost {
            reason,
            unconfirmed,
            ..
        } => Some((reason.clone(), unconfirmed.clone())),
        _ => None,
    })
}

#[test]
fn a_ping_from_the_server_is_answered_at_once_and_acknowledges() {
    let (mut sim, _) = started(resume_cfg());
    let _ = sim.send(text("a"));
    let _ = sim.send(text("b"));
    sim.recv(text("s1"));
    sim.recv(text("s2"));
    let acts = sim.recv(Control::Ping(1).encode());
    assert_eq!(writes_in(&acts), vec![Control::Ack(2).encode()]);
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
    assert_eq!(sim.m.unacknowledged(), 1, "the ping acknowledged \"a\"");
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
    // While closing it still acknowledges, but nothing more goes out after `end`.
    sim.close(1000, "");
    let acts = sim.recv(Control::Ping(2).encode());
    assert!(writes_in(&acts).is_empty(), "written after end: {acts:?}");
    assert_eq!(sim.m.unacknowledged(), 0);
}

#[test]
fn a_new_session_in_answer_to_resume_reports_the_old_one_lost() {
    let (mut sim, _) = started(resume_cfg());
    let _ = sim.send(text("a"));
    sim.recv(text("s1"));
    redial(&mut sim);
    let acts = sim.recv(welcome_new("s2"));
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
    let events = events_in(&acts);
    assert!(events.contains(&ConnectionEvent::Open {
        protocol: "chat".into()
    }));
    assert!(events.contains(&ConnectionEvent::SessionLost {
        reason: LostReason::Unknown,
        missed: None,
        unconfirmed: vec![text("a")],
    }));
    assert!(writes_in(&acts).is_empty(), "\"a\" sent again on its own");
    // The new session numbers from 1: the next resume asks for s2 with nothing received.
    let _ = sim.send(text("b"));
    let acts = redial(&mut sim);
    assert_eq!(writes_in(&acts), vec![resume_greeting("s2", 0)]);
}

#[test]
fn a_session_the_server_does_not_know_is_reported_unknown() {
    let (mut sim, _) = started(resume_cfg());
    let _ = sim.send(text("a"));
    redial(&mut sim);
    let acts = sim.recv(welcome_lost(LostReason::Unknown, "s2", None));
    assert_eq!(
        lost_event(&events_in(&acts)),
        Some((LostReason::Unknown, vec![text("a")]))
    );
}

/// A reason word must be printable ASCII: with anything else the welcome is a frame this
/// version can't parse, so the server doesn't speak the protocol (spec section 1): the
/// socket stops with 1002 instead of carrying on in a new session.
#[test]
fn a_welcome_with_a_malformed_reason_word_means_the_server_does_not_speak_the_protocol() {
    for word in ["", "bell\u{7}", "caf\u{e9}"] {
        let (mut sim, _) = started(resume_cfg());
        let _ = sim.send(text("a"));
        redial(&mut sim);
        let acts = sim.recv(welcome_lost(LostReason::Other(word.into()), "s2", None));
        let (reason, _) = the_closed(&acts);
        let StopReason::Policy(d) = reason else {
            panic!("{word:?}: {reason:?}")
        };
        assert_eq!(
            (d.close.code, d.close.reason.as_str()),
            (1002, RESUME_UNSUPPORTED_REASON),
            "{word:?}"
        );
        assert_eq!(
            lost_event(&events_in(&acts)),
            Some((LostReason::Stopped, vec![text("a")])),
            "{word:?}"
        );
        assert!(!events_in(&acts)
            .iter()
            .any(|e| matches!(e, ConnectionEvent::Open { .. })));
    }
}

/// Numbers are decimal digits only: an `ack` with a stray byte after its digits is garbled,
/// and acknowledges nothing (taken as a larger number, it would drop messages the server
/// never received from the replay buffer).
#[test]
fn a_garbled_acknowledgement_frees_nothing() {
    let (mut sim, _) = started(resume_cfg());
    let sent: Vec<Message> = (1..=20).map(|n| text(&n.to_string())).collect();
    for m in &sent {
        let _ = sim.send(m.clone());
    }
    // Digits and then ':' (the byte after '9').
    let mut garbled = binary(Control::Ack(1).encode());
    garbled.push(b':');
    let acts = sim.recv(Message::Binary(garbled));
    assert_eq!(sim.m.unacknowledged(), 20);
    let (_, _, last) = the_reconnecting(&acts);
    assert!(last.close.reason.starts_with("resume protocol error"));
    retry_and_open(&mut sim);
    let acts = sim.recv(welcome_resumed("s1", 0, 1));
    assert_eq!(writes_in(&acts), sent, "all 20 sent again");
}

#[test]
fn ack_delay_and_ack_every_are_the_users() {
    let cfg = Config {
        resume: Some(Resume::new().ack_delay(ms(500)).ack_every(3)),
        ..resume_cfg()
    };
    let (mut sim, id) = started(cfg);
    let acks = |sim: &Sim| -> Vec<Message> {
        sent_on(sim, id)
            .into_iter()
            .filter(|m| matches!(Frame::parse(m.clone()), Frame::Control(Control::Ack(_))))
            .collect()
    };
    sim.recv(text("1"));
    sim.advance(ms(499));
    assert!(acks(&sim).is_empty(), "acknowledged before the delay");
    sim.advance(ms(1));
    assert_eq!(acks(&sim), vec![Control::Ack(1).encode()]);
    sim.recv(text("2"));
    sim.recv(text("3"));
    assert_eq!(acks(&sim).len(), 1, "acknowledged before 3 were pending");
    sim.recv(text("4"));
    assert_eq!(
        acks(&sim),
        vec![Control::Ack(1).encode(), Control::Ack(4).encode()]
    );
}

/// Whenever the socket stops without the client's `end` followed by a clean close, the
/// server may not have the messages it never acknowledged: they are reported, before the
/// final `Closed`.
#[test]
fn every_stop_without_end_and_a_clean_close_reports_the_unconfirmed_messages() {
    type Stop = fn(&mut Sim, ConnId) -> Vec<Action>;
    let stops: [(&str, Stop); 5] = [
        ("user close while waiting to retry", |sim, _| {
            sim.drop_current(1006);
            sim.close(1000, "")
        }),
        (
            "user close during the resume handshake, clean close",
            |sim, _| {
                redial(sim);
                let id = sim.current();
                let mut acts = sim.close(1000, "");
                acts.extend(sim.close_event(id, 1000));
                acts
            },
        ),
        ("user close while open, unclean close", |sim, id| {
            let mut acts = sim.close(1000, "");
            acts.extend(sim.close_event(id, 1006));
            acts
        }),
        ("user close while open, no close from the peer", |sim, _| {
            let mut acts = sim.close(1000, "");
            acts.extend(sim.advance(secs(10)));
            acts
        }),
        ("the server closes cleanly with a policy code", |sim, _| {
            sim.drop_current(1008)
        }),
    ];
    for (what, stop) in stops {
        let (mut sim, id) = started(resume_cfg());
        let _ = sim.send(text("a"));
        let acts = stop(&mut sim, id);
        let events = events_in(&acts);
        let lost = events.iter().position(|e| {
            *e == ConnectionEvent::SessionLost {
                reason: LostReason::Stopped,
                missed: None,
                unconfirmed: vec![text("a")],
            }
        });
        let closed = events
            .iter()
            .position(|e| matches!(e, ConnectionEvent::Closed { .. }));
        assert!(closed.is_some(), "{what}: not stopped: {events:?}");
        assert!(lost.is_some() && lost < closed, "{what}: {events:?}");
    }
}

// A one-way partition (issue #20, finding 21): the client's frames stop reaching the server
// while the server's pushes still arrive. Every inbound message is proof of life for the
// heartbeat, so only the missing acknowledgements can tell.

/// The server pushes a message every 500 ms for `d` (or until socket `id` is no longer open),
/// answering each `ping` written to it with `ack <answer>` 50 ms later if `answer` is given.
fn push_for(sim: &mut Sim, id: ConnId, d: Duration, answer: Option<u64>) -> Vec<Action> {
    let until = sim.now + d;
    let mut acts = Vec::new();
    let mut pings = pings_on(sim, id);
    while sim.now < until && sim.m.open_socket() == Some(id) {
        acts.extend(sim.advance(ms(50)));
        if let Some(n) = answer {
            if pings_on(sim, id) > pings && sim.m.open_socket() == Some(id) {
                pings = pings_on(sim, id);
                acts.extend(sim.recv_on(id, Control::Ack(n).encode()));
            }
        }
        acts.extend(sim.advance(ms(450)));
        if sim.m.open_socket() == Some(id) {
            acts.extend(sim.recv_on(id, text("push")));
        }
    }
    acts
}

fn pings_on(sim: &Sim, id: ConnId) -> usize {
    sent_on(sim, id)
        .into_iter()
        .filter(|m| matches!(Frame::parse(m.clone()), Frame::Control(Control::Ping(_))))
        .count()
}

#[test]
fn a_one_way_partition_is_found_by_the_missing_acknowledgements() {
    let mut cfg = resume_cfg();
    cfg.heartbeat = Some(Heartbeat::new(secs(10), secs(4)));
    let (mut sim, id) = started(cfg);
    let _ = sim.send(text("a"));
    // The server's pushes keep coming; nothing we write reaches it.
    let acts = push_for(&mut sim, id, ms(3500), None);
    assert!(
        close_sockets_in(&acts).is_empty(),
        "dropped early: {acts:?}"
    );
    assert_eq!(
        pings_on(&sim, id),
        1,
        "half-way, a ping asks for an ack at once"
    );
    let acts = push_for(&mut sim, id, ms(1000), None);
    assert_eq!(
        close_sockets_in(&acts),
        vec![(id, HEARTBEAT_TIMEOUT_CODE, ACK_TIMEOUT_REASON.to_owned())]
    );
    assert_eq!(sim.now, secs(4), "found at the heartbeat timeout");
    let (_, _, last) = the_reconnecting(&acts);
    assert_eq!(last.close.reason, ACK_TIMEOUT_REASON);
    // The next connection resumes: "a" goes out again, the pushes are not repeated.
    retry_and_open(&mut sim);
    let pushes = sim.delivered.len() as u64;
    let acts = sim.recv(welcome_resumed("s1", 0, pushes + 1));
    assert_eq!(writes_in(&acts), vec![text("a")]);
}

#[test]
fn without_a_heartbeat_unacknowledged_data_is_given_ten_seconds() {
    let (mut sim, id) = started(resume_cfg());
    let _ = sim.send(text("a"));
    let acts = push_for(&mut sim, id, ms(9500), None);
    assert!(
        close_sockets_in(&acts).is_empty(),
        "dropped early: {acts:?}"
    );
    let acts = push_for(&mut sim, id, secs(1), None);
    assert_eq!(close_sockets_in(&acts)[0].2, ACK_TIMEOUT_REASON);
    assert_eq!(sim.now, DEFAULT_ACK_TIMEOUT);
}

/// The server acknowledges only what its application has finished with, so a slow one
/// leaves data unacknowledged for long; it still answers pings at once: the link is alive.
#[test]
fn a_slow_server_application_that_answers_pings_keeps_the_connection() {
    let mut cfg = resume_cfg();
    cfg.heartbeat = Some(Heartbeat::new(secs(10), secs(4)));
    let (mut sim, id) = started(cfg);
    let _ = sim.send(text("a"));
    let acts = push_for(&mut sim, id, secs(30), Some(0));
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
    // The application got to it: nothing is in flight, and nothing more is asked.
    sim.recv(Control::Ack(1).encode());
    let pings = pings_on(&sim, id);
    let acts = push_for(&mut sim, id, secs(30), None);
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
    assert_eq!(pings_on(&sim, id), pings, "pinged with nothing in flight");
}

/// Acknowledgements that keep coming, each leaving newer data in flight, keep the link.
#[test]
fn steady_acknowledgements_keep_a_busy_connection() {
    let (mut sim, id) = started(resume_cfg());
    for n in 1..=60u64 {
        let _ = sim.send(text(&n.to_string()));
        sim.advance(ms(500));
        // The server is a second behind.
        if n > 2 {
            sim.recv(Control::Ack(n - 2).encode());
        }
    }
    assert_eq!(sim.m.open_socket(), Some(id));
}

/// While the driver doesn't read the socket, the server's acks wait unread: no deadline runs.
#[test]
fn no_acknowledgement_deadline_while_reading_is_paused() {
    let (mut sim, id) = started(resume_cfg());
    let _ = sim.send(text("a"));
    let now = sim.now;
    sim.input(|m, _| m.set_reading_paused(true, now));
    let acts = sim.advance(secs(60));
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
    let now = sim.now;
    sim.input(|m, _| m.set_reading_paused(false, now));
    let acts = sim.advance(DEFAULT_ACK_TIMEOUT);
    assert_eq!(
        close_sockets_in(&acts),
        vec![(id, HEARTBEAT_TIMEOUT_CODE, ACK_TIMEOUT_REASON.to_owned())]
    );
}

/// A timer that fires late (a frozen tab) may find the acks not dispatched yet: it pings and
/// gives the server a full timeout once more, as the heartbeat does.
#[test]
fn a_late_acknowledgement_deadline_asks_again_instead_of_dropping() {
    let (mut sim, id) = started(resume_cfg());
    let _ = sim.send(text("a"));
    let acts = sim.advance_late(secs(60));
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
    assert!(pings_on(&sim, id) >= 1);
    sim.recv(Control::Ack(1).encode());
    let acts = sim.advance(secs(60));
    assert!(close_sockets_in(&acts).is_empty(), "dropped: {acts:?}");
}

/// A driver that closes the browser socket before writing `end` (the npm glue did, issue #20
/// finding 19) has the write refused: the server never got `end`, so a clean close confirms
/// nothing and the unacknowledged messages are reported.
#[test]
fn a_refused_end_is_not_taken_for_an_ended_session() {
    let (mut sim, id) = started(resume_cfg());
    let _ = sim.send(text("a"));
    let acts = sim.close(1000, "");
    assert_eq!(writes_in(&acts), vec![Control::End.encode()]);
    sim.m.write_failed(Control::End.encode());
    let acts = sim.close_event(id, 1000);
    assert_eq!(
        lost_event(&events_in(&acts)),
        Some((LostReason::Stopped, vec![text("a")]))
    );
}

/// With resume `bufferedAmount` is every byte the server has not acknowledged (sent again
/// after a drop), whatever the socket holds and whether or not one is connected.
#[test]
fn with_resume_buffered_amount_is_what_the_server_has_not_acknowledged() {
    let (mut sim, _) = started(resume_cfg());
    let _ = sim.send(text("abc"));
    let _ = sim.send(text("de"));
    assert_eq!(sim.m.buffered_amount(0), 5);
    sim.recv(Control::Ack(1).encode());
    assert_eq!(sim.m.buffered_amount(9000), 2);
    sim.drop_current(1006);
    assert_eq!(sim.m.buffered_amount(0), 2, "between connections");
    retry_and_open(&mut sim);
    sim.recv(welcome_resumed("s1", 1, 1));
    let id = sim.current();
    sim.close(1000, "");
    assert_eq!(sim.m.buffered_amount(0), 2, "while closing");
    sim.close_event(id, 1000);
    assert_eq!(sim.m.buffered_amount(0), 0, "closed: the session ended");
}

/// A `welcome resumed`, `lost` or `ended` answers a `resume`: in answer to our `hello` it is
/// a protocol error (the connection is dropped), never a session adopted, reported lost or
/// taken for ended.
#[test]
fn a_welcome_that_does_not_answer_hello_is_a_protocol_error() {
    let lost = welcome_lost(LostReason::Expired, "s2", Some(3));
    let ended = Control::Ended {
        session: "s1".into(),
        recv: 0,
        next: 1,
    };
    for welcome in [welcome_resumed("s1", 0, 1), lost, ended.encode()] {
        let mut sim = Sim::new(resume_cfg(), 81);
        open_resume(&mut sim);
        let acts = sim.recv(welcome.clone());
        let events = events_in(&acts);
        assert!(
            !events.iter().any(|e| matches!(
                e,
                ConnectionEvent::Open { .. } | ConnectionEvent::SessionLost { .. }
            )),
            "{welcome:?}: {events:?}"
        );
        let (_, _, last) = the_reconnecting(&acts);
        assert!(last.close.reason.starts_with("resume protocol error"));
        // The next connection still starts a session.
        let acts = retry_and_open(&mut sim);
        assert_eq!(writes_in(&acts), vec![Control::Hello.encode()]);
    }
}

/// An acknowledgement goes out only for messages not acknowledged yet: a heartbeat ping that
/// already carried the count leaves the pending ack nothing to say.
#[test]
fn no_acknowledgement_repeats_what_a_ping_already_said() {
    let cfg = Config {
        resume: Some(Resume::new().ack_delay(secs(5))),
        heartbeat: Some(Heartbeat::new(secs(1), secs(10))),
        ..resume_cfg()
    };
    let (mut sim, id) = started(cfg);
    sim.recv(text("1"));
    let before = sent_on(&sim, id).len();
    sim.advance(secs(5));
    assert_eq!(sent_on(&sim, id)[before..], [Control::Ping(1).encode()]);
}
