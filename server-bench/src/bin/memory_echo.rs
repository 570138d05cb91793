//! ws-tether-server with its default store (`MemoryStore`): the echo of the crate's README,
//! sending back each message itself (so the load generator can check it) instead of a
//! formatted reply. Nothing tuned beyond what the README shows. Prints `listening on ADDR`
//! (`/echo` on a free loopback port). One thread: the benchmark pins it to one core.

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt as _, StreamExt as _};
use ws_tether_server::{Config, Sessions};

async fn echo(ws: WebSocketUpgrade, State(sessions): State<Sessions>) -> Response {
    sessions.upgrade(ws, |session| async move {
        let (mut sink, mut stream) = session.split();
        while let Some(Ok(incoming)) = stream.next().await {
            if sink.send(incoming.message).await.is_err() {
                break;
            }
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions = Sessions::new(Config::default())?;
    let app = axum::Router::new()
        .route("/echo", get(echo))
        .with_state(sessions);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
