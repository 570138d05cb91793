//! Receive backpressure (`receive_backpressure(true)`, the `WebSocketStream` path): a
//! consumer that stops polling stops the server, one that resumes gets every message in
//! order; without the option the browser reads everything regardless. And the stream path
//! looks to the user exactly like the `WebSocket` path. Where the browser has no
//! `WebSocketStream` (Firefox, WebKit today) the option falls back to the `WebSocket` path:
//! the tests that need the stream check that fallback and stop there.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{CloseInfo, Error, Event, Heartbeat, Message, ReconnectingWebSocket, WebSocket};

/// The flood: 4096 binary messages of 64 KiB, 256 MiB in all.
const N: u64 = 4096;
const SIZE: u64 = 64 * 1024;
const TOTAL: u64 = N * SIZE;

fn has_websocket_stream() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"WebSocketStream".into()).unwrap()
}

async fn flooded(id: &str) -> u64 {
    stats(id).await["flooded"].as_u64().expect("flooded")
}

/// Waits until the server counted the whole flood: it counts a message once its write
/// returned, which can be after the page read it.
async fn all_flooded(id: &str) {
    within(10000, "the server counting the whole flood", async {
        while flooded(id).await != TOTAL {
            sleep(25).await;
        }
    })
    .await;
}

/// Waits until the server's count of flooded bytes stops growing for a second; returns it.
async fn plateau(id: &str) -> u64 {
    within(60000, "the flood to stop growing", async {
        let mut last = flooded(id).await;
        let mut still = 0;
        while still < 4 {
            sleep(250).await;
            let now = flooded(id).await;
            still = if now == last { still + 1 } else { 0 };
            last = now;
        }
        last
    })
    .await
}

/// Reads messages `from..N` of the flood, checking each one's index and size.
async fn read_rest(ws: &mut WebSocket, from: u64) {
    for i in from..N {
        match within(10000, "a flood message", ws.next()).await {
            Some(Ok(Message::Binary(bytes))) => {
                assert_eq!(bytes.len() as u64, SIZE, "message {i}");
                assert!(
                    bytes.starts_with(format!("{i}:").as_bytes()),
                    "message {i} starts with {:?}",
                    String::from_utf8_lossy(&bytes[..12])
                );
            }
            other => panic!("message {i}: {other:?}"),
        }
    }
}

fn flood_url(id: &str) -> String {
    ws_url(&format!("/flood?n={N}&size={SIZE}&binary=1&id={id}"))
}

#[wasm_bindgen_test]
async fn a_consumer_that_stops_polling_stops_the_flood_and_loses_nothing() {
    let id = unique_id("bp-stream");
    let mut ws = WebSocket::builder(flood_url(&id))
        .receive_backpressure(true)
        .connect()
        .await
        .unwrap();
    if !ws.reads_with_backpressure() {
        // The documented fallback: no WebSocketStream here, so the WebSocket path.
        assert!(!has_websocket_stream());
        assert!(ws.as_web_sys().is_some());
        return;
    }
    assert!(ws.as_web_sys().is_none());
    read_rest_until(&mut ws, 8).await;
    // Not polled now: the browser stops reading, the TCP buffers fill, the server waits.
    let stopped = plateau(&id).await;
    web_sys::console::log_1(&format!("stopped at {stopped} of {TOTAL} bytes").into());
    assert!(
        stopped < TOTAL / 4,
        "the server wrote {stopped} of {TOTAL} bytes to a consumer that stopped"
    );
    // Still stopped a while later.
    sleep(1000).await;
    assert_eq!(flooded(&id).await, stopped);
    read_rest(&mut ws, 8).await;
    all_flooded(&id).await;
    ws.close();
    assert_eq!(within(5000, "end", ws.next()).await, None);
}

/// Reads the first `n` messages.
async fn read_rest_until(ws: &mut WebSocket, n: u64) {
    for i in 0..n {
        let m = within(10000, "a first message", ws.next()).await;
        assert!(
            matches!(&m, Some(Ok(Message::Binary(b))) if b.starts_with(format!("{i}:").as_bytes())),
            "message {i}: {m:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn without_the_option_the_browser_reads_the_whole_flood_while_the_consumer_sleeps() {
    let id = unique_id("bp-socket");
    let mut ws = WebSocket::connect(flood_url(&id)).await.unwrap();
    assert!(!ws.reads_with_backpressure());
    read_rest_until(&mut ws, 8).await;
    within(60000, "the server to write everything", async {
        while flooded(&id).await < TOTAL {
            sleep(250).await;
        }
    })
    .await;
    read_rest(&mut ws, 8).await;
}

/// What the user sees of one connection: its events and its stream's items.
async fn scenario(path: &str, backpressure: bool, send: &[&str]) -> (Vec<Event>, Vec<String>) {
    let ws = WebSocket::builder(ws_url(path))
        .protocol("chat")
        .receive_backpressure(backpressure)
        .open()
        .unwrap();
    assert_eq!(
        ws.reads_with_backpressure(),
        backpressure && has_websocket_stream()
    );
    let events = ws.events();
    let states = ws.state_changes();
    let (mut tx, mut rx) = ws.split();
    let mut items = Vec::new();
    for text in send {
        if let Err(e) = tx.send(Message::Text((*text).into())).await {
            items.push(format!("send: {e:?}"));
        }
    }
    while let Some(item) = within(10000, "the stream", rx.next()).await {
        items.push(format!("{item:?}"));
    }
    drop((tx, rx));
    let events = within(5000, "events", events.collect::<Vec<_>>()).await;
    let states = within(5000, "states", states.collect::<Vec<_>>()).await;
    items.push(format!("{states:?}"));
    (events, items)
}

#[wasm_bindgen_test]
async fn the_stream_path_looks_like_the_websocket_path() {
    if !has_websocket_stream() {
        // Both would be the WebSocket path: nothing to compare. (Firefox, on the drop below,
        // fires `error` before the close on some runs and not on others.)
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        // Echoes, then a close with a code and reason.
        ("/close?code=4001&reason=bye&after=2", &["one", "two"]),
        ("/close?code=1000&after=1", &["only"]),
        // Refused: error, then 1006 before open.
        ("/reject?status=403", &["never"]),
        // TCP dropped after an echo: error, then 1006. One message: a second one could meet
        // the dead connection or not, by timing.
        ("/drop?after=1", &["a"]),
    ];
    for (path, send) in cases {
        let socket = scenario(path, false, send).await;
        let stream = scenario(path, true, send).await;
        assert_eq!(stream, socket, "{path}");
    }
}

#[wasm_bindgen_test]
async fn the_stream_path_negotiates_a_subprotocol_and_closes_with_a_code() {
    let ws = WebSocket::builder(ws_url("/protocols"))
        .protocols(["chat", "v2"])
        .receive_backpressure(true)
        .connect()
        .await
        .unwrap();
    assert_eq!(ws.protocol(), "chat");
    assert_eq!(ws.ready_state(), ws_tether::ReadyState::Open);
    ws.close_with(ws_tether::CloseCode::new(4002).unwrap(), "done")
        .unwrap();
    assert_eq!(ws.ready_state(), ws_tether::ReadyState::Closing);
    assert_eq!(
        within(5000, "closed", ws.closed()).await,
        CloseInfo {
            code: 4002,
            reason: "done".into(),
            was_clean: true
        }
    );
    assert_eq!(ws.ready_state(), ws_tether::ReadyState::Closed);
}

#[wasm_bindgen_test]
async fn a_refused_stream_connection_fails_like_a_websocket() {
    let err = WebSocket::builder(ws_url("/reject?status=403"))
        .receive_backpressure(true)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ConnectFailed { code: 1006, .. }),
        "{err:?}"
    );
}

#[wasm_bindgen_test]
async fn the_sink_waits_for_the_stream_writer_and_everything_is_echoed() {
    let ws = WebSocket::builder(ws_url("/echo"))
        .receive_backpressure(true)
        .high_water_mark(256 * 1024)
        .connect()
        .await
        .unwrap();
    let payload = vec![9u8; 64 * 1024];
    let (mut tx, mut rx) = ws.split();
    let sending = async {
        for i in 0..64u8 {
            let mut m = payload.clone();
            m[0] = i;
            tx.send(Message::Binary(m)).await.unwrap();
            assert!(tx.buffered_amount() <= 256 * 1024 + 64 * 1024);
        }
        tx
    };
    let reading = async {
        for i in 0..64u8 {
            match within(10000, "echo", rx.next()).await {
                Some(Ok(Message::Binary(b))) => assert_eq!((b[0], b.len()), (i, 64 * 1024)),
                other => panic!("echo {i}: {other:?}"),
            }
        }
    };
    let (mut tx, ()) = futures::join!(sending, reading);
    tx.close().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_reconnecting_socket_not_polled_stops_the_flood_and_its_heartbeat_waits() {
    let id = unique_id("bp-rc");
    // A heartbeat far shorter than the pause below: without the pause reaching the machine
    // it would find the peer dead (its answers wait behind the unread flood) and reconnect.
    let mut ws = ReconnectingWebSocket::builder(flood_url(&id))
        .receive_backpressure(true)
        .heartbeat(Heartbeat::new(
            Duration::from_millis(300),
            Duration::from_millis(300),
        ))
        .open()
        .unwrap();
    if !ws.reads_with_backpressure() {
        assert!(!has_websocket_stream());
        return;
    }
    for i in 0..8u64 {
        let m = within(10000, "a first message", ws.next()).await;
        assert!(
            matches!(&m, Some(Message::Binary(b)) if b.starts_with(format!("{i}:").as_bytes())),
            "message {i}: {m:?}"
        );
    }
    let stopped = plateau(&id).await;
    assert!(
        stopped < TOTAL / 4,
        "the server wrote {stopped} of {TOTAL} bytes to a reconnecting socket not polled"
    );
    sleep(1500).await;
    assert_eq!(flooded(&id).await, stopped);
    for i in 8..N {
        match within(10000, "a flood message", ws.next()).await {
            Some(Message::Binary(bytes)) => {
                assert_eq!(bytes.len() as u64, SIZE, "message {i}");
                assert!(bytes.starts_with(format!("{i}:").as_bytes()), "message {i}");
            }
            other => panic!("message {i}: {other:?}"),
        }
    }
    all_flooded(&id).await;
    assert_eq!(
        stats(&id).await["opened"],
        1,
        "the heartbeat dropped a healthy peer while we weren't reading"
    );
    ws.close();
}
