//! Stats, control routes and limits.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn stats_per_id_keep_message_order() {
    let addr = start_default().await;
    let mut c = connect(addr, "/echo?id=order").await;
    send_text(&mut c, "a").await;
    assert_eq!(next_text(&mut c).await, "a");
    c.send(Message::binary(vec![9u8; 3])).await.unwrap();
    next_msg(&mut c).await;
    send_text(&mut c, "c").await;
    assert_eq!(next_text(&mut c).await, "c");
    let mut other = connect(addr, "/close?after=1&id=other").await;
    send_text(&mut other, "elsewhere").await;
    assert_eq!(next_text(&mut other).await, "elsewhere");

    let s = get_json(addr, "/stats?id=order").await;
    assert_eq!(
        s,
        json!({"id":"order","opened":1,"open":1,"received":3,
               "messages":["a","<binary 3 bytes>","c"],"flooded":0,"sessions":0,"ended":0,"dials":[]})
    );
    assert_eq!(
        get_json(addr, "/stats?id=unknown").await,
        json!({"id":"unknown","opened":0,"open":0,"received":0,"messages":[],"flooded":0,"sessions":0,"ended":0,"dials":[]})
    );
    let g = get_json(addr, "/stats").await;
    assert_eq!(g["received"], 4);
    assert_eq!(
        g["routes"]["/echo"],
        json!({"opened":1,"open":1,"received":3})
    );
    assert_eq!(g["routes"]["/close"]["received"], 1);
    assert_eq!(
        g["routes"]["/flood"],
        json!({"opened":0,"open":0,"received":0})
    );

    // A second connection with the same id adds to the same entry.
    let mut again = connect(addr, "/echo?id=order").await;
    send_text(&mut again, "d").await;
    assert_eq!(next_text(&mut again).await, "d");
    let s = get_json(addr, "/stats?id=order").await;
    assert_eq!(s["opened"], 2);
    assert_eq!(s["messages"], json!(["a", "<binary 3 bytes>", "c", "d"]));

    // Closing is reflected in `open`.
    c.close(None).await.unwrap();
    wait_json(addr, "/stats?id=order", |v| v["open"] == 1).await;

    // Reset one id, then all ids.
    assert_eq!(
        get_json(addr, "/control/reset?id=order").await["reset"],
        "order"
    );
    let s = get_json(addr, "/stats?id=order").await;
    assert_eq!(s["received"], 0);
    assert_eq!(s["messages"], json!([]));
    assert_eq!(s["open"], 1, "still-open connections stay counted");
    assert_eq!(get_json(addr, "/stats?id=other").await["received"], 1);
    get_json(addr, "/control/reset").await;
    assert_eq!(get_json(addr, "/stats?id=other").await["received"], 0);
    // Global stats are not reset.
    assert_eq!(get_json(addr, "/stats").await["received"], 5);
}

#[tokio::test]
async fn mute_pings_leaves_heartbeats_unanswered() {
    let addr = start_default().await;
    let mut c = connect(addr, "/echo").await;
    assert_eq!(
        get_json(addr, "/control/mute-pings?ms=60000").await,
        json!({"muted_ms": 60000})
    );
    send_text(&mut c, "\u{1}ping-muted").await;
    send_text(&mut c, "data").await;
    // Messages arrive in order, so a pong would have come before the echo.
    assert_eq!(next_text(&mut c).await, "data");
    assert_eq!(get_json(addr, "/stats").await["received"], 1);

    get_json(addr, "/control/mute-pings?ms=0").await;
    send_text(&mut c, "\u{1}ping-live").await;
    assert_eq!(next_text(&mut c).await, "\u{1}pong-live");

    // A short window expires by itself.
    get_json(addr, "/control/mute-pings?ms=100").await;
    within("mute window expiry", async {
        loop {
            send_text(&mut c, "\u{1}ping-x").await;
            send_text(&mut c, "marker").await;
            let first = next_text(&mut c).await;
            if first == "\u{1}pong-x" {
                assert_eq!(next_text(&mut c).await, "marker");
                break;
            }
            assert_eq!(first, "marker");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn drop_all_drops_every_connection_without_close_frame() {
    let addr = start_default().await;
    let mut a = connect(addr, "/echo").await;
    let mut b = connect(addr, "/room").await;
    let mut s = connect(addr, "/silent?hold=600").await;
    send_text(&mut a, "x").await;
    assert_eq!(next_text(&mut a).await, "x");
    wait_json(addr, "/stats", |v| v["open"] == 3).await;

    let resp = http(addr, "POST", "/control/drop-all").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"dropped": 3}));
    for c in [&mut a, &mut b, &mut s] {
        assert_dropped_without_close(c).await;
    }
    wait_json(addr, "/stats", |v| v["open"] == 0).await;
    assert_eq!(
        get_json(addr, "/control/drop-all").await,
        json!({"dropped": 0})
    );

    // New connections work normally afterwards.
    let mut c = connect(addr, "/echo").await;
    send_text(&mut c, "y").await;
    assert_eq!(next_text(&mut c).await, "y");
}

#[tokio::test]
async fn drop_all_with_an_id_drops_only_that_ids_connections() {
    let addr = start_default().await;
    let mut mine = connect(addr, "/room?id=tab-1").await;
    let mut other = connect(addr, "/room?id=tab-2").await;
    wait_json(addr, "/stats", |v| v["open"] == 2).await;
    assert_eq!(
        get_json(addr, "/control/drop-all?id=tab-1").await,
        json!({"dropped": 1})
    );
    assert_dropped_without_close(&mut mine).await;
    wait_json(addr, "/stats", |v| v["open"] == 1).await;
    // The other member is untouched and still in the room.
    send_text(&mut other, "still here").await;
    assert_eq!(next_text(&mut other).await, "still here");
}

#[tokio::test]
async fn refuse_rejects_handshakes_with_503_until_stopped_or_expired() {
    let addr = start_default().await;
    assert_eq!(
        get_json(addr, "/control/refuse?ms=60000").await,
        json!({"refusing_ms": 60000})
    );
    let err = try_connect(addr, "/echo").await.unwrap_err();
    assert_eq!(refused_status(&err), 503);
    let err = try_connect(addr, "/room").await.unwrap_err();
    assert_eq!(refused_status(&err), 503);
    let stats = get_json(addr, "/stats").await;
    assert_eq!(stats["refused"], 2);
    assert_eq!(stats["opened"], 0);

    get_json(addr, "/control/refuse?ms=0").await;
    let mut c = connect(addr, "/echo").await;
    send_text(&mut c, "back").await;
    assert_eq!(next_text(&mut c).await, "back");

    // A short window ends by itself.
    get_json(addr, "/control/refuse?ms=150").await;
    within("refuse window expiry", async {
        while try_connect(addr, "/echo").await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;

    let bad = http(addr, "GET", "/control/refuse?ms=soon").await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("ms"));
}

#[tokio::test]
async fn max_connections_refuses_with_503() {
    let addr = start(Config {
        max_connections: 2,
        ..Config::default()
    })
    .await;
    let mut a = connect(addr, "/echo").await;
    let _b = connect(addr, "/silent?hold=600").await;
    let err = try_connect(addr, "/echo").await.unwrap_err();
    assert_eq!(refused_status(&err), 503);
    let stats = get_json(addr, "/stats").await;
    assert_eq!(
        (stats["open"].clone(), stats["refused"].clone()),
        (json!(2), json!(1))
    );

    a.close(None).await.unwrap();
    wait_json(addr, "/stats", |v| v["open"] == 1).await;
    let mut c = connect(addr, "/echo").await;
    send_text(&mut c, "fits").await;
    assert_eq!(next_text(&mut c).await, "fits");
}

#[tokio::test]
async fn oversized_message_gets_close_1009() {
    let addr = start(Config {
        max_message_size: 1024,
        ..Config::default()
    })
    .await;
    let mut c = connect(addr, "/echo?id=big").await;
    let exact = "a".repeat(1024);
    send_text(&mut c, &exact).await;
    assert_eq!(next_text(&mut c).await, exact);

    c.send(Message::binary(vec![0u8; 1025])).await.unwrap();
    match next_msg(&mut c).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Size);
            assert_eq!(u16::from(frame.code), 1009);
            assert_eq!(frame.reason.as_str(), "message too big");
        }
        other => panic!("expected close 1009, got {other:?}"),
    }
    assert!(matches!(next(&mut c).await, None | Some(Err(_))));
    let s = get_json(addr, "/stats?id=big").await;
    assert_eq!(s["received"], 1, "the oversized message is not counted");
}

#[tokio::test]
async fn far_oversized_frame_still_gets_close_1009() {
    let addr = start(Config {
        max_message_size: 1024,
        ..Config::default()
    })
    .await;
    let mut c = connect(addr, "/echo").await;
    // Larger than the server's own tungstenite limit (limit + 1 MiB).
    let payload = vec![7u8; 3 * 1024 * 1024];
    within("send huge", c.send(Message::binary(payload)))
        .await
        .unwrap();
    match next_msg(&mut c).await {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 1009);
            assert_eq!(frame.reason.as_str(), "message too big");
        }
        other => panic!("expected close 1009, got {other:?}"),
    }
}
