//! Each test-server behaviour as the socket's user sees it: server closes, drops, refusals,
//! subprotocols, floods, limits and a peer that stops reading.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use std::pin::Pin;
use std::task::Poll;
use wasm_bindgen_test::*;
use ws_tether::{CloseInfo, Error, Event, Message, ReadyState, Sink, WebSocket};

#[wasm_bindgen_test]
async fn a_normal_server_close_ends_the_stream_without_error() {
    let mut ws = WebSocket::connect(ws_url("/close?code=1000&reason=done&after=1"))
        .await
        .unwrap();
    ws.send(Message::Text("last".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(Ok(Message::Text("last".into())))
    );
    assert_eq!(within(5000, "end", ws.next()).await, None);
    assert_eq!(
        ws.closed().await,
        CloseInfo {
            code: 1000,
            reason: "done".into(),
            was_clean: true
        }
    );
}

#[wasm_bindgen_test]
async fn an_application_close_code_yields_one_error_with_code_and_reason() {
    let mut ws = WebSocket::connect(ws_url("/close?code=4001&reason=kicked&after=2"))
        .await
        .unwrap();
    ws.send(Message::Text("a".into())).await.unwrap();
    ws.send(Message::Text("b".into())).await.unwrap();
    assert_eq!(
        within(5000, "a", ws.next()).await,
        Some(Ok(Message::Text("a".into())))
    );
    assert_eq!(
        within(5000, "b", ws.next()).await,
        Some(Ok(Message::Text("b".into())))
    );
    let err = within(5000, "error", ws.next()).await.unwrap().unwrap_err();
    assert_eq!(
        err,
        Error::Closed {
            code: 4001,
            reason: "kicked".into(),
            was_clean: true
        }
    );
    assert_eq!(err.close_info(), Some((4001, "kicked")));
    assert_eq!(within(5000, "end", ws.next()).await, None);
    assert_eq!(ws.ready_state(), ReadyState::Closed);
}

#[wasm_bindgen_test]
async fn a_drop_without_close_frame_is_1006_unclean() {
    let mut ws = WebSocket::builder(ws_url("/drop?after=1")).open().unwrap();
    let events = ws.events();
    ws.send(Message::Text("x".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(Ok(Message::Text("x".into())))
    );
    let err = within(5000, "error", ws.next()).await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Closed {
                code: 1006,
                was_clean: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_closed());
    assert_eq!(within(5000, "end", ws.next()).await, None);
    // Chromium reports a dropped open connection with a close event only (no error event).
    let events: Vec<Event> = within(5000, "events", events.collect()).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[1], Event::Message(Message::Text("x".into())));
    assert!(matches!(
        &events[2],
        Event::Close(CloseInfo {
            code: 1006,
            was_clean: false,
            ..
        })
    ));
}

#[wasm_bindgen_test]
async fn a_refused_handshake_fails_connect_with_the_close_code() {
    let id = unique_id("reject");
    let ws = WebSocket::builder(ws_url(&format!("/reject?status=401&id={id}")))
        .open()
        .unwrap();
    let mut events = ws.events();
    drop(ws);
    // Dropped socket: the event stream ends without an open.
    assert_eq!(within(5000, "events end", events.next()).await, None);

    let err = within(
        5000,
        "connect",
        WebSocket::connect(ws_url("/reject?status=401")),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        Error::ConnectFailed {
            code: 1006,
            reason: String::new()
        }
    );
    assert_eq!(stats(&id).await["opened"], 0);
}

#[wasm_bindgen_test]
async fn a_refused_handshake_shows_error_then_close_and_the_stream_errs_once() {
    let mut ws = WebSocket::builder(ws_url("/reject?status=503"))
        .open()
        .unwrap();
    let events = ws.events();
    let err = within(5000, "stream error", ws.next())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, Error::ConnectFailed { code: 1006, .. }),
        "{err:?}"
    );
    assert_eq!(ws.next().await, None);
    let events: Vec<Event> = within(5000, "events", events.collect()).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], Event::Error);
    assert!(matches!(
        &events[1],
        Event::Close(CloseInfo { code: 1006, .. })
    ));
}

#[wasm_bindgen_test]
async fn nothing_listening_fails_connect() {
    // Port 1 on loopback: nobody listens there (and browsers refuse it outright).
    let err = within(5000, "connect", WebSocket::connect("ws://127.0.0.1:1/"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ConnectFailed { code: 1006, .. }),
        "{err:?}"
    );
}

#[wasm_bindgen_test]
async fn the_server_selects_the_first_offered_subprotocol() {
    let ws = WebSocket::builder(ws_url("/protocols"))
        .protocols(["chat.v2", "chat.v1"])
        .connect()
        .await
        .unwrap();
    assert_eq!(ws.protocol(), "chat.v2");

    let mut ws = WebSocket::builder(ws_url("/protocols")).open().unwrap();
    let mut events = ws.events();
    assert_eq!(
        within(5000, "open", events.next()).await,
        Some(Event::Open {
            protocol: String::new()
        })
    );
    ws.send(Message::Text("p".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(Ok(Message::Text("p".into())))
    );
}

#[wasm_bindgen_test]
async fn a_flood_of_text_arrives_complete_and_in_order() {
    let mut ws = WebSocket::connect(ws_url("/flood?n=2000&size=64"))
        .await
        .unwrap();
    for i in 0..2000 {
        let m = within(10000, "flood message", ws.next())
            .await
            .unwrap()
            .unwrap();
        let text = m.as_text().expect("text");
        assert_eq!(text.len(), 64);
        assert!(text.starts_with(&format!("{i}:")), "message {i} was {text}");
    }
}

#[wasm_bindgen_test]
async fn a_flood_of_binary_arrives_as_bytes() {
    let mut ws = WebSocket::connect(ws_url("/flood?n=100&size=1000&binary=1"))
        .await
        .unwrap();
    for i in 0..100 {
        match within(5000, "binary", ws.next()).await {
            Some(Ok(Message::Binary(bytes))) => {
                assert_eq!(bytes.len(), 1000);
                assert!(bytes.starts_with(format!("{i}:").as_bytes()));
            }
            other => panic!("message {i}: {other:?}"),
        }
    }
}

#[wasm_bindgen_test]
async fn an_oversized_message_is_closed_with_1009() {
    // scripts/test starts the server with --max-message-size 1048576.
    let mut ws = WebSocket::connect(ws_url("/echo")).await.unwrap();
    ws.send(Message::Binary(vec![7; (1 << 20) + 1]))
        .await
        .unwrap();
    let err = within(10000, "close", ws.next())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Closed { code: 1009, .. }), "{err:?}");
}

/// Asks the sink whether it would take a message now, without waiting.
async fn ready_now(ws: &mut WebSocket) -> Poll<Result<(), Error>> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *ws).poll_ready(cx))).await
}

#[wasm_bindgen_test]
async fn a_peer_that_stops_reading_keeps_the_sink_pending() {
    let mut ws = WebSocket::builder(ws_url("/silent?hold=20"))
        .high_water_mark(64 * 1024)
        .connect()
        .await
        .unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut sent = 0;
    // Fill every buffer between us and the peer (browser, network service, kernel): send
    // whenever the sink is ready, until it has stayed pending for half a second.
    let mut pending_checks = 0;
    while pending_checks < 5 {
        if ready_now(&mut ws).await.is_ready() {
            assert!(sent < 512, "the sink never pushed back after {sent} MiB");
            Pin::new(&mut ws)
                .start_send(Message::Binary(chunk.clone()))
                .unwrap();
            sent += 1;
            pending_checks = 0;
            sleep(0).await;
        } else {
            pending_checks += 1;
            sleep(100).await;
        }
    }
    web_sys::console::log_1(&format!("sink pending after {sent} MiB").into());
    assert!(ws.buffered_amount() > 64 * 1024);
    // The peer still reads nothing, so the sink stays pending.
    sleep(300).await;
    assert!(ready_now(&mut ws).await.is_pending());
    assert!(ws.buffered_amount() > 64 * 1024);
    // Closing releases a waiting sender with an error instead of leaving it stuck.
    ws.close();
    assert_eq!(
        ready_now(&mut ws).await,
        Poll::Ready(Err(Error::AlreadyClosed))
    );
}

#[wasm_bindgen_test]
async fn a_reading_peer_lets_a_full_sink_drain_and_continue() {
    let id = unique_id("drain");
    let (mut tx, mut rx) = WebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .high_water_mark(1024)
        .connect()
        .await
        .unwrap()
        .split();
    for i in 0..20 {
        // Each message is above the mark, so every send after the first waits for a drain.
        within(10000, "send", tx.send(Message::Binary(vec![i; 64 * 1024])))
            .await
            .unwrap();
    }
    for i in 0..20u8 {
        match within(10000, "echo", rx.next()).await {
            Some(Ok(Message::Binary(b))) => assert!(b.len() == 64 * 1024 && b[0] == i),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(stats(&id).await["received"], 20);
}
