//! ws-tether-server with `RedisStore`: the README's echo with the store its "Stores"
//! section shows, sending back each message itself. `redis-echo REDIS_URL`; prints
//! `listening on ADDR` (`/echo` on a free loopback port). Several of these sharing one
//! Redis are several nodes of one deployment. One thread: the benchmark pins it to one core.

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use futures_util::{SinkExt as _, StreamExt as _};
use ws_tether_server::{Config, RedisStore, Sessions};

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
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: redis-echo REDIS_URL")?;
    let store = RedisStore::connect(&url).await?;
    let sessions = Sessions::with_store(Config::default(), store)?;
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
