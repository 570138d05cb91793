//! Bad input is a typed error that says what is allowed, and nothing reaches the network.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use wasm_bindgen_test::*;
use ws_tether::{
    CloseCode, ConnectionEvent, Endpoint, Error, ExponentialBackoff, Message, ReadyState,
    ReconnectingWebSocket, WebSocket,
};

#[wasm_bindgen_test]
async fn urls_the_browser_rejects_are_invalid_url_at_once() {
    for url in ["ws://[::1", "ws://127.0.0.1:99999/", "ws://host:port/"] {
        let err = WebSocket::builder(url).open().unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
        assert!(err.is_invalid_input());
        // The reconnecting socket too: an error when built, not retries forever.
        let err = ReconnectingWebSocket::builder(url).open().unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
    }
}

#[wasm_bindgen_test]
async fn a_url_the_browser_refuses_gets_a_reason_naming_the_wrong_part() {
    for (url, part) in [
        ("ws://", "host"),
        ("ws://127.0.0.1:99999/", "port"),
        ("http://not a url", "whitespace"),
    ] {
        match WebSocket::builder(url).open().unwrap_err() {
            Error::InvalidUrl { reason, .. } => assert!(reason.contains(part), "{url}: {reason}"),
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }
    // From a URL provider, the failed attempt's reason says it too.
    let ws = ReconnectingWebSocket::builder("ws://unused.invalid/")
        .url_provider(|| async { Ok::<_, String>(Endpoint::new("http://not a url")) })
        .backoff(
            ExponentialBackoff::new()
                .min(Duration::from_secs(60))
                .max(Duration::from_secs(60)),
        )
        .open()
        .unwrap();
    let mut events = ws.events();
    let ev = next_event(&mut events, 5000, "the failed attempt", |e| {
        matches!(e, ConnectionEvent::Reconnecting { .. })
    })
    .await;
    let ConnectionEvent::Reconnecting { last_close, .. } = ev else {
        unreachable!()
    };
    assert!(
        last_close.close.reason.contains("whitespace"),
        "{last_close:?}"
    );
    ws.close();
}

#[wasm_bindgen_test]
async fn a_url_with_a_fragment_is_rejected_before_the_browser_throws() {
    let err = WebSocket::connect(ws_url("/echo#x")).await.unwrap_err();
    match err {
        Error::InvalidUrl { reason, .. } => assert!(reason.contains("fragment")),
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn a_wrong_scheme_names_the_scheme_and_the_allowed_ones() {
    let err = WebSocket::connect(format!("ftp://{}/echo", server()))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidScheme {
            scheme: "ftp".into()
        }
    );
    assert!(err.to_string().contains("\"ws\" and \"wss\""));
}

#[wasm_bindgen_test]
async fn http_urls_connect_and_relative_urls_resolve_as_in_the_browser() {
    let mut ws = within(5000, "connect", WebSocket::connect(http_url("/echo")))
        .await
        .unwrap();
    assert_eq!(ws.url(), ws_url("/echo"));
    ws.send(Message::Text("hi".into())).await.unwrap();
    let echo = within(5000, "echo", ws.next()).await;
    assert_eq!(echo, Some(Ok(Message::Text("hi".into()))));
    ws.close();
    // Relative to the test page (served by the test runner, not the test server).
    let host = web_sys::window().unwrap().location().host().unwrap();
    let ws = WebSocket::builder("/echo?x=1").open().unwrap();
    assert_eq!(ws.url(), format!("ws://{host}/echo?x=1"));
    ws.close();
}

#[wasm_bindgen_test]
async fn duplicate_subprotocols_are_rejected() {
    let err = WebSocket::builder(ws_url("/protocols"))
        .protocols(["chat", "chat"])
        .connect()
        .await
        .unwrap_err();
    match err {
        Error::InvalidProtocol { protocol, reason } => {
            assert_eq!(protocol, "chat");
            assert!(reason.contains("more than once"));
        }
        other => panic!("expected InvalidProtocol, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn subprotocols_with_separators_or_empty_are_rejected() {
    for bad in ["a b", "a,b", ""] {
        let err = WebSocket::builder(ws_url("/protocols"))
            .protocol(bad)
            .open()
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidProtocol { .. }),
            "{bad:?}: {err:?}"
        );
    }
}

#[wasm_bindgen_test]
fn reserved_and_out_of_range_close_codes_are_rejected() {
    for code in [999, 1001, 1004, 1005, 1006, 2999, 5000] {
        assert_eq!(CloseCode::new(code), Err(Error::InvalidCloseCode { code }));
    }
    assert!(CloseCode::new(1000).is_ok() && CloseCode::new(4999).is_ok());
}

#[wasm_bindgen_test]
async fn a_124_byte_reason_is_rejected_and_the_socket_stays_open() {
    let id = unique_id("reason");
    let mut ws = WebSocket::connect(ws_url(&format!("/echo?id={id}")))
        .await
        .unwrap();
    let err = ws
        .close_with(CloseCode::NORMAL, &"r".repeat(124))
        .unwrap_err();
    assert_eq!(err, Error::CloseReasonTooLong { len: 124 });
    let handle = ws.close_handle();
    assert_eq!(
        handle.close_with(CloseCode::NORMAL, &"r".repeat(124)),
        Err(Error::CloseReasonTooLong { len: 124 })
    );
    assert_eq!(ws.ready_state(), ReadyState::Open);
    ws.send(Message::Text("still here".into())).await.unwrap();
    let echo = within(5000, "echo", ws.next()).await;
    assert_eq!(echo, Some(Ok(Message::Text("still here".into()))));
    // 123 bytes is the limit and is accepted, and the server sees it.
    ws.close_with(CloseCode::new(4123).unwrap(), &"r".repeat(123))
        .unwrap();
    let info = within(5000, "close", ws.closed()).await;
    assert_eq!(
        (info.code, info.reason.len(), info.was_clean),
        (4123, 123, true)
    );
}

#[wasm_bindgen_test]
fn a_zero_high_water_mark_names_the_option() {
    let err = WebSocket::builder(ws_url("/echo"))
        .high_water_mark(0)
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOption {
            field: "high_water_mark",
            ..
        }
    ));
    assert!(err.to_string().contains("high_water_mark"));
}
