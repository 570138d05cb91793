//! The machine's inputs for a shared connection (issue #24): exporting and importing a
//! session, and holding acknowledgements back to what every tab confirmed.

use super::*;
use crate::core::resume::{LostReason, Resume, ResumeState};

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

/// A machine welcomed into a new session `s1`.
fn started() -> Sim {
    let mut sim = Sim::new(resume_cfg(), 1);
    sim.open_current();
    sim.recv(ctl("welcome new s1 1048576"));
    sim
}

#[test]
fn an_exported_session_is_resumed_by_another_machine_with_the_same_numbers() {
    let mut a = started();
    for m in ["a", "b", "c"] {
        let _ = a.send(text(m));
    }
    a.recv(ctl("ack 1"));
    a.recv(text("s1"));
    a.recv(text("s2"));
    let state = a.m.resume_state().expect("a session");
    assert_eq!(
        state,
        ResumeState {
            session: "s1".into(),
            received: 2,
            acked: 1,
            unacked: vec![text("b"), text("c")],
        }
    );
    assert_eq!((a.m.sent(), a.m.acked(), a.m.received()), (3, 1, 2));

    // Another tab's machine takes it over before its first connection opens.
    let mut b = Sim::new(resume_cfg(), 2);
    assert!(b.m.import_resume(state.clone()));
    assert_eq!(b.m.unacknowledged(), 2);
    let acts = b.open_current();
    assert_eq!(writes_in(&acts), vec![ctl("resume s1 2")]);
    let acts = b.recv(ctl("welcome resumed s1 2 3 1048576"));
    // "b" reached the server before the handover; "c" goes again, as number 3.
    assert_eq!(writes_in(&acts), vec![text("c")]);
    let _ = b.send(text("d"));
    assert_eq!(b.m.sent(), 4, "numbering continues");
    let acts = b.recv(text("s3"));
    assert_eq!(delivered_in(&acts), vec![text("s3")]);
    assert_eq!(b.m.received(), 3);

    // Only before the first welcome.
    assert!(!b.m.import_resume(state.clone()));
    assert!(!a.m.import_resume(state));
}

#[test]
fn a_server_ahead_of_an_imported_session_is_reported_diverged_not_retried() {
    let mut b = Sim::new(resume_cfg(), 2);
    assert!(b.m.import_resume(ResumeState {
        session: "s1".into(),
        received: 0,
        acked: 1,
        unacked: vec![text("b")],
    }));
    b.open_current();
    // The server has 3 of ours: the exporter wrote one we never heard of.
    let acts = b.recv(ctl("welcome resumed s1 3 1 1048576"));
    assert!(events_in(&acts).contains(&ConnectionEvent::SessionLost {
        reason: LostReason::Diverged,
        missed: None,
        unconfirmed: vec![text("b")],
    }));
    assert!(writes_in(&acts).contains(&ctl("end")));
    // The next connection starts a new session instead of resuming the same count again.
    b.advance_to_next_timer();
    let acts = b.open_current();
    assert_eq!(writes_in(&acts), vec![ctl("hello")]);
}

#[test]
fn acknowledgements_never_cover_more_than_the_limit() {
    let mut sim = started();
    let id = sim.current();
    sim.m.set_ack_limit(Some(0), sim.now);
    for n in 1..=80 {
        sim.recv(text(&n.to_string()));
    }
    sim.advance(ms(500));
    let acks = |sim: &Sim| -> Vec<Message> {
        sim.writes[&id]
            .iter()
            .filter(|m| m.as_binary().is_some_and(|b| b.starts_with(b"\x01ack")))
            .cloned()
            .collect()
    };
    assert!(acks(&sim).is_empty(), "nothing confirmed, nothing acked");
    // Every tab now has 10: acknowledged within the delay.
    let now = sim.now;
    sim.input(|m, _| m.set_ack_limit(Some(10), now));
    assert!(acks(&sim).is_empty());
    sim.advance(ms(100));
    assert_eq!(acks(&sim), vec![ctl("ack 10")]);
    // 64 more confirmed at once: acknowledged at once.
    sim.input(|m, _| m.set_ack_limit(Some(74), now));
    assert_eq!(acks(&sim), vec![ctl("ack 10"), ctl("ack 74")]);
    // A limit beyond what arrived acknowledges what arrived.
    sim.input(|m, _| m.set_ack_limit(Some(1000), now));
    sim.advance(ms(100));
    assert_eq!(
        acks(&sim),
        vec![ctl("ack 10"), ctl("ack 74"), ctl("ack 80")]
    );
}

#[test]
fn a_resume_under_a_limit_asks_again_for_what_not_every_tab_has_and_skips_it() {
    let mut sim = started();
    sim.m.set_ack_limit(Some(1), sim.now);
    for m in ["s1", "s2", "s3"] {
        sim.recv(text(m));
    }
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let acts = sim.open_current();
    // The server may drop only what every tab confirmed.
    assert_eq!(writes_in(&acts), vec![ctl("resume s1 1")]);
    sim.recv(ctl("welcome resumed s1 0 2 1048576"));
    // s2 and s3 come again: this machine has them (the tabs get them from its buffer).
    assert!(delivered_in(&sim.recv(text("s2"))).is_empty());
    assert!(delivered_in(&sim.recv(text("s3"))).is_empty());
    assert_eq!(delivered_in(&sim.recv(text("s4"))), vec![text("s4")]);
    assert_eq!(sim.delivered.len(), 4, "each once");
}

#[test]
fn a_new_session_is_not_acknowledged_on_an_old_limit() {
    let mut sim = started();
    sim.m.set_ack_limit(Some(50), sim.now);
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    sim.open_current();
    sim.recv(ctl("welcome lost expired s2 ? 1048576"));
    let id = sim.current();
    sim.recv(text("n1"));
    sim.advance(ms(500));
    assert!(!sim.writes[&id].contains(&ctl("ack 1")));
}

#[test]
fn a_machine_that_had_a_session_or_greeted_its_server_refuses_an_import() {
    let state = ResumeState {
        session: "other".into(),
        received: 5,
        acked: 2,
        unacked: vec![text("x")],
    };
    // Welcomed, nothing sent yet, then dropped: while it waits to reconnect, its own
    // session is still the one to resume.
    let mut sim = started();
    sim.drop_current(1006);
    assert!(!sim.m.import_resume(state.clone()));
    assert_eq!(sim.m.session_id(), Some("s1"));
    assert_eq!(sim.m.unacknowledged(), 0);
    sim.advance_to_next_timer();
    let acts = sim.open_current();
    assert_eq!(writes_in(&acts), vec![ctl("resume s1 0")]);

    // Open, its hello sent, no welcome yet: the server is already starting a new session.
    let mut sim = Sim::new(resume_cfg(), 2);
    sim.open_current();
    assert!(!sim.m.import_resume(state));
    sim.recv(ctl("welcome new s2 1048576"));
    assert_eq!(sim.m.session_id(), Some("s2"));
    assert_eq!(sim.m.unacknowledged(), 0);
}

#[test]
fn a_message_beyond_the_limit_does_not_postpone_the_acknowledgement_due() {
    let mut sim = started();
    let id = sim.current();
    sim.m.set_ack_limit(Some(0), sim.now);
    for m in ["s1", "s2", "s3"] {
        sim.recv(text(m));
    }
    // Every tab has s1: acknowledged within the delay (100 ms) from now...
    let now = sim.now;
    sim.input(|m, _| m.set_ack_limit(Some(1), now));
    sim.advance(ms(60));
    // ...even though more arrives meanwhile that not every tab has.
    sim.recv(text("s4"));
    sim.advance(ms(40));
    assert!(sim.writes[&id].contains(&ctl("ack 1")));
}

#[test]
fn a_lowered_limit_takes_back_no_acknowledgement() {
    let mut sim = started();
    let id = sim.current();
    for m in ["s1", "s2", "s3"] {
        sim.recv(text(m));
    }
    sim.advance(ms(100));
    // A driver of its own lowers the limit below what the server was told it may forget.
    let now = sim.now;
    sim.input(|m, _| m.set_ack_limit(Some(1), now));
    let acts = sim.recv(text("s4"));
    assert_eq!(delivered_in(&acts), vec![text("s4")]);
    sim.advance(ms(500));
    // Raised again: what arrived since is acknowledged.
    let now = sim.now;
    sim.input(|m, _| m.set_ack_limit(Some(5), now));
    sim.advance(ms(100));
    let acks: Vec<Message> = (sim.writes[&id].iter())
        .filter(|m| m.as_binary().is_some_and(|b| b.starts_with(b"\x01ack")))
        .cloned()
        .collect();
    assert_eq!(acks, vec![ctl("ack 3"), ctl("ack 4")], "never back to 1");
}
