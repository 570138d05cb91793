//! The socket's life: events, state changes, messages, closing from every handle, drop.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use wasm_bindgen_test::*;
use ws_tether::{CloseCode, CloseInfo, Error, Event, Message, ReadyState, WebSocket};

#[wasm_bindgen_test]
async fn connect_resolves_open_with_url_and_no_protocol() {
    let url = ws_url("/echo");
    let ws = within(5000, "open", WebSocket::connect(url.clone()))
        .await
        .unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Open);
    assert_eq!(ws.url(), url);
    assert_eq!(ws.protocol(), "");
    assert_eq!(ws.buffered_amount(), 0);
}

#[wasm_bindgen_test]
async fn open_returns_a_connecting_socket_whose_events_come_in_order() {
    let mut ws = WebSocket::builder(ws_url("/echo")).open().unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Connecting);
    let mut events = ws.events();
    let mut states = ws.state_changes();
    ws.send(Message::Text("one".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(Ok(Message::Text("one".into())))
    );
    ws.close();
    assert_eq!(within(5000, "end", ws.next()).await, None);
    let events: Vec<Event> = within(5000, "events", events.by_ref().collect()).await;
    assert_eq!(
        events,
        vec![
            Event::Open {
                protocol: String::new()
            },
            Event::Message(Message::Text("one".into())),
            Event::Close(CloseInfo {
                code: 1000,
                reason: String::new(),
                was_clean: true
            }),
        ]
    );
    let states: Vec<ReadyState> = within(5000, "states", states.by_ref().collect()).await;
    assert_eq!(
        states,
        vec![ReadyState::Open, ReadyState::Closing, ReadyState::Closed]
    );
    assert_eq!(ws.ready_state(), ReadyState::Closed);
}

#[wasm_bindgen_test]
async fn text_and_binary_echo_unchanged() {
    let mut ws = WebSocket::connect(ws_url("/echo")).await.unwrap();
    let bytes: Vec<u8> = (0..=255).collect();
    let text = "grüße, 世界 🚀".to_string();
    ws.send(Message::Binary(bytes.clone())).await.unwrap();
    ws.send(Message::Text(text.clone())).await.unwrap();
    ws.send(Message::Text(String::new())).await.unwrap();
    assert_eq!(
        within(5000, "binary", ws.next()).await,
        Some(Ok(Message::Binary(bytes)))
    );
    assert_eq!(
        within(5000, "text", ws.next()).await,
        Some(Ok(Message::Text(text)))
    );
    assert_eq!(
        within(5000, "empty", ws.next()).await,
        Some(Ok(Message::Text(String::new())))
    );
}

#[wasm_bindgen_test]
async fn messages_reach_the_server_once_and_in_order() {
    let id = unique_id("order");
    let mut ws = WebSocket::connect(ws_url(&format!("/echo?id={id}")))
        .await
        .unwrap();
    for i in 0..200 {
        ws.feed(Message::Text(format!("m{i}"))).await.unwrap();
    }
    ws.flush().await.unwrap();
    let s = wait_for_stats(&id, 5000, "200 messages", |s| s["received"] == 200).await;
    let expected: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let got: Vec<String> = serde_json::from_value(s["messages"].clone()).unwrap();
    assert_eq!(got, expected);
    for i in 0..200 {
        let m = within(5000, "echo", ws.next()).await;
        assert_eq!(m, Some(Ok(Message::Text(format!("m{i}")))));
    }
}

#[wasm_bindgen_test]
async fn a_user_close_with_code_and_reason_is_clean_and_ends_the_stream() {
    let mut ws = WebSocket::connect(ws_url("/echo")).await.unwrap();
    ws.close_with(CloseCode::new(4000).unwrap(), "bye").unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Closing);
    assert_eq!(within(5000, "end", ws.next()).await, None);
    let info = ws.closed().await;
    assert_eq!(
        info,
        CloseInfo {
            code: 4000,
            reason: "bye".into(),
            was_clean: true
        }
    );
}

#[wasm_bindgen_test]
async fn sending_after_close_is_an_error_not_a_silent_drop() {
    let id = unique_id("after-close");
    let mut ws = WebSocket::connect(ws_url(&format!("/echo?id={id}")))
        .await
        .unwrap();
    ws.close();
    assert_eq!(
        ws.send(Message::Text("late".into())).await,
        Err(Error::AlreadyClosed)
    );
    within(5000, "close", ws.closed()).await;
    assert_eq!(
        ws.send(Message::Text("later".into())).await,
        Err(Error::AlreadyClosed)
    );
    let (tx, _rx) = ws.split();
    assert_eq!(
        tx.send_now(&Message::Text("x".into())),
        Err(Error::AlreadyClosed)
    );
    assert_eq!(stats(&id).await["received"], 0);
}

#[wasm_bindgen_test]
async fn send_now_while_connecting_says_not_open() {
    let ws = WebSocket::builder(ws_url("/echo")).open().unwrap();
    let (tx, _rx) = ws.split();
    assert_eq!(
        tx.send_now(&Message::Text("early".into())),
        Err(Error::NotOpen)
    );
}

#[wasm_bindgen_test]
async fn the_sink_close_sends_a_close_frame_and_waits_for_the_close() {
    let mut ws = WebSocket::connect(ws_url("/echo")).await.unwrap();
    within(5000, "sink close", SinkExt::close(&mut ws))
        .await
        .unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    assert_eq!(ws.closed().await.code, 1000);
}

#[wasm_bindgen_test]
async fn either_half_or_a_close_handle_can_close() {
    // From the sending half.
    let (tx, mut rx) = WebSocket::connect(ws_url("/echo")).await.unwrap().split();
    tx.close_handle().close();
    assert_eq!(within(5000, "rx end", rx.next()).await, None);

    // From the receiving half, while the sender keeps working until then.
    let (mut tx, mut rx) = WebSocket::connect(ws_url("/echo")).await.unwrap().split();
    tx.send(Message::Text("via tx".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", rx.next()).await,
        Some(Ok(Message::Text("via tx".into())))
    );
    rx.close_handle()
        .close_with(CloseCode::new(3001).unwrap(), "rx")
        .unwrap();
    assert_eq!(within(5000, "rx end", rx.next()).await, None);
    assert_eq!(
        tx.send(Message::Text("no".into())).await,
        Err(Error::AlreadyClosed)
    );

    // From a cloned handle that outlives the socket: closing a dead socket does nothing.
    let ws = WebSocket::connect(ws_url("/echo")).await.unwrap();
    let handle = ws.close_handle().clone();
    handle.close();
    assert_eq!(within(5000, "closed", ws.closed()).await.code, 1000);
    drop(ws);
    handle.close();
    assert_eq!(handle.ready_state(), ReadyState::Closed);
}

#[wasm_bindgen_test]
async fn dropping_the_socket_closes_the_connection() {
    let id = unique_id("drop");
    let ws = WebSocket::connect(ws_url(&format!("/echo?id={id}")))
        .await
        .unwrap();
    wait_for_stats(&id, 5000, "server sees it open", |s| s["open"] == 1).await;
    drop(ws);
    wait_for_stats(&id, 5000, "server sees it closed", |s| s["open"] == 0).await;
}

#[wasm_bindgen_test]
async fn dropping_one_half_keeps_the_other_working() {
    let id = unique_id("half");
    let (mut tx, rx) = WebSocket::connect(ws_url(&format!("/echo?id={id}")))
        .await
        .unwrap()
        .split();
    drop(rx);
    tx.send(Message::Text("still sending".into()))
        .await
        .unwrap();
    let s = wait_for_stats(&id, 5000, "message", |s| s["received"] == 1).await;
    assert_eq!(s["open"], 1);
    drop(tx);
    wait_for_stats(&id, 5000, "closed after both halves", |s| s["open"] == 0).await;
}

#[wasm_bindgen_test]
async fn dropping_a_pending_connect_detaches_and_closes() {
    let id = unique_id("cancel");
    let url = ws_url(&format!("/echo?id={id}"));
    // Start connecting, let the server accept, then drop the future before it resolves.
    let mut connect = Box::pin(WebSocket::connect(url));
    assert!(futures::poll!(connect.as_mut()).is_pending());
    wait_for_stats(&id, 5000, "the server to accept", |s| s["opened"] == 1).await;
    drop(connect);
    wait_for_stats(&id, 10000, "the cancelled connection to close", |s| {
        s["open"] == 0
    })
    .await;
}

#[wasm_bindgen_test]
async fn the_event_stream_and_the_message_stream_both_see_every_message() {
    let mut ws = WebSocket::builder(ws_url("/flood?n=50&size=8"))
        .open()
        .unwrap();
    let events = ws.events();
    let mut got = Vec::new();
    while got.len() < 50 {
        got.push(within(5000, "flood", ws.next()).await.unwrap().unwrap());
    }
    ws.close();
    let seen: Vec<Message> = within(5000, "events", events.collect::<Vec<_>>())
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(seen, got);
}

#[wasm_bindgen_test]
async fn as_web_sys_is_the_browser_socket_underneath() {
    let mut ws = within(5000, "connect", WebSocket::connect(ws_url("/echo")))
        .await
        .unwrap();
    assert!(!ws.reads_with_backpressure());
    let raw = ws.as_web_sys().expect("a WebSocket by default").clone();
    assert_eq!(raw.url(), ws.url());
    assert_eq!(raw.ready_state(), 1);
    assert_eq!(
        raw.binary_type(),
        ws_tether::web_sys::BinaryType::Arraybuffer
    );
    // Written through the browser's socket, read through ours: the same connection.
    raw.send_with_str("raw").unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(Ok(Message::Text("raw".into())))
    );
    ws.close();
    assert_eq!(within(5000, "end", ws.next()).await, None);
    assert_eq!(raw.ready_state(), 3);
}
