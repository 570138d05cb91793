//! State shared by all connections of one server: stats, the registry of open
//! WebSocket connections, fault-injection switches and the broadcast room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use tokio::sync::{broadcast, Notify};

use crate::config::Config;
use crate::stats::Stats;

/// Queue length of the broadcast room (per member).
const ROOM_CAPACITY: usize = 4096;

/// Why a WebSocket handshake was refused with 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `/control/refuse` is active.
    Refusing,
    /// `--max-connections` are already open.
    Full,
}

/// An open connection's `id` query parameter and the notifier that drops it.
type OpenConn = (Option<String>, Arc<Notify>);

/// Everything shared between connections.
#[derive(Debug)]
pub struct State {
    /// The configuration the server was started with.
    pub config: Config,
    stats: Mutex<Stats>,
    /// Open connections: their `id` query parameter and the notifier that drops them.
    conns: Mutex<HashMap<u64, OpenConn>>,
    next_conn: AtomicU64,
    refuse_until: Mutex<Option<Instant>>,
    mute_until: Mutex<Option<Instant>>,
    room: broadcast::Sender<Message>,
    /// The `/resume` route's sessions, per test id (and the chat's, per tab).
    pub resume: crate::resume::ResumeSessions,
    /// The chat demo's room (`/chat`).
    pub chat: crate::chat::Room,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn window_active(m: &Mutex<Option<Instant>>) -> bool {
    lock(m).is_some_and(|until| Instant::now() < until)
}

fn set_window(m: &Mutex<Option<Instant>>, ms: u64) {
    *lock(m) = (ms > 0).then(|| Instant::now() + Duration::from_millis(ms));
}

impl State {
    /// Creates the state; `routes` are pre-listed in the stats.
    pub fn new(config: Config, routes: &[&'static str]) -> Self {
        let (room, _) = broadcast::channel(ROOM_CAPACITY);
        Self {
            config,
            stats: Mutex::new(Stats::new(routes)),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            refuse_until: Mutex::new(None),
            mute_until: Mutex::new(None),
            room,
            resume: Default::default(),
            chat: Default::default(),
        }
    }

    /// Locks the stats.
    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    /// Refuse every handshake for `ms` milliseconds (0 stops refusing).
    pub fn refuse_for(&self, ms: u64) {
        set_window(&self.refuse_until, ms);
    }

    /// Whether `/control/refuse` is in force (routes that admit on their own ask this).
    pub fn refusing(&self) -> bool {
        window_active(&self.refuse_until)
    }

    /// Leave heartbeat pings unanswered for `ms` milliseconds (0 unmutes).
    pub fn mute_pings_for(&self, ms: u64) {
        set_window(&self.mute_until, ms);
    }

    /// Whether heartbeat pings are currently muted.
    pub fn pings_muted(&self) -> bool {
        window_active(&self.mute_until)
    }

    /// Sends a message to every room member; returns how many got it.
    pub fn broadcast(&self, msg: Message) -> usize {
        self.room.send(msg).unwrap_or(0)
    }

    /// Signals every open WebSocket connection to drop its TCP connection.
    /// Drops every open connection, or only those opened with `id`.
    pub fn drop_all(&self, only_id: Option<&str>) -> usize {
        self.resume.drop_all(only_id);
        let conns = lock(&self.conns);
        let mut dropped = 0;
        for (id, kill) in conns.values() {
            if only_id.is_none() || id.as_deref() == only_id {
                kill.notify_one();
                dropped += 1;
            }
        }
        dropped
    }

    /// Admits a WebSocket connection, or refuses it (counted in `refused`).
    ///
    /// Joining the room happens here too, so a member receives everything
    /// broadcast after its handshake response was written.
    pub fn admit(
        self: &Arc<Self>,
        route: &'static str,
        id: Option<String>,
        join_room: bool,
    ) -> Result<ConnGuard, Refusal> {
        let mut stats = self.stats();
        let refusal = if window_active(&self.refuse_until) {
            Some(Refusal::Refusing)
        } else if stats.open() >= self.config.max_connections as u64 {
            Some(Refusal::Full)
        } else {
            None
        };
        if let Some(r) = refusal {
            stats.record_refused();
            return Err(r);
        }
        stats.record_opened(route, id.as_deref());
        drop(stats);
        let conn_id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let kill = Arc::new(Notify::new());
        lock(&self.conns).insert(conn_id, (id.clone(), kill.clone()));
        Ok(ConnGuard {
            state: Arc::clone(self),
            conn_id,
            route,
            id,
            kill,
            room: join_room.then(|| self.room.subscribe()),
        })
    }
}

/// An admitted WebSocket connection; unregisters itself when dropped.
#[derive(Debug)]
pub struct ConnGuard {
    state: Arc<State>,
    /// Server-unique connection number (for logs).
    pub conn_id: u64,
    /// Route the connection was opened on.
    pub route: &'static str,
    /// The `id` query parameter, if given.
    pub id: Option<String>,
    /// Notified by `/control/drop-all`.
    pub kill: Arc<Notify>,
    /// Room subscription (only for `/room`).
    pub room: Option<broadcast::Receiver<Message>>,
}

impl ConnGuard {
    /// The shared server state.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        lock(&self.state.conns).remove(&self.conn_id);
        self.state
            .stats()
            .record_closed(self.route, self.id.as_deref());
    }
}
