//! Resource accounting over many reconnects. Alone in its file: the counters are global to
//! the page, and other tests running at the same time would move them.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::StreamExt;
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{Backoff, ConnectionEvent as Ev, Heartbeat, Message, ReconnectingWebSocket};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_thousand_reconnects_leave_no_listener_socket_or_timer_behind() {
    let before = ws_tether::diagnostics::live_counts();
    let id = unique_id("rc-leak");
    // The server closes each connection (4000, retried) once it has echoed one message.
    // Not a drop: after every abnormal close Firefox delays the next connection by itself
    // (a few hundred ms; README, "Browser differences"), so 1,000 drops take minutes there.
    // Not right after the handshake either: Firefox often fires no `open` for that.
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/close?code=4000&after=1&id={id}")))
        .backoff(Backoff::custom(|_| Some(Duration::ZERO)))
        .heartbeat(Heartbeat::new(
            Duration::from_secs(5),
            Duration::from_secs(5),
        ))
        // The echoes come as events, which this loop reads, rather than piling up unread.
        .messages_as_events(true)
        .open()
        .unwrap();
    let mut events = ws.events();
    let mut opens = 0;
    let mut max_sockets = 0;
    while opens < 1000 {
        let ev = within(20000, "cycles", events.next())
            .await
            .expect("events ended");
        if matches!(ev, Ev::Open { .. }) {
            opens += 1;
            let sent = ws.send(Message::Text("cycle".into())).unwrap();
            assert_eq!(sent, ws_tether::SendOutcome::Written);
        }
        max_sockets = max_sockets.max(ws_tether::diagnostics::live_counts().1 - before.1);
    }
    assert!(max_sockets <= 1, "{max_sockets} sockets alive at once");
    drop(events);
    drop(ws);
    // Let cancelled timer tasks and dropped sockets finish.
    sleep(100).await;
    let after = ws_tether::diagnostics::live_counts();
    assert_eq!(
        after, before,
        "(listeners, sockets, timers) before vs after 1,000 cycles"
    );
    assert!(stats(&id).await["opened"].as_u64().unwrap() >= 1000);
}
