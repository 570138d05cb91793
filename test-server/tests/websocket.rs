//! WebSocket routes: echo, close, drop, silent, reject, protocols, flood,
//! room, heartbeat pings, and handshake errors.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn echo_returns_text_and_binary_unchanged() {
    let addr = start_default().await;
    let mut c = connect(addr, "/echo").await;
    send_text(&mut c, "hello ✓").await;
    assert_eq!(next_text(&mut c).await, "hello ✓");

    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    c.send(Message::binary(big.clone())).await.unwrap();
    match next_msg(&mut c).await {
        Message::Binary(b) => assert_eq!(&b[..], &big[..]),
        other => panic!("expected binary, got {other:?}"),
    }
    send_text(&mut c, "").await;
    assert_eq!(next_text(&mut c).await, "");
}

#[tokio::test]
async fn close_sends_code_and_reason_after_n_messages() {
    let addr = start_default().await;
    let mut c = connect(addr, "/close?code=4001&reason=bye%20now&after=2").await;
    send_text(&mut c, "one").await;
    assert_eq!(next_text(&mut c).await, "one");
    send_text(&mut c, "two").await;
    assert_eq!(next_text(&mut c).await, "two");
    match next_msg(&mut c).await {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4001);
            assert_eq!(frame.reason.as_str(), "bye now");
        }
        other => panic!("expected close frame, got {other:?}"),
    }
    // The client's reply completes the closing handshake; then the stream ends.
    assert!(matches!(next(&mut c).await, None | Some(Err(_))));
}

#[tokio::test]
async fn close_defaults_to_1000_immediately() {
    let addr = start_default().await;
    let mut c = connect(addr, "/close").await;
    match next_msg(&mut c).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Normal);
            assert_eq!(frame.reason.as_str(), "");
        }
        other => panic!("expected close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn drop_closes_tcp_without_close_frame() {
    let addr = start_default().await;
    let mut c = connect(addr, "/drop?after=1").await;
    send_text(&mut c, "only").await;
    assert_eq!(next_text(&mut c).await, "only");
    assert_dropped_without_close(&mut c).await;

    let mut c = connect(addr, "/drop").await;
    assert_dropped_without_close(&mut c).await;
}

#[tokio::test]
async fn silent_never_answers_then_drops() {
    let addr = start_default().await;
    let mut c = connect(addr, "/silent?hold=0.3&id=s").await;
    // A heartbeat ping and a data message: neither is answered nor counted.
    send_text(&mut c, "\u{1}ping1").await;
    send_text(&mut c, "data").await;
    assert_dropped_without_close(&mut c).await;
    let s = get_json(addr, "/stats?id=s").await;
    assert_eq!(s["opened"], 1);
    assert_eq!(s["received"], 0);
}

#[tokio::test]
async fn reject_refuses_with_requested_status() {
    let addr = start_default().await;
    let err = try_connect(addr, "/reject?status=401").await.unwrap_err();
    assert_eq!(refused_status(&err), 401);
    let err = try_connect(addr, "/reject").await.unwrap_err();
    assert_eq!(refused_status(&err), 403);
    let stats = get_json(addr, "/stats").await;
    assert_eq!(stats["opened"], 0);
    assert_eq!(stats["refused"], 0);
}

#[tokio::test]
async fn bad_query_values_and_unknown_routes_are_refused() {
    let addr = start_default().await;
    for (path, status) in [
        ("/close?code=abc", 400),
        ("/close?code=1005", 400),
        ("/reject?status=700", 400),
        ("/flood?n=-3", 400),
        ("/nowhere", 404),
    ] {
        let err = try_connect(addr, path).await.unwrap_err();
        assert_eq!(refused_status(&err), status, "{path}");
    }
    let resp = http_raw(
        addr,
        "GET /close?code=abc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("1000-1003"), "{}", resp.text());
}

#[tokio::test]
async fn protocols_selects_first_offered() {
    let addr = start_default().await;
    let (mut c, resp) = try_connect_with(addr, "/protocols", Some("beta, alpha"))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("beta")
    );
    send_text(&mut c, "echoed").await;
    assert_eq!(next_text(&mut c).await, "echoed");

    let (_c, resp) = try_connect_with(addr, "/protocols", None).await.unwrap();
    assert!(resp.headers().get("sec-websocket-protocol").is_none());
}

#[tokio::test]
async fn flood_sends_n_indexed_messages() {
    let addr = start_default().await;
    let mut c = connect(addr, "/flood?n=500&size=20").await;
    for i in 0..500 {
        let text = next_text(&mut c).await;
        let prefix = format!("{i}:");
        assert_eq!(text.len(), 20);
        assert_eq!(text, format!("{prefix}{}", "x".repeat(20 - prefix.len())));
    }
    // Afterwards it echoes.
    send_text(&mut c, "after").await;
    assert_eq!(next_text(&mut c).await, "after");

    let mut c = connect(addr, "/flood?n=3&size=5&binary=1").await;
    for expected in ["0:xxx", "1:xxx", "2:xxx"] {
        match next_msg(&mut c).await {
            Message::Binary(b) => assert_eq!(&b[..], expected.as_bytes()),
            other => panic!("expected binary, got {other:?}"),
        }
    }

    // A size too small for the prefix still carries the whole prefix.
    let mut c = connect(addr, "/flood?n=12&size=1").await;
    for i in 0..12 {
        assert_eq!(next_text(&mut c).await, format!("{i}:"));
    }
}

/// `/stats?id=` counts the bytes a flood handed to the socket: all of them for a reader,
/// and a count that stops far short for a client that doesn't read (TCP backpressure).
#[tokio::test]
async fn flood_with_an_id_counts_the_bytes_written() {
    let addr = start_default().await;
    let mut c = connect(addr, "/flood?n=10&size=100&id=fl-read").await;
    for _ in 0..10 {
        next_msg(&mut c).await;
    }
    assert_eq!(get_json(addr, "/stats?id=fl-read").await["flooded"], 1000);

    // 256 MiB to a client that reads nothing.
    let _idle = connect(addr, "/flood?n=4096&size=65536&binary=1&id=fl-idle").await;
    let mut last = 0;
    let mut still = 0;
    while still < 5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = get_json(addr, "/stats?id=fl-idle").await["flooded"]
            .as_u64()
            .unwrap();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    assert!(
        last > 0 && last < 64 << 20,
        "flooded {last} bytes to a client that reads nothing"
    );
}

#[tokio::test]
async fn room_broadcasts_to_all_members_including_sender() {
    let addr = start_default().await;
    let mut a = connect(addr, "/room?id=a").await;
    let mut b = connect(addr, "/room?id=b").await;
    send_text(&mut a, "from a").await;
    assert_eq!(next_text(&mut a).await, "from a");
    assert_eq!(next_text(&mut b).await, "from a");
    b.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    for c in [&mut a, &mut b] {
        match next_msg(c).await {
            Message::Binary(d) => assert_eq!(&d[..], &[1, 2, 3]),
            other => panic!("expected binary, got {other:?}"),
        }
    }
    // Heartbeats in the room are answered only to the sender.
    send_text(&mut b, "\u{1}ping-r").await;
    assert_eq!(next_text(&mut b).await, "\u{1}pong-r");
    send_text(&mut a, "next").await;
    assert_eq!(next_text(&mut b).await, "next");
    let stats = get_json(addr, "/stats").await;
    assert_eq!(stats["routes"]["/room"]["received"], 3);
}

#[tokio::test]
async fn heartbeat_ping_is_answered_and_not_counted() {
    let addr = start_default().await;
    let mut c = connect(addr, "/echo?id=hb").await;
    send_text(&mut c, "\u{1}ping 42 {\"t\":1}").await;
    assert_eq!(next_text(&mut c).await, "\u{1}pong 42 {\"t\":1}");
    send_text(&mut c, "\u{1}ping").await;
    assert_eq!(next_text(&mut c).await, "\u{1}pong");
    // Only a prefix at the very start counts as a ping.
    send_text(&mut c, "x\u{1}ping").await;
    assert_eq!(next_text(&mut c).await, "x\u{1}ping");
    let s = get_json(addr, "/stats?id=hb").await;
    assert_eq!(s["received"], 1);
    assert_eq!(s["messages"], serde_json::json!(["x\u{1}ping"]));
    assert_eq!(get_json(addr, "/stats").await["received"], 1);
}

#[tokio::test]
async fn every_route_answers_heartbeats() {
    let addr = start_default().await;
    for path in [
        "/echo",
        "/close?after=5",
        "/drop?after=5",
        "/protocols",
        "/flood?n=0",
        "/room",
    ] {
        let mut c = connect(addr, path).await;
        send_text(&mut c, "\u{1}ping?").await;
        assert_eq!(next_text(&mut c).await, "\u{1}pong?", "{path}");
    }
}

#[tokio::test]
async fn garbage_sends_a_frame_no_client_may_accept() {
    use futures_util::StreamExt;
    let addr = start_default().await;
    let mut c = connect(addr, "/garbage").await;
    // Reserved bits set without an extension: a protocol error on the client's side.
    match c.next().await {
        Some(Err(tokio_tungstenite::tungstenite::Error::Protocol(e))) => {
            assert!(e.to_string().contains("Reserved bits"), "{e}")
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}
