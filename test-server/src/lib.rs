//! A native WebSocket server with fault injection, used by ws-tether's
//! browser tests.
//!
//! An axum app served by hyper over HTTP/1.1: the plain HTTP routes (`/stats`,
//! `/control/*`, static files from `--www` and `--pkg`) and the WebSocket test
//! routes (`/echo`, `/close`, `/drop`, `/silent`, `/reject`, `/protocols`,
//! `/flood`, `/room`, `/garbage`).
//!
//! The same crate builds `soak-server`, the chaos soak's server ([`soak`]): resumable
//! sessions from ws-tether-server with its Redis store, and plain WebSockets.
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

pub mod app;
pub mod chat;
pub mod config;
mod conn;
pub mod garbage;
pub mod resume;
pub mod routes;
pub mod soak;
pub mod state;
pub mod stats;
pub mod ws;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{Cli, Config};
pub use conn::{Linger, MAX_HEAD_SIZE};

use state::State;

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
    let router = app::router(state);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => {
                tracing::info!("shutting down: no longer accepting connections");
                return Ok(());
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(conn::serve(router.clone(), stream, peer));
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
