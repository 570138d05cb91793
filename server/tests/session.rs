//! The protocol against a real axum server with the in-memory store, driven by a
//! hand-written client (tokio-tungstenite).

mod common;

use std::time::Duration;

use common::{text, until_connected, within, Client, Got, Server};
use futures_util::{FutureExt as _, Sink as _, SinkExt as _};
use tokio_tungstenite::tungstenite::Message as Frame;
use ws_tether_server::{Config, Error, Sessions};

async fn server(config: Config) -> Server {
    Server::start(Sessions::new(config).unwrap()).await
}

#[tokio::test]
async fn a_new_session_numbers_and_acknowledges_messages() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    assert_eq!(client.protocol, None, "negotiated by the first frames");
    assert_eq!(id.len(), 32);
    assert_eq!(server.started().await, (id.clone(), false));
    client.text("a").await;
    client.text("b").await;
    assert_eq!(server.message().await, (1, "a".into()));
    assert_eq!(server.message().await, (2, "b".into()));
    client.until_ack(2).await;

    let mut sink = server.take_sink(&id);
    within("send", sink.send(text("s1"))).await.unwrap();
    within(
        "send",
        sink.send(ws_tether_server::Message::Binary(vec![7])),
    )
    .await
    .unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    assert_eq!(client.recv_skipping_acks().await, Got::Binary(vec![7]));
    assert_eq!(sink.next_seq(), 3);
}

#[tokio::test]
async fn a_ping_gets_an_ack_at_once_and_64_messages_get_one_without_the_delay() {
    // An hour-long ack delay: any ack that arrives came from a ping or from the 64 rule.
    let config = Config::default().ack_delay(Duration::from_secs(3600));
    let mut server = server(config).await;
    let (mut client, _) = Client::hello(&server.url()).await;
    server.started().await;
    client.text("one").await;
    assert_eq!(server.message().await, (1, "one".into()));
    // Every ping is answered at once; "one" is covered once the application asked for the
    // next message, which it does right after taking it.
    within("ack 1", async {
        loop {
            client.control("ping 0").await;
            match client.recv().await {
                Got::Control(ack) if ack == "ack 1" => break,
                Got::Control(ack) if ack == "ack 0" => continue,
                other => panic!("expected an ack, got {other:?}"),
            }
        }
    })
    .await;
    for i in 2..=65 {
        client.text(&i.to_string()).await;
    }
    assert_eq!(client.recv().await, Got::Control("ack 65".into()));
    for seq in 2..=65 {
        assert_eq!(server.message().await, (seq, seq.to_string()));
    }
}

#[tokio::test]
async fn resume_after_a_dropped_connection_replays_both_ways_without_duplicates() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);

    client.text("c1").await;
    client.until_ack(1).await;
    assert_eq!(server.message().await, (1, "c1".into()));
    sink.send(text("s1")).await.unwrap();
    sink.send(text("s2")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    // The client sends c2 and loses the connection before any ack of it; it got s1 only
    // (s2 may be in flight: it counts as not received).
    client.text("c2").await;
    client.drop_connection();
    until_connected(&sink, false).await;
    // Sent while disconnected: kept for the replay.
    sink.send(text("s3")).await.unwrap();

    let (mut client, welcome) = Client::resume(&server.url(), &id, 1).await;
    assert_eq!(welcome[0], "resumed");
    assert_eq!(welcome[1], id);
    let server_recv: u64 = welcome[2].parse().unwrap();
    assert_eq!(
        welcome[3], "2",
        "the server replays from the client's recv + 1"
    );
    // The client sends again what the server did not record.
    assert!(server_recv == 1 || server_recv == 2, "{welcome:?}");
    if server_recv < 2 {
        client.text("c2").await;
    }
    client.text("c3").await;
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s2".into()));
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s3".into()));
    client.until_ack(3).await;
    assert_eq!(server.message().await, (2, "c2".into()));
    assert_eq!(server.message().await, (3, "c3".into()));
    assert!(server.no_more_seen(), "a duplicate or a second session");
    // s4 continues the numbering on the new connection.
    sink.send(text("s4")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s4".into()));
}

#[tokio::test]
async fn an_unknown_session_is_lost_with_an_unknown_count() {
    let mut server = server(Config::default()).await;
    let (_client, welcome) = Client::resume(&server.url(), "no-such-session", 5).await;
    assert_eq!(welcome[0], "lost");
    assert_eq!(welcome[1], "unknown");
    assert_eq!(welcome[3], "?");
    // The new session is live.
    assert_eq!(server.started().await, (welcome[2].clone(), false));
}

#[tokio::test]
async fn an_expired_session_is_lost_with_the_count_of_unreceived_messages() {
    let mut server = server(Config::default().ttl(Duration::from_millis(200))).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    for s in ["s1", "s2", "s3"] {
        sink.send(text(s)).await.unwrap();
    }
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    client.drop_connection();
    assert!(matches!(server.ended().await, Some(Error::Expired)));
    assert!(matches!(sink.send(text("late")).await, Err(Error::Expired)));

    let (_client, welcome) = Client::resume(&server.url(), &id, 1).await;
    assert_eq!(welcome[..2], ["lost", "expired"]);
    assert_ne!(welcome[2], id, "a new session");
    assert_eq!(welcome[3], "2", "s2 and s3 never arrive");
}

#[tokio::test]
async fn overflow_while_disconnected_loses_the_session_with_a_count() {
    let mut server = server(Config::default().max_buffer_bytes(10)).await;
    let (client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    client.drop_connection();
    until_connected(&sink, false).await;
    sink.send(text("12345")).await.unwrap();
    sink.send(text("67890")).await.unwrap();
    // Sends that can't wait (no `poll_ready`) past the bound: the first waits, the second
    // can't.
    let mut forced = std::pin::Pin::new(&mut sink);
    forced.as_mut().start_send(text("x")).unwrap();
    assert!(matches!(
        forced.start_send(text("y")),
        Err(Error::Overflow { unsent: 2 })
    ));
    assert!(matches!(
        server.ended().await,
        Some(Error::Overflow { unsent: 2 })
    ));
    let (_client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "overflow"]);
    assert_eq!(welcome[3], "2");
}

#[tokio::test]
async fn a_full_buffer_makes_the_sink_wait_while_connected() {
    let mut server = server(Config::default().max_buffer_bytes(10)).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    assert!(matches!(
        sink.send(text("12345678901")).await,
        Err(Error::TooLarge { len: 11, max: 10 })
    ));
    sink.send(text("12345")).await.unwrap();
    sink.send(text("67890")).await.unwrap();
    let mut third = Box::pin(sink.send(text("x")));
    // Nothing is acknowledged: the buffer is full, so the send cannot complete.
    assert!((&mut third).now_or_never().is_none());
    assert_eq!(client.recv().await, Got::Text("12345".into()));
    client.control("ack 1").await;
    within("the waiting send", third).await.unwrap();
    assert_eq!(client.recv().await, Got::Text("67890".into()));
    assert_eq!(client.recv().await, Got::Text("x".into()));
}

#[tokio::test]
async fn the_clients_end_ends_the_session() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    client.text("last").await;
    client.control("end").await;
    assert_eq!(server.message().await, (1, "last".into()));
    assert!(server.ended().await.is_none(), "a clean end");
    assert!(matches!(
        client.recv_skipping_acks().await,
        Got::Close(1000, _)
    ));
    assert!(matches!(sink.send(text("x")).await, Err(Error::Ended)));
    // The session's task is gone.
    until_no_sessions(&server.sessions).await;
    let (_client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "unknown"]);
}

async fn until_no_sessions(sessions: &Sessions) {
    within("the session's task to end", async {
        while sessions.running() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_the_session_stays() {
    let mut server = server(Config::default().idle_timeout(Duration::from_millis(100))).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    // The server asks for proof of life halfway; a client that never answers is cut.
    assert_eq!(client.recv().await, Got::Control("ping 0".into()));
    assert_eq!(client.recv().await, Got::Close(1001, "idle".into()));
    let (_client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
}

#[tokio::test]
async fn closing_the_sink_sends_end_and_closes_with_1000() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    sink.send(text("bye")).await.unwrap();
    within("close", sink.close()).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("bye".into()));
    assert_eq!(
        client.recv_skipping_acks().await,
        Got::Control("end".into())
    );
    assert!(matches!(client.recv().await, Got::Close(1000, _)));
    assert!(server.ended().await.is_none());
}

#[tokio::test]
async fn protocol_errors_close_with_1002_and_the_session_survives() {
    let mut server = server(Config::default()).await;
    let url = server.url();
    let (mut client, id) = Client::hello(&url).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    sink.send(text("s1")).await.unwrap();

    let bad_frames: Vec<Frame> = vec![
        Frame::Binary(vec![2, 1].into()),
        Frame::Binary(Vec::new().into()),
        Frame::Binary(b"\x01launch".to_vec().into()),
        Frame::Binary(b"\x01ack 01".to_vec().into()),
        Frame::Binary(b"\x01ack 9".to_vec().into()),
        Frame::Binary(b"\x01hello".to_vec().into()),
    ];
    for bad in bad_frames {
        client.raw(bad.clone()).await;
        match client.recv_skipping_acks().await {
            Got::Text(t) if t == "s1" => match client.recv_skipping_acks().await {
                Got::Close(1002, _) => {}
                other => panic!("{bad:?}: {other:?}"),
            },
            Got::Close(1002, _) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
        let (resumed, welcome) = Client::resume(&url, &id, 1).await;
        assert_eq!(welcome[0], "resumed", "after {bad:?}");
        client = resumed;
    }
    assert!(server.no_more_seen(), "the session went on");

    // Before the welcome: data, or a malformed first frame.
    let mut early = Client::connect(&url).await;
    early.text("data first").await;
    assert!(matches!(early.recv().await, Got::Close(1002, _)));
    let mut early = Client::connect(&url).await;
    early.control("resume bad/id 0").await;
    assert!(matches!(early.recv().await, Got::Close(1002, _)));
    // Resuming beyond what the server sent: not a protocol error the client would retry,
    // the session is lost (tests/hardening.rs).
    let mut greedy = Client::connect(&url).await;
    greedy.control(&format!("resume {id} 7")).await;
    assert!(
        matches!(greedy.recv().await, Got::Control(w) if w.starts_with("welcome lost diverged "))
    );
}

#[tokio::test]
async fn the_first_frames_negotiate_not_a_subprotocol() {
    // No subprotocol offered, none selected: `hello` alone starts the session.
    let server = server(Config::default()).await;
    let mut client = Client::connect_offering(&server.url(), None).await;
    assert_eq!(client.protocol, None);
    client.control("hello").await;
    assert!(matches!(client.recv().await, Got::Control(ref w) if w.starts_with("welcome new ")));
}

#[tokio::test]
async fn a_resume_takes_over_a_connection_still_open() {
    let mut server = server(Config::default()).await;
    let url = server.url();
    let (mut old, id) = Client::hello(&url).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    old.text("c1").await;
    old.until_ack(1).await;

    let (mut new, welcome) = Client::resume(&url, &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "1", "1"]);
    assert_eq!(old.recv().await, Got::Close(4000, "taken over".into()));
    sink.send(text("s1")).await.unwrap();
    assert_eq!(new.recv_skipping_acks().await, Got::Text("s1".into()));
    new.text("c2").await;
    assert_eq!(server.message().await, (1, "c1".into()));
    assert_eq!(server.message().await, (2, "c2".into()));
    assert!(server.no_more_seen(), "on_session ran once");
}

#[tokio::test]
async fn close_connections_keeps_the_sessions() {
    let mut server = server(Config::default()).await;
    let url = server.url();
    let (mut client, id) = Client::hello(&url).await;
    server.started().await;
    within("close", server.sessions.close_connections(1001, "restart")).await;
    assert_eq!(client.recv().await, Got::Close(1001, "restart".into()));
    assert_eq!(server.sessions.running(), 1);
    let (_client, welcome) = Client::resume(&url, &id, 0).await;
    assert_eq!(welcome[0], "resumed");
}

#[tokio::test]
async fn dropping_both_halves_ends_the_session() {
    use axum::extract::{State, WebSocketUpgrade};
    use axum::routing::get;
    let sessions = Sessions::new(Config::default()).unwrap();
    let router = axum::Router::new()
        .route(
            "/ws",
            get(
                |ws: WebSocketUpgrade, State(sessions): State<Sessions>| async move {
                    // An application that gives up on the session at once.
                    sessions.upgrade(ws, |session| async move { drop(session) })
                },
            ),
        )
        .with_state(sessions.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (mut client, _) = Client::hello(&url).await;
    assert_eq!(client.recv().await, Got::Control("end".into()));
    assert!(matches!(client.recv().await, Got::Close(1000, _)));
    until_no_sessions(&sessions).await;
}

/// Pings until the answer is `ack n` (every ping is answered at once; earlier answers are
/// smaller).
async fn ping_until_ack(client: &mut Client, n: u64) {
    within("the ack", async {
        loop {
            client.control("ping 0").await;
            match client.recv().await {
                Got::Control(ack) if ack == format!("ack {n}") => return,
                Got::Control(ack) if ack.starts_with("ack ") => {
                    let acked: u64 = ack[4..].parse().unwrap();
                    assert!(acked < n, "{ack} while waiting for ack {n}");
                }
                other => panic!("expected an ack, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_message_counts_as_received_once_the_application_asks_for_the_next() {
    // Acks wait an hour: any ack that arrives answers a ping.
    let config = Config::default().ack_delay(Duration::from_secs(3600));
    let mut server = Server::start_gated(Sessions::new(config).unwrap()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let sink = server.take_sink(&id);
    client.text("c1").await;
    assert_eq!(server.message().await, (1, "c1".into()));
    // Handed over, not finished with: neither an ack nor a welcome covers it.
    client.control("ping 0").await;
    assert_eq!(client.recv().await, Got::Control("ack 0".into()));
    client.drop_connection();
    until_connected(&sink, false).await;
    let (mut client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    // The client sends it again; the application, which has it, does not get it twice.
    client.text("c1").await;
    client.text("c2").await;
    client.control("ping 0").await;
    assert_eq!(client.recv().await, Got::Control("ack 0".into()));
    server.finish_one();
    assert_eq!(server.message().await, (2, "c2".into()));
    ping_until_ack(&mut client, 1).await;
    server.finish_one();
    ping_until_ack(&mut client, 2).await;
    assert!(server.no_more_seen(), "a duplicate");
}

#[tokio::test]
async fn a_dropped_stream_acknowledges_what_it_had_and_what_comes() {
    use axum::extract::{State, WebSocketUpgrade};
    use axum::routing::get;
    use futures_util::StreamExt as _;
    let sessions = Sessions::new(Config::default()).unwrap();
    let router = axum::Router::new()
        .route(
            "/ws",
            get(
                |ws: WebSocketUpgrade, State(sessions): State<Sessions>| async move {
                    // Takes one message, then drops the stream without asking for the
                    // next; keeps the sink (the session goes on).
                    sessions.upgrade(ws, |session| async move {
                        let (_sink, mut stream) = session.split();
                        let _first = stream.next().await;
                        drop(stream);
                        std::future::pending::<()>().await;
                    })
                },
            ),
        )
        .with_state(sessions.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (mut client, _) = Client::hello(&url).await;
    for n in ["c1", "c2", "c3"] {
        client.text(n).await;
    }
    client.until_ack(3).await;
}
