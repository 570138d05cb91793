//! The thundering-herd figure for `npm run bench`: 10,000 reconnect machines on a shared
//! virtual clock lose their connections to a server restart at once, and the dials of the
//! first retry wave are counted per 100 ms window. Ignored in `cargo test`; run with
//! `cargo test -p ws-tether --lib herd -- --ignored --nocapture`.

use crate::core::backoff::{Backoff, ExponentialBackoff, Jitter};
use crate::core::machine::{Action, Machine, Time, Timer};
use crate::core::policy::Config;
use crate::CloseInfo;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Duration;

const CLIENTS: usize = 10_000;
const WINDOW: Duration = Duration::from_millis(100);
/// How long the clients were connected before the restart (past `stable_after`, so the
/// retry counter starts from zero as it would in production).
const UPTIME: Duration = Duration::from_secs(60);
/// The server closes its sockets over this span when it goes down.
const DROP_SPREAD_US: u64 = 5_000;

struct Herd {
    /// Dials per 100 ms window after the restart, by window index.
    windows: BTreeMap<u64, u32>,
    dials: u32,
}

/// Carries out a machine's actions: dials open at once (the server is back by the first
/// retry, which is at least `min` = 500 ms later), retry timers go on the shared queue.
fn drain(
    m: &mut Machine,
    i: usize,
    now: Time,
    restart: Time,
    timers: &mut BinaryHeap<Reverse<(Time, usize)>>,
    herd: &mut Herd,
) {
    while let Some(action) = m.poll_action() {
        match action {
            Action::Dial { id } => {
                if now >= restart {
                    let window = ((now - restart).as_micros() / WINDOW.as_micros()) as u64;
                    *herd.windows.entry(window).or_default() += 1;
                    herd.dials += 1;
                }
                m.on_open(id, String::new(), now);
            }
            Action::SetTimer {
                timer: Timer::Retry,
                after,
            } => timers.push(Reverse((now + after, i))),
            _ => {}
        }
    }
}

/// Returns (peak dials in any 100 ms window, total dials, the time of the last dial).
fn simulate(jitter: Jitter) -> (u32, u32, Duration) {
    let cfg = Config {
        backoff: Backoff::Exponential(ExponentialBackoff::new().jitter(jitter)),
        ..Config::default()
    };
    let restart = UPTIME;
    let mut herd = Herd {
        windows: BTreeMap::new(),
        dials: 0,
    };
    let mut timers = BinaryHeap::new();
    let mut machines: Vec<Machine> = (0..CLIENTS)
        .map(|i| {
            let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
            let mut m = Machine::new(cfg.clone(), seed, Duration::ZERO);
            drain(&mut m, i, Duration::ZERO, restart, &mut timers, &mut herd);
            m
        })
        .collect();
    // The restart: every socket closes abnormally within a few milliseconds.
    let mut lcg = 0x2545_F491_4F6C_DD1Du64;
    for (i, m) in machines.iter_mut().enumerate() {
        lcg = lcg
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let at = restart + Duration::from_micros((lcg >> 33) % DROP_SPREAD_US);
        let id = m.open_socket().expect("open before the restart");
        let close = CloseInfo {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        };
        m.on_close(id, close, at);
        drain(m, i, at, restart, &mut timers, &mut herd);
    }
    let mut last = Duration::ZERO;
    while let Some(Reverse((due, i))) = timers.pop() {
        machines[i].on_timer(Timer::Retry, due);
        last = due - restart;
        drain(&mut machines[i], i, due, restart, &mut timers, &mut herd);
    }
    let peak = herd.windows.values().copied().max().unwrap_or(0);
    (peak, herd.dials, last)
}

#[test]
#[ignore = "benchmark: run with npm run bench"]
fn herd_after_server_restart() {
    // The default first retry is spread over [min, min * factor] = [500 ms, 1 s]: the mean
    // rate of the wave is the clients over that spread, for both variants.
    let spread = Duration::from_millis(500);
    let windows = spread.as_secs_f64() / WINDOW.as_secs_f64();
    let mean = CLIENTS as f64 / windows;
    let mut json = Vec::new();
    for (name, jitter) in [("full", Jitter::Full), ("none", Jitter::None)] {
        let (peak, dials, last) = simulate(jitter);
        assert_eq!(dials as usize, CLIENTS, "one retry per client");
        let ratio = peak as f64 / mean;
        println!(
            "BENCH herd {name} jitter: {CLIENTS} clients, peak {peak} dials/100 ms, mean {mean:.0} over the 500 ms retry spread, peak/mean {ratio:.2}; last dial {} ms after the restart",
            last.as_millis()
        );
        json.push(format!(
            r#"{{"jitter":"{name}","clients":{CLIENTS},"peak_per_100ms":{peak},"mean_per_100ms":{mean:.1},"peak_over_mean":{ratio:.3},"last_dial_ms":{}}}"#,
            last.as_millis()
        ));
    }
    println!(
        r#"BENCHJSON {{"figure":"herd","unit":"dials per 100 ms","target":"peak <= 2x mean (default jitter)","variants":[{}]}}"#,
        json.join(",")
    );
}
