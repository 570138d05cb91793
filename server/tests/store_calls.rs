//! The store calls a resume makes: on Redis each is a round trip, so a reconnect storm
//! costs what its resumes call.

mod common;

use common::faults::FaultyStore;
use common::{until_connected, Client, Got, Server};
use ws_tether_server::{Config, MemoryStore, Sessions};

async fn process(store: &FaultyStore<MemoryStore>) -> Server {
    Server::start(Sessions::with_store(Config::default(), store.clone()).unwrap()).await
}

#[tokio::test]
async fn a_resume_on_another_process_with_nothing_new_saves_nothing_after_its_claim() {
    let store = FaultyStore::new(MemoryStore::new());
    let mut a = process(&store).await;
    let mut b = process(&store).await;
    let (client, id) = Client::hello(&a.url()).await;
    a.started().await;
    client.drop_connection();
    until_connected(&a.take_sink(&id), false).await;

    let before = store.saves();
    let (_client, welcome) = Client::resume(&b.url(), &id, 0).await;
    assert_eq!(welcome[0], "resumed");
    b.started().await;
    // The claim restarted the expiry and nothing else changed.
    assert_eq!(store.saves() - before, 0);
}

#[tokio::test]
async fn a_resume_on_the_same_process_with_nothing_new_saves_once() {
    let store = FaultyStore::new(MemoryStore::new());
    let mut a = process(&store).await;
    let (client, id) = Client::hello(&a.url()).await;
    a.started().await;
    let sink = a.take_sink(&id);
    client.drop_connection();
    until_connected(&sink, false).await;

    let before = store.saves();
    let (_client, welcome) = Client::resume(&a.url(), &id, 0).await;
    assert_eq!(welcome[0], "resumed");
    until_connected(&sink, true).await;
    // The ownership check (another process may have claimed it meanwhile), and no more.
    assert_eq!(store.saves() - before, 1);
}

#[tokio::test]
async fn an_ack_covering_what_the_replies_recorded_needs_no_save_of_its_own() {
    let store = FaultyStore::new(MemoryStore::new());
    // An ack delay no round trip on this machine comes near.
    let config = Config::default().ack_delay(std::time::Duration::from_secs(1));
    let sessions = Sessions::with_store(config, store.clone()).unwrap();
    let mut server = Server::start_echo(sessions).await;
    let (mut client, _id) = Client::hello(&server.url()).await;
    server.started().await;

    let before = store.bare_saves();
    client.text("c1").await;
    assert_eq!(client.recv_skipping_acks().await, Got::Text("c1".into()));
    client.text("c2").await;
    assert_eq!(client.recv().await, Got::Text("c2".into()));
    // The echo of c2 was saved with "c1 received" (the application finished with c1 when it
    // asked for c2): c1 is acknowledged at its ack delay without a save of its own. c2,
    // finished with after its echo was saved, is saved and acknowledged at its own.
    assert_eq!(client.recv().await, Got::Control("ack 1".into()));
    assert_eq!(client.recv().await, Got::Control("ack 2".into()));
    assert_eq!(store.bare_saves() - before, 1, "one save for two acks");
}
