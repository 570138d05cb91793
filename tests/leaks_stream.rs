//! Resource accounting on the `WebSocketStream` path: each connection's task ends and its
//! socket goes, however the connection ended. Alone in its file: the counters are global to
//! the page, and other tests running at the same time would move them.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use wasm_bindgen_test::*;
use ws_tether::diagnostics::live_counts;
use ws_tether::{Message, WebSocket};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn stream_connections_leave_no_task_or_socket_behind() {
    let before = live_counts();
    for i in 0..60 {
        let path = if i % 5 == 4 { "/reject" } else { "/echo" };
        let builder = WebSocket::builder(ws_url(path)).receive_backpressure(true);
        let Ok(mut ws) = within(5000, "connect", builder.connect()).await else {
            continue; // refused: it must leave nothing either
        };
        if !ws.reads_with_backpressure() {
            // No WebSocketStream in this browser (Firefox, WebKit): nothing to account for.
            assert!(!js_sys::Reflect::has(&js_sys::global(), &"WebSocketStream".into()).unwrap());
            return;
        }
        // One task (counted as a listener) and one socket while open.
        assert_eq!(live_counts().0 - before.0, 1);
        assert_eq!(live_counts().1 - before.1, 1);
        ws.send(Message::Text("x".into())).await.unwrap();
        assert_eq!(
            within(5000, "echo", ws.next()).await,
            Some(Ok(Message::Text("x".into())))
        );
        match i % 5 {
            // Closed and read to its end.
            0 => {
                ws.close();
                assert_eq!(within(5000, "end", ws.next()).await, None);
            }
            // Dropped with a read outstanding.
            1 => {
                let next = ws.next();
                let _ = futures::poll!(Box::pin(next));
            }
            // Dropped open, nothing outstanding.
            _ => {}
        }
        drop(ws);
    }
    // Dropped sockets close, and their tasks end once the close settles.
    within(5000, "every task to end", async {
        while live_counts() != before {
            sleep(50).await;
        }
    })
    .await;
}
