//! The reconnecting socket against the real server: drops, queues, policies, heartbeats,
//! close during a retry, and no leaks over many cycles. Tests here run concurrently, so each
//! uses its own connections (by id), never the server's global controls.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    Backoff, ClosePolicy, ConnectionEvent as Ev, Endpoint, Error, ExponentialBackoff, Heartbeat,
    Message, Overflow, ReadyState, ReconnectingWebSocket, SendOutcome, StopReason,
};

#[wasm_bindgen_test]
async fn a_dropped_connection_comes_back_and_keeps_delivering() {
    let id = unique_id("rc-drop");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/drop?after=1&id={id}")))
        .backoff(fast())
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    assert_eq!(ws.send(text("one")), Ok(SendOutcome::Written));
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("one")));
    let ev = next_event(&mut events, 5000, "reconnecting", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    let Ev::Reconnecting {
        attempt,
        delay,
        last_close,
    } = ev
    else {
        unreachable!()
    };
    assert_eq!(attempt, 1);
    assert!(delay <= Duration::from_millis(100));
    assert!(last_close.was_open);
    assert_eq!(
        (last_close.close.code, last_close.close.was_clean),
        (1006, false)
    );
    next_event(&mut events, 5000, "reopen", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    assert_eq!(ws.ready_state(), ReadyState::Open);
    let _ = ws.send(text("two")).unwrap();
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("two")));
    assert!(stats(&id).await["opened"].as_u64().unwrap() >= 2);
    ws.close();
}

#[wasm_bindgen_test]
async fn messages_sent_while_down_arrive_once_and_in_order() {
    let id = unique_id("rc-queue");
    let dials = Rc::new(Cell::new(0));
    let counter = dials.clone();
    let first = ws_url(&format!("/drop?after=1&id={id}"));
    let later = ws_url(&format!("/echo?id={id}"));
    // The first connection drops after one message; the next ones are plain echoes.
    let mut ws = ReconnectingWebSocket::builder("ws://unused.invalid/")
        .url_provider(move || {
            counter.set(counter.get() + 1);
            let url = if counter.get() == 1 {
                first.clone()
            } else {
                later.clone()
            };
            async move { Ok::<_, Error>(Endpoint::new(url)) }
        })
        .backoff(
            ExponentialBackoff::new()
                .min(Duration::from_millis(300))
                .max(Duration::from_millis(400)),
        )
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    let _ = ws.send(text("first")).unwrap();
    next_event(&mut events, 5000, "drop", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    assert_eq!(ws.ready_state(), ReadyState::Connecting);
    for i in 0..20 {
        assert_eq!(
            ws.send(text(&format!("q{i}"))),
            Ok(SendOutcome::Queued { dropped: 0 })
        );
    }
    assert!(ws.queued_bytes() > 0);
    next_event(&mut events, 5000, "reopen", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    let _ = ws.send(text("after")).unwrap();
    let s = wait_for_stats(&id, 5000, "all messages", |s| s["received"] == 22).await;
    let mut expected = vec!["first".to_string()];
    expected.extend((0..20).map(|i| format!("q{i}")));
    expected.push("after".into());
    let got: Vec<String> = serde_json::from_value(s["messages"].clone()).unwrap();
    assert_eq!(got, expected);
    assert_eq!(ws.queued_bytes(), 0);
    assert!(dials.get() >= 2);
    // The echoes of the flushed queue come back in order too.
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("first")));
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("q0")));
}

#[wasm_bindgen_test]
async fn a_full_queue_rejects_and_says_so() {
    // Nothing listens on port 1: the socket never opens, so everything is queued.
    let ws = ReconnectingWebSocket::builder("ws://127.0.0.1:1/")
        .queue_max_bytes(10)
        .open()
        .unwrap();
    assert_eq!(
        ws.send(text("12345678")),
        Ok(SendOutcome::Queued { dropped: 0 })
    );
    assert_eq!(
        ws.send(text("abc")),
        Err(Error::QueueFull {
            message_bytes: 3,
            free_bytes: 2
        })
    );
    ws.close();
    assert_eq!(ws.send(text("x")), Err(Error::Stopped));

    let ws = ReconnectingWebSocket::builder("ws://127.0.0.1:1/")
        .queue_max_bytes(10)
        .overflow(Overflow::DropOldest)
        .open()
        .unwrap();
    let _ = ws.send(text("12345678")).unwrap();
    assert_eq!(ws.send(text("abc")), Ok(SendOutcome::Queued { dropped: 1 }));

    let ws = ReconnectingWebSocket::builder("ws://127.0.0.1:1/")
        .replay(false)
        .open()
        .unwrap();
    assert_eq!(ws.send(text("x")), Err(Error::NotOpen));
}

#[wasm_bindgen_test]
async fn the_sink_waits_for_room_instead_of_failing() {
    let id = unique_id("rc-sink");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .queue_max_bytes(4)
        .open()
        .unwrap();
    // Still connecting: "abcd" fills the queue; the Sink waits for the open to send "efgh".
    let _ = ws.send(text("abcd")).unwrap();
    within(
        5000,
        "sink send",
        ws.send_all(&mut futures::stream::iter(
            ["efgh", "ijkl"].map(|s| Ok(text(s))),
        )),
    )
    .await
    .unwrap();
    let s = wait_for_stats(&id, 5000, "3 messages", |s| s["received"] == 3).await;
    assert_eq!(s["messages"], serde_json::json!(["abcd", "efgh", "ijkl"]));
    SinkExt::close(&mut ws).await.unwrap();
    assert_eq!(ws.send(text("late")), Err(Error::Stopped));
    // Echoes that arrived before the close stay readable; then the stream ends.
    let rest: Vec<Message> = within(5000, "end", ws.collect()).await;
    let all = [text("abcd"), text("efgh"), text("ijkl")];
    assert_eq!(rest[..], all[..rest.len()]);
}

#[wasm_bindgen_test]
async fn a_user_close_during_a_pending_retry_stops_all_dialling() {
    let id = unique_id("rc-close");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/drop?after=0&id={id}")))
        .backoff(
            ExponentialBackoff::new()
                .min(Duration::from_millis(200))
                .max(Duration::from_millis(300)),
        )
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "retry scheduled", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    ws.close();
    let ev = next_event(&mut events, 5000, "closed", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    assert_eq!(
        ev,
        Ev::Closed {
            reason: StopReason::UserClosed,
            unsent: 0,
            close: None,
        }
    );
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    // Longer than any retry delay: the server must see no further connection.
    sleep(800).await;
    assert_eq!(stats(&id).await["opened"], 1);
    assert_eq!(events.next().await, None);
}

#[wasm_bindgen_test]
async fn a_refused_handshake_follows_the_close_policy() {
    // Default policy: retried (a browser can't tell a 401 from a network error), here until
    // the attempts are used up.
    let ws = ReconnectingWebSocket::builder(ws_url("/reject?status=401"))
        .backoff(fast().max_attempts(2))
        .open()
        .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 10000, "give up", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    match ev {
        Ev::Closed {
            reason: StopReason::GaveUp(d),
            ..
        } => {
            assert!(!d.was_open);
            assert_eq!(d.close.code, 1006);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(ws.attempt(), 3);
    // reconnect() restarts after giving up.
    ws.reconnect();
    next_event(&mut events, 5000, "dial again", |e| {
        matches!(e, Ev::Connecting { attempt: 0 })
    })
    .await;
    ws.close();

    // A policy that only retries connections that had opened stops at once.
    let ws = ReconnectingWebSocket::builder(ws_url("/reject?status=401"))
        .close_policy(ClosePolicy::custom(|d| d.was_open))
        .open()
        .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "stop", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    assert!(
        matches!(
            ev,
            Ev::Closed {
                reason: StopReason::Policy(_),
                ..
            }
        ),
        "{ev:?}"
    );
}

#[wasm_bindgen_test]
async fn an_application_close_code_in_the_4400_class_is_not_retried() {
    let id = unique_id("rc-4401");
    let ws =
        ReconnectingWebSocket::builder(ws_url(&format!("/close?code=4401&reason=auth&id={id}")))
            .backoff(fast())
            .open()
            .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "stop", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    match ev {
        Ev::Closed {
            reason: StopReason::Policy(d),
            ..
        } => {
            assert_eq!((d.close.code, d.close.reason.as_str()), (4401, "auth"))
        }
        other => panic!("{other:?}"),
    }
    sleep(300).await;
    assert_eq!(stats(&id).await["opened"], 1);
}

#[wasm_bindgen_test]
async fn a_failing_url_provider_is_retried_not_fatal() {
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let url = ws_url("/echo");
    let mut ws = ReconnectingWebSocket::builder("ws://unused.invalid/")
        .url_provider(move || {
            counter.set(counter.get() + 1);
            let n = counter.get();
            let url = url.clone();
            async move {
                if n < 3 {
                    Err(format!("token service down ({n})"))
                } else {
                    Ok(Endpoint::new(url))
                }
            }
        })
        .backoff(fast())
        .open()
        .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "retry", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    let Ev::Reconnecting { last_close, .. } = ev else {
        unreachable!()
    };
    assert!(
        last_close.close.reason.contains("token service down (1)"),
        "{last_close:?}"
    );
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    assert_eq!(calls.get(), 3);
    let _ = ws.send(text("ok")).unwrap();
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("ok")));
}

#[wasm_bindgen_test]
async fn a_silent_peer_is_detected_by_the_heartbeat() {
    let hb = Heartbeat::new(Duration::from_millis(300), Duration::from_millis(300));
    let ws = ReconnectingWebSocket::builder(ws_url("/silent?hold=5"))
        .heartbeat(hb)
        .backoff(fast())
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    let opened = now_ms();
    let ev = next_event(&mut events, 5000, "dead peer", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    let detected = now_ms() - opened;
    let Ev::Reconnecting { last_close, .. } = ev else {
        unreachable!()
    };
    assert_eq!(last_close.close.code, ws_tether::HEARTBEAT_TIMEOUT_CODE);
    assert!(last_close.was_open);
    // Never before interval + timeout of silence.
    assert!(detected >= 590.0, "declared dead after only {detected} ms");
    ws.close();
}

#[wasm_bindgen_test]
async fn heartbeat_replies_report_rtt_and_are_not_delivered() {
    let hb = Heartbeat::new(Duration::from_millis(50), Duration::from_secs(2));
    let mut ws = ReconnectingWebSocket::builder(ws_url("/echo"))
        .heartbeat(hb)
        .open()
        .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "rtt", |e| matches!(e, Ev::Rtt(_))).await;
    let Ev::Rtt(rtt) = ev else { unreachable!() };
    assert!(rtt < Duration::from_secs(2));
    assert_eq!(ws.rtt(), Some(rtt));
    let _ = ws.send(text("data")).unwrap();
    // Only the data comes back through the stream, never a pong.
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("data")));
    ws.close();
    assert_eq!(within(5000, "end", ws.next()).await, None);
}

#[wasm_bindgen_test]
async fn bad_options_are_rejected_by_name() {
    let err = ReconnectingWebSocket::builder(ws_url("/echo"))
        .backoff(ExponentialBackoff::new().factor(0.5))
        .open()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                field: "backoff.factor",
                ..
            }
        ),
        "{err:?}"
    );
    let err = ReconnectingWebSocket::builder(ws_url("/echo"))
        .connect_timeout(Duration::ZERO)
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOption {
            field: "connect_timeout",
            ..
        }
    ));
    let err = ReconnectingWebSocket::builder("ftp://x/")
        .open()
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidScheme {
            scheme: "ftp".into()
        }
    );
    let err = ReconnectingWebSocket::builder(ws_url("/echo"))
        .backoff(ExponentialBackoff::new().min(Duration::ZERO))
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOption {
            field: "backoff.min",
            ..
        }
    ));
    let err = ReconnectingWebSocket::builder(ws_url("/echo"))
        .backoff(Backoff::custom(|_| None))
        .protocols(["a", "a"])
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidProtocol { .. }));
}

#[wasm_bindgen_test]
async fn close_waits_for_the_closing_handshake_and_reports_it() {
    let id = unique_id("rc-closing");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    ws.close_with(ws_tether::CloseCode::new(4321).unwrap(), "done")
        .unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Closing);
    assert_eq!(ws.send(text("late")), Err(Error::Stopped));
    let ev = next_event(&mut events, 5000, "closed", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    let Ev::Closed {
        reason,
        unsent,
        close,
    } = ev
    else {
        unreachable!()
    };
    assert_eq!((reason, unsent), (StopReason::UserClosed, 0));
    let close = close.expect("the socket's close");
    assert_eq!(
        (close.code, close.reason.as_str(), close.was_clean),
        (4321, "done", true)
    );
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    wait_for_stats(&id, 5000, "server sees it closed", |s| s["open"] == 0).await;
}

#[wasm_bindgen_test]
async fn status_reflects_events_emitted_before_anyone_subscribed() {
    let ws = ReconnectingWebSocket::builder(ws_url("/echo"))
        .open()
        .unwrap();
    // The first Connecting was emitted inside open(), before events() could exist.
    assert_eq!(
        ws.status(),
        ws_tether::ConnectionStatus::Connecting { attempt: 0 }
    );
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    assert_eq!(ws.status(), ws_tether::ConnectionStatus::Open);
    ws.close();
    assert_eq!(ws.status(), ws_tether::ConnectionStatus::Closing);
    next_event(&mut events, 5000, "closed", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    assert!(matches!(
        ws.status(),
        ws_tether::ConnectionStatus::Closed { .. }
    ));
}

#[wasm_bindgen_test]
async fn a_connection_the_browser_refuses_ends_in_a_retry_and_gives_up_on_schedule() {
    // Port 1: nobody listens, and browsers refuse the port outright. WebKit reports that with
    // `error` and no `close`; each attempt must still end, be retried, and count.
    let ws = ReconnectingWebSocket::builder("ws://127.0.0.1:1/")
        .backoff(fast().max_attempts(2))
        .open()
        .unwrap();
    let mut events = ws.events();
    for attempt in 1..=2 {
        let ev = next_event(&mut events, 10000, "a retry", |e| {
            matches!(e, Ev::Reconnecting { .. })
        })
        .await;
        assert!(
            matches!(ev, Ev::Reconnecting { attempt: a, ref last_close, .. } if a == attempt && !last_close.was_open && last_close.close.code == 1006),
            "{ev:?}"
        );
    }
    let ev = next_event(&mut events, 10000, "give up", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    assert!(
        matches!(
            ev,
            Ev::Closed {
                reason: StopReason::GaveUp(_),
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(ws.ready_state(), ReadyState::Closed);
}

#[wasm_bindgen_test]
async fn split_halves_share_one_connection_that_closes_when_the_last_is_dropped() {
    let ws = ReconnectingWebSocket::builder(ws_url("/echo"))
        .backoff(fast())
        .open()
        .unwrap();
    let (handle, mut receiver) = ws.split();
    let other = handle.clone();
    let mut events = handle.events();
    // One clone queues before open; the connection writes it once open.
    assert!(matches!(
        other.send(text("from a clone")),
        Ok(SendOutcome::Queued { dropped: 0 })
    ));
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    assert_eq!(handle.status(), ws_tether::ConnectionStatus::Open);
    assert_eq!(other.ready_state(), ReadyState::Open);
    assert_eq!(
        within(5000, "echo", receiver.next()).await,
        Some(text("from a clone"))
    );
    // Each clone is a Sink of its own.
    let mut sink = handle.clone();
    SinkExt::send(&mut sink, text("through the sink"))
        .await
        .unwrap();
    assert_eq!(
        within(5000, "echo", receiver.next()).await,
        Some(text("through the sink"))
    );
    // Without the receiver the connection stays up for the handles.
    drop(receiver);
    drop(sink);
    drop(handle);
    assert_eq!(other.send(text("unread")), Ok(SendOutcome::Written));
    assert_eq!(other.ready_state(), ReadyState::Open);
    // The last half gone: closed, and the event stream ends.
    drop(other);
    within(5000, "events end", async {
        while events.next().await.is_some() {}
    })
    .await;
}
