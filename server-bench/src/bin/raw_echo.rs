//! The baseline: a plain axum WebSocket echo, as axum's documentation writes one (one
//! `WebSocketUpgrade`, `on_upgrade`, `recv`/`send`), nothing tuned but the listener, which
//! is the README's for all three servers (a 4096 backlog, TCP_NODELAY). Prints
//! `listening on ADDR` once it accepts connections on `/echo` (a free loopback port). One
//! thread: the benchmark pins it to one core and reads its CPU time from /proc.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt as _;

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(serve)
}

async fn serve(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            Message::Text(_) | Message::Binary(_) => {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = axum::Router::new().route("/echo", get(echo));
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
