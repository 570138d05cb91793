//! `test-server` binary: parses flags, binds, prints the listening line and
//! serves until SIGINT or SIGTERM.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use test_server::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    // Install the signal handlers before announcing the port, so a script
    // that signals right after reading the line still gets a clean exit.
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("test-server: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };

    let listener = match TcpListener::bind((cli.host.as_str(), cli.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("test-server: cannot bind {}:{}: {e}", cli.host, cli.port);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("test-server: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "test-server listening on http://{addr}");
        let _ = out.flush();
    }
    tracing::info!(
        %addr,
        www = ?cli.server.www,
        pkg = ?cli.server.pkg,
        max_message_size = cli.server.max_message_size,
        max_connections = cli.server.max_connections,
        "listening"
    );

    match test_server::run_until(cli.server, listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A future completing on the first SIGINT or SIGTERM.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        tracing::info!("received {name}");
    })
}

/// A future completing on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("received Ctrl-C");
    })
}
