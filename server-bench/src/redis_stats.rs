//! Redis as the benchmark sees it from outside: `INFO` counters (commands by
//! `commandstats`, round trips by `total_reads_processed`, memory) and the CPU time of
//! redis-server's process. Which commands are requests of their own and which run inside
//! a script, `INFO` can't tell: a short `MONITOR` sample (redis-cli) gives that share.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{procfs, Result};

/// A connection for `INFO`, and redis-server's pid.
pub struct Probe {
    connection: redis::aio::MultiplexedConnection,
    /// redis-server's process id (`INFO server`).
    pub pid: u32,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").field("pid", &self.pid).finish()
    }
}

/// Redis's counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// Commands executed, those called from scripts included, `INFO` excluded.
    pub commands: u64,
    /// Read events: each is a round trip of one client (a pipeline counts once).
    pub reads: u64,
    /// `used_memory`, bytes.
    pub used_memory: u64,
    /// redis-server's CPU time, clock ticks.
    pub cpu_ticks: u64,
}

impl Snapshot {
    /// The counters' growth from `earlier` to `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            commands: self.commands.saturating_sub(earlier.commands),
            reads: self.reads.saturating_sub(earlier.reads),
            used_memory: self.used_memory.saturating_sub(earlier.used_memory),
            cpu_ticks: self.cpu_ticks.saturating_sub(earlier.cpu_ticks),
        }
    }
}

impl Probe {
    /// Connects to `url` and finds redis-server's pid.
    pub async fn connect(url: &str) -> Result<Probe> {
        let client = redis::Client::open(url)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut connection)
            .await?;
        let pid = field(&info, "process_id").ok_or("INFO has no process_id")?;
        Ok(Probe {
            connection,
            pid: u32::try_from(pid)?,
        })
    }

    /// The counters now.
    pub async fn snapshot(&mut self) -> Result<Snapshot> {
        let info: String = redis::cmd("INFO")
            .arg("all")
            .query_async(&mut self.connection)
            .await?;
        let commands = info
            .lines()
            .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
            .filter_map(|l| {
                l.split_once("calls=")?
                    .1
                    .split(',')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        Ok(Snapshot {
            commands,
            reads: field(&info, "total_reads_processed")
                .ok_or("INFO has no total_reads_processed")?,
            used_memory: field(&info, "used_memory").ok_or("INFO has no used_memory")?,
            cpu_ticks: procfs::cpu_ticks(self.pid)?,
        })
    }
}

/// Of the commands Redis executes during `sample`, the share that are requests of their
/// own (sent by a client: a script call counts once) rather than run inside a script.
/// `MONITOR` slows Redis down: sample outside measured windows. `None` if redis-cli is
/// missing or saw nothing.
pub async fn request_share(url: &str, sample: Duration) -> Option<f64> {
    let mut child = Command::new("redis-cli")
        .args(["-u", url, "MONITOR"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    // [requests, inside scripts, lines read]: the first line (`OK`) says MONITOR is on.
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let reader = {
        let counts = counts.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                counts[2].fetch_add(1, Ordering::Relaxed);
                if let Some(kind) = monitored(&line) {
                    counts[usize::from(kind == Source::Script)].fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    for _ in 0..100 {
        if counts[2].load(Ordering::Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(sample).await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let [requests, scripted] = [0, 1].map(|i| counts[i].load(Ordering::Relaxed) as f64);
    (requests + scripted > 0.0).then(|| requests / (requests + scripted))
}

#[derive(Debug, PartialEq, Eq)]
enum Source {
    Client,
    Script,
}

/// Where a `MONITOR` line's command came from (`TIME [db lua] "CMD" ...` or
/// `TIME [db addr] "CMD" ...`); `None` for other lines and for `INFO` (the probe's own).
fn monitored(line: &str) -> Option<Source> {
    let (_, rest) = line.split_once(" [")?;
    let (origin, command) = rest.split_once("] ")?;
    if command.to_ascii_lowercase().starts_with("\"info\"") {
        return None;
    }
    Some(if origin.ends_with(" lua") {
        Source::Script
    } else {
        Source::Client
    })
}

fn field(info: &str, name: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn reads_a_field_not_one_that_starts_the_same() {
        let info = "used_memory_human:1.00M\r\nused_memory:1048576\r\nprocess_id:42\r\n";
        assert_eq!(field(info, "used_memory"), Some(1_048_576));
        assert_eq!(field(info, "process_id"), Some(42));
        assert_eq!(field(info, "total_reads_processed"), None);
    }

    #[test]
    fn tells_script_commands_from_requests() {
        use super::{monitored, Source};
        let call = r#"1733040000.123456 [0 127.0.0.1:5432] "EVALSHA" "ab12" "2""#;
        let inner = r#"1733040000.123457 [0 lua] "HSET" "k" "f" "v""#;
        assert_eq!(monitored(call), Some(Source::Client));
        assert_eq!(monitored(inner), Some(Source::Script));
        assert_eq!(
            monitored(r#"1733040000.1 [0 127.0.0.1:5432] "INFO" "all""#),
            None
        );
        assert_eq!(monitored("OK"), None);
    }
}
