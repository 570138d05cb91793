//! The cross-tab protocol on simulated tabs (share_sim.rs): a soak with holders closed and
//! crashed over and over, then one test per rule of docs/sharing.md.

use super::*;

#[path = "share_sim.rs"]
mod sim;
use sim::*;

/// Per tab: what it received from the server is contiguous (nothing skipped, nothing twice,
/// nothing out of order); what the server received from it is its sends in order, once.
fn check(w: &World, label: &str) {
    let got = &w.server.got;
    let mut seen = std::collections::HashSet::new();
    for m in got {
        assert!(seen.insert(m), "{label}: the server got {m:?} twice");
    }
    for (id, t) in &w.tabs {
        let numbers: Vec<u64> = t.delivered.iter().map(server_number).collect();
        // A jump only where the tab was told how many it missed.
        for (i, pair) in numbers.windows(2).enumerate() {
            let told: u64 = (t.skips.iter())
                .filter(|(at, _)| *at == i + 1)
                .map(|(_, n)| n)
                .sum();
            let context = format!(
                "{label}: tab {id} received {numbers:?}, skips {:?}",
                t.skips
            );
            assert_eq!(pair[1], pair[0] + 1 + told, "{context}");
        }
        let prefix = format!("t{id}-");
        let from_tab: Vec<&Message> = (got.iter())
            .filter(|m| m.as_text().is_some_and(|t| t.starts_with(&prefix)))
            .collect();
        let sent: Vec<&Message> = t.sent.iter().collect();
        assert_eq!(
            from_tab[..],
            sent[..from_tab.len()],
            "{label}: tab {id}'s sends, in order"
        );
        if t.alive {
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
            assert_eq!(
                from_tab.len(),
                sent.len(),
                "{label}: every send of tab {id} arrived"
            );
            assert_eq!(
                numbers.last().copied(),
                Some(w.server.app_count),
                "{label}: tab {id}"
            );
        }
    }
}

#[test]
fn twenty_holder_changes_lose_duplicate_and_reorder_nothing_for_any_tab() {
    let seeds: u64 = std::env::var("SIM_SEEDS").map_or(8, |n| n.parse().expect("a number"));
    for seed in 0..seeds {
        if std::env::var("SIM_SEED").is_ok_and(|s| s != seed.to_string()) {
            continue;
        }
        let label = format!("seed {seed}");
        let mut w = World::new(resume_cfg(), Sharing::default(), seed);
        for _ in 0..3 {
            w.open_tab();
        }
        let mut thaw: Vec<(TabId, Time)> = Vec::new();
        let mut changes = 0;
        let mut step = 0u64;
        while changes < 22 {
            step += 1;
            if step >= 200_000 {
                let tabs: Vec<_> = (w.tabs.iter())
                    .map(|(id, t)| {
                        (
                            id,
                            t.alive,
                            t.frozen,
                            t.tab.is_holder(),
                            t.tab.holder(),
                            t.events.last().cloned(),
                        )
                    })
                    .collect();
                let conns: Vec<_> = w.conns.iter().map(|c| (c.tab, c.id, c.opened)).collect();
                let t3 = w
                    .tabs
                    .values()
                    .find(|t| t.alive && t.frozen)
                    .map(|t| format!("{:?}", t.tab.hub));
                panic!("{label}: stuck after {changes} changes: lock {:?} tabs {tabs:?} conns {conns:?} thaw {thaw:?} now {:?} frozen hub {t3:?}", w.lock, w.now);
            }
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
                72 if step % 3 == 0 => {
                    // The holder goes once its connection is open and busy.
                    let Some(h) = w.holder() else { continue };
                    if w.conns.iter().all(|c| !c.opened) {
                        continue;
                    }
                    match changes % 2 {
                        0 => w.crash(h),
                        _ => w.close(h),
                    }
                    changes += 1;
                    if w.live().len() < 3 {
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
        check(&w, &label);
    }
}
