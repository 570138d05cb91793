//! The servers under test, each its own process (the binaries next to this one), pinned
//! to core 0 with `taskset` when there is a second core for the load generator. Stopped
//! (killed, by its own pid) when dropped.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::client::Kind;
use crate::Result;

/// A running server process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    // Kept open so the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    /// Its process id (taskset execs the server: the same process).
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// The machine's online cores (not this process's affinity: the load generator itself runs
/// pinned to one).
fn cores() -> usize {
    std::fs::read_to_string("/proc/stat").map_or(1, |stat| {
        stat.lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count()
    })
}

/// Whether servers are pinned to core 0 (two cores or more, and taskset present).
pub fn pinning() -> bool {
    cores() >= 2 && Command::new("taskset").arg("-V").output().is_ok()
}

impl Server {
    /// Starts `kind`'s echo server (`redis_url` for the Redis one) and waits for its
    /// address.
    pub fn start(kind: Kind, redis_url: Option<&str>) -> Result<Server> {
        let name = match kind {
            Kind::Raw => "raw-echo",
            Kind::Memory => "memory-echo",
            Kind::Redis => "redis-echo",
        };
        let exe = std::env::current_exe()?;
        let bin = exe
            .parent()
            .ok_or("no directory of the bench binary")?
            .join(name);
        let mut command = if pinning() {
            let mut c = Command::new("taskset");
            c.arg("-c").arg("0").arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        if kind == Kind::Redis {
            command.arg(redis_url.ok_or("the Redis server needs a Redis URL")?);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()?;
        let pid = child.id();
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addr = match line.trim().strip_prefix("listening on ") {
            Some(addr) => addr.parse()?,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{name} did not start: {line:?}").into());
            }
        };
        Ok(Server {
            child,
            _stdout: stdout,
            pid,
            addr,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
