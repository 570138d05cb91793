//! Idle sessions: the server's resident memory (and Redis's) grown by many connected
//! sessions that send nothing, per session.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{stream, StreamExt as _};

use crate::client::{Client, Kind};
use crate::redis_stats::Probe;
use crate::{procfs, Result};

/// Connections opened at the same time.
const OPENING: usize = 100;
/// How long the sessions sit before the memory is read.
const SETTLE: Duration = Duration::from_secs(1);

/// What idle sessions cost.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Sessions (connections) open when the memory was read.
    pub sessions: usize,
    /// Sessions that failed to open.
    pub failed: usize,
    /// Server RSS growth, bytes.
    pub rss_growth: u64,
    /// Redis `used_memory` growth, bytes (RedisStore only).
    pub redis_growth: Option<u64>,
}

/// Opens `sessions` idle sessions on the server at `addr` (process `pid`).
pub async fn run(
    addr: SocketAddr,
    kind: Kind,
    pid: u32,
    mut redis: Option<&mut Probe>,
    sessions: usize,
) -> Result<Figures> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss0 = procfs::rss_bytes(pid)?;
    let redis0 = match redis.as_deref_mut() {
        Some(probe) => Some(probe.snapshot().await?),
        None => None,
    };
    let opened: Vec<Result<Client>> = stream::iter(0..sessions)
        .map(|_| Client::connect(addr, kind))
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let (clients, failures): (Vec<_>, Vec<_>) = opened.into_iter().partition(Result::is_ok);
    if let Some(Err(e)) = failures.first() {
        eprintln!(
            "{}: {} of {sessions} idle sessions failed to open: {e}",
            kind.key(),
            failures.len()
        );
    }
    tokio::time::sleep(SETTLE).await;
    let rss1 = procfs::rss_bytes(pid)?;
    let redis_growth = match (redis, redis0) {
        (Some(probe), Some(before)) => Some(probe.snapshot().await?.since(&before).used_memory),
        _ => None,
    };
    let figures = Figures {
        sessions: clients.len(),
        failed: failures.len(),
        rss_growth: rss1.saturating_sub(rss0),
        redis_growth,
    };
    drop(clients);
    Ok(figures)
}
