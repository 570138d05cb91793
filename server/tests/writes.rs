//! How the server writes to a connection: what it has for the client at one time goes out
//! in one write, not in one system call per message (each write to a loopback or network
//! socket costs the server more than the rest of an echo's work).

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::faults::FaultyStore;
use common::{within, Client, Got, Server};
use ws_tether_server::{Config, MemoryStore, Sessions};

#[tokio::test]
async fn echoes_of_messages_that_arrived_together_go_out_together() {
    let sessions = Sessions::new(Config::default()).unwrap();
    let (mut server, writes) = Server::start_echo_counting_writes(sessions).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;
    let texts: Vec<String> = (1..=8).map(|n| format!("message {n}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let before = writes.load(Ordering::SeqCst);
    client.texts_together(&refs).await;
    for text in &texts {
        assert_eq!(client.recv_skipping_acks().await, Got::Text(text.clone()));
    }
    let written = writes.load(Ordering::SeqCst) - before;
    // One write for the echoes, and room for an ack going out on its own.
    assert!(written <= 2, "8 echoes took {written} writes");
}

#[tokio::test]
async fn a_recorded_reply_waits_for_at_most_one_more_store_round_trip() {
    let store = FaultyStore::new(MemoryStore::new());
    let sessions = Sessions::with_store(Config::default(), store.clone()).unwrap();
    let mut server = Server::start_echo(sessions).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;

    // A store whose every save takes a round trip, answered one at a time.
    let before = store.saves();
    store.hold_saves();
    client.texts_together(&["first", "second", "third"]).await;
    until_saves(&store, before + 1).await;
    store.release_save();
    until_saves(&store, before + 2).await;
    store.release_save();
    // The first echo went out with the second, after the second's save: not after the
    // third's too, which waits.
    assert_eq!(client.recv_skipping_acks().await, Got::Text("first".into()));
    assert_eq!(
        client.recv_skipping_acks().await,
        Got::Text("second".into())
    );
    until_saves(&store, before + 3).await;
    store.release_save();
    assert_eq!(client.recv_skipping_acks().await, Got::Text("third".into()));
}

/// Waits until `n` saves were asked of the store.
async fn until_saves(store: &FaultyStore<MemoryStore>, n: usize) {
    within("the saves", async {
        while store.saves() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}
