//! The server under the load and the clients it meets in the wild: a busy application,
//! clients past their limits, blips under backpressure, a store behind the client. Each
//! test is a finding of the outside review (issue "Nothing lost under real load").

mod common;

use std::pin::Pin;
use std::time::Duration;

use common::{text, until_connected, within, Client, Got, Seen, Server};
use futures_util::{FutureExt as _, Sink, SinkExt as _};
use tokio_tungstenite::tungstenite::Message as Frame;
use ws_tether_server::{Config, Error, MemoryStore, Sessions};

async fn server(config: Config) -> Server {
    Server::start(Sessions::new(config).unwrap()).await
}

/// Two server "processes" sharing one MemoryStore, as two processes share a Redis store.
async fn two_processes() -> (Server, Server) {
    let store = MemoryStore::new();
    let a = Sessions::with_store(Config::default(), store.clone()).unwrap();
    let b = Sessions::with_store(Config::default(), store).unwrap();
    (Server::start(a).await, Server::start(b).await)
}

/// Finding 1: the README's echo server with a small replay buffer and a 300-message burst
/// (what a client sends after a reconnect). The application waits on its sink for acks;
/// the socket must still be read (acks, pings) or nothing moves again.
#[tokio::test]
async fn a_busy_application_never_stops_the_socket_being_read() {
    let sessions = Sessions::new(Config::default().max_buffer_bytes(1000)).unwrap();
    let mut server = Server::start_echo(sessions).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;
    // 20 bytes each: 50 fit the replay buffer, 64 more wait in a channel the old code
    // gated its reads on, and the rest sat unread in front of the acks.
    for n in 0..300 {
        client.text(&format!("m{n:019}")).await;
    }
    let mut echoed = 0u64;
    while echoed < 300 {
        match client.recv().await {
            Got::Text(text) => {
                assert_eq!(text, format!("m{echoed:019}"), "in order");
                echoed += 1;
                client.control(&format!("ack {echoed}")).await;
            }
            Got::Control(ack) if ack.starts_with("ack ") => {}
            other => panic!("after {echoed} echoes: {other:?}"),
        }
    }
}

/// Finding 1: a `ping` behind messages the application has not taken is answered at
/// once (spec: "promptly"), with what the application finished (nothing yet).
#[tokio::test]
async fn a_ping_behind_unread_messages_is_answered_at_once() {
    let mut server = Server::start_gated(Sessions::new(Config::default()).unwrap()).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;
    for n in 0..70 {
        client.text(&n.to_string()).await;
    }
    client.control("ping 0").await;
    assert_eq!(
        client.recv_within(Duration::from_secs(2)).await,
        Some(Got::Control("ack 0".into()))
    );
}

/// Finding 6: what waits for the application is bounded in bytes, by the window the
/// welcome announced: a client with more than one message in flight beyond it is closed.
#[tokio::test]
async fn a_client_past_the_receive_window_is_closed_with_1002() {
    let config = Config::default()
        .max_message_bytes(256)
        .max_incoming_bytes(300);
    let mut server = Server::start_gated(Sessions::new(config).unwrap()).await;
    let mut client = Client::connect(&server.url()).await;
    client.control("hello").await;
    match client.recv().await {
        Got::Control(welcome) => assert!(welcome.ends_with(" 300"), "{welcome}"),
        other => panic!("{other:?}"),
    }
    server.started().await;
    client.text(&"a".repeat(250)).await; // alone: fits
    client.text(&"b".repeat(50)).await; // 300 bytes: still within
    client.text("c").await; // 301 bytes in flight
    loop {
        match client.recv().await {
            Got::Control(ack) if ack.starts_with("ack ") => continue,
            Got::Close(code, reason) => {
                assert_eq!((code, reason.as_str()), (1002, "receive window exceeded"));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Finding 2: a send waiting for room while connected keeps waiting across a network
/// blip, and completes once the resumed client acknowledges; the session goes on.
#[tokio::test]
async fn a_send_waiting_for_room_survives_a_blip() {
    let mut server = server(Config::default().max_buffer_bytes(10)).await;
    let (client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    sink.send(text("12345")).await.unwrap();
    sink.send(text("67890")).await.unwrap();
    let mut third = Box::pin(sink.send(text("x")));
    assert!((&mut third).now_or_never().is_none(), "the buffer is full");
    client.drop_connection();
    let waiting = tokio::time::timeout(Duration::from_millis(300), &mut third).await;
    assert!(
        waiting.is_err(),
        "still waiting while disconnected: {waiting:?}"
    );
    let (mut client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    assert_eq!(client.recv().await, Got::Text("12345".into()));
    assert_eq!(client.recv().await, Got::Text("67890".into()));
    client.control("ack 2").await;
    within("the waiting send", third).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("x".into()));
    assert!(server.no_more_seen(), "the session did not end");
}

/// Finding 2 and 11: only a send that cannot wait (`start_send` without `poll_ready`)
/// overflows while disconnected, and the count is of the unacknowledged messages only.
#[tokio::test]
async fn overflow_counts_only_what_the_client_never_acknowledged() {
    let mut server = server(Config::default().max_buffer_bytes(10)).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    sink.send(text("12345")).await.unwrap();
    assert_eq!(client.recv().await, Got::Text("12345".into()));
    client.control("ack 1").await;
    within("the ack", async {
        // The acknowledged message leaves the buffer: 10 more bytes fit.
        sink.send(text("abcde")).await.unwrap();
        sink.send(text("fghij")).await.unwrap();
    })
    .await;
    client.drop_connection();
    until_connected(&sink, false).await;
    // Sends that can't wait (no `poll_ready`) past the bound: the first waits for room,
    // the second can't.
    let mut forced = Pin::new(&mut sink);
    forced.as_mut().start_send(text("x")).unwrap();
    let second = forced.start_send(text("y"));
    assert!(
        matches!(second, Err(Error::Overflow { unsent: 2 })),
        "{second:?}"
    );
    assert!(matches!(
        server.ended().await,
        Some(Error::Overflow { unsent: 2 })
    ));
    let (_client, welcome) = Client::resume(&server.url(), &id, 1).await;
    assert_eq!(welcome[..2], ["lost", "overflow"]);
    assert_eq!(welcome[3], "2", "2 messages the client never got");
}

/// Finding 3: a client ahead of the session (the store lost writes, on this process or
/// another) gets `welcome lost diverged` and a new session, never a 1002 it would retry
/// for ever; the application is told the old session ended.
#[tokio::test]
async fn a_resume_beyond_what_the_session_sent_is_lost_diverged_not_retried() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    sink.send(text("one")).await.unwrap();
    assert_eq!(client.recv().await, Got::Text("one".into()));
    client.drop_connection();
    let (mut client, welcome) = Client::resume(&server.url(), &id, 5).await;
    assert_eq!(welcome[..2], ["lost", "diverged"]);
    assert_ne!(welcome[2], id, "a new session");
    assert_eq!(welcome[3], "?");
    // The old session ends, a new one starts (in either order).
    let mut ended = false;
    let mut started = None;
    for _ in 0..2 {
        match server.seen().await {
            Seen::Ended { id: old, error } => {
                assert_eq!(old, id);
                assert!(matches!(error, Some(Error::Diverged)), "{error:?}");
                ended = true;
            }
            Seen::Started { id: new, .. } => started = Some(new),
            other => panic!("{other:?}"),
        }
    }
    assert!(ended);
    assert_eq!(started.as_deref(), Some(welcome[2].as_str()));
    // Asking again for the old session: it is gone, not a loop.
    client.text("on the new session").await;
    let (_c, again) = Client::resume(&server.url(), &id, 5).await;
    assert_eq!(again[..2], ["lost", "diverged"]);
}

/// Finding 3, across processes: the store's record is behind the client.
#[tokio::test]
async fn a_store_behind_the_client_is_lost_diverged_on_another_process() {
    let (mut a, mut b) = two_processes().await;
    let (client, id) = Client::hello(&a.url()).await;
    a.started().await;
    client.drop_connection();
    until_connected(&a.take_sink(&id), false).await;
    let (_client, welcome) = Client::resume(&b.url(), &id, 3).await;
    assert_eq!(welcome[..2], ["lost", "diverged"]);
    assert_eq!(b.started().await.0, welcome[2]);
}

/// Finding 4: limits on what an unauthenticated client can make the server hold: a
/// control message longer than the spec's bound, and a message over `max_message_bytes`.
#[tokio::test]
async fn oversized_first_frames_are_refused() {
    let config = Config::default()
        .max_message_bytes(64 * 1024)
        .max_incoming_bytes(64 * 1024);
    let mut server = server(config).await;
    let mut client = Client::connect(&server.url()).await;
    let mut long = b"\x01hello".to_vec();
    long.resize(300, b' ');
    client.raw(Frame::Binary(long.into())).await;
    assert_eq!(
        client.recv().await,
        Got::Close(1002, "control message too long".into())
    );
    let mut client = Client::connect(&server.url()).await;
    let mut huge = vec![1u8];
    huge.resize(64 * 1024 + 1, b' ');
    client.raw(Frame::Binary(huge.into())).await;
    assert!(
        matches!(client.recv().await, Got::Close(1009, _) | Got::Gone),
        "over max_message_bytes"
    );
    // The server goes on.
    let (_client, _id) = Client::hello(&server.url()).await;
    assert!(matches!(server.seen().await, Seen::Started { .. }));
}

/// Finding 10: sessions per process are bounded; a `hello` beyond is refused with 1013
/// (the client retries later) and costs nothing.
#[tokio::test]
async fn hellos_beyond_max_sessions_are_refused_with_1013() {
    let mut server = server(Config::default().max_sessions(2)).await;
    let (_a, _) = Client::hello(&server.url()).await;
    let (_b, _) = Client::hello(&server.url()).await;
    server.started().await;
    server.started().await;
    let mut c = Client::connect(&server.url()).await;
    c.control("hello").await;
    assert_eq!(
        c.recv().await,
        Got::Close(1013, "too many sessions; try again later".into())
    );
    assert_eq!(server.sessions.running(), 2);
}

/// Finding 20: the closing handshake is clean: the client's close is answered with the
/// server's, and the session stays for a resume.
#[tokio::test]
async fn a_clients_close_is_answered_and_the_session_stays() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    client
        .raw(Frame::Close(Some(
            tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: 1001u16.into(),
                reason: "".into(),
            },
        )))
        .await;
    assert!(
        matches!(client.recv().await, Got::Close(_, _)),
        "the server's close frame, not a dropped connection"
    );
    let (_client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome[0], "resumed");
}

/// Finding 5: a leaked session id is not a session. Bob presents Alice's id: he gets a new
/// session of his own (`welcome lost unknown`), never her pending message, and his message
/// is not processed as hers; her session goes on untouched.
#[tokio::test]
async fn another_owners_resume_gets_a_new_session_not_hers() {
    let mut server = server(Config::default()).await;
    let alice = format!("{}?owner=alice", server.url());
    let bob = format!("{}?owner=bob", server.url());
    let (alice_client, id) = Client::hello(&alice).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    alice_client.drop_connection();
    until_connected(&sink, false).await;
    sink.send(text("for alice only")).await.unwrap();

    let (mut bob_client, welcome) = Client::resume(&bob, &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "unknown"], "{welcome:?}");
    assert_ne!(welcome[2], id);
    let (bobs, _) = server.started().await;
    assert_eq!(bobs, welcome[2], "a session of bob's own");
    bob_client.text("from bob").await;
    match server.seen().await {
        Seen::Message { id: got, incoming } => {
            assert_eq!(got, bobs, "bob's message is in bob's session");
            assert_eq!(incoming.seq, 1);
        }
        other => panic!("{other:?}"),
    }
    // Only the ack of his own message reaches bob, nothing of alice's.
    while let Some(got) = bob_client.recv_within(Duration::from_millis(300)).await {
        assert_eq!(got, Got::Control("ack 1".into()));
    }

    let (mut alice_client, welcome) = Client::resume(&alice, &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    assert_eq!(
        alice_client.recv().await,
        Got::Text("for alice only".into())
    );
}

/// Finding 5, across processes: the owner is checked by the store's claim too (a session
/// another process runs, or ran), and another owner's attempt does not renew its expiry.
#[tokio::test]
async fn another_owners_claim_from_the_store_is_unknown() {
    let (mut a, mut b) = two_processes().await;
    let (client, id) = Client::hello(&format!("{}?owner=alice", a.url())).await;
    a.started().await;
    client.drop_connection();
    let (_bob, welcome) = Client::resume(&format!("{}?owner=bob", b.url()), &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "unknown"]);
    b.started().await;
    let (_alice, welcome) = Client::resume(&format!("{}?owner=alice", b.url()), &id, 0).await;
    assert_eq!(
        welcome[0], "resumed",
        "alice's own resume works on any process"
    );
}

/// Finding 12: a claim that panics (a store bug) leaves no placeholder behind: later
/// resumes of the id are answered, instead of waiting on it with a core at 100 %.
#[tokio::test]
async fn a_claim_that_panics_leaves_the_id_answerable() {
    let store = common::faults::FaultyStore::new(MemoryStore::new());
    let sessions = Sessions::with_store(Config::default(), store.clone()).unwrap();
    let mut server = Server::start(sessions).await;
    let (client, id) = Client::hello(&server.url()).await;
    server.started().await;
    client.drop_connection();
    let mut other =
        Server::start(Sessions::with_store(Config::default(), store.clone()).unwrap()).await;
    store.panic_next_claim();
    let mut doomed = Client::connect(&other.url()).await;
    doomed.control(&format!("resume {id} 0")).await;
    assert!(matches!(doomed.recv().await, Got::Gone | Got::Close(..)));
    let (_client, welcome) = Client::resume(&other.url(), &id, 0).await;
    assert_eq!(welcome[0], "resumed", "{welcome:?}");
    assert!(matches!(other.seen().await, Seen::Started { .. }));
}

/// Finding 14: a quiet session whose client runs no heartbeat is not cut every idle
/// timeout: the server pings, the client's answer keeps the connection.
#[tokio::test]
async fn a_quiet_client_that_answers_pings_stays_connected() {
    let config = Config::default().idle_timeout(Duration::from_millis(300));
    let mut server = server(config).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let sink = server.take_sink(&id);
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(1200);
    while tokio::time::Instant::now() < until {
        match client.recv_within(Duration::from_millis(100)).await {
            Some(Got::Control(ping)) if ping.starts_with("ping ") => {
                pings += 1;
                client.control("ack 0").await;
            }
            None => {}
            Some(other) => panic!("after {pings} pings: {other:?}"),
        }
    }
    assert!(pings >= 2, "{pings} pings in 4 idle timeouts");
    assert!(sink.is_connected());
}

/// Finding 7: a store that fails for a while (the redis crate's 500 ms reply timeout, a
/// failover) is transient: the connection and the session stay, nothing is acknowledged
/// until recorded, and once the store answers every message arrives once, both ways.
#[tokio::test]
async fn a_store_blip_keeps_the_session_and_loses_nothing() {
    let store = common::faults::FaultyStore::new(MemoryStore::new());
    let sessions = Sessions::with_store(Config::default(), store.clone()).unwrap();
    let mut server = Server::start(sessions).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    store.fail_saves(3);
    client.text("c1").await;
    assert_eq!(server.message().await, (1, "c1".into()));
    client.text("c2").await;
    assert_eq!(server.message().await, (2, "c2".into()));
    within("a send through the blip", sink.send(text("s1")))
        .await
        .unwrap();
    client.control("ping 0").await;
    // Acks never cover what isn't recorded; once the store answers they catch up.
    let mut got = Vec::new();
    within("the catch-up", async {
        loop {
            match client.recv().await {
                Got::Text(t) => got.push(t),
                Got::Control(ack) if ack == "ack 1" || ack == "ack 0" => {}
                Got::Control(ack) if ack.starts_with("ack ") => break,
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    if got.is_empty() {
        assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    } else {
        assert_eq!(got, ["s1"]);
    }
    assert!(sink.is_connected(), "the connection stayed");
    assert!(server.no_more_seen(), "the session did not end");
}

/// Finding 7: a save whose reply was lost (applied, then reported failed) is retried
/// without a gap error: the session goes on and the message is replayed once.
#[tokio::test]
async fn a_save_retried_after_a_lost_reply_is_idempotent() {
    let store = common::faults::FaultyStore::new(MemoryStore::new());
    let sessions = Sessions::with_store(Config::default(), store.clone()).unwrap();
    let mut server = Server::start(sessions).await;
    let (client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    client.drop_connection();
    until_connected(&sink, false).await;
    store.apply_then_fail_saves(1);
    within("the send", sink.send(text("once"))).await.unwrap();
    let (mut client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    assert_eq!(client.recv().await, Got::Text("once".into()));
    client.control("ping 1").await;
    assert_eq!(client.recv().await, Got::Control("ack 0".into()));
    assert!(server.no_more_seen(), "the session did not end");
}

/// Finding 16: after the client's `end`, its clean close means "all processed": the
/// server closes only once the application finished with every message, and forgets the
/// session only then.
#[tokio::test]
async fn the_clients_end_closes_only_once_the_application_finished() {
    let mut server = Server::start_gated(Sessions::new(Config::default()).unwrap()).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;
    client.text("a").await;
    client.text("b").await;
    client.control("end").await;
    // What ws-tether's close() sends: `end`, then its close frame at once.
    client
        .raw(Frame::Close(Some(
            tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: 1000u16.into(),
                reason: "".into(),
            },
        )))
        .await;
    assert_eq!(server.message().await, (1, "a".into()));
    let early = client.recv_within(Duration::from_millis(300)).await;
    assert!(
        !matches!(early, Some(Got::Close(..) | Got::Gone)),
        "closed before the application finished: {early:?}"
    );
    server.finish_one();
    assert_eq!(server.message().await, (2, "b".into()));
    server.finish_one();
    loop {
        match client.recv().await {
            Got::Control(ack) if ack.starts_with("ack ") => continue,
            Got::Close(code, _) => {
                assert_eq!(code, 1000);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(server.ended().await.is_none(), "ended by the client");
}

/// Finding 8: the server ends a session while its client is away (a logout, a kick): the
/// client's resume gets `welcome ended`, the last messages it lacks, then `end`, instead of
/// `welcome lost unknown` and a new session with the final message lost.
#[tokio::test]
async fn a_session_ended_while_the_client_was_away_delivers_its_last_messages() {
    let mut server = server(Config::default()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    client.text("c1").await;
    assert_eq!(server.message().await, (1, "c1".into()));
    client.drop_connection();
    until_connected(&sink, false).await;
    sink.send(text("bye")).await.unwrap();
    within("the end", sink.close()).await.unwrap();
    let (mut client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome, ["ended", &id, "1", "1"]);
    assert_eq!(client.recv().await, Got::Text("bye".into()));
    assert_eq!(client.recv().await, Got::Control("end".into()));
    assert!(matches!(client.recv().await, Got::Close(1000, _)));
    // Delivered: forgotten.
    let (_client, welcome) = Client::resume(&server.url(), &id, 1).await;
    assert_eq!(welcome[..2], ["lost", "unknown"]);
}

/// Issue #21, many nodes: a process whose session was resumed on another releases it at
/// once (its task, its replay buffer; its application is told), not at its time to live.
#[tokio::test]
async fn a_session_resumed_elsewhere_is_released_at_once() {
    let (mut a, mut b) = two_processes().await;
    let (client, id) = Client::hello(&a.url()).await;
    a.started().await;
    client.drop_connection();
    until_connected(&a.take_sink(&id), false).await;
    assert_eq!(a.sessions.running(), 1);
    let (_client, welcome) = Client::resume(&b.url(), &id, 0).await;
    assert_eq!(welcome[0], "resumed");
    b.started().await;
    assert!(matches!(a.ended().await, Some(Error::TakenOver)));
    within("the release", async {
        while a.sessions.running() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(b.sessions.running(), 1);
}

/// Finding 15: a resume taking over a connection the server can't write to (a half-open
/// peer that stopped reading, its buffers full) is welcomed at once, not after the write
/// timeout the old connection's stalled write waits for; the session goes on with it.
#[tokio::test]
async fn a_takeover_of_a_stalled_connection_is_welcomed_at_once() {
    let write_timeout = Duration::from_secs(30);
    let config = Config::default()
        .max_buffer_bytes(64 * 1024 * 1024)
        .handshake_timeout(write_timeout);
    let mut server = server(config).await;
    let (stalled, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    // 24 MiB the stalled client never reads: far more than loopback's socket buffers.
    let chunk = "x".repeat(512 * 1024);
    let sending = tokio::spawn(async move {
        for n in 0..48 {
            sink.send(text(&format!("{n:02}{chunk}"))).await.unwrap();
        }
    });
    // Long enough for the writes to fill the buffers and stall.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = server.url();
    let resumed = tokio::time::timeout(write_timeout / 3, Client::resume(&url, &id, 0));
    let (mut client, welcome) = resumed
        .await
        .expect("the welcome waited for the stalled connection's write timeout");
    assert_eq!(welcome[..2], ["resumed".to_owned(), id.clone()]);
    for n in 0..48 {
        match client.recv_skipping_acks().await {
            Got::Text(text) => assert_eq!(&text[..2], format!("{n:02}"), "in order"),
            other => panic!("message {n}: {other:?}"),
        }
    }
    within("the sends", sending).await.unwrap();
    drop(stalled);
}

/// Finding 15's other half: a connection that takes nothing for the write timeout is
/// dropped (the session stays, for a resume), however much the application has queued.
#[tokio::test]
async fn a_connection_that_takes_nothing_is_dropped_and_the_session_stays() {
    let config = Config::default()
        .max_buffer_bytes(64 * 1024 * 1024)
        .handshake_timeout(Duration::from_millis(500));
    let mut server = server(config).await;
    let (stalled, id) = Client::hello(&server.url()).await;
    server.started().await;
    let mut sink = server.take_sink(&id);
    // Not held up by the stalled connection: the sends are recorded at once.
    let chunk = "x".repeat(512 * 1024);
    within("the sends", async {
        for n in 0..48 {
            sink.send(text(&format!("{n:02}{chunk}"))).await.unwrap();
        }
    })
    .await;
    until_connected(&sink, false).await;
    let (mut client, welcome) = Client::resume(&server.url(), &id, 0).await;
    assert_eq!(welcome[..2], ["resumed".to_owned(), id.clone()]);
    assert!(matches!(client.recv_skipping_acks().await, Got::Text(t) if t.starts_with("00")));
    assert!(server.no_more_seen(), "the session did not end");
    drop(stalled);
}

/// Finding 16's other side: what the application sent before the client's `end` reaches
/// the client before the closing 1000, however slowly the client reads.
#[tokio::test]
async fn what_the_application_sent_before_the_clients_end_goes_out_before_the_close() {
    let config = Config::default().max_buffer_bytes(32 * 1024 * 1024);
    let mut server = Server::start_gated(Sessions::new(config).unwrap()).await;
    let (mut client, id) = Client::hello(&server.url()).await;
    server.started().await;
    client.text("bye").await;
    client.control("end").await;
    assert_eq!(server.message().await, (1, "bye".into()));
    // 16 MiB the client does not read yet: more than the socket buffers hold.
    let mut sink = server.take_sink(&id);
    let chunk = "x".repeat(1024 * 1024);
    for n in 0..16 {
        sink.send(text(&format!("{n:02}{chunk}"))).await.unwrap();
    }
    server.finish_one();
    let mut received = 0;
    loop {
        match client.recv().await {
            Got::Control(control) if control.starts_with("ack ") => continue,
            Got::Text(text) => {
                assert_eq!(&text[..2], format!("{received:02}"), "in order");
                received += 1;
            }
            Got::Close(code, _) => {
                assert_eq!(code, 1000);
                break;
            }
            other => panic!("after {received} messages: {other:?}"),
        }
    }
    assert_eq!(received, 16, "every message before the close");
}

/// The window is not throttled by the ack delay: once half of it is taken by messages the
/// application finished with, they are acknowledged at once (as a receiver updates its
/// window in HTTP/2 and QUIC), so a small window moves at the round trip's pace. A client
/// keeping within a 512-byte window sends 100 messages of 100 bytes under an ack delay of a
/// minute.
#[tokio::test]
async fn a_small_window_moves_without_waiting_for_the_ack_delay() {
    let config = Config::default()
        .max_message_bytes(256)
        .max_incoming_bytes(512)
        .ack_delay(Duration::from_secs(60));
    let mut server = Server::start(Sessions::new(config).unwrap()).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;
    let message = "m".repeat(100);
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < 100 {
        // Within the window: at most 5 messages of 100 bytes unacknowledged.
        while sent < 100 && (sent - acked + 1) * 100 <= 512 {
            client.text(&message).await;
            sent += 1;
        }
        match client.recv().await {
            Got::Control(ack) if ack.starts_with("ack ") => acked = ack[4..].parse().unwrap(),
            other => panic!("after {acked} acknowledged: {other:?}"),
        }
    }
    for n in 1..=100 {
        assert_eq!(server.message().await.0, n);
    }
}
