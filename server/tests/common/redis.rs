//! A real `redis-server` on a free loopback port (or `REDIS_URL`), and server "processes":
//! each its own tokio runtime, so a test can kill one with everything it runs.

use std::process::Stdio;
use std::time::Duration;

use ws_tether_server::{Config, RedisStore, Sessions};

use super::{within, Server};

/// A Redis server for one test: `REDIS_URL` if set, else a `redis-server` started on a
/// free port without persistence, killed when dropped.
pub struct Redis {
    pub url: String,
    child: Option<tokio::process::Child>,
    /// With [`Redis::start_persistent`]: the port and the folder of its snapshot.
    port: u16,
    dir: Option<std::path::PathBuf>,
}

impl Redis {
    pub async fn start() -> Redis {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Redis {
                url,
                child: None,
                port: 0,
                dir: None,
            };
        }
        for _ in 0..5 {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            };
            if let Some(redis) = Redis::spawn(port, None).await {
                return redis;
            }
            // The port was taken meanwhile: try another.
        }
        panic!("redis-server did not start");
    }

    /// A Redis server whose data is snapshotted (`SAVE`) into a folder of its own, so a
    /// test can restart it from an old snapshot ([`Redis::restart_from_snapshot`]).
    pub async fn start_persistent() -> Redis {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ws-tether-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for _ in 0..5 {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            };
            if let Some(redis) = Redis::spawn(port, Some(dir.clone())).await {
                return redis;
            }
        }
        panic!("redis-server did not start");
    }

    async fn spawn(port: u16, dir: Option<std::path::PathBuf>) -> Option<Redis> {
        let folder = dir.clone().unwrap_or_else(std::env::temp_dir);
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&folder)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is not installed (scripts/setup installs it)");
        let redis = Redis {
            url: format!("redis://127.0.0.1:{port}"),
            child: Some(child),
            port,
            dir,
        };
        for _ in 0..100 {
            if RedisStore::connect(&redis.url).await.is_ok() {
                return Some(redis);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Runs one Redis command, for a test's own checks and faults.
    pub async fn command<T: ::redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let client = ::redis::Client::open(self.url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let mut cmd = ::redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut connection).await.unwrap()
    }

    /// Like a crash and a restart that loads the last snapshot (`SAVE`): everything
    /// written since is gone. Same port; the stores reconnect on their own.
    pub async fn restart_from_snapshot(&mut self) {
        let dir = self.dir.take().expect("a persistent Redis");
        if let Some(mut child) = self.child.take() {
            // SIGKILL: no save on the way down.
            let _ = child.kill().await;
        }
        let restarted = Redis::spawn(self.port, Some(dir))
            .await
            .expect("redis-server restarts on its port");
        *self = restarted;
    }

    /// A store on this Redis server, with keys under `prefix`.
    pub async fn store(&self, prefix: &str) -> RedisStore {
        RedisStore::connect(&self.url)
            .await
            .expect("connect to Redis")
            .prefix(prefix)
    }
}

/// A server process: its own runtime, killed with everything it runs by `kill`.
pub struct Process {
    pub server: Server,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Process {
    pub async fn start(redis: &Redis, prefix: &str, config: Config) -> Process {
        Process::start_with(redis, prefix, config, false).await
    }

    /// A process whose application finishes with messages only when told
    /// ([`Server::finish_one`]).
    pub async fn start_gated(redis: &Redis, prefix: &str, config: Config) -> Process {
        Process::start_with(redis, prefix, config, true).await
    }

    async fn start_with(redis: &Redis, prefix: &str, config: Config, gated: bool) -> Process {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let url = redis.url.clone();
        let prefix = prefix.to_owned();
        let server = runtime.spawn(async move {
            let store = RedisStore::connect(&url).await.unwrap().prefix(prefix);
            let sessions = Sessions::with_store(config, store).unwrap();
            if gated {
                Server::start_gated(sessions).await
            } else {
                Server::start(sessions).await
            }
        });
        let server = within("a server process", server).await.unwrap();
        Process {
            server,
            runtime: Some(runtime),
        }
    }

    /// Like SIGKILL: every task of the process stops where it is.
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
