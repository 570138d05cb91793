//! The cross-tab protocol on simulated tabs (share_sim.rs): a soak with holders closed and
//! crashed over and over, and the posts' bytes; one test per rule of docs/sharing.md in
//! share_rule_tests.rs.

use super::*;
use crate::core::resume::LostReason;
use crate::core::share_post::{Lifecycle, SHARE_VERSION};
use crate::{CloseInfo, Message};

#[path = "share_sim.rs"]
mod sim;
use sim::*;

#[path = "share_rule_tests.rs"]
mod rules;

/// Per tab: what it received from the server is contiguous (nothing skipped, nothing twice,
/// nothing out of order) but where it was told how many it missed; what the server received
/// from it is its sends in order, once, every one but those it was told may be lost; at the
/// end each open tab has the last message, and (`strict`) was told of no loss at all.
fn check(w: &World, label: &str, strict: bool) {
    let got = &w.server.got;
    let mut seen = std::collections::HashSet::new();
    for m in got {
        assert!(seen.insert(m), "{label}: the server got {m:?} twice");
    }
    for (id, t) in &w.tabs {
        let numbers: Vec<u64> = t.delivered.iter().map(server_number).collect();
        // A jump only where the tab was told how many it missed.
        for (i, pair) in numbers.windows(2).enumerate() {
            let here = t.skips.iter().filter(|(at, _)| *at == i + 1);
            let told: Option<u64> = here.map(|(_, n)| *n).sum();
            let context = format!(
                "{label}: tab {id} received {numbers:?}, skips {:?}, events {:?}",
                t.skips,
                lost_reasons(&t.events)
            );
            match told {
                // Told it lost an unknown number (its session was gone): any jump forward.
                None => assert!(pair[1] > pair[0], "{context}"),
                Some(told) => assert_eq!(pair[1], pair[0] + 1 + told, "{context}"),
            }
        }
        let prefix = format!("t{id}-");
        let from_tab: Vec<&Message> = (got.iter())
            .filter(|m| m.as_text().is_some_and(|t| t.starts_with(&prefix)))
            .collect();
        // In the tab's order, each once; a gap only where the tab was told it may be lost.
        let number = |m: &Message| -> usize {
            let text = m.as_text().expect("text");
            text[prefix.len()..].parse().expect("t<tab>-<n>")
        };
        let seqs: Vec<usize> = from_tab.iter().map(|m| number(m)).collect();
        assert!(
            seqs.windows(2).all(|p| p[0] < p[1]),
            "{label}: tab {id}'s sends, in order, once: {seqs:?}"
        );
        let arrived = |k: &usize| seqs.binary_search(k).is_ok();
        let last = seqs.last().copied().unwrap_or(0);
        for (k, m) in (1..=last).zip(&t.sent) {
            assert!(
                arrived(&k) || t.lost.contains(m),
                "{label}: tab {id}'s send {k} never arrived, and it wasn't told"
            );
        }
        if t.alive && strict {
            assert!(
                t.lost.is_empty(),
                "{label}: tab {id} was told it lost {:?}",
                t.lost
            );
            assert!(
                lost_reasons(&t.events).is_empty(),
                "{label}: tab {id}: {:?}",
                t.events
            );
        }
        if t.alive {
            for (k, m) in (1..).zip(&t.sent) {
                assert!(
                    arrived(&k) || t.lost.contains(m),
                    "{label}: tab {id}'s send {k} never arrived, and it wasn't told"
                );
            }
            assert_eq!(
                t.tab.unconfirmed().0,
                0,
                "{label}: tab {id} has them confirmed"
            );
            assert_eq!(
                numbers.last().copied(),
                Some(w.server.app_count),
                "{label}: tab {id} (holds {}, recv {} start {} session {:?} server {:?} {} sent, events {:?}, conns {})",
                t.tab.is_holder(),
                t.tab.recv,
                t.tab.start,
                t.tab.session,
                w.server.id,
                w.server.sent.len(),
                &t.events[t.events.len().saturating_sub(6)..],
                w.conns.len()
            );
        }
    }
}

/// Three or four tabs, numbered messages both ways, followers frozen for up to 8 s and
/// holders for up to 3 s, and the holder crashed or closed 22 times. `lossy`: a frozen tab's waiting server messages are
/// sometimes dropped too, and tabs keep 64 bytes only.
fn soak(seed: u64, lossy: bool) -> World {
    soak_crashing(seed, lossy, false)
}

/// As [`soak`]; `lose_posts`: a crashed holder's newest posts die with it
/// ([`World::crash_losing_posts`]).
fn soak_crashing(seed: u64, lossy: bool, lose_posts: bool) -> World {
    let label = format!("seed {seed}");
    let sharing = match lossy {
        true => Sharing::default().retain_bytes(64),
        false => Sharing::default(),
    };
    let mut w = World::new(resume_cfg(), sharing, seed);
    // `SHARE_TABS=6` for a crowd.
    let tabs: usize = std::env::var("SHARE_TABS").map_or(3, |n| n.parse().expect("a number"));
    for _ in 0..tabs {
        w.open_tab();
    }
    let mut thaw: Vec<(TabId, Time)> = Vec::new();
    let mut changes = 0;
    let mut step = 0u64;
    while changes < 22 {
        step += 1;
        assert!(step < 200_000, "{label}: stuck after {changes} changes");
        let live = w.live();
        let pick = live[(w.rng.next_f64() * live.len() as f64) as usize % live.len()];
        match (w.rng.next_f64() * 100.0) as u32 {
            0..=29 => {
                w.deliver_post();
            }
            30..=54 => {
                w.network();
            }
            55..=62 => w.server_send(),
            63..=70 => {
                if !w.tabs[&pick].frozen {
                    w.tab_send(pick);
                }
            }
            71 if Some(pick) != w.holder() && thaw.is_empty() => {
                // A follower frozen for up to 8 s (past the tab timeout, often).
                w.tabs.get_mut(&pick).expect("tab").frozen = true;
                let until = w.now + ms((w.rng.next_f64() * 8000.0) as u64);
                thaw.push((pick, until));
            }
            73 if lossy && w.tabs[&pick].frozen => w.lose_deliveries_to(pick),
            74 if Some(pick) == w.holder() && thaw.is_empty() => {
                // The holder frozen for up to 3 s: it keeps the lock (nobody steals it), the
                // others wait, and it carries on where it was.
                w.tabs.get_mut(&pick).expect("tab").frozen = true;
                let until = w.now + ms((w.rng.next_f64() * 3000.0) as u64);
                thaw.push((pick, until));
            }
            72 if step % 3 == 0 => {
                // The holder goes once its connection is open and busy.
                let Some(h) = w.holder() else { continue };
                if w.conns.iter().all(|c| !c.opened) {
                    continue;
                }
                match changes % 2 {
                    0 if lose_posts => w.crash_losing_posts(h),
                    0 => w.crash(h),
                    _ => w.close(h),
                }
                changes += 1;
                if w.live().len() < tabs {
                    w.open_tab();
                }
            }
            _ => w.advance(ms(10)),
        }
        let now = w.now;
        thaw.retain(|(id, until)| {
            let go = *until <= now;
            if go {
                w.tabs.get_mut(id).expect("tab").frozen = false;
            }
            !go
        });
    }
    for (id, _) in thaw {
        w.tabs.get_mut(&id).expect("tab").frozen = false;
    }
    w.settle();
    for _ in 0..5 {
        w.server_send();
    }
    w.settle();
    assert!(w.takeovers >= 21, "{label}: {} takeovers", w.takeovers);
    assert!(
        w.max_conns <= 1,
        "{label}: {} connections at once",
        w.max_conns
    );
    assert!(
        w.server.app_count > 50 && w.server.got.len() > 50,
        "{label}: busy enough"
    );
    w
}

/// The seeds to run: `SHARE_SEEDS=200` to explore further, `SHARE_SEED=12` (with
/// `SHARE_TRACE=<tab>`) to look at one.
fn seeds(default: u64) -> impl Iterator<Item = u64> {
    let seeds = std::env::var("SHARE_SEEDS").map_or(default, |n| n.parse().expect("a number"));
    let one = std::env::var("SHARE_SEED")
        .ok()
        .map(|n| n.parse::<u64>().expect("a number"));
    (0..seeds).filter(move |seed| one.is_none_or(|one| one == *seed))
}

#[test]
fn twenty_holder_changes_lose_duplicate_and_reorder_nothing_for_any_tab() {
    for seed in seeds(6) {
        let w = soak(seed, false);
        assert_eq!(
            w.server.lost_sessions, 0,
            "seed {seed}: every resume honoured"
        );
        check(&w, &format!("seed {seed}"), true);
    }
}

#[test]
fn with_posts_lost_and_small_buffers_every_loss_is_reported() {
    for seed in seeds(4) {
        let w = soak(seed, true);
        check(&w, &format!("lossy seed {seed}"), false);
    }
}

#[test]
fn every_post_round_trips_and_unreadable_bytes_are_a_typed_error() {
    let m = text("héllo");
    let bin = Message::Binary(vec![0, 1, 255]);
    let all = [
        Post::Hello { tab: u64::MAX },
        Post::Send {
            tab: 1,
            seq: 2,
            done: 1,
            message: bin.clone(),
        },
        Post::Receipt {
            tab: 3,
            mseq: 1 << 40,
            want: true,
        },
        Post::Bye { tab: 0 },
        Post::Holder {
            term: 9,
            tab: 4,
            session: Some("k9Qx".into()),
        },
        Post::Holder {
            term: 1,
            tab: 4,
            session: None,
        },
        Post::Joined {
            term: 9,
            holder: 4,
            to: 5,
            mseq: 77,
            session: Some("k9Qx".into()),
            start: 3,
            n: 74,
            open: Some("chat".into()),
        },
        Post::Joined {
            term: 1,
            holder: 1,
            to: 2,
            mseq: 0,
            session: None,
            start: 0,
            n: 0,
            open: None,
        },
        Post::Deliver {
            term: 9,
            mseq: 78,
            n: 75,
            message: m.clone(),
        },
        Post::Session {
            term: 9,
            id: "s2".into(),
            start: 78,
            new: true,
        },
        Post::Written {
            term: 9,
            n: 12,
            tab: 5,
            seq: 3,
            message: m.clone(),
        },
        Post::Acked { term: 9, n: 12 },
        Post::Confirmed {
            term: 9,
            to: 5,
            seq: 3,
        },
        Post::Floor {
            term: 9,
            mseq: 70,
            live: vec![5],
            present: vec![5, 6, u64::MAX],
        },
        Post::SessionLost {
            term: 9,
            reason: LostReason::Expired,
            missed: Some(0),
            ranges: vec![(5, 1, 3), (6, 2, 2)],
        },
        Post::SessionLost {
            term: 9,
            reason: LostReason::Other("moved".into()),
            missed: None,
            ranges: vec![],
        },
        Post::Missed {
            term: 9,
            to: 5,
            from: 3,
            upto: 9,
            n: 6,
        },
    ];
    let events = [
        Lifecycle::Connecting { attempt: 3 },
        Lifecycle::Open {
            protocol: "chat".into(),
        },
        Lifecycle::Reconnecting {
            attempt: 1,
            delay: ms(1500),
            code: 1006,
            reason: "gone".into(),
            was_open: true,
        },
        Lifecycle::WaitingForNetwork,
        Lifecycle::Resumed {
            session: "s".into(),
            resent: 4,
        },
        Lifecycle::Closed {
            ended: true,
            code: 1000,
            reason: String::new(),
        },
    ];
    let events = events
        .into_iter()
        .map(|event| Post::Event { term: 2, event });
    for post in all.into_iter().chain(events) {
        let bytes = post.encode();
        assert_eq!(bytes[0], SHARE_VERSION);
        assert_eq!(Post::decode(&bytes), Ok(post.clone()), "{post:?}");
        // Cut anywhere, or with a byte more, it is refused, never misread.
        for len in 0..bytes.len() {
            assert!(
                Post::decode(&bytes[..len]).is_err(),
                "{post:?} cut at {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Post::decode(&longer).is_err());
    }
    // Another version's post (tabs of another deploy share their own channel, but say so).
    let mut other = Post::Hello { tab: 1 }.encode();
    other[0] = 2;
    assert_eq!(
        Post::decode(&other),
        Err(Error::ShareMessage {
            version: 2,
            reason: "another version of the protocol",
        })
    );
    for junk in [
        &[1u8, 99][..],
        &[1, 1, 0xff, 0xff],
        &[1, 2, 1, 1, 0, 0, 3, 0xc3, 0x28, 0],
    ] {
        assert!(
            matches!(
                Post::decode(junk),
                Err(Error::ShareMessage { version: 1, .. })
            ),
            "{junk:?}"
        );
    }
    // A tab ignores what it can't read, and says why.
    let mut w = World::start(resume_cfg(), Sharing::default(), 1);
    let h = w.holder().expect("holder");
    let now = w.now;
    let t = &mut w.tabs.get_mut(&h).expect("tab").tab;
    assert!(t.on_post(&other, now).is_err());
    assert!(t.is_holder());
}

proptest::proptest! {
    /// Whatever arrives on the channel, reading it never panics: a post or a typed error.
    #[test]
    fn any_bytes_decode_to_a_post_or_an_error(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let mut bytes = bytes;
        if let Some(first) = bytes.first_mut() {
            *first = SHARE_VERSION; // past the version check, into the post itself
        }
        if let Ok(post) = Post::decode(&bytes) {
            proptest::prop_assert_eq!(Post::decode(&post.encode()), Ok(post));
        }
    }
}

#[test]
#[ignore = "crash-safe failover is not built yet (docs/sharing.md, Crashed holders): a holder \
            whose last posts die after its frames went out leaves the next holder behind the \
            server, reported as a lost session (Diverged); and a follower's send it wrote, whose \
            record died, is sent again in the new session: the server gets it twice"]
fn twenty_holder_changes_with_crashes_that_lose_the_holders_last_posts_lose_nothing() {
    for seed in seeds(6) {
        let w = soak_crashing(seed, false, true);
        assert_eq!(
            w.server.lost_sessions, 0,
            "seed {seed}: every resume honoured"
        );
        check(&w, &format!("seed {seed}, crashes losing posts"), true);
    }
}
