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
    _child: Option<tokio::process::Child>,
}

impl Redis {
    pub async fn start() -> Redis {
        if let Ok(url) = std::env::var("REDIS_URL") {
            return Redis { url, _child: None };
        }
        for _ in 0..5 {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            };
            let child = tokio::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(std::env::temp_dir())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("redis-server is not installed (scripts/setup installs it)");
            let url = format!("redis://127.0.0.1:{port}");
            let redis = Redis {
                url,
                _child: Some(child),
            };
            for _ in 0..100 {
                if RedisStore::connect(&redis.url).await.is_ok() {
                    return redis;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // The port was taken meanwhile: try another.
        }
        panic!("redis-server did not start");
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
