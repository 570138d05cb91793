//! The Rust API in a Worker (issue #23): the reconnecting socket in a dedicated, a shared and
//! a service Worker (tests/worker_*.rs, one binary per kind of scope: wasm-bindgen-test runs
//! a binary in one), against the test server. A Worker has no `window` and no `document`:
//! relative URLs resolve against the Worker script's URL and `online`/`offline` are the
//! Worker global's. Reconnect, the queue while down, heartbeat and resume, as in a page.

use crate::common::*;
use futures::StreamExt;
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    ConnectionEvent as Ev, Heartbeat, Message, ReconnectingWebSocket, Resume, SendOutcome,
    WebSocket,
};

#[wasm_bindgen_test]
async fn this_is_a_worker_and_a_relative_url_resolves_against_its_script() {
    assert!(
        web_sys::window().is_none(),
        "the test runs in a page, not a Worker"
    );
    read_servers_async().await;
    // The Worker's script is on the test runner's origin: a relative URL is its ws:// twin.
    let ws = WebSocket::builder("/not-a-socket")
        .open()
        .expect("a relative URL is accepted");
    let href = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| js_sys::Reflect::get(&l, &"origin".into()))
        .unwrap()
        .as_string()
        .unwrap();
    assert_eq!(
        ws.url(),
        format!("{}/not-a-socket", href.replacen("http", "ws", 1))
    );
    ws.close();
}

#[wasm_bindgen_test]
async fn echoes_text_and_bytes_and_closes() {
    read_servers_async().await;
    let mut ws = ReconnectingWebSocket::builder(ws_url("/echo"))
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    assert_eq!(ws.send(text("hello")), Ok(SendOutcome::Written));
    assert_eq!(
        ws.send(Message::Binary(vec![1, 2, 3])),
        Ok(SendOutcome::Written)
    );
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("hello")));
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(Message::Binary(vec![1, 2, 3]))
    );
    ws.close();
    assert_eq!(within(5000, "end", ws.next()).await, None);
}

#[wasm_bindgen_test]
async fn a_dropped_connection_comes_back_and_delivers_what_was_sent_while_down() {
    read_servers_async().await;
    let id = unique_id("worker-drop");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .backoff(fast())
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    get_json(&format!("/control/drop-all?id={id}")).await;
    next_event(&mut events, 5000, "reconnecting", |e| {
        matches!(e, Ev::Reconnecting { .. })
    })
    .await;
    assert_eq!(
        ws.send(text("while down 1")),
        Ok(SendOutcome::Queued { dropped: 0 })
    );
    assert_eq!(
        ws.send(text("while down 2")),
        Ok(SendOutcome::Queued { dropped: 0 })
    );
    next_event(&mut events, 5000, "reopen", |e| {
        matches!(e, Ev::Open { .. })
    })
    .await;
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(text("while down 1"))
    );
    assert_eq!(
        within(5000, "echo", ws.next()).await,
        Some(text("while down 2"))
    );
    ws.close();
}

#[wasm_bindgen_test]
async fn the_heartbeat_reports_rtt() {
    read_servers_async().await;
    let ws = ReconnectingWebSocket::builder(ws_url("/echo"))
        .heartbeat(Heartbeat::new(
            Duration::from_millis(50),
            Duration::from_secs(2),
        ))
        .open()
        .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "rtt", |e| matches!(e, Ev::Rtt(_))).await;
    let Ev::Rtt(rtt) = ev else { unreachable!() };
    assert_eq!(ws.rtt(), Some(rtt));
    ws.close();
}

#[wasm_bindgen_test]
async fn resume_loses_nothing_across_drops() {
    read_servers_async().await;
    let id = unique_id("worker-resume");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}&drop_every=5")))
        .resume(Resume::default())
        .backoff(fast())
        .open()
        .unwrap();
    let mut events = ws.events();
    resume_round_trip(&mut ws, &mut events, 30).await;
    ws.close();
}

/// `share` in a Worker: the Web Lock and the channel are read from the Worker's global
/// scope, so its sockets with one name share one connection there too.
#[cfg(feature = "share")]
#[wasm_bindgen_test]
async fn shared_sockets_use_one_connection() {
    read_servers_async().await;
    let id = unique_id("worker-share");
    let mut sockets = shared_sockets(&id, 2);
    let _ = sockets[1].send(Message::Text("both".into())).unwrap();
    for ws in sockets.iter_mut() {
        let echo = within(10_000, "the echo", ws.next()).await;
        assert_eq!(echo, Some(Message::Text("both".into())));
        let holder = ws.holder().expect("the holder is known");
        assert!(holder.shared, "{holder:?}");
    }
    let s = stats(&id).await;
    assert_eq!(s["dials"].as_array().map(Vec::len), Some(1), "{s}");
    for ws in sockets {
        ws.close();
    }
}
