//! One test per rule of docs/sharing.md, each a scene on simulated tabs (share_sim.rs).

use super::*;

fn texts(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter_map(Message::as_text).collect()
}

#[test]
fn every_tab_receives_every_server_message_once_and_in_order() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 3);
    for _ in 0..5 {
        w.server_send();
    }
    w.settle();
    for id in w.live() {
        assert_eq!(
            texts(&w.tabs[&id].delivered),
            ["s1", "s2", "s3", "s4", "s5"]
        );
    }
    assert_eq!(w.server.acked, 5, "acknowledged once every tab has them");
    assert_eq!(w.conns.len(), 1, "one connection for three tabs");
}

#[test]
fn a_holder_dying_before_passing_messages_on_has_not_acknowledged_them() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 2);
    let (h, f) = (w.holder().expect("holder"), w.follower());
    for _ in 0..3 {
        w.server_send();
    }
    // The holder reads them and has its ack timer run out, but the follower's receipts
    // haven't come (its posts wait).
    w.tabs.get_mut(&f).expect("tab").frozen = true;
    w.flush();
    w.advance(ms(1000));
    assert_eq!(texts(&w.tabs[&h].delivered), ["s1", "s2", "s3"]);
    assert_eq!(w.server.acked, 0, "the follower hasn't confirmed them");
    // It dies before its posts reach the follower.
    w.lose_posts_to(f);
    w.crash(h);
    w.tabs.get_mut(&f).expect("tab").frozen = false;
    w.settle();
    assert_eq!(w.holder(), Some(f));
    assert_eq!(texts(&w.tabs[&f].delivered), ["s1", "s2", "s3"]);
    assert!(lost_reasons(&w.tabs[&f].events).is_empty());
}

#[test]
fn a_follower_send_in_flight_when_the_holder_dies_is_sent_once_by_the_next_holder() {
    // The frame reached the server or not; the holder had read the post or not.
    for (frame_arrives, holder_read_it) in [(true, true), (false, true), (false, false)] {
        let mut w = World::start(resume_cfg(), Sharing::default(), 2);
        let (h, f) = (w.holder().expect("holder"), w.follower());
        w.tab_send(f);
        if holder_read_it {
            w.deliver_post(); // the Send reaches the holder, which writes it
            if frame_arrives {
                while w.conns.iter().any(|c| !c.c2s.is_empty()) {
                    w.network();
                }
            } else {
                w.conns.iter_mut().for_each(|c| c.c2s.clear());
            }
        } else {
            w.lose_posts_to(h);
        }
        let label = format!("frame arrives {frame_arrives}, holder read it {holder_read_it}");
        assert_eq!(
            w.tabs[&f].tab.unconfirmed().0,
            1,
            "{label}: not confirmed yet"
        );
        w.crash(h);
        w.settle();
        let t = &w.tabs[&f];
        assert_eq!(texts(&w.server.got), [format!("t{f}-1")], "{label}");
        assert_eq!(
            t.tab.unconfirmed().0,
            0,
            "{label}: confirmed by the new holder"
        );
        assert!(t.lost.is_empty(), "{label}");
    }
}

#[test]
fn a_follower_send_is_confirmed_once_the_server_acknowledged_it() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 2);
    let f = w.follower();
    w.tab_send(f);
    // Posted, taken, written: still unconfirmed until the server's ack comes back.
    w.deliver_post();
    assert_eq!(w.server.got.len(), 0);
    assert_eq!(w.tabs[&f].tab.unconfirmed(), (1, 4));
    while w.conns.iter().any(|c| !c.c2s.is_empty()) {
        w.network();
    }
    assert_eq!(w.server.got.len(), 1);
    assert_eq!(
        w.tabs[&f].tab.unconfirmed().0,
        1,
        "the ack is still on its way"
    );
    w.flush();
    assert_eq!(w.tabs[&f].tab.unconfirmed(), (0, 0));
}

#[test]
fn a_frozen_tab_holds_acknowledgements_back_for_the_tab_timeout_then_catches_up() {
    let sharing = Sharing::default().tab_timeout(Duration::from_secs(5));
    let mut w = World::start(resume_cfg(), sharing, 2);
    let f = w.follower();
    w.tabs.get_mut(&f).expect("tab").frozen = true;
    for _ in 0..4 {
        w.server_send();
    }
    w.flush();
    w.advance(Duration::from_secs(4));
    w.flush();
    assert_eq!(w.server.acked, 0, "waiting for the frozen tab");
    w.advance(Duration::from_secs(2));
    w.flush();
    w.advance(ms(200));
    assert_eq!(w.server.acked, 4, "not waited for past the tab timeout");
    // Back: it reads what was posted meanwhile, nothing lost, and is waited for again.
    w.tabs.get_mut(&f).expect("tab").frozen = false;
    w.settle();
    assert_eq!(texts(&w.tabs[&f].delivered), ["s1", "s2", "s3", "s4"]);
    w.tabs.get_mut(&f).expect("tab").frozen = true;
    w.server_send();
    w.flush();
    w.advance(ms(1000));
    assert_eq!(w.server.acked, 4);
}

#[test]
fn a_tab_that_missed_posts_catches_up_from_the_holders_buffer() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 2);
    let f = w.follower();
    w.server_send();
    w.server_send();
    w.flush();
    // Its posts are lost (a page back from the back/forward cache): it finds the gap at
    // the next one and asks.
    w.tabs.get_mut(&f).expect("tab").frozen = true;
    w.server_send();
    w.server_send();
    w.flush();
    w.lose_posts_to(f);
    w.tabs.get_mut(&f).expect("tab").frozen = false;
    w.server_send();
    w.settle();
    assert_eq!(texts(&w.tabs[&f].delivered), ["s1", "s2", "s3", "s4", "s5"]);
    assert!(lost_reasons(&w.tabs[&f].events).is_empty());
}

#[test]
fn a_tab_behind_what_the_holder_keeps_is_told_how_many_it_lost() {
    // Every tab keeps 6 bytes beyond what all have: three messages.
    let sharing = Sharing::default().retain_bytes(6);
    let mut w = World::start(resume_cfg(), sharing, 2);
    let f = w.follower();
    w.tabs.get_mut(&f).expect("tab").frozen = true;
    for _ in 0..6 {
        w.server_send();
    }
    w.flush();
    w.lose_posts_to(f);
    w.tabs.get_mut(&f).expect("tab").frozen = false;
    w.server_send();
    w.settle();
    let t = &w.tabs[&f];
    assert_eq!(lost_reasons(&t.events), [(LostReason::Gap, Some(4))]);
    assert_eq!(
        texts(&t.delivered),
        ["s5", "s6", "s7"],
        "told, then in order"
    );
    assert_eq!(t.skips, [(0, Some(4))]);
}

#[test]
fn closing_a_tab_detaches_it_and_the_last_one_ends_the_session() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 3);
    let h = w.holder().expect("holder");
    let f = w.follower();
    w.close(f);
    w.server_send();
    w.settle();
    assert_eq!(
        w.holder(),
        Some(h),
        "a follower leaving changes nothing else"
    );
    // The holder leaves: handed over, the session goes on (no `end`).
    w.close(h);
    w.server_send();
    w.settle();
    let last = w.holder().expect("taken over");
    assert_ne!(last, h);
    assert_eq!(w.server.sessions, 1);
    assert_eq!(texts(&w.tabs[&last].delivered), ["s1", "s2"]);
    // The last tab leaves: the session ends.
    w.close(last);
    w.settle();
    assert_eq!(w.server.id, None, "ended");
    assert!(w.conns.is_empty());
}

#[test]
fn a_tabs_sends_are_bounded_by_its_queue_bound() {
    let cfg = Config {
        queue_max_bytes: 8,
        ..resume_cfg()
    };
    let mut w = World::start(cfg, Sharing::default(), 2);
    let f = w.follower();
    w.tabs
        .get_mut(&w.holder().expect("holder"))
        .expect("tab")
        .frozen = true;
    let t = &mut w.tabs.get_mut(&f).expect("tab").tab;
    assert!(t.send(text("12345")).is_ok());
    assert_eq!(
        t.send(text("1234")),
        Err(Error::QueueFull {
            message_bytes: 4,
            free_bytes: 3
        })
    );
}

#[test]
fn a_stolen_lock_makes_the_holder_stop_at_once_and_another_resume() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 2);
    let (h, f) = (w.holder().expect("holder"), w.follower());
    w.server_send();
    w.settle();
    let now = w.now;
    w.tabs.get_mut(&h).expect("tab").tab.lock_lost(now);
    w.drain(h);
    assert!(!w.tabs[&h].tab.is_holder());
    assert!(w.conns.is_empty(), "its socket closed at once");
    assert_eq!(
        w.server.id.as_deref(),
        Some("s1"),
        "without ending the session"
    );
    w.lock = None;
    w.server_send();
    w.settle();
    let holder = w.holder().expect("taken over");
    assert_eq!(w.server.sessions, 1, "the same session, resumed");
    for id in [h, f] {
        assert_eq!(
            texts(&w.tabs[&id].delivered),
            ["s1", "s2"],
            "tab {id} ({holder} holds)"
        );
    }
}

#[test]
fn a_new_tab_starts_where_the_stream_is_and_hears_who_holds() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 1);
    let h = w.holder().expect("holder");
    w.server_send();
    w.settle();
    let id = w.open_tab();
    w.settle();
    w.server_send();
    w.settle();
    let t = &w.tabs[&id];
    assert_eq!(
        texts(&t.delivered),
        ["s2"],
        "no history, like a socket opened now"
    );
    assert_eq!(t.tab.holder(), Some(h));
    assert!(t.events.contains(&ConnectionEvent::Open {
        protocol: String::new()
    }));
}

#[test]
fn lifecycle_events_reach_every_tab() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 2);
    let f = w.follower();
    // The connection drops; the holder resumes it.
    w.conns.clear();
    w.server.conn = None;
    let h = w.holder().expect("holder");
    let id = w.tabs[&h]
        .tab
        .hub
        .as_ref()
        .and_then(|hub| hub.socket)
        .expect("socket");
    let close = CloseInfo {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    };
    w.input(h, move |m, now| m.on_close(id, close, now));
    w.settle();
    let kinds = |id: TabId| -> Vec<&'static str> {
        (w.tabs[&id].events.iter())
            .filter_map(|e| match e {
                ConnectionEvent::Reconnecting { .. } => Some("reconnecting"),
                ConnectionEvent::Resumed { .. } => Some("resumed"),
                _ => None,
            })
            .collect()
    };
    assert_eq!(kinds(f), ["reconnecting", "resumed"]);
    assert_eq!(kinds(h), kinds(f));
}

#[test]
fn without_resume_unwritten_sends_go_out_with_the_next_holder_once() {
    let cfg = Config {
        resume: None,
        ..resume_cfg()
    };
    let mut w = World::start(cfg, Sharing::default(), 2);
    let (h, f) = (w.holder().expect("holder"), w.follower());
    // Written at once: confirmed (as a socket's `Written`), never sent again.
    w.tab_send(f);
    w.settle();
    assert_eq!(w.tabs[&f].tab.unconfirmed().0, 0);
    // The holder dies before it reads the next one.
    w.tab_send(f);
    w.lose_posts_to(h);
    w.crash(h);
    w.settle();
    let got: Vec<&str> = (texts(&w.server.got).into_iter())
        .filter(|t| t.starts_with('t'))
        .collect();
    assert_eq!(got, [format!("t{f}-1"), format!("t{f}-2")]);
    assert_eq!(w.tabs[&f].tab.unconfirmed().0, 0);
}

#[test]
fn a_holder_handing_over_reports_the_sends_it_never_wrote() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 2);
    let h = w.holder().expect("holder");
    // The first goes out; then the connection drops and the second waits in the queue:
    // leaving, the holder reports it unsent (a written one would be the next holder's).
    w.tab_send(h);
    w.flush();
    w.conns.clear();
    w.server.conn = None;
    let id = w.tabs[&h]
        .tab
        .hub
        .as_ref()
        .and_then(|hub| hub.socket)
        .expect("socket");
    let close = CloseInfo {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    };
    w.input(h, move |m, now| m.on_close(id, close, now));
    w.tab_send(h);
    w.close(h);
    let closed = w.tabs[&h].events.last().cloned();
    assert!(
        matches!(closed, Some(ConnectionEvent::Closed { unsent: 1, .. })),
        "{closed:?}"
    );
    w.settle();
    assert_eq!(texts(&w.server.got), [format!("t{h}-1")]);
}

#[test]
fn a_holders_last_posts_later_than_the_lock_by_less_than_the_takeover_delay_lose_nothing() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 3);
    let (h, f) = (w.holder().expect("holder"), w.follower());
    // A loaded machine: the holder's posts (the mirror of what it writes, then its `Bye`)
    // lag 150 ms behind its frames and behind the lock.
    w.slow = Some(h);
    for _ in 0..3 {
        w.tab_send(f);
    }
    w.flush();
    assert_eq!(w.server.got.len(), 3, "the holder wrote them");
    w.close(h);
    w.advance(ms(150));
    assert_eq!(w.holder(), None, "nobody dials before the takeover delay");
    w.release_late();
    w.settle();
    assert!(w.holder().is_some());
    for id in w.live() {
        let t = &w.tabs[&id];
        assert!(
            lost_reasons(&t.events).is_empty(),
            "tab {id}: {:?}",
            t.events
        );
        assert_eq!(t.tab.unconfirmed().0, 0, "tab {id}: everything confirmed");
    }
    let mine: Vec<String> = (1..=3).map(|i| format!("t{f}-{i}")).collect();
    assert_eq!(texts(&w.server.got), mine, "each once, in order");
    assert_eq!(w.server.sessions, 1, "the same session");
}

#[test]
fn a_tab_that_left_is_not_waited_for_again_when_a_holder_post_made_before_its_bye_names_it() {
    let mut w = World::start(resume_cfg(), Sharing::default(), 3);
    let h = w.holder().expect("holder");
    let others: Vec<TabId> = w.live().into_iter().filter(|t| *t != h).collect();
    let (a, b) = (others[0], others[1]);
    // A server message: both followers post receipts, which the holder hasn't read yet.
    w.server_send();
    while w.network() {}
    while w.deliver_to(a) || w.deliver_to(b) {}
    w.advance(ms(25));
    // a leaves; b hears its `Bye` before the holder does, and then the holder's floor
    // (made from b's receipt, before it read a's `Bye`) still naming a.
    w.close(a);
    assert!(w.deliver_to(b), "a's Bye reaches b");
    while w.deliver_to(h) {
        if (w.waiting_for(b).iter()).any(|p| matches!(p, Post::Floor { .. })) {
            break;
        }
    }
    assert!(w.deliver_to(b), "the holder's floor reaches b");
    // The holder leaves before it read a's `Bye`; b takes over, and is the last tab.
    w.close(h);
    w.settle();
    assert_eq!(w.holder(), Some(b));
    w.close(b);
    w.flush();
    assert_eq!(w.server.id, None, "the last tab's close ended the session");
}
