//! The chaos soak's server (`soak-server`): resumable sessions (ws-tether-server with its
//! Redis store) and plain WebSockets, both counting what clients send and pushing numbered
//! messages, with every count in Redis so that it survives a killed process and two
//! processes share it. Owns the `soak:` keys; the sessions' own records are under
//! `tether-soak:` and belong to ws-tether-server.
//!
//! Routes:
//! - `GET /soak/resume?client=ID[&app=slow]`: a `tether.resume.v1` session; with
//!   `app=slow` the application reads in bursts (it pauses 300 ms after every 100th
//!   message), so the clients meet the receive window (512 bytes here) and acks that wait;
//! - `GET /soak/plain?client=ID`: a plain WebSocket;
//! - `POST /soak/close?code=1000|1001[&exit=1]`: close every WebSocket of this process
//!   with `code` (resume sessions stay in Redis); with `exit=1` the process then exits;
//! - `GET /soak/stats`: JSON, per client id, the counts below;
//! - `POST /soak/reset`: deletes the counts (not the sessions, which expire on their own).
//!
//! Counting, per client id, of the text messages "1", "2", ... the client sends:
//! `received` (every message counted), `highest`, `duplicates` (a number seen before:
//! exact, a bitmap of seen numbers), `reordered` (a number below `highest` not seen before;
//! it also fills a gap, so `lost` goes down by one), `lost` (numbers skipped and not
//! filled), `invalid` (not a number from 1 to 100,000,000). In resume mode a message is
//! counted once per (session, seq): a message the protocol delivers again after a process
//! died between handing it over and recording it (the at-least-once window of the
//! delivery guarantee) is counted as `redelivered` only. A count is retried until Redis
//! answers (after a SIGSTOP, calls time out), each attempt marked so that a retry of one
//! whose reply was lost counts nothing; in resume mode the stream is asked for the next
//! message only after the count, so a message not counted before a kill comes again.
//! Push records are retried too.
//!
//! Pushing: while a connection is open, every 10 ms, the text of a number. Resume mode: the
//! session's outgoing sequence number (`pushed`: per session, the highest number recorded,
//! summed; a message recorded just before a kill is counted by the next push of its
//! session). Plain mode: a per-client Redis counter incremented before each write, so
//! numbers continue across processes and reconnects and a write that fails leaves a gap at
//! the client (`pushed`: the counter).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt as _, StreamExt as _};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands as _, Script};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, Notify};
use ws_tether_server::{Config, Message, RedisStore, Session, Sessions};

/// Every pushing connection sends one message per this interval.
pub const PUSH_INTERVAL: Duration = Duration::from_millis(10);
/// The slow application (`app=slow`) pauses this long after every this many messages:
/// each pause fills the window (the client sends 30 messages meanwhile), and on average
/// the application keeps up (333 messages a second at most against the client's 100),
/// with room to catch up after a fault. (With 600 ms it could take 166 a second: the
/// backlog each frozen or restarted server left, 200-500 messages, took longer to drain
/// than the next faults took to come, and grew through 200 faults.)
const SLOW_EVERY: u64 = 100;
const SLOW_PAUSE: Duration = Duration::from_millis(300);
/// The sessions' receive window: small, so that the slow application's pauses fill it
/// and the clients wait for acknowledgements (flow control under faults).
const WINDOW_BYTES: usize = 512;

/// The largest number counted; above it a message is `invalid` (bounds the bitmap).
pub const MAX_NUMBER: u64 = 100_000_000;
/// The key prefix of the sessions' records (ws-tether-server's `RedisStore`).
pub const SESSION_PREFIX: &str = "tether-soak";

/// Why the soak server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoakError {
    /// Redis is unreachable or refused the connection.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The session layer could not start.
    #[error("sessions: {0}")]
    Sessions(#[from] ws_tether_server::Error),
}

/// The soak server's shared state.
#[derive(Clone)]
pub struct Soak {
    name: Arc<str>,
    redis: ConnectionManager,
    sessions: Sessions,
    scripts: Arc<Scripts>,
    /// Close requests for the plain WebSockets: the close code.
    close_plain: broadcast::Sender<u16>,
    /// Open plain WebSockets, and a wake-up when one closes.
    plain_open: Arc<(std::sync::atomic::AtomicUsize, Notify)>,
    /// Completes `serve`'s graceful shutdown (`/soak/close?exit=1`).
    exit: Arc<Notify>,
    /// Names each counting attempt: this process's id and start, and a counter.
    attempt_prefix: Arc<str>,
    attempts: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Soak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Soak")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

struct Scripts {
    count: Script,
    pushed: Script,
}

/// Counts one number `ARGV[1]` for the client (`KEYS[1]` stats hash, `KEYS[2]` bitmap of
/// seen numbers, `KEYS[3]` last seq per session, `KEYS[4]` the client set), once per
/// (session `ARGV[2]`, seq `ARGV[3]`) when a session is given. `KEYS[5]` marks the attempt
/// done (for `ARGV[5]` ms): a retry of an attempt whose reply was lost counts nothing.
const COUNT: &str = r"
if redis.call('SET', KEYS[5], 1, 'NX', 'PX', ARGV[5]) == false then return 0 end
redis.call('SADD', KEYS[4], ARGV[4])
if ARGV[2] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
  if tonumber(ARGV[3]) <= last then
    redis.call('HINCRBY', KEYS[1], 'redelivered', 1)
    return 0
  end
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
end
redis.call('HINCRBY', KEYS[1], 'received', 1)
local n = tonumber(ARGV[1])
if not n then
  redis.call('HINCRBY', KEYS[1], 'invalid', 1)
  return 0
end
if redis.call('SETBIT', KEYS[2], n, 1) == 1 then
  redis.call('HINCRBY', KEYS[1], 'duplicates', 1)
  return 0
end
local highest = tonumber(redis.call('HGET', KEYS[1], 'highest') or '0')
if n < highest then
  redis.call('HINCRBY', KEYS[1], 'reordered', 1)
  redis.call('HINCRBY', KEYS[1], 'lost', -1)
elseif n > highest then
  redis.call('HINCRBY', KEYS[1], 'lost', n - highest - 1)
  redis.call('HSET', KEYS[1], 'highest', n)
end
return 1
";

/// Raises the highest number pushed in session `ARGV[1]` to `ARGV[2]` (`KEYS[1]`).
const PUSHED: &str = r"
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
";

const CLIENTS: &str = "soak:clients";

/// How long a counting attempt's mark stays (its retries end long before).
const ATTEMPT_MARK: Duration = Duration::from_secs(600);

/// Runs a Redis call until it succeeds: a stopped process (SIGSTOP) or Redis sees its calls
/// time out, and nothing counted may be dropped. Waits 20 ms, doubling up to 1 s, between
/// attempts.
async fn retry<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    let mut pause = Duration::from_millis(20);
    loop {
        match call().await {
            Ok(value) => return value,
            Err(error) => {
                tracing::warn!("{what} failed, retrying: {error}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// This process's part of the attempt names: its id and its start time.
fn attempt_prefix() -> String {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{started}", std::process::id())
}

fn key(client: &str, what: &str) -> String {
    format!("soak:c:{client}:{what}")
}

impl Soak {
    /// Connects to Redis at `url`; `name` tells processes apart in logs.
    pub async fn connect(name: &str, url: &str) -> Result<Soak, SoakError> {
        let redis = redis::Client::open(url)?.get_connection_manager().await?;
        let store = RedisStore::with_connection(redis.clone()).prefix(SESSION_PREFIX);
        let config = Config::default()
            .max_message_bytes(WINDOW_BYTES)
            .max_incoming_bytes(WINDOW_BYTES);
        let sessions = Sessions::with_store(config, store)?;
        Ok(Soak {
            name: name.into(),
            redis,
            sessions,
            scripts: Arc::new(Scripts {
                count: Script::new(COUNT),
                pushed: Script::new(PUSHED),
            }),
            close_plain: broadcast::channel(16).0,
            plain_open: Arc::new((0.into(), Notify::new())),
            exit: Arc::new(Notify::new()),
            attempt_prefix: attempt_prefix().into(),
            attempts: Arc::new(0.into()),
        })
    }

    /// Closes every WebSocket of this process with `code`: the resume sessions' connections
    /// (the sessions stay in Redis) and the plain sockets. Returns once they are closed
    /// (plain sockets: at most 5 s).
    pub async fn close_all(&self, code: u16) {
        self.sessions.close_connections(code, "soak close").await;
        let _ = self.close_plain.send(code);
        // Each plain socket leaves the count once its close frame is written.
        let (open, closed) = &*self.plain_open;
        let wait = async {
            loop {
                let notified = closed.notified();
                if open.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
    }

    /// Completes when `/soak/close?exit=1` asked this process to exit.
    pub async fn exit_requested(&self) {
        self.exit.notified().await;
    }

    /// The soak routes (and nothing else).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/soak/resume", get(resume))
            .route("/soak/plain", get(plain))
            .route("/soak/close", post(close))
            .route("/soak/stats", get(stats))
            .route("/soak/reset", post(reset))
            .with_state(self.clone())
    }

    /// Counts one message; returns once it is counted (retrying while Redis fails), so that
    /// the caller finishes with the message only then.
    async fn count(&self, client: &str, text: Option<&str>, session: Option<(&str, u64)>) {
        let number = text
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|n| (1..=MAX_NUMBER).contains(n))
            .map(|n| n.to_string())
            .unwrap_or_default();
        let (session, seq) = session.map_or((String::new(), 0), |(s, q)| (s.to_owned(), q));
        let attempt = self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mark = format!("soak:attempt:{}:{attempt}", self.attempt_prefix);
        let what = format!("counting ({})", self.name);
        retry(&what, || {
            let mut redis = self.redis.clone();
            let mut invocation = self.scripts.count.prepare_invoke();
            invocation
                .key(key(client, "stats"))
                .key(key(client, "seen"))
                .key(key(client, "seq"))
                .key(CLIENTS)
                .key(&mark)
                .arg(&number)
                .arg(&session)
                .arg(seq)
                .arg(client)
                .arg(ATTEMPT_MARK.as_millis() as u64);
            async move { invocation.invoke_async::<i64>(&mut redis).await }
        })
        .await;
    }
}

#[derive(Debug, Deserialize)]
struct ClientQuery {
    client: Option<String>,
    app: Option<String>,
}

/// The `client` query parameter, if valid.
fn client_id(query: &ClientQuery) -> Option<String> {
    query.client.clone().filter(|id| {
        (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

fn bad_client() -> Response {
    (
        StatusCode::BAD_REQUEST,
        "client=ID required: 1 to 64 of A-Z a-z 0-9 _ -\n",
    )
        .into_response()
}

async fn resume(
    ws: WebSocketUpgrade,
    Query(query): Query<ClientQuery>,
    State(soak): State<Soak>,
) -> Response {
    let Some(client) = client_id(&query) else {
        return bad_client();
    };
    let sessions = soak.sessions.clone();
    let slow = query.app.as_deref() == Some("slow");
    sessions.upgrade(ws, move |session| run_session(soak, client, session, slow))
}

/// One session on this process: count what arrives, push while connected, until the
/// session is over.
async fn run_session(soak: Soak, client: String, session: Session, slow: bool) {
    let id = session.id().to_owned();
    let (mut sink, mut stream) = session.split();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let pusher = {
        let soak = soak.clone();
        let client = client.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PUSH_INTERVAL);
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tick.tick() => {}
                }
                if !sink.is_connected() {
                    continue;
                }
                let n = sink.next_seq();
                if sink.send(Message::Text(n.to_string())).await.is_err() {
                    return;
                }
                // Idempotent (a maximum): retried until recorded.
                retry("recording a push", || {
                    let mut redis = soak.redis.clone();
                    let mut invocation = soak.scripts.pushed.prepare_invoke();
                    invocation.key(key(&client, "pushed")).arg(&id).arg(n);
                    async move { invocation.invoke_async::<i64>(&mut redis).await }
                })
                .await;
            }
        })
    };
    while let Some(Ok(incoming)) = stream.next().await {
        let text = incoming.message.as_text();
        soak.count(&client, text, Some((&id, incoming.seq))).await;
        if slow && incoming.seq % SLOW_EVERY == 0 {
            // A busy application: nothing is taken (nor acknowledged) meanwhile.
            tokio::time::sleep(SLOW_PAUSE).await;
        }
    }
    let _ = stop.send(());
    let _ = pusher.await;
}

async fn plain(
    ws: WebSocketUpgrade,
    Query(query): Query<ClientQuery>,
    State(soak): State<Soak>,
) -> Response {
    let Some(client) = client_id(&query) else {
        return bad_client();
    };
    ws.on_upgrade(move |socket| run_plain(soak, client, socket))
}

/// A plain WebSocket: count what arrives, push numbers from the client's Redis counter.
async fn run_plain(soak: Soak, client: String, socket: WebSocket) {
    let open = soak.plain_open.clone();
    open.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut close_requests = soak.close_plain.subscribe();
    let (mut writer, mut reader) = socket.split();
    let mut tick = tokio::time::interval(PUSH_INTERVAL);
    let counter = key(&client, "plain");
    loop {
        tokio::select! {
            frame = reader.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => soak.count(&client, Some(text.as_str()), None).await,
                Some(Ok(WsMessage::Binary(_))) => soak.count(&client, None, None).await,
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => break,
            },
            _ = tick.tick() => {
                let mut redis = soak.redis.clone();
                let n: u64 = match redis.incr(&counter, 1).await {
                    Ok(n) => n,
                    Err(error) => {
                        tracing::warn!("plain counter: {error}");
                        continue;
                    }
                };
                if writer.send(WsMessage::Text(n.to_string().into())).await.is_err() {
                    break;
                }
            }
            code = close_requests.recv() => {
                if let Ok(code) = code {
                    let frame = CloseFrame { code, reason: "soak close".into() };
                    let _ = writer.send(WsMessage::Close(Some(frame))).await;
                }
                break;
            }
        }
    }
    open.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    open.1.notify_waiters();
}

#[derive(Debug, Deserialize)]
struct CloseQuery {
    code: Option<u16>,
    exit: Option<u8>,
}

async fn close(Query(query): Query<CloseQuery>, State(soak): State<Soak>) -> Response {
    let code = match query.code {
        Some(code @ (1000 | 1001)) => code,
        _ => return (StatusCode::BAD_REQUEST, "code=1000 or code=1001 required\n").into_response(),
    };
    let resumable = soak.sessions.running();
    soak.close_all(code).await;
    if query.exit == Some(1) {
        tracing::info!(name = %soak.name, "exiting on /soak/close?exit=1");
        soak.exit.notify_one();
    }
    Json(serde_json::json!({ "closed_code": code, "sessions": resumable })).into_response()
}

/// One client's counts, as `/soak/stats` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStats {
    /// Messages counted (each (session, seq) once in resume mode).
    pub received: u64,
    /// The highest number received.
    pub highest: u64,
    /// Numbers received more than once.
    pub duplicates: u64,
    /// Numbers received below `highest` for the first time (late).
    pub reordered: u64,
    /// Numbers skipped and never received.
    pub lost: u64,
    /// Messages that were not a number from 1 to [`MAX_NUMBER`].
    pub invalid: u64,
    /// Resume mode: messages delivered again after a process died before recording them.
    pub redelivered: u64,
    /// Messages the server pushed (resume: recorded; plain: numbers taken).
    pub pushed: u64,
}

async fn stats(State(soak): State<Soak>) -> Response {
    match read_stats(&soak).await {
        Ok(stats) => Json(stats).into_response(),
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("redis: {error}\n")).into_response()
        }
    }
}

/// Every client's counts, from Redis.
pub async fn read_stats(soak: &Soak) -> redis::RedisResult<BTreeMap<String, ClientStats>> {
    let mut redis = soak.redis.clone();
    let clients: Vec<String> = redis.smembers(CLIENTS).await?;
    let mut all = BTreeMap::new();
    for client in clients {
        let fields: BTreeMap<String, i64> = redis.hgetall(key(&client, "stats")).await?;
        let get = |name: &str| fields.get(name).copied().unwrap_or(0).max(0) as u64;
        let pushed_per_session: BTreeMap<String, u64> =
            redis.hgetall(key(&client, "pushed")).await?;
        let plain: Option<u64> = redis.get(key(&client, "plain")).await?;
        all.insert(
            client,
            ClientStats {
                received: get("received"),
                highest: get("highest"),
                duplicates: get("duplicates"),
                reordered: get("reordered"),
                lost: get("lost"),
                invalid: get("invalid"),
                redelivered: get("redelivered"),
                pushed: pushed_per_session.values().sum::<u64>() + plain.unwrap_or(0),
            },
        );
    }
    Ok(all)
}

async fn reset(State(soak): State<Soak>) -> Response {
    let mut redis = soak.redis.clone();
    let result: redis::RedisResult<()> = async {
        let clients: Vec<String> = redis.smembers(CLIENTS).await?;
        for client in clients {
            let keys: Vec<String> = ["stats", "seen", "seq", "pushed", "plain"]
                .iter()
                .map(|what| key(&client, what))
                .collect();
            let () = redis.del(keys).await?;
        }
        redis.del(CLIENTS).await
    }
    .await;
    match result {
        Ok(()) => (StatusCode::OK, "reset\n").into_response(),
        Err(error) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("redis: {error}\n")).into_response()
        }
    }
}
