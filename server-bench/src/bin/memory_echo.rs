//! ws-tether-server with its default store (`MemoryStore`): the echo of the crate's README,
//! sending back each message itself (so the load generator can check it) instead of a
//! formatted reply. Nothing tuned beyond what the README shows. Prints `listening on ADDR`
//! (`/echo` on a free loopback port). One thread: the benchmark pins it to one core.

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt as _;
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
    // As the README's example: a listen backlog for reconnect storms, no Nagle delay.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = socket.listen(4096)?;
    println!("listening on {}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
