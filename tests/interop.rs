//! The Rust API against servers this project did not write (scripts/interop): a JSON
//! ping/pong echo (Node ws), a push-only feed (Python websockets), graphql-ws, engine.io and
//! an auth handshake the server can refuse. The scenarios take up to 35 s each, so they run
//! side by side in one test.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::{FutureExt, StreamExt};
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    ConnectionEvent as Ev, ConnectionEvents, ExponentialBackoff, Handshake, Heartbeat, Message,
    Pong, ReconnectingWebSocket,
};

wasm_bindgen_test_configure!(run_in_browser);

fn url(server: &str, path: &str) -> String {
    format!("ws://127.0.0.1:{}{path}", interop_port(server))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What arrives on the stream within `ms` of quiet.
async fn drain(ws: &mut ReconnectingWebSocket, ms: u32) -> Vec<Message> {
    let mut out = Vec::new();
    loop {
        futures::select! {
            m = ws.next().fuse() => match m {
                Some(m) => out.push(m),
                None => return out,
            },
            _ = sleep(ms).fuse() => return out,
        }
    }
}

/// Counts the events matching `pred` that are already there (without waiting).
fn count_ready(events: &mut ConnectionEvents, pred: impl Fn(&Ev) -> bool) -> usize {
    let mut n = 0;
    while let Some(Some(e)) = events.next().now_or_never() {
        n += usize::from(pred(&e));
    }
    n
}

fn json_type(m: &Message) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(m.as_text()?).ok()?;
    Some(v["type"].as_str()?.to_owned())
}

fn json_ping() -> Heartbeat {
    Heartbeat::new(ms(1000), ms(2000))
        .ping(|_| Message::from(r#"{"type":"ping"}"#))
        .pong(|m| (json_type(m).as_deref() == Some("pong")).then_some(Pong::Unnumbered))
}

async fn json_echo() {
    let mut ws = ReconnectingWebSocket::builder(url("ws", "/json-echo"))
        .heartbeat(
            Heartbeat::new(ms(200), ms(1000))
                .ping(|_| Message::from(r#"{"type":"ping"}"#))
                .pong(|m| (json_type(m).as_deref() == Some("pong")).then_some(Pong::Unnumbered)),
        )
        .open()
        .unwrap();
    let _ = ws.send(Message::from("a")).unwrap();
    let mut got = drain(&mut ws, 2500).await;
    let _ = ws.send(Message::from("b")).unwrap();
    got.extend(drain(&mut ws, 300).await);
    assert_eq!(
        got,
        vec![Message::from("a"), Message::from("b")],
        "json echo"
    );
    assert!(ws.rtt().is_some(), "json echo: no round trip measured");
    ws.close();
}

async fn feed() {
    let mut ws = ReconnectingWebSocket::builder(url("feed", "/"))
        .heartbeat(Heartbeat::silence(ms(3000)))
        .open()
        .unwrap();
    let mut events = ws.events();
    let quiet = ReconnectingWebSocket::builder(url("feed", "/?silent_after=2"))
        .heartbeat(Heartbeat::silence(ms(3000)))
        .open()
        .unwrap();
    let mut quiet_events = quiet.events();
    let ticks = within(35_000, "feed ticks", async {
        let mut ticks = 0;
        let started = now_ms();
        while now_ms() - started < 30_000.0 && ws.next().await.is_some() {
            ticks += 1;
        }
        ticks
    })
    .await;
    let drops = count_ready(&mut events, |e| matches!(e, Ev::Reconnecting { .. }));
    assert_eq!(drops, 0, "feed: reconnects");
    assert!(ticks >= 13, "feed: {ticks} ticks");
    let lost = next_event(&mut quiet_events, 10_000, "the silent feed found", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    let Ev::Reconnecting { last_close, .. } = lost else {
        unreachable!()
    };
    assert_eq!(last_close.close.code, 4000, "feed: {last_close:?}");
    ws.close();
    quiet.close();
}

async fn graphql_hook(mut hs: Handshake) -> Result<(), ws_tether::Error> {
    hs.send(r#"{"type":"connection_init"}"#)?;
    while json_type(&hs.recv().await?).as_deref() != Some("connection_ack") {}
    hs.send(r#"{"id":"ticks","type":"subscribe","payload":{"query":"subscription { tick }"}}"#)
}

fn tick(m: &Message) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(m.as_text()?).ok()?;
    v["payload"]["data"]["tick"].as_i64()
}

async fn graphql() {
    let mut ws = ReconnectingWebSocket::builder(url("graphql", "/graphql"))
        .protocols(["graphql-transport-ws"])
        .heartbeat(json_ping())
        .handshake(graphql_hook)
        .open()
        .unwrap();
    let mut events = ws.events();
    let ticks: Vec<i64> = within(40_000, "graphql ticks", async {
        let mut ticks = Vec::new();
        let started = now_ms();
        while now_ms() - started < 30_000.0 {
            if let Some(n) = ws.next().await.as_ref().and_then(tick) {
                ticks.push(n);
            }
        }
        ticks
    })
    .await;
    assert!(ticks.len() >= 100, "graphql: {} ticks", ticks.len());
    assert_eq!(
        count_ready(&mut events, |e| matches!(e, Ev::Reconnecting { .. })),
        0,
        "graphql: closes in 30 s"
    );
    interop_control("restart", "graphql").await;
    next_event(&mut events, 20_000, "graphql: reopen", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    // A fresh server counts from 0: the hook resubscribed by itself.
    let first = within(20_000, "graphql: a tick after the restart", async {
        loop {
            if let Some(n) = ws.next().await.as_ref().and_then(tick) {
                if n < 5 {
                    return n;
                }
            }
        }
    })
    .await;
    assert!(first < 5);
    ws.close();
}

async fn engineio() {
    let mut ws =
        ReconnectingWebSocket::builder(url("engineio", "/engine.io/?EIO=4&transport=websocket"))
            .heartbeat(Heartbeat::answer(ms(4000), |m| {
                (m.as_text() == Some("2")).then(|| Message::from("3"))
            }))
            .handshake(|mut hs: Handshake| async move {
                let open = hs.recv().await.map_err(|e| e.to_string())?;
                match open.as_text() {
                    Some(t) if t.starts_with('0') => Ok(()),
                    _ => Err(format!("no open packet: {open:?}")),
                }
            })
            .open()
            .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "engine.io open", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    let mut got = drain(&mut ws, 4500).await;
    let _ = ws.send(Message::from("4hello")).unwrap();
    got.extend(drain(&mut ws, 300).await);
    assert_eq!(
        got,
        vec![Message::from("4hello")],
        "engine.io: pings leaked"
    );
    assert_eq!(
        count_ready(&mut events, |e| matches!(e, Ev::Reconnecting { .. })),
        0
    );
    interop_control("stop", "engineio").await;
    let lost = next_event(&mut events, 10_000, "engine.io: silence found", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    interop_control("cont", "engineio").await;
    let Ev::Reconnecting { last_close, .. } = lost else {
        unreachable!()
    };
    assert_eq!(last_close.close.code, 4000);
    ws.close();
}

async fn auth(token: &'static str, mut hs: Handshake) -> Result<(), String> {
    hs.send(format!(r#"{{"type":"auth","token":"{token}"}}"#))
        .map_err(|e| e.to_string())?;
    let reply = hs.recv().await.map_err(|e| e.to_string())?;
    match json_type(&reply).as_deref() {
        Some("auth_ok") => Ok(()),
        other => Err(format!("auth refused ({})", other.unwrap_or("?"))),
    }
}

async fn refused_handshake() {
    let bad = ReconnectingWebSocket::builder(url("ws", "/auth"))
        .backoff(ExponentialBackoff::new().min(ms(50)).max(ms(100)))
        .handshake(|hs| auth("bad", hs))
        .open()
        .unwrap();
    let mut events = bad.events();
    for attempt in 1..=3 {
        let ev = next_event(&mut events, 5000, "a refused handshake", |e| {
            matches!(e, Ev::Reconnecting { .. } | Ev::Open { .. })
        })
        .await;
        let Ev::Reconnecting {
            attempt: a,
            last_close,
            ..
        } = ev
        else {
            panic!("opened despite the refusal: {ev:?}")
        };
        assert_eq!(a, attempt);
        assert!(last_close.is_handshake_failure(), "{last_close:?}");
        assert!(last_close
            .close
            .reason
            .contains("auth refused (auth_error)"));
    }
    bad.close();
    let mut good = ReconnectingWebSocket::builder(url("ws", "/auth"))
        .handshake(|hs| auth("good", hs))
        .open()
        .unwrap();
    let _ = good.send(Message::from("queued before open")).unwrap();
    let echo = within(5000, "echo after auth", good.next()).await;
    assert_eq!(echo, Some(Message::from("queued before open")));
    good.close();
}

#[wasm_bindgen_test]
async fn servers_we_did_not_write() {
    futures::join!(
        json_echo(),
        feed(),
        graphql(),
        engineio(),
        refused_handshake()
    );
}
