//! Sessions in a real Redis server shared by two server processes (each its own runtime,
//! with its own connection): resume on the other process, after a restart, after a crash,
//! takeover, expiry and overflow.

#![cfg(feature = "redis")]

mod common;

use std::time::Duration;

use common::redis::{Process, Redis};
use common::{text, until_connected, Client, Got};
use futures_util::{Sink as _, SinkExt as _};
use ws_tether_server::{Config, Error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumes_on_a_second_process_with_nothing_lost_or_duplicated() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "second", Config::default()).await;
    let mut b = Process::start(&redis, "second", Config::default()).await;

    let (mut client, id) = Client::hello(&a.server.url()).await;
    assert_eq!(a.server.started().await, (id.clone(), false));
    let mut sink_a = a.server.take_sink(&id);
    client.text("c1").await;
    client.text("c2").await;
    client.until_ack(2).await;
    for s in ["s1", "s2", "s3"] {
        sink_a.send(text(s)).await.unwrap();
    }
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s2".into()));
    client.text("c3").await;
    client.drop_connection();
    until_connected(&sink_a, false).await;

    let (mut client, welcome) = Client::resume(&b.server.url(), &id, 2).await;
    assert_eq!(welcome[..2], ["resumed", id.as_str()]);
    assert_eq!(welcome[3], "3");
    let recorded: u64 = welcome[2].parse().unwrap();
    assert_eq!(b.server.started().await, (id.clone(), true));
    if recorded < 3 {
        client.text("c3").await;
    }
    client.text("c4").await;
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s3".into()));
    let mut sink_b = b.server.take_sink(&id);
    assert_eq!(sink_b.next_seq(), 4);
    sink_b.send(text("s4")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s4".into()));
    client.until_ack(4).await;

    // Each of the client's messages was finished with by one application once, in order:
    // A's up to what it recorded, B's after that.
    let mut delivered = Vec::new();
    for _ in 0..recorded {
        delivered.push(a.server.message().await);
    }
    for _ in recorded + 1..=4 {
        delivered.push(b.server.message().await);
    }
    let expected: Vec<(u64, String)> = (1..=4).map(|n| (n, format!("c{n}"))).collect();
    assert_eq!(delivered, expected);

    // The first process no longer owns the session.
    assert!(matches!(
        sink_a.send(text("stale")).await,
        Err(Error::TakenOver)
    ));
    // A's application may also have taken c3 without having finished with it when the
    // session moved (not recorded): B delivered it again, with its number.
    let mut next = a.server.seen().await;
    if let common::Seen::Message { incoming, .. } = &next {
        assert_eq!((recorded, incoming.seq), (2, 3), "{incoming:?}");
        next = a.server.seen().await;
    }
    assert!(
        matches!(
            next,
            common::Seen::Ended {
                error: Some(Error::TakenOver),
                ..
            }
        ),
        "{next:?}"
    );
    assert!(b.server.no_more_seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_process_resumes_its_sessions() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "restart", Config::default()).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    client.text("c1").await;
    client.until_ack(1).await;
    sink.send(text("s1")).await.unwrap();
    sink.send(text("s2")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    client.drop_connection();
    until_connected(&sink, false).await;
    a.kill();

    let mut restarted = Process::start(&redis, "restart", Config::default()).await;
    let (mut client, welcome) = Client::resume(&restarted.server.url(), &id, 1).await;
    assert_eq!(welcome, ["resumed", &id, "1", "2"]);
    assert_eq!(restarted.server.started().await, (id.clone(), true));
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s2".into()));
    client.text("c2").await;
    assert_eq!(restarted.server.message().await, (2, "c2".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_handed_over_but_not_recorded_comes_again_with_its_number() {
    let redis = Redis::start().await;
    // Acks wait an hour: nothing is recorded until a ping or a disconnect.
    let lazy = Config::default().ack_delay(Duration::from_secs(3600));
    let mut a = Process::start(&redis, "crash", lazy).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    client.text("c1").await;
    assert_eq!(a.server.message().await, (1, "c1".into()));
    // The process dies after handing c1 over, before recording it.
    a.kill();
    client.drop_connection();

    let mut b = Process::start(&redis, "crash", Config::default()).await;
    let (mut client, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    b.server.started().await;
    client.text("c1").await;
    assert_eq!(b.server.message().await, (1, "c1".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_on_another_process_closes_the_old_connection_at_its_next_write() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "takeover", Config::default()).await;
    let mut b = Process::start(&redis, "takeover", Config::default()).await;
    let (mut old, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink_a = a.server.take_sink(&id);
    let (mut new, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    assert!(matches!(
        sink_a.send(text("stale")).await,
        Err(Error::TakenOver)
    ));
    assert_eq!(old.recv().await, Got::Close(4000, "taken over".into()));
    b.server.started().await;
    let mut sink_b = b.server.take_sink(&id);
    sink_b.send(text("s1")).await.unwrap();
    assert_eq!(new.recv_skipping_acks().await, Got::Text("s1".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_lost_on_any_process() {
    let redis = Redis::start().await;
    let short = Config::default().ttl(Duration::from_secs(1));
    let mut a = Process::start(&redis, "expiry", short.clone()).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    for s in ["s1", "s2", "s3"] {
        sink.send(text(s)).await.unwrap();
    }
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    client.drop_connection();
    until_connected(&sink, false).await;
    // Killed, so only the record's expiry in Redis can end the session.
    a.kill();
    // Past the time to live, before the record is forgotten (twice the time to live).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let b = Process::start(&redis, "expiry", short).await;
    let (_client, welcome) = Client::resume(&b.server.url(), &id, 1).await;
    assert_eq!(welcome[..2], ["lost", "expired"]);
    assert_eq!(welcome[3], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowed_session_is_lost_on_any_process() {
    let redis = Redis::start().await;
    let small = Config::default().max_buffer_bytes(4);
    let mut a = Process::start(&redis, "overflow", small.clone()).await;
    let (client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    client.drop_connection();
    until_connected(&sink, false).await;
    sink.send(text("abc")).await.unwrap();
    // Sends that can't wait (no `poll_ready`) past the bound: the first waits, the second
    // can't.
    let mut forced = std::pin::Pin::new(&mut sink);
    forced.as_mut().start_send(text("de")).unwrap();
    assert!(matches!(
        forced.start_send(text("fg")),
        Err(Error::Overflow { unsent: 1 })
    ));
    assert!(matches!(
        a.server.ended().await,
        Some(Error::Overflow { unsent: 1 })
    ));
    let b = Process::start(&redis, "overflow", small).await;
    let (_client, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "overflow"]);
    assert_eq!(welcome[3], "1");
}

/// Pings until the answer is `ack n` (every ping is answered at once).
async fn ping_until_ack(client: &mut Client, n: u64) {
    common::within("the ack", async {
        loop {
            client.control("ping 0").await;
            match client.recv().await {
                Got::Control(ack) if ack == format!("ack {n}") => return,
                Got::Control(ack) if ack.starts_with("ack ") => continue,
                other => panic!("expected an ack, got {other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_application_has_not_finished_with_comes_again_after_a_kill() {
    let redis = Redis::start().await;
    // Acks wait an hour: any ack that arrives answers a ping.
    let lazy = Config::default().ack_delay(Duration::from_secs(3600));
    let mut a = Process::start_gated(&redis, "unfinished", lazy.clone()).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    client.text("c1").await;
    assert_eq!(a.server.message().await, (1, "c1".into()));
    // Handed over; the application has not asked for the next message: not acknowledged.
    client.control("ping 0").await;
    assert_eq!(client.recv().await, Got::Control("ack 0".into()));
    // The process dies before the application finished with c1.
    a.kill();
    client.drop_connection();

    let mut b = Process::start_gated(&redis, "unfinished", lazy).await;
    let (mut client, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "0", "1"]);
    assert_eq!(b.server.started().await, (id.clone(), true));
    client.text("c1").await;
    assert_eq!(b.server.message().await, (1, "c1".into()));
    client.control("ping 0").await;
    assert_eq!(client.recv().await, Got::Control("ack 0".into()));
    // Once the application asks for the next message, c1 is recorded and acknowledged.
    b.server.finish_one();
    ping_until_ack(&mut client, 1).await;
    client.drop_connection();
    let c = Process::start(&redis, "unfinished", Config::default()).await;
    let (_client, welcome) = Client::resume(&c.server.url(), &id, 0).await;
    assert_eq!(welcome, ["resumed", &id, "1", "1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_back_on_a_process_still_running_the_session_takes_it_from_the_store() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "back", Config::default()).await;
    let mut b = Process::start(&redis, "back", Config::default()).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink_a = a.server.take_sink(&id);
    client.text("c1").await;
    assert_eq!(a.server.message().await, (1, "c1".into()));
    client.until_ack(1).await;
    sink_a.send(text("s1")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    client.close(1000).await;
    until_connected(&sink_a, false).await;

    // On B: B claims the session; A's task keeps running, with what it knew.
    let (mut client, welcome) = Client::resume(&b.server.url(), &id, 1).await;
    assert_eq!(welcome, ["resumed", &id, "1", "2"]);
    assert_eq!(b.server.started().await, (id.clone(), true));
    let mut sink_b = b.server.take_sink(&id);
    sink_b.send(text("s2")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s2".into()));
    client.text("c2").await;
    assert_eq!(b.server.message().await, (2, "c2".into()));
    client.until_ack(2).await;
    client.control("ack 2").await;
    client.close(1000).await;
    until_connected(&sink_b, false).await;

    // Back on A: the store's numbers, not A's stale ones.
    let (mut client, welcome) = Client::resume(&a.server.url(), &id, 2).await;
    assert_eq!(welcome, ["resumed", &id, "2", "3"]);
    // A's old task ended (taken over); A runs the session again, taken from the store.
    let mut ended = false;
    let mut started = false;
    for _ in 0..2 {
        match a.server.seen().await {
            common::Seen::Ended { error, .. } => {
                assert!(matches!(error, Some(Error::TakenOver)), "{error:?}");
                ended = true;
            }
            common::Seen::Started { id: got, resumed } => {
                assert_eq!((got.as_str(), resumed), (id.as_str(), true));
                started = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(ended && started);
    let mut sink_a2 = a.server.take_sink(&id);
    assert_eq!(sink_a2.next_seq(), 3);
    sink_a2.send(text("s3")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s3".into()));
    client.text("c3").await;
    assert_eq!(a.server.message().await, (3, "c3".into()));
    client.until_ack(3).await;
    assert!(matches!(
        sink_a.send(text("stale")).await,
        Err(Error::TakenOver)
    ));
}

async fn redis_keys(redis: &Redis, pattern: &str) -> Vec<String> {
    redis.command(&["KEYS", pattern]).await
}

/// Finding 5 with Redis: ids are not stored in clear (a dump of Redis is not a list of
/// credentials), and another owner's resume on another process is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keeps_hashes_not_ids_and_checks_the_owner() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "owners", Config::default()).await;
    let mut b = Process::start(&redis, "owners", Config::default()).await;
    let alice = |url: String| format!("{url}?owner=alice");
    let (client, id) = Client::hello(&alice(a.server.url())).await;
    a.server.started().await;
    let keys = redis_keys(&redis, "owners:*").await;
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.contains(&id)), "{keys:?}");
    client.drop_connection();
    let (_bob, welcome) = Client::resume(&format!("{}?owner=bob", b.server.url()), &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "unknown"]);
    b.server.started().await;
    let (_alice, welcome) = Client::resume(&alice(b.server.url()), &id, 0).await;
    assert_eq!(welcome[0], "resumed");
}

/// Finding 3 and 13: a record Redis lost part of (its message list evicted) is not resumed
/// on a wrong count: the claim reports it diverged, the client gets a new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_missing_its_messages_is_claimed_as_diverged() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "evicted", Config::default()).await;
    let b = Process::start(&redis, "evicted", Config::default()).await;
    let (client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    sink.send(text("one")).await.unwrap();
    sink.send(text("two")).await.unwrap();
    // The client got nothing: resuming on the record's own count would restart the
    // numbering and lose both silently.
    client.drop_connection();
    until_connected(&sink, false).await;
    let lists = redis_keys(&redis, "evicted:*:out").await;
    assert_eq!(lists.len(), 1, "{lists:?}");
    let _: () = redis.command(&["DEL", &lists[0]]).await;
    let (_client, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome[..2], ["lost", "diverged"], "{welcome:?}");
}

/// Finding 8 across processes: a session one process ended while the client was away is
/// answered `welcome ended` with its last messages by another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_process_is_ended_on_another() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "ended", Config::default()).await;
    let b = Process::start(&redis, "ended", Config::default()).await;
    let (client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    client.drop_connection();
    until_connected(&sink, false).await;
    sink.send(text("last")).await.unwrap();
    sink.close().await.unwrap();
    let (mut client, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome, ["ended", &id, "0", "1"]);
    assert_eq!(client.recv().await, Got::Text("last".into()));
    assert_eq!(client.recv().await, Got::Control("end".into()));
}

/// Deliverable 6 of the hardening issue: a real Redis restarted from an old snapshot (a
/// crash with RDB persistence, a failover to a lagging replica). The store is behind what
/// the client has: the resume is lost `diverged`, never resumed on the store's count (which
/// would make the client drop or repeat messages) and never refused for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_from_an_old_snapshot_is_detected() {
    let mut redis = Redis::start_persistent().await;
    let mut a = Process::start(&redis, "snap", Config::default()).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    sink.send(text("s1")).await.unwrap();
    assert_eq!(client.recv().await, Got::Text("s1".into()));
    let _: String = redis.command(&["SAVE"]).await;
    sink.send(text("s2")).await.unwrap();
    sink.send(text("s3")).await.unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s2".into()));
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s3".into()));
    client.drop_connection();
    a.kill();
    redis.restart_from_snapshot().await;
    let b = Process::start(&redis, "snap", Config::default()).await;
    let (_client, welcome) = Client::resume(&b.server.url(), &id, 3).await;
    assert_eq!(welcome[..2], ["lost", "diverged"], "{welcome:?}");
}

/// Issue #21, many nodes, with Redis: the old node drops the moved session as soon as the
/// new node claims it (a Redis publication), not at its time to live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_process_releases_a_session_claimed_by_another() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "release", Config::default()).await;
    let mut b = Process::start(&redis, "release", Config::default()).await;
    let (client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    client.drop_connection();
    until_connected(&a.server.take_sink(&id), false).await;
    assert_eq!(a.server.sessions.running(), 1);
    let (_client, welcome) = Client::resume(&b.server.url(), &id, 0).await;
    assert_eq!(welcome[0], "resumed");
    b.server.started().await;
    assert!(matches!(a.server.ended().await, Some(Error::TakenOver)));
    common::within("the release", async {
        while a.server.sessions.running() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(b.server.sessions.running(), 1);
}

/// Issue #21, group commit: the saves of many sessions made while one call is in flight
/// reach Redis together, as one request, and each is recorded in its own session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_saves_of_many_sessions_share_one_redis_request() {
    use ws_tether_server::{Changes, Claim, Message, Store as _};
    const SESSIONS: usize = 50;
    let redis = Redis::start().await;
    let store = redis.store("group").await;
    let ttl = Duration::from_secs(60);
    let ids: Vec<String> = (0..SESSIONS).map(|n| format!("session-{n}")).collect();
    let mut epochs = Vec::new();
    for id in &ids {
        epochs.push(store.create(id, "owner", ttl).await.unwrap());
    }
    // One save first: the script is loaded, later calls are one EVALSHA each.
    let warm = [Message::Text("warm".into())];
    store
        .save(&ids[0], epochs[0], Changes::new().sent(1, &warm))
        .await
        .unwrap();
    let calls = |info: String| -> u64 {
        info.lines()
            .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    let before = calls(redis.command(&["INFO", "commandstats"]).await);
    // Redis holds every other client's commands for a moment: the saves made meanwhile
    // wait behind the call in flight, as they do behind a slow round trip.
    redis
        .command::<()>(&["CLIENT", "PAUSE", "300", "ALL"])
        .await;
    let messages: Vec<[Message; 1]> = ids
        .iter()
        .map(|id| [Message::Text(format!("to {id}"))])
        .collect();
    let saves =
        ids.iter()
            .zip(&epochs)
            .zip(&messages)
            .enumerate()
            .map(|(n, ((id, epoch), message))| {
                let first = if n == 0 { 2 } else { 1 };
                store.save(id, *epoch, Changes::new().sent(first, message))
            });
    for saved in futures_util::future::join_all(saves).await {
        saved.unwrap();
    }
    let after = calls(redis.command(&["INFO", "commandstats"]).await);
    assert!(
        after - before <= 3,
        "{SESSIONS} saves took {} Redis requests",
        after - before
    );
    // Every key expires (a key without a time to live would stay in Redis for ever).
    for key in [
        "group:{session-0}",
        "group:{session-0}:out",
        "group:{session-1}:out",
    ] {
        let ttl: i64 = redis.command(&["PTTL", key]).await;
        assert!(ttl > 0, "{key} has no time to live ({ttl})");
    }
    // Each session has its own message, and only its own.
    for (n, id) in ids.iter().enumerate() {
        let Claim::Live(snapshot) = store.claim(id, "owner", ttl).await.unwrap() else {
            panic!("{id} is not live");
        };
        let mut expected = if n == 0 { warm.to_vec() } else { Vec::new() };
        expected.push(Message::Text(format!("to {id}")));
        assert_eq!(snapshot.unacknowledged, expected, "{id}");
    }
}

/// The group commit sends its script by hash: a Redis that doesn't have it (the first save,
/// or after a restart or `SCRIPT FLUSH`) is given it, and the save goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_go_on_after_redis_forgets_its_scripts() {
    let redis = Redis::start().await;
    let mut a = Process::start(&redis, "flush", Config::default()).await;
    let (mut client, id) = Client::hello(&a.server.url()).await;
    a.server.started().await;
    let mut sink = a.server.take_sink(&id);
    common::within("the first save", sink.send(text("s1")))
        .await
        .unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s1".into()));
    let flushed: String = redis.command(&["SCRIPT", "FLUSH"]).await;
    assert_eq!(flushed, "OK");
    common::within("the save", sink.send(text("s2")))
        .await
        .unwrap();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("s2".into()));
}
