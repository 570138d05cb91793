//! Many clients coming back at once: each had a session (one message each way, everything
//! acknowledged), lost its connection without a closing handshake, and now reconnects at
//! the same instant as all the others. For the resume servers that is a `resume`, timed to
//! its welcome; for the raw server a plain reconnect, timed to the open socket. Measured on
//! the node that had the sessions and, with a shared store, on another one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{future, stream, StreamExt as _};
use hdrhistogram::Histogram;

use crate::client::{Client, Event, Kind, Session};
use crate::Result;

/// Connections opened at the same time while setting up.
const OPENING: usize = 100;
/// Between dropping the connections and coming back: the server has seen them go.
const AWAY: Duration = Duration::from_secs(1);

/// One herd's welcome times.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Clients that came back.
    pub clients: usize,
    /// Those that failed (no welcome, or not `resumed`), with the first reason.
    pub failed: usize,
    /// The first failure.
    pub first_error: Option<String>,
    /// From the common start to each welcome (raw: open socket), µs.
    pub welcome: Histogram<u64>,
}

/// One message each way, then both sides' acks: nothing left to replay.
async fn exchange(mut client: Client) -> Result<Client> {
    client.feed_text("hello from the herd".to_owned()).await?;
    client.flush().await?;
    while !matches!(client.next().await?, Event::Text(_)) {}
    client.ack().await?;
    while !client.all_acknowledged() {
        client.next().await?;
    }
    Ok(client)
}

/// Sets up `clients` sessions on `home`, then for each of `nodes` in turn drops every
/// connection and brings every client back at once on that node.
pub async fn run(
    home: SocketAddr,
    nodes: &[SocketAddr],
    kind: Kind,
    clients: usize,
) -> Result<Vec<Figures>> {
    let opened: Vec<Result<Client>> = stream::iter(0..clients)
        .map(|_| async move { exchange(Client::connect(home, kind).await?).await })
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let mut connected: Vec<Client> = opened.into_iter().collect::<Result<_>>()?;
    let mut results = Vec::new();
    for &node in nodes {
        let sessions: Vec<Option<Session>> =
            connected.drain(..).map(Client::drop_connection).collect();
        tokio::time::sleep(AWAY).await;
        let start = Instant::now();
        let back = future::join_all(sessions.into_iter().map(|session| async move {
            let client = Client::reconnect(node, session).await?;
            Ok::<_, Box<dyn std::error::Error>>((client, start.elapsed()))
        }))
        .await;
        let mut welcome = crate::histogram()?;
        let mut failed = 0;
        let mut first_error = None;
        for result in back {
            match result {
                Ok((client, took)) => {
                    welcome.saturating_record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
                    connected.push(client);
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        results.push(Figures {
            clients,
            failed,
            first_error,
            welcome,
        });
    }
    Ok(results)
}
