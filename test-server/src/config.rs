//! Command-line flags and the server configuration they produce.

use std::path::PathBuf;

use clap::{Args, Parser};

/// Default value of `--max-message-size`: 16 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
/// Default value of `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// Flags of the `test-server` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "test-server",
    version,
    about = "WebSocket test server with fault injection for ws-tether's browser tests"
)]
pub struct Cli {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to bind; 0 picks a free port (printed on stdout).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,

    /// Everything that changes how connections are served.
    #[command(flatten)]
    pub server: Config,
}

/// How the server behaves once it has a listening socket.
///
/// Build it with [`Config::default`] and adjust the public fields, or get it
/// from [`Cli`] when parsing flags.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Directory served at `/` (`GET /` returns `DIR/index.html`).
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,

    /// Directory served at `/pkg/...`.
    #[arg(long, value_name = "DIR")]
    pub pkg: Option<PathBuf>,

    /// Data messages larger than this are answered with close code 1009.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,

    /// WebSocket handshakes beyond this many open connections get HTTP 503.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Keep the `/resume` route's sessions in this Redis (ws-tether-server's `RedisStore`,
    /// e.g. redis://127.0.0.1:6379) instead of in memory.
    #[arg(long, value_name = "URL")]
    pub resume_redis: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            www: None,
            pkg: None,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            resume_redis: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_between_clap_and_default_impl() {
        let cli = Cli::parse_from(["test-server"]);
        assert_eq!(cli.host, "127.0.0.1");
        assert_eq!(cli.port, 8787);
        let def = Config::default();
        assert_eq!(cli.server.max_message_size, def.max_message_size);
        assert_eq!(cli.server.max_connections, def.max_connections);
        assert!(cli.server.www.is_none() && cli.server.pkg.is_none());
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::parse_from([
            "test-server",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--www",
            "w",
            "--pkg",
            "p",
            "--max-message-size",
            "100",
            "--max-connections",
            "2",
        ]);
        assert_eq!(cli.host, "0.0.0.0");
        assert_eq!(cli.port, 0);
        assert_eq!(cli.server.www, Some(PathBuf::from("w")));
        assert_eq!(cli.server.pkg, Some(PathBuf::from("p")));
        assert_eq!(cli.server.max_message_size, 100);
        assert_eq!(cli.server.max_connections, 2);
    }
}
