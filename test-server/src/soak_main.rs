//! `soak-server` binary: the chaos soak's server (see `test_server::soak`). Prints
//! `soak-server NAME listening on http://ADDR` (the line scripts/server.sh waits for), serves
//! until SIGINT or SIGTERM (which close every WebSocket with 1001 first) or
//! `POST /soak/close?exit=1`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tracing_subscriber::EnvFilter;

use test_server::soak::Soak;

/// Flags of the `soak-server` binary.
#[derive(Debug, Parser)]
#[command(
    name = "soak-server",
    about = "ws-tether's chaos soak server (resume sessions in Redis)"
)]
struct Cli {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free port (printed on stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The Redis server holding the sessions and the counts, e.g. redis://127.0.0.1:6379.
    #[arg(long, value_name = "URL")]
    redis: String,
    /// This process's name, in its listening line and its logs.
    #[arg(long, default_value = "soak")]
    name: String,
    /// Directory served at `/` (static files).
    #[arg(long, value_name = "DIR")]
    www: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let soak = match Soak::connect(&cli.name, &cli.redis).await {
        Ok(soak) => soak,
        Err(e) => {
            eprintln!("soak-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut app = soak.router();
    if let Some(dir) = &cli.www {
        app = app.fallback_service(ServeDir::new(dir));
    }
    let listener = match TcpListener::bind((cli.host.as_str(), cli.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("soak-server: cannot bind {}:{}: {e}", cli.host, cli.port);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak-server: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = {
        let soak = soak.clone();
        async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut int), Ok(mut term)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) else {
                    return soak.exit_requested().await;
                };
                tokio::select! {
                    _ = int.recv() => soak.close_all(1001).await,
                    _ = term.recv() => soak.close_all(1001).await,
                    () = soak.exit_requested() => {}
                }
            }
            #[cfg(not(unix))]
            soak.exit_requested().await;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "soak-server {} listening on http://{addr}", cli.name);
        let _ = out.flush();
    }
    // Graceful: the response to `/soak/close?exit=1` is written before the process exits.
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak-server: {e}");
            ExitCode::FAILURE
        }
    }
}
