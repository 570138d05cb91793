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

/// Shared sockets (`share`) hold a channel, its listener, a lock and share timers besides
/// the connection: once every socket closed, none is left, and no lock of the share is held
/// or asked for.
#[cfg(feature = "share")]
#[wasm_bindgen_test]
async fn closed_shared_sockets_leave_no_listener_timer_or_lock_behind() {
    use wasm_bindgen::JsCast;
    let before = ws_tether::diagnostics::live_counts();
    let id = unique_id("share-leak");
    let mut sockets = shared_sockets(&id, 3);
    let sent = sockets[2].send(Message::Text("hi".into())).unwrap();
    assert!(!matches!(sent, ws_tether::SendOutcome::Dropped));
    for ws in sockets.iter_mut() {
        let echo = within(10_000, "the echo", ws.next()).await;
        assert_eq!(echo, Some(Message::Text("hi".into())));
    }
    let last = sockets.pop().unwrap();
    let dials = if last.holder().is_some_and(|h| h.this_tab) {
        1
    } else {
        2
    };
    // Dropped, not closed: as a page's sockets go with their component.
    drop(sockets);
    // The last socket takes over and resumes (closed before that, it would leave the
    // session to the server's TTL: no socket would have a connection to end it on).
    wait_for_stats(&id, 5_000, "the last socket's dial", |s| {
        s["dials"].as_array().is_some_and(|d| d.len() == dials)
    })
    .await;
    within(5_000, "the last socket holds, open", async {
        while !last.holder().is_some_and(|h| h.this_tab)
            || last.ready_state() != ws_tether::ReadyState::Open
        {
            sleep(20).await;
        }
    })
    .await;
    last.close();
    wait_for_stats(&id, 5_000, "the session's end", |s| s["ended"] == 1).await;
    drop(last);
    sleep(300).await;
    assert_eq!(
        ws_tether::diagnostics::live_counts(),
        before,
        "(listeners, sockets, timers) before vs after"
    );
    // `navigator.locks.query()`: what the origin's locks are held or asked for.
    let locks = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"locks".into()))
        .unwrap();
    let query: js_sys::Function = js_sys::Reflect::get(&locks, &"query".into())
        .unwrap()
        .unchecked_into();
    let state = wasm_bindgen_futures::JsFuture::from(
        query
            .call0(&locks)
            .unwrap()
            .unchecked_into::<js_sys::Promise>(),
    )
    .await
    .unwrap();
    let names = js_sys::JSON::stringify(&state)
        .unwrap()
        .as_string()
        .unwrap();
    assert!(!names.contains(&id), "a lock of the share is left: {names}");
}
