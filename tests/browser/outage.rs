//! Outages that affect the whole server or page (refusing handshakes, dropping every
//! connection, muted heartbeats, offline/online). They use global controls, so they run one
//! after another inside a single test, alone in this file.

use crate::common::*;
use futures::StreamExt;
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    ConnectionEvent as Ev, ExponentialBackoff, Heartbeat, Message, ReadyState,
    ReconnectingWebSocket, HEARTBEAT_TIMEOUT_CODE,
};

#[wasm_bindgen_test]
async fn outages_one_after_another() {
    server_refusing_for_two_seconds().await;
    muted_heartbeats_are_detected_and_recovered().await;
    offline_stops_dialling_until_online().await;
}

async fn server_refusing_for_two_seconds() {
    let id = unique_id("refuse");
    let max = Duration::from_millis(400);
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .backoff(
            ExponentialBackoff::new()
                .min(Duration::from_millis(100))
                .max(max),
        )
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "refuse: open", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    let refused_before = get_json("/stats").await["refused"].as_u64().unwrap();
    get_json("/control/refuse?ms=2000").await;
    let accepting_again = now_ms() + 2000.0;
    get_json("/control/drop-all").await;
    let mut retries = 0;
    loop {
        match within(10000, "refuse: recovery", events.next())
            .await
            .unwrap()
        {
            Ev::Reconnecting { .. } => retries += 1,
            Ev::Open { .. } => break,
            _ => {}
        }
    }
    let late_by = now_ms() - accepting_again;
    web_sys::console::log_1(
        &format!("refuse: open {late_by:.0} ms after the server accepted again, {retries} retries")
            .into(),
    );
    assert!(retries >= 2, "only {retries} retries during a 2 s refusal");
    assert!(get_json("/stats").await["refused"].as_u64().unwrap() > refused_before);
    // Within the next backoff slot (max delay), plus a handshake's worth of slack.
    assert!(
        late_by <= max.as_millis() as f64 + 1000.0,
        "open {late_by} ms after accepting"
    );
    assert_eq!(ws.ready_state(), ReadyState::Open);
    ws.close();
}

async fn muted_heartbeats_are_detected_and_recovered() {
    let hb = Heartbeat::new(Duration::from_millis(200), Duration::from_millis(300));
    let mut ws = ReconnectingWebSocket::builder(ws_url("/echo"))
        .heartbeat(hb)
        .backoff(
            ExponentialBackoff::new()
                .min(Duration::from_millis(50))
                .max(Duration::from_millis(100)),
        )
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "mute: first rtt", |e| {
        matches!(e, Ev::Rtt(_))
    })
    .await;
    get_json("/control/mute-pings?ms=1500").await;
    let ev = next_event(&mut events, 5000, "mute: dead peer", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    let Ev::Reconnecting { last_close, .. } = ev else {
        unreachable!()
    };
    assert_eq!(last_close.close.code, HEARTBEAT_TIMEOUT_CODE);
    next_event(&mut events, 5000, "mute: reopen", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    // Once the server answers again, round trips are measured again.
    next_event(&mut events, 10000, "mute: rtt after recovery", |e| {
        matches!(e, Ev::Rtt(_))
    })
    .await;
    let _ = ws.send(Message::Text("alive".into())).unwrap();
    assert_eq!(
        within(5000, "mute: echo", ws.next()).await,
        Some(Message::Text("alive".into()))
    );
    ws.close();
}

fn dispatch(kind: &str) {
    let window = web_sys::window().unwrap();
    let event = web_sys::Event::new(kind).unwrap();
    window.dispatch_event(&event).unwrap();
}

async fn offline_stops_dialling_until_online() {
    let id = unique_id("offline");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/drop?after=0&id={id}")))
        .backoff(
            ExponentialBackoff::new()
                .min(Duration::from_millis(300))
                .max(Duration::from_millis(300)),
        )
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "offline: retry", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    dispatch("offline");
    next_event(&mut events, 5000, "offline: waiting", |e| {
        matches!(e, Ev::WaitingForNetwork { .. })
    })
    .await;
    let opened = stats(&id).await["opened"].clone();
    // Longer than the retry delay: no dial while offline.
    sleep(800).await;
    assert_eq!(stats(&id).await["opened"], opened);
    dispatch("online");
    let ev = next_event(&mut events, 5000, "online: dial", |e| {
        matches!(e, Ev::Connecting { .. })
    })
    .await;
    // The retry runs now, and is still counted: the counter is not reset by the network.
    assert!(
        matches!(ev, Ev::Connecting { attempt } if attempt >= 1),
        "{ev:?}"
    );
    wait_for_stats(&id, 5000, "online: a new connection", |s| {
        s["opened"].as_u64() > opened.as_u64()
    })
    .await;
    ws.close();
}
