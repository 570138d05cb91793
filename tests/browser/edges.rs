//! The reconnecting socket at its edges, each once a defect: losses while offline, a close
//! while the URL provider is pending, the stream after giving up, the Sink without replay,
//! timers longer than a browser keeps, and policy functions that call the socket.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    ClosePolicy, ConnectionEvent as Ev, ConnectionStatus, Endpoint, Error, ExponentialBackoff,
    Message, ReadyState, ReconnectingWebSocket, StopReason,
};

const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

fn dispatch(kind: &str) {
    let window = web_sys::window().unwrap();
    window
        .dispatch_event(&web_sys::Event::new(kind).unwrap())
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_connection_lost_while_offline_reports_its_close() {
    let id = unique_id("edge-offline");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/drop?after=1&id={id}")))
        .open()
        .unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    dispatch("offline");
    let _ = ws.send(text("bye")).unwrap();
    let ev = next_event(&mut events, 5000, "the loss", |e| {
        matches!(e, Ev::WaitingForNetwork { .. })
    })
    .await;
    dispatch("online");
    let Ev::WaitingForNetwork {
        last_close: Some(lost),
    } = ev
    else {
        panic!("no close with the loss: {ev:?}")
    };
    assert_eq!((lost.close.code, lost.was_open), (1006, true));
    ws.close();
}

#[wasm_bindgen_test]
async fn close_while_the_url_provider_is_pending_closes_at_once() {
    let ws = ReconnectingWebSocket::builder("ws://unused.invalid/")
        .url_provider(futures::future::pending::<Result<Endpoint, String>>)
        .open()
        .unwrap();
    let mut events = ws.events();
    ws.close();
    assert_eq!(ws.ready_state(), ReadyState::Closed);
    let ev = next_event(&mut events, 1000, "closed", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    assert!(
        matches!(
            ev,
            Ev::Closed {
                reason: StopReason::UserClosed,
                close: None,
                ..
            }
        ),
        "{ev:?}"
    );
}

#[wasm_bindgen_test]
async fn the_stream_stays_ended_after_giving_up_until_reconnect() {
    use futures::stream::FusedStream;
    let id = unique_id("edge-fused");
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let (refuse, echo) = (
        ws_url(&format!("/close?code=4401&id={id}")),
        ws_url(&format!("/echo?id={id}")),
    );
    let mut ws = ReconnectingWebSocket::builder("ws://unused.invalid/")
        .url_provider(move || {
            counter.set(counter.get() + 1);
            let url = if counter.get() == 1 { &refuse } else { &echo };
            futures::future::ready(Ok::<_, String>(Endpoint::new(url.clone())))
        })
        .open()
        .unwrap();
    // 4401: the default policy stops.
    assert_eq!(within(5000, "end", ws.next()).await, None);
    assert!(ws.is_terminated());
    assert_eq!(within(1000, "still ended", ws.next()).await, None);
    ws.reconnect();
    assert!(!ws.is_terminated());
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    let _ = ws.send(text("again")).unwrap();
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("again")));
    assert_eq!(calls.get(), 2);
    ws.close();
}

#[wasm_bindgen_test]
async fn without_replay_the_sink_waits_for_open_and_loses_nothing() {
    let id = unique_id("edge-noreplay");
    let mut ws = ReconnectingWebSocket::builder(ws_url(&format!("/echo?id={id}")))
        .replay(false)
        .open()
        .unwrap();
    assert_eq!(ws.ready_state(), ReadyState::Connecting);
    within(5000, "sink send", SinkExt::send(&mut ws, text("first")))
        .await
        .unwrap();
    assert_eq!(within(5000, "echo", ws.next()).await, Some(text("first")));
    ws.close();
}

#[wasm_bindgen_test]
async fn timers_longer_than_the_browser_keeps_do_not_fire_at_once() {
    // An attempt that never opens, with a 30-day connect timeout: it must still be waiting.
    let ws = ReconnectingWebSocket::builder("ws://unused.invalid/")
        .url_provider(futures::future::pending::<Result<Endpoint, String>>)
        .connect_timeout(MONTH)
        .open()
        .unwrap();
    // A 30-day backoff: one loss, then no second dial.
    let id = unique_id("edge-month");
    let retrying = ReconnectingWebSocket::builder(ws_url(&format!("/close?code=4000&id={id}")))
        .backoff(ExponentialBackoff::new().min(MONTH).max(MONTH))
        .open()
        .unwrap();
    sleep(1500).await;
    assert_eq!(ws.status(), ConnectionStatus::Connecting { attempt: 0 });
    assert!(
        matches!(retrying.status(), ConnectionStatus::Reconnecting { delay, .. } if delay == MONTH),
        "{:?}",
        retrying.status()
    );
    assert_eq!(stats(&id).await["opened"], 1);
    ws.close();
    retrying.close();
}

#[wasm_bindgen_test]
async fn a_policy_function_may_read_the_socket_and_close_it() {
    let id = unique_id("edge-policy");
    let slot: Rc<RefCell<Option<Rc<ReconnectingWebSocket>>>> = Rc::default();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (inner, log) = (slot.clone(), seen.clone());
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/close?code=4000&id={id}")))
        .close_policy(ClosePolicy::custom(move |d| {
            let guard = inner.borrow();
            let ws = guard.as_ref().expect("the socket");
            log.borrow_mut().push(format!(
                "{} attempt {} {:?} send {:?}",
                d.close.code,
                ws.attempt(),
                ws.ready_state(),
                ws.send(Message::Text("from the policy".into())),
            ));
            ws.close();
            true
        }))
        .open()
        .map(Rc::new)
        .unwrap();
    *slot.borrow_mut() = Some(ws.clone());
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "closed", |e| {
        matches!(e, Ev::Closed { .. })
    })
    .await;
    assert!(
        matches!(
            ev,
            Ev::Closed {
                reason: StopReason::UserClosed,
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(
        seen.borrow().as_slice(),
        [format!(
            "4000 attempt 0 Open send {:?}",
            Err::<(), _>(Error::InsidePolicy)
        )]
    );
    slot.borrow_mut().take();
}
