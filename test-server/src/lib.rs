//! A native WebSocket server with fault injection, used by ws-tether's
//! browser tests.
//!
//! The HTTP/1.1 request head is parsed by hand on the raw TCP stream; the
//! request is then either answered as plain HTTP (`/stats`, `/control/*`,
//! static files) or upgraded to a WebSocket on one of the test routes
//! (`/echo`, `/close`, `/drop`, `/silent`, `/reject`, `/protocols`, `/flood`,
//! `/room`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(test_server::run(test_server::Config::default(), listener));
//! println!("ws://{addr}/echo");
//! # Ok(())
//! # }
//! ```

pub mod config;
pub mod files;
pub mod http;
pub mod response;
pub mod routes;
pub mod state;
pub mod stats;
pub mod ws;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub use config::{Cli, Config};

use http::HeadError;
use response::Response;
use state::State;

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body read (and discarded) before answering.
const MAX_BODY: u64 = 1024 * 1024;

/// Serves connections from `listener` forever (until the task is dropped).
pub async fn run(config: Config, listener: TcpListener) -> io::Result<()> {
    run_until(config, listener, std::future::pending()).await
}

/// Serves connections from `listener` until `shutdown` completes; then stops
/// accepting and returns `Ok(())`. Connections already open keep running on
/// the runtime until it shuts down.
pub async fn run_until<F>(config: Config, listener: TcpListener, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let state = Arc::new(State::new(config, routes::WS_ROUTES));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => {
                tracing::info!("shutting down: no longer accepting connections");
                return Ok(());
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(handle_connection(Arc::clone(&state), stream, peer));
                }
                Err(e) => {
                    // Usually out of file descriptors: back off briefly.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Binds `127.0.0.1:0` and runs the server on a spawned task; returns the
/// bound address and the task (abort it to stop the server).
pub async fn spawn(config: Config) -> io::Result<(SocketAddr, JoinHandle<io::Result<()>>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    Ok((addr, tokio::spawn(run(config, listener))))
}

/// Reads (and discards) a request body announced by `Content-Length`.
async fn discard_body(reader: &mut BufReader<TcpStream>, head: &http::RequestHead) {
    let len = head
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    if len > 0 {
        let mut sink = tokio::io::sink();
        let _ = tokio::time::timeout(
            HEAD_TIMEOUT,
            tokio::io::copy(&mut reader.take(len), &mut sink),
        )
        .await;
    }
}

async fn handle_connection(state: Arc<State>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    let head = match tokio::time::timeout(HEAD_TIMEOUT, http::read_head(&mut reader)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) | Ok(Err(HeadError::Incomplete)) | Ok(Err(HeadError::Io(_))) | Err(_) => {
            return;
        }
        Ok(Err(HeadError::TooLarge)) => {
            let resp = Response::text(431, "request head larger than 16 KiB");
            response::send_and_close(&mut reader, &resp, false).await;
            return;
        }
        Ok(Err(HeadError::Malformed(why))) => {
            let resp = Response::text(400, format!("malformed request: {why}"));
            response::send_and_close(&mut reader, &resp, false).await;
            return;
        }
    };

    if head.is_upgrade() {
        match routes::parse_ws_route(&head) {
            Some(Ok(route)) => ws::handle_upgrade(state, reader, head, route, peer).await,
            Some(Err(msg)) => {
                tracing::info!(%peer, path = %head.path, "bad handshake query: {msg}");
                response::send_and_close(&mut reader, &Response::text(400, msg), false).await;
            }
            None => {
                let resp = Response::text(404, format!("no WebSocket route at {}", head.path));
                response::send_and_close(&mut reader, &resp, false).await;
            }
        }
        return;
    }

    discard_body(&mut reader, &head).await;
    let resp = routes::handle_http(&state, &head).await;
    tracing::debug!(%peer, method = %head.method, path = %head.path, status = resp.status, "http");
    response::send_and_close(&mut reader, &resp, head.method == "HEAD").await;
}
