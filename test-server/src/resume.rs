//! `/resume?id=X&drop_every=N&hold_ms=T`: an echo over a ws-tether-server session (the
//! resume protocol; in memory, or in Redis with `--resume-redis`) for the browser tests and
//! the conformance kit. Each test id gets its own `Sessions`, so `drop_every` (close the
//! connection after every N messages received, keeping the session: the client resumes)
//! and `/control/drop-all` touch only that test's sockets. `hold_ms` makes the application
//! take T ms over the first message before echoing it: the server acknowledges only
//! messages the application has finished with, so a client's flush must wait that long.
//!
//! The conformance kit's options (`conformance/README.md`): `ttl_ms` (the sessions' time
//! to live), `overflow_bytes` (the replay bound, with echoes sent without waiting for room,
//! so a full buffer while the client is away overflows) and `end_after=N` (the application
//! ends the session after echoing its Nth message). Sessions with other values of
//! `ttl_ms` or `overflow_bytes` are kept apart, as other ids are. `/stats?id=X` counts the
//! sessions started and those the client ended (`end`), and lists the messages the
//! application received and when each handshake arrived (`dials`, Unix milliseconds).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use ws_tether_server::{Config, RedisStore, Sessions};

use crate::app::text;
use crate::state::State as Shared;
use crate::stats::Received;

/// The route's path, as in the stats.
pub const PATH: &str = "/resume";

/// The close code of a `drop_every` drop: 1012 (service restart), which clients retry.
const DROP_CODE: u16 = 1012;

/// The `Sessions` of each test id (`""` without one) and store options.
#[derive(Debug, Default)]
pub struct ResumeSessions {
    map: Mutex<HashMap<Key, Sessions>>,
    /// Numbers the Redis key prefixes of this process's `Sessions`.
    stores: AtomicU64,
}

/// A test id and the options that make its `Sessions` differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    id: String,
    ttl_ms: Option<u64>,
    overflow_bytes: Option<usize>,
}

impl ResumeSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Sessions>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key's `Sessions`, made on first use: in memory, or in Redis at `redis` under a
    /// key prefix of its own.
    async fn get(
        &self,
        key: Key,
        redis: Option<&str>,
    ) -> Result<Sessions, ws_tether_server::Error> {
        if let Some(sessions) = self.lock().get(&key) {
            return Ok(sessions.clone());
        }
        let mut config = Config::default();
        if let Some(ms) = key.ttl_ms {
            config = config.ttl(Duration::from_millis(ms));
        }
        if let Some(bytes) = key.overflow_bytes {
            config = config.max_buffer_bytes(bytes);
        }
        let sessions = match redis {
            None => Sessions::new(config)?,
            Some(url) => {
                let n = self.stores.fetch_add(1, Ordering::Relaxed);
                let prefix = format!("tether-test:{}:{n}", std::process::id());
                Sessions::with_store(config, RedisStore::connect(url).await?.prefix(prefix))?
            }
        };
        // Another connection may have made the key's `Sessions` meanwhile: use the first.
        Ok(self.lock().entry(key).or_insert(sessions).clone())
    }

    /// The `Sessions` of `id` with the default configuration (the chat demo's, one per
    /// tab, so `/control/drop-all?id=TAB` drops one tab's connection).
    pub async fn plain(
        &self,
        id: &str,
        redis: Option<&str>,
    ) -> Result<Sessions, ws_tether_server::Error> {
        let key = Key {
            id: id.to_owned(),
            ttl_ms: None,
            overflow_bytes: None,
        };
        self.get(key, redis).await
    }

    /// Closes the connections of every session (of `only_id`'s, if given); they resume.
    pub fn drop_all(&self, only_id: Option<&str>) {
        let all: Vec<Sessions> = {
            let map = self.lock();
            map.iter()
                .filter(|(key, _)| only_id.is_none_or(|only| only == key.id))
                .map(|(_, s)| s.clone())
                .collect()
        };
        for sessions in all {
            tokio::spawn(async move { sessions.close_connections(DROP_CODE, "drop-all").await });
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ResumeQuery {
    id: Option<String>,
    drop_every: Option<String>,
    hold_ms: Option<String>,
    ttl_ms: Option<String>,
    overflow_bytes: Option<String>,
    end_after: Option<String>,
}

/// Upper bound of `hold_ms`.
const MAX_HOLD_MS: u64 = 60_000;

pub async fn handle(
    State(state): State<Arc<Shared>>,
    Query(q): Query<ResumeQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    // `/control/refuse` holds here too: a test that makes the server refuse must see its
    // resume clients stay down.
    if state.refusing() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "refusing WebSocket handshakes (/control/refuse)",
        );
    }
    let drop_every = match q.drop_every.as_deref().map(str::parse::<u64>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return text(
                StatusCode::BAD_REQUEST,
                "drop_every: a whole number of messages (0: never)",
            )
        }
    };
    let hold = match q.hold_ms.as_deref().map(str::parse::<u64>) {
        None => 0,
        Some(Ok(ms)) if ms <= MAX_HOLD_MS => ms,
        Some(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("hold_ms: a whole number of milliseconds, at most {MAX_HOLD_MS}"),
            )
        }
    };
    let number = |raw: &Option<String>, name: &str| match raw.as_deref().map(str::parse::<u64>) {
        None => Ok(None),
        Some(Ok(n)) if n > 0 => Ok(Some(n)),
        Some(_) => Err(format!("{name}: a whole number above 0")),
    };
    let options = number(&q.ttl_ms, "ttl_ms").and_then(|ttl| {
        let overflow = number(&q.overflow_bytes, "overflow_bytes")?;
        Ok((ttl, overflow, number(&q.end_after, "end_after")?))
    });
    let (ttl_ms, overflow_bytes, end_after) = match options {
        Ok((t, o, e)) => (t, o.map(|o| o as usize), e),
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let id = q.id.unwrap_or_default();
    let unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    state.stats().record_dial(&id, unix_ms);
    let key = Key {
        id: id.clone(),
        ttl_ms,
        overflow_bytes,
    };
    let sessions = match state
        .resume
        .get(key, state.config.resume_redis.as_deref())
        .await
    {
        Ok(sessions) => sessions,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let kicker = sessions.clone();
    // With `overflow_bytes`, echoes don't wait for room: a send past the bound while the
    // client is away ends the session as overflowed (spec section 6).
    let wait_for_room = overflow_bytes.is_none();
    sessions.upgrade(ws, move |session| async move {
        state.stats().record_session(&id);
        let (mut sink, mut stream) = session.split();
        let mut received = 0u64;
        loop {
            let incoming = match stream.next().await {
                Some(Ok(incoming)) => incoming,
                // The stream ends without an error only when the client sent `end`.
                None => break state.stats().record_session_ended(&id),
                Some(Err(_)) => break,
            };
            let seen = match &incoming.message {
                ws_tether_server::Message::Text(t) => Received::Text(t),
                ws_tether_server::Message::Binary(b) => Received::Binary(b.len()),
            };
            state.stats().record_message(PATH, Some(&id), seen);
            received += 1;
            if received == 1 && hold > 0 {
                tokio::time::sleep(Duration::from_millis(hold)).await;
            }
            let sent = if wait_for_room {
                sink.send(incoming.message).await
            } else {
                futures_util::Sink::start_send(Pin::new(&mut sink), incoming.message)
            };
            if sent.is_err() {
                break;
            }
            if end_after == Some(received) {
                // Ends the session: `end`, then close 1000 (or `welcome ended` later).
                let _ = sink.close().await;
                break;
            }
            if drop_every > 0 && received.is_multiple_of(drop_every) {
                kicker.close_connections(DROP_CODE, "drop_every").await;
            }
        }
    })
}
