//! The echo load: many connections, each keeping a fixed number of 64-byte text messages in
//! flight, every echo compared with what was sent. Counts echoes and round-trip times in a
//! measured window after a warm-up, and the CPU the server (and Redis) used in it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt as _};
use hdrhistogram::Histogram;

use crate::client::{Client, Event, Kind};
use crate::redis_stats::{self, Probe, Snapshot};
use crate::{procfs, Result};

/// Bytes per message.
pub const MESSAGE_BYTES: usize = 64;
/// Messages in flight per connection.
pub const IN_FLIGHT: usize = 4;
/// Connections opened at the same time while setting up (the listen backlog is not what
/// this phase measures).
pub const OPENING: usize = 100;

/// How long Redis is watched (`MONITOR`) after the window.
const SAMPLE: Duration = Duration::from_millis(300);

/// The load's shape.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Connections.
    pub connections: usize,
    /// Before measuring.
    pub warmup: Duration,
    /// Measured.
    pub measure: Duration,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Connections that ran.
    pub connections: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Echoes received (and checked) in the window.
    pub echoes: u64,
    /// Server CPU seconds in the window.
    pub server_cpu: f64,
    /// The load generator's own CPU seconds in the window.
    pub load_cpu: f64,
    /// CPU seconds of core 0 and core 1 in the window that neither the server nor the
    /// load generator used (other processes, redis-server included, and the kernel's
    /// interrupts), out of `seconds` each.
    pub others_cpu: [f64; 2],
    /// Redis's growth in the window (RedisStore only).
    pub redis: Option<Snapshot>,
    /// Of Redis's commands, the share that were requests of their own (not run inside a
    /// script), sampled right after the window.
    pub request_share: Option<f64>,
    /// Round-trip times, µs.
    pub rtt: Histogram<u64>,
    /// Connections that failed (wrong echo, protocol error, closed), with the first reason.
    pub failed: usize,
    /// The first failure.
    pub first_error: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Unmeasured,
    Measure,
    Stop,
}

struct Shared {
    phase: Cell<Phase>,
    echoes: Cell<u64>,
    rtt: RefCell<Histogram<u64>>,
    failed: Cell<usize>,
    first_error: RefCell<Option<String>>,
}

/// The payload of connection `conn`'s message `seq`: unique, exactly 64 bytes.
fn payload(conn: usize, seq: u64) -> String {
    let mut text = format!("{conn:06} {seq:012} ");
    text.extend(std::iter::repeat_n('x', MESSAGE_BYTES - text.len()));
    text
}

async fn drive(conn: usize, mut client: Client, shared: Rc<Shared>) -> Result<()> {
    let mut in_flight: VecDeque<(String, Instant)> = VecDeque::with_capacity(IN_FLIGHT);
    let mut seq = 0u64;
    while shared.phase.get() != Phase::Stop {
        let mut fed = false;
        while in_flight.len() < IN_FLIGHT && client.can_send(MESSAGE_BYTES as u64) {
            seq += 1;
            let text = payload(conn, seq);
            client.feed_text(text.clone()).await?;
            in_flight.push_back((text, Instant::now()));
            fed = true;
        }
        if fed {
            client.flush().await?;
        }
        if let Event::Text(echo) = client.next().await? {
            let (sent, at) = in_flight
                .pop_front()
                .ok_or("an echo of nothing in flight")?;
            if echo.as_str() != sent {
                return Err(format!("echo {:?} where {sent:?} was sent", echo.as_str()).into());
            }
            if shared.phase.get() == Phase::Measure {
                shared.echoes.set(shared.echoes.get() + 1);
                let micros = u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX);
                shared.rtt.borrow_mut().saturating_record(micros);
            }
        }
    }
    Ok(())
}

/// Runs the load against the server at `addr` (process `pid`), with `redis` probed for
/// the RedisStore.
pub async fn run(
    addr: SocketAddr,
    kind: Kind,
    pid: u32,
    mut redis: Option<(&mut Probe, &str)>,
    load: Load,
) -> Result<Figures> {
    let clients: Vec<Result<Client>> = stream::iter(0..load.connections)
        .map(|_| Client::connect(addr, kind))
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let shared = Rc::new(Shared {
        phase: Cell::new(Phase::Unmeasured),
        echoes: Cell::new(0),
        rtt: RefCell::new(crate::histogram()?),
        failed: Cell::new(0),
        first_error: RefCell::new(None),
    });
    let fail = |shared: &Shared, e: &dyn std::fmt::Display| {
        shared.failed.set(shared.failed.get() + 1);
        shared
            .first_error
            .borrow_mut()
            .get_or_insert_with(|| e.to_string());
    };
    let mut tasks = Vec::with_capacity(clients.len());
    for (conn, client) in clients.into_iter().enumerate() {
        match client {
            Ok(client) => {
                let shared = shared.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    if let Err(e) = drive(conn, client, shared.clone()).await {
                        fail(&shared, &e);
                    }
                }));
            }
            Err(e) => fail(&shared, &e),
        }
    }
    tokio::time::sleep(load.warmup).await;
    let cpu0 = procfs::cpu_ticks(pid)?;
    let own0 = procfs::cpu_ticks(std::process::id())?;
    let cores0 = procfs::core_ticks()?;
    let redis0 = match &mut redis {
        Some((probe, _)) => Some(probe.snapshot().await?),
        None => None,
    };
    let t0 = Instant::now();
    shared.phase.set(Phase::Measure);
    tokio::time::sleep(load.measure).await;
    shared.phase.set(Phase::Unmeasured);
    let seconds = t0.elapsed().as_secs_f64();
    let cpu1 = procfs::cpu_ticks(pid)?;
    let own1 = procfs::cpu_ticks(std::process::id())?;
    let cores1 = procfs::core_ticks()?;
    let (redis, request_share) = match (redis, redis0) {
        (Some((probe, url)), Some(before)) => {
            let grown = probe.snapshot().await?.since(&before);
            // Under the same load, after the window: MONITOR slows Redis down.
            let share = redis_stats::request_share(url, SAMPLE).await;
            (Some(grown), share)
        }
        _ => (None, None),
    };
    shared.phase.set(Phase::Stop);
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    let rtt = shared.rtt.borrow().clone();
    let tck = procfs::ticks_per_second() as f64;
    let first_error = shared.first_error.borrow().clone();
    Ok(Figures {
        connections: load.connections,
        seconds,
        echoes: shared.echoes.get(),
        server_cpu: (cpu1 - cpu0) as f64 / tck,
        load_cpu: (own1 - own0) as f64 / tck,
        others_cpu: [0, 1].map(|core| {
            let busy = |c: &[(u64, u64)]| c.get(core).map_or(0, |t| t.0);
            let mine = if core == 0 { cpu1 - cpu0 } else { own1 - own0 };
            busy(&cores1)
                .saturating_sub(busy(&cores0))
                .saturating_sub(mine) as f64
                / tck
        }),
        redis,
        request_share,
        rtt,
        failed: shared.failed.get(),
        first_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_64_bytes_and_differ() {
        assert_eq!(payload(999_999, u64::from(u32::MAX)).len(), MESSAGE_BYTES);
        assert_ne!(payload(1, 2), payload(2, 1));
    }
}
