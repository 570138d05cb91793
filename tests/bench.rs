//! Figures, not assertions about speed: `npm run bench` runs these (ignored in `npm test`)
//! and prints recovery and dead-peer detection times against the configured bounds.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{ConnectionEvent as Ev, ExponentialBackoff, Heartbeat, ReconnectingWebSocket};

wasm_bindgen_test_configure!(run_in_browser);

const ROUNDS: usize = 7;

fn report(name: &str, mut samples: Vec<f64>, bound_name: &str, bound: f64) {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let line = format!(
        "BENCH {name}: median {median:.0} ms, min {:.0}, max {:.0} over {} rounds; {bound_name} {bound:.0} ms (median/{bound_name} = {:.2})",
        samples[0],
        samples[samples.len() - 1],
        samples.len(),
        median / bound
    );
    web_sys::console::log_1(&line.into());
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_recovery_after_refusal() {
    let max = Duration::from_millis(500);
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let ws = ReconnectingWebSocket::builder(ws_url("/echo"))
            .backoff(
                ExponentialBackoff::new()
                    .min(Duration::from_millis(100))
                    .max(max),
            )
            .open()
            .unwrap();
        let mut events = ws.events();
        next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
        get_json("/control/refuse?ms=1000").await;
        let accepting_again = now_ms() + 1000.0;
        get_json("/control/drop-all").await;
        next_event(&mut events, 10000, "reopen", |e| {
            matches!(e, Ev::Open { .. })
        })
        .await;
        samples.push((now_ms() - accepting_again).max(0.0));
        ws.close();
    }
    report(
        "recovery (server accepting again -> open)",
        samples,
        "backoff slot",
        max.as_millis() as f64,
    );
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_dead_peer_detection() {
    let hb = Heartbeat {
        interval: Duration::from_millis(500),
        timeout: Duration::from_millis(500),
    };
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let ws = ReconnectingWebSocket::builder(ws_url("/silent?hold=5"))
            .heartbeat(hb)
            .open()
            .unwrap();
        let mut events = ws.events();
        next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
        let last_inbound = now_ms();
        next_event(&mut events, 5000, "dead", |e| {
            matches!(e, Ev::Reconnecting { .. })
        })
        .await;
        samples.push(now_ms() - last_inbound);
        ws.close();
    }
    let bound = (hb.interval + hb.timeout).as_millis() as f64;
    report(
        "dead-peer detection (last inbound -> declared dead)",
        samples,
        "interval+timeout",
        bound,
    );
}
