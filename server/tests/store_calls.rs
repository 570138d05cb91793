//! The store calls a resume makes: on Redis each is a round trip, so a reconnect storm
//! costs what its resumes call.

mod common;

use common::faults::FaultyStore;
use common::{until_connected, Client, Server};
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
