//! The server benchmark (issue #21): raw axum, ws-tether-server with `MemoryStore` and with
//! `RedisStore`, side by side in one run. Each server is its own process on core 0 (one
//! thread); this load generator runs on one thread (scripts/bench pins it to core 1). It
//! prints the table (absolute values and ratios to raw axum) and a `BENCHJSON` line for
//! scripts/bench-report.mjs. Asserts nothing about speed.

mod client;
mod herd;
mod idle;
mod procfs;
mod redis_stats;
mod report;
mod server;
mod targets;
mod throughput;

use std::time::Duration;

use clap::Parser;

use client::Kind;
use redis_stats::Probe;
use server::Server;

/// Errors of a benchmark run: reported, never handled.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Options; the defaults are the figures issue #21 names.
#[derive(Debug, Parser)]
#[command(
    about = "raw axum vs ws-tether-server (MemoryStore, RedisStore): echo throughput, CPU, RTT, idle memory, reconnect herds"
)]
struct Args {
    /// Redis for the RedisStore server (e.g. redis://127.0.0.1:6379); without it that
    /// column is left out.
    #[arg(long)]
    redis: Option<String>,
    /// Connections of the echo load.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Idle sessions for the memory figure.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Clients coming back at once.
    #[arg(long, default_value_t = 1000)]
    herd: usize,
    /// Warm-up of the echo load, ms.
    #[arg(long, default_value_t = 1000)]
    warmup_ms: u64,
    /// Measured time of the echo load, ms.
    #[arg(long, default_value_t = 4000)]
    measure_ms: u64,
}

/// The open-file limit of this process (the servers inherit it), from /proc/self/limits.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A histogram of µs from 1 µs to an hour, 3 significant digits (values above are clamped).
pub fn histogram() -> Result<hdrhistogram::Histogram<u64>> {
    Ok(hdrhistogram::Histogram::new_with_bounds(
        1,
        3_600_000_000,
        3,
    )?)
}

fn progress(start: std::time::Instant, what: &str) {
    eprintln!(
        "[server-bench] {:5.1} s: {what}",
        start.elapsed().as_secs_f64()
    );
}

async fn run(args: Args) -> Result<()> {
    let start = std::time::Instant::now();
    let mut notes = Vec::new();
    let mut sessions = args.sessions;
    if let Some(limit) = open_file_limit() {
        // Each session is one descriptor here and one in the server, plus a few spare.
        let fits = limit.saturating_sub(64);
        if sessions > fits {
            notes.push(format!(
                "idle sessions scaled down from {sessions} to {fits}: the open-file limit is {limit} (raise `ulimit -n`)"
            ));
            sessions = fits;
        }
    }
    if !server::pinning() {
        notes.push(
            "servers not pinned (one core or no taskset): CPU per echo includes contention"
                .to_owned(),
        );
    }
    let mut kinds = vec![Kind::Raw, Kind::Memory];
    let mut probe = match &args.redis {
        Some(url) => {
            kinds.push(Kind::Redis);
            Some(Probe::connect(url).await?)
        }
        None => {
            notes.push("no Redis given: the RedisStore column is left out".to_owned());
            None
        }
    };
    let url = args.redis.as_deref();
    let load = throughput::Load {
        connections: args.connections,
        warmup: Duration::from_millis(args.warmup_ms),
        measure: Duration::from_millis(args.measure_ms),
    };
    let mut results = report::Results::new(load, sessions, args.herd, notes);
    for &kind in &kinds {
        progress(
            start,
            &format!(
                "{}: echo load, {} connections",
                kind.key(),
                load.connections
            ),
        );
        let server = Server::start(kind, url)?;
        let redis = probe.as_mut().zip(url).filter(|_| kind == Kind::Redis);
        let figures = throughput::run(server.addr, kind, server.pid, redis, load).await?;
        results.throughput.push((kind, figures));
    }
    for &kind in &kinds {
        progress(start, &format!("{}: {sessions} idle sessions", kind.key()));
        let server = Server::start(kind, url)?;
        let redis = probe.as_mut().filter(|_| kind == Kind::Redis);
        let figures = idle::run(server.addr, kind, server.pid, redis, sessions).await?;
        results.idle.push((kind, figures));
    }
    for &kind in &kinds {
        progress(
            start,
            &format!("{}: {} clients coming back at once", kind.key(), args.herd),
        );
        let home = Server::start(kind, url)?;
        let mut nodes = vec![home.addr];
        // Another node sharing the store: only the Redis store has one.
        let other = match kind {
            Kind::Redis => Some(Server::start(kind, url)?),
            _ => None,
        };
        nodes.extend(other.as_ref().map(|s| s.addr));
        let figures = herd::run(home.addr, &nodes, kind, args.herd).await?;
        results.herd.push((kind, figures));
    }
    progress(start, "done");
    let report = results.report();
    println!("{}", report.markdown());
    println!("BENCHJSON {}", report.json());
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, run(args))
}
