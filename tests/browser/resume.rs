//! Session resume (docs/resume-protocol.md) against the test server's `/resume` route, a
//! ws-tether-server echo session that closes its connection (1012) after every
//! `drop_every` messages it receives: what was in flight either way must arrive after the
//! reconnect, once and in order.

use crate::common::*;
use futures::{FutureExt, SinkExt, StreamExt};
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    ConnectionEvent as Ev, ExponentialBackoff, Heartbeat, Message, ReconnectingWebSocket, Resume,
    StopReason, RESUME_UNSUPPORTED_REASON,
};

fn fast_backoff() -> ExponentialBackoff {
    ExponentialBackoff::new()
        .min(Duration::from_millis(20))
        .max(Duration::from_millis(50))
}

#[wasm_bindgen_test]
async fn dropped_connections_lose_nothing_either_way() {
    let id = unique_id("resume");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}&drop_every=7")))
        .resume(Resume::default())
        .heartbeat(Heartbeat::new(
            Duration::from_secs(2),
            Duration::from_secs(2),
        ))
        .backoff(fast_backoff())
        .open()
        .unwrap();
    let mut events = ws.events();
    resume_round_trip(&mut ws, &mut events, 60).await;
    ws.close();
}

/// The server acknowledges a message only once its application has finished with it; this
/// one takes 1.5 s over the first. So `flush` resolves after the echoes, never before.
#[wasm_bindgen_test]
async fn flush_waits_for_the_server_application() {
    let id = unique_id("resume-hold");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}&hold_ms=1500")))
        .resume(Resume::default())
        .open()
        .unwrap();
    for i in 1..=3 {
        within(
            5_000,
            "the sink takes a message",
            ws.feed(Message::from(format!("h{i}"))),
        )
        .await
        .unwrap();
    }
    within(20_000, "every message acknowledged", ws.flush())
        .await
        .unwrap();
    // The acknowledgement came after the echoes on the same connection: they are all here.
    let mut echoes = Vec::new();
    while let Some(Some(m)) = ws.next().now_or_never() {
        echoes.push(m.into_text().unwrap());
    }
    assert_eq!(
        echoes,
        ["h1", "h2", "h3"],
        "echoes received when flush resolved"
    );
    ws.close();
}

#[wasm_bindgen_test]
async fn a_server_without_the_protocol_stops_with_1002() {
    let id = unique_id("resume-plain");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .resume(Resume::default())
        .backoff(fast_backoff())
        .open()
        .unwrap();
    let mut events = ws.events();
    let closed = next_event(&mut events, 10_000, "the final close", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    let Ev::Closed {
        reason: StopReason::Policy(d),
        ..
    } = closed
    else {
        panic!("{closed:?}")
    };
    assert_eq!(d.close.code, 1002);
    assert_eq!(d.close.reason, RESUME_UNSUPPORTED_REASON);
}

/// `close()` sends `end` after everything sent before it (issue #20, finding 19): the server
/// sees the session end once its application has every message, and finishes the closing
/// handshake, so the close is clean (1000) and nothing is reported unconfirmed.
#[wasm_bindgen_test]
async fn close_ends_the_session_on_the_server_after_every_message() {
    let id = unique_id("resume-end");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}")))
        .resume(Resume::default())
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 10_000, "open", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    for m in ["e1", "e2", "e3"] {
        let sent = ws.send(Message::from(m)).unwrap();
        assert_eq!(sent, ws_tether::SendOutcome::Written);
    }
    ws.close();
    let mut seen = Vec::new();
    let closed = within(10_000, "the final close", async {
        loop {
            match events.next().await.expect("events") {
                e @ Ev::Closed { .. } => return e,
                e => seen.push(e),
            }
        }
    })
    .await;
    let Ev::Closed {
        reason: StopReason::UserClosed,
        close: Some(close),
        ..
    } = closed
    else {
        panic!("{closed:?}")
    };
    assert_eq!((close.code, close.was_clean), (1000, true), "{close:?}");
    assert!(
        !seen.iter().any(|e| matches!(e, Ev::SessionLost { .. })),
        "reported lost: {seen:?}"
    );
    let server = wait_for_stats(&id, 5_000, "the session ended on the server", |s| {
        s["ended"] == 1
    })
    .await;
    assert_eq!(server["sessions"], 1);
    assert_eq!(server["messages"], serde_json::json!(["e1", "e2", "e3"]));
}

/// `buffered_amount` counts what the browser still holds, also after `close()`; with resume,
/// every message the server has not acknowledged instead (sent again after a drop): what the
/// npm package's `bufferedAmount` counts too (issue #25 finding 8; one rule, in the machine).
#[wasm_bindgen_test]
async fn buffered_amount_still_counts_what_was_sent_after_close() {
    for resume in [false, true] {
        let path = if resume {
            format!("/resume?id={}", unique_id("buffered"))
        } else {
            format!("/echo?id={}", unique_id("buffered"))
        };
        let mut builder = ReconnectingWebSocket::builder(ws_url(&path));
        if resume {
            builder = builder.resume(Resume::default());
        }
        let ws = builder.open().unwrap();
        let mut events = ws.events();
        next_event(&mut events, 10_000, "open", |e| {
            matches!(e, Ev::Open { .. })
        })
        .await;
        // Within the queue's bound (1 MiB), which covers them with resume.
        let chunk = vec![7u8; 200 * 1024];
        for _ in 0..4 {
            let sent = ws.send(Message::Binary(chunk.clone())).unwrap();
            assert_eq!(sent, ws_tether::SendOutcome::Written);
        }
        let sent = 4 * chunk.len() as u32;
        assert!(
            ws.buffered_amount() >= sent,
            "before close, resume {resume}"
        );
        ws.close();
        let after = ws.buffered_amount();
        assert!(after >= sent, "after close(), resume {resume}: {after}");
        next_event(&mut events, 10_000, "the final close", |e| {
            matches!(e, Ev::Closed { .. })
        })
        .await;
        assert_eq!(ws.buffered_amount(), 0, "closed, resume {resume}");
    }
}

/// A socket closed and dropped at once (a component unmounting, a hook whose URL changed)
/// still ends its session on the server: the close finishes without the handles.
#[wasm_bindgen_test]
async fn close_then_drop_still_ends_the_session_on_the_server() {
    let id = unique_id("resume-drop");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}")))
        .resume(Resume::default())
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 10_000, "open", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    let sent = ws.send(Message::from("last")).unwrap();
    assert_eq!(sent, ws_tether::SendOutcome::Written);
    ws.close();
    drop(events);
    drop(ws);
    let server = wait_for_stats(&id, 5_000, "the session ended on the server", |s| {
        s["ended"] == 1
    })
    .await;
    assert_eq!(server["messages"], serde_json::json!(["last"]));
}
