//! How the server writes to a connection: what it has for the client at one time goes out
//! in one write, not in one system call per message (each write to a loopback or network
//! socket costs the server more than the rest of an echo's work).

mod common;

use std::sync::atomic::Ordering;

use common::faults::FaultyStore;
use common::{Client, Got, Server};
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
async fn a_recorded_reply_goes_out_while_the_next_save_waits_on_the_store() {
    let store = FaultyStore::new(MemoryStore::new());
    let sessions = Sessions::with_store(Config::default(), store.clone()).unwrap();
    let mut server = Server::start_echo(sessions).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;

    // The first echo is recorded; the second's save waits (a Redis round trip that takes
    // its time): the first echo does not wait with it.
    store.hold_saves_after(1);
    client.texts_together(&["first", "second"]).await;
    assert_eq!(client.recv_skipping_acks().await, Got::Text("first".into()));
    store.release_saves();
    assert_eq!(
        client.recv_skipping_acks().await,
        Got::Text("second".into())
    );
}
