//! [`Sessions`]: this process's running sessions, and the opening of each connection
//! (subprotocol check, `hello`/`resume`, welcome). Owns the map from session id to the
//! session's task; never touches a session's state (that is the task's, `actor.rs`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, oneshot, watch};

use ws_tether::sans_io::resume::{Control, Frame};

use crate::actor::{Actor, Attached, Command, Start};
use crate::session::{Session, Shared};
use crate::store::{Claim, LostReason, MemoryStore, Snapshot, Store};
use crate::{Config, Error};

/// The sessions of this process, and the entry point for connections.
///
/// Cheap to clone (clones share everything): keep one in your axum state and call
/// [`Sessions::upgrade`] from the WebSocket route.
#[derive(Debug, Clone)]
pub struct Sessions {
    registry: Arc<Registry>,
}

#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) config: Config,
    pub(crate) store: Arc<dyn Store>,
    /// By session key (the hash of the id the store knows it by).
    slots: Mutex<HashMap<String, Slot>>,
    tokens: AtomicU64,
    /// Whether the task releasing sessions claimed elsewhere runs (started with the first
    /// connection: that is where a runtime is sure to exist).
    watching: std::sync::Once,
}

#[derive(Debug)]
enum Slot {
    Running {
        token: u64,
        commands: mpsc::UnboundedSender<Command>,
    },
    /// A resume is claiming the session from the store; others wait for it.
    Claiming(watch::Receiver<()>),
}

/// A record that contradicts itself: a bug, reported as a store error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Inconsistent(pub(crate) &'static str);

impl Sessions {
    /// Sessions kept in this process's memory ([`MemoryStore`]).
    pub fn new(config: Config) -> Result<Sessions, Error> {
        Sessions::with_store(config, MemoryStore::new())
    }

    /// Sessions recorded in `store` (e.g. a `RedisStore`, shared by processes).
    pub fn with_store(config: Config, store: impl Store) -> Result<Sessions, Error> {
        config.validate()?;
        Ok(Sessions {
            registry: Arc::new(Registry {
                config,
                store: Arc::new(store),
                slots: Mutex::new(HashMap::new()),
                tokens: AtomicU64::new(0),
                watching: std::sync::Once::new(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.registry.config
    }

    /// Accepts a WebSocket for the resume protocol (`tether.resume.v1`), for sessions that
    /// belong to nobody in particular: whoever presents a session's id may resume it. When
    /// your route knows who is connecting (a cookie, a header, a token), use
    /// [`Sessions::upgrade_as`] instead, so a leaked id is not a session.
    ///
    /// `on_session` runs (on the connection's task) with each session this process starts
    /// running: a new one (`hello`, or a resume of a lost session), or one taken over from
    /// the store (a resume of a session no task of this process runs: started by another
    /// process, or before a restart; see [`Session::resumed`]). A resume of a session
    /// running here joins it: the old connection, if still open, is closed with 4000
    /// (`taken over`), and `on_session` is not called.
    ///
    /// The protocol is negotiated by the first frames (the client's `hello` or `resume`,
    /// the server's `welcome`), not by a subprotocol: configure `ws` with your
    /// application's subprotocols, if any, before passing it. A first frame that is not
    /// `hello` or `resume` closes the connection with 1002. The upgrade's message and frame
    /// size are set to [`Config::max_message_bytes`], its read buffer to
    /// [`Config::read_buffer_bytes`].
    pub fn upgrade<F, Fut>(&self, ws: WebSocketUpgrade, on_session: F) -> Response
    where
        F: FnOnce(Session) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.upgrade_as(ws, "", on_session)
    }

    /// [`Sessions::upgrade`] for a connection whose route authenticated `owner` (a user
    /// id, say): a new session belongs to `owner`, and a resume is accepted only from the
    /// same owner. A resume presenting another owner's session id is answered `welcome
    /// lost unknown` with a new session of its own: the other owner's session is not
    /// touched (not even its expiry), and nothing tells the presenter it exists. Your route
    /// runs (and authenticates) for every connection, resumes included.
    ///
    /// Owners and session ids are kept in the store only as SHA-256 hashes.
    pub fn upgrade_as<F, Fut>(
        &self,
        ws: WebSocketUpgrade,
        owner: impl AsRef<str>,
        on_session: F,
    ) -> Response
    where
        F: FnOnce(Session) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let registry = self.registry.clone();
        registry.watching.call_once(|| registry.watch_claims());
        let owner: Arc<str> = hashed("owner", owner.as_ref()).into();
        let max = registry.config.max_message_bytes;
        ws.max_message_size(max)
            .max_frame_size(max)
            .read_buffer_size(registry.config.read_buffer_bytes)
            .on_upgrade(move |socket| async move {
                if let Some(session) = registry.open(socket, owner).await {
                    on_session(session).await;
                }
            })
    }

    /// Closes every open connection of this process's sessions with `code` and `reason`
    /// (the sessions stay: their clients resume, here or on another process). For a
    /// graceful shutdown, use 1001. Returns once each session has recorded its state and
    /// started its closing handshake (each finishes on its own, within the handshake
    /// timeout).
    pub async fn close_connections(&self, code: u16, reason: &str) {
        let senders: Vec<_> = self
            .registry
            .lock()
            .values()
            .filter_map(|slot| match slot {
                Slot::Running { commands, .. } => Some(commands.clone()),
                Slot::Claiming(_) => None,
            })
            .collect();
        let mut waits = Vec::new();
        for commands in senders {
            let (done, wait) = oneshot::channel();
            let command = Command::Disconnect {
                code,
                reason: reason.to_owned(),
                done,
            };
            if commands.send(command).is_ok() {
                waits.push(wait);
            }
        }
        for wait in waits {
            let _ = wait.await;
        }
    }

    /// How many sessions have a task in this process (connected or not).
    pub fn running(&self) -> usize {
        self.registry
            .lock()
            .values()
            .filter(|slot| matches!(slot, Slot::Running { .. }))
            .count()
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Slot>> {
        // Each critical section is one map operation: a poisoned map is still consistent.
        self.slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Releases the sessions another process claims, as the store reports the claims.
    fn watch_claims(self: &Arc<Self>) {
        let Some(mut claims) = self.store.watch_claims() else {
            return;
        };
        let registry = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some((key, epoch)) = claims.next().await {
                let Some(registry) = registry.upgrade() else {
                    return;
                };
                let running = match registry.lock().get(&key) {
                    Some(Slot::Running { commands, .. }) => Some(commands.clone()),
                    _ => None,
                };
                if let Some(commands) = running {
                    // A task of an older epoch ends; the claimer's own new task ignores it.
                    let _ = commands.send(Command::Moved { epoch });
                }
            }
        });
    }

    /// Removes the session's entry if it is still this task's.
    pub(crate) fn leave(&self, key: &str, token: u64) {
        let mut slots = self.lock();
        if matches!(slots.get(key), Some(Slot::Running { token: t, .. }) if *t == token) {
            slots.remove(key);
        }
    }

    /// The opening of a connection, up to the welcome; the session for `on_session`, if
    /// this process starts running one.
    async fn open(self: Arc<Self>, mut socket: WebSocket, owner: Arc<str>) -> Option<Session> {
        let first = tokio::time::timeout(self.config.handshake_timeout, socket.next()).await;
        let control = match first {
            Ok(Some(Ok(WsMessage::Binary(bytes)))) => Frame::parse_bytes(&bytes),
            Ok(Some(Ok(WsMessage::Text(_)))) => Frame::Invalid("data before the welcome"),
            // The client gave up before its first frame.
            Ok(Some(Ok(WsMessage::Close(_)))) => return None,
            Ok(Some(Ok(_))) => Frame::Invalid("expected hello or resume"),
            // Gone or silent: nothing to answer.
            Ok(None | Some(Err(_))) | Err(_) => return None,
        };
        let result = match control {
            Frame::Control(Control::Hello) => self.start_new(socket, owner, None, 0).await,
            Frame::Control(Control::Resume { session, recv }) => {
                self.resume(socket, owner, session, recv).await
            }
            Frame::Invalid(why) => {
                close(socket, 1002, why).await;
                return None;
            }
            _ => {
                close(socket, 1002, "expected hello or resume").await;
                return None;
            }
        };
        match result {
            Ok(session) => session,
            Err((socket, error)) => {
                tracing::warn!("cannot open a session: {error}");
                close(socket, 1011, "session store failed").await;
                None
            }
        }
    }

    /// A resume: join the running task, or claim the session from the store.
    async fn resume(
        self: &Arc<Self>,
        mut socket: WebSocket,
        owner: Arc<str>,
        id: String,
        client_recv: u64,
    ) -> Result<Option<Session>, (WebSocket, Error)> {
        let key = hashed("session", &id);
        loop {
            enum Next {
                Join(mpsc::UnboundedSender<Command>),
                Wait(watch::Receiver<()>),
                Claim(watch::Sender<()>),
            }
            let next = {
                let mut slots = self.lock();
                match slots.get(&key) {
                    Some(Slot::Running { commands, .. }) => Next::Join(commands.clone()),
                    Some(Slot::Claiming(wait)) => Next::Wait(wait.clone()),
                    None => {
                        let (done, wait) = watch::channel(());
                        slots.insert(key.clone(), Slot::Claiming(wait));
                        Next::Claim(done)
                    }
                }
            };
            match next {
                Next::Join(commands) => {
                    let (reply, returned) = oneshot::channel();
                    let command = Command::Attach {
                        socket: Box::new(socket),
                        client_recv,
                        owner: owner.clone(),
                        reply,
                    };
                    socket = match commands.send(command) {
                        Err(mpsc::error::SendError(Command::Attach { socket, .. })) => *socket,
                        Err(_) => return Ok(None),
                        Ok(()) => match returned.await {
                            Ok(Attached::Returned(socket)) => *socket,
                            Ok(Attached::NotOwner(socket)) => {
                                return self
                                    .start_new(*socket, owner, Some(LostReason::Unknown), u64::MAX)
                                    .await;
                            }
                            // Joined; or the task ended holding the socket (closed).
                            Ok(Attached::Joined) | Err(_) => return Ok(None),
                        },
                    };
                    // The task ended meanwhile: make sure it has left, then retry.
                    let mut slots = self.lock();
                    if matches!(slots.get(&key), Some(Slot::Running { commands: c, .. }) if c.same_channel(&commands))
                    {
                        slots.remove(&key);
                    }
                }
                Next::Wait(mut wait) => {
                    let _ = wait.changed().await;
                }
                Next::Claim(done) => {
                    // However this ends (a panic or a cancellation included), the
                    // placeholder goes: later resumes of the id must not wait on it for ever.
                    let claiming = ClaimGuard {
                        registry: self.clone(),
                        key: key.clone(),
                    };
                    let claimed = self.store.claim(&key, &owner, self.config.ttl).await;
                    let result = match claimed {
                        Ok(Claim::Live(snapshot)) => {
                            let last_sent =
                                snapshot.acknowledged + snapshot.unacknowledged.len() as u64;
                            if client_recv > last_sent {
                                // The store is behind the client (it lost writes): the
                                // session can't resume on either count. Ended, and the
                                // client told so (never a loop of refused resumes).
                                let lost = self
                                    .store
                                    .lose(
                                        &key,
                                        snapshot.epoch,
                                        LostReason::Diverged,
                                        last_sent,
                                        self.config.ttl,
                                    )
                                    .await;
                                self.lock().remove(&key);
                                match lost {
                                    Ok(()) => {
                                        self.start_new(
                                            socket,
                                            owner,
                                            Some(LostReason::Diverged),
                                            u64::MAX,
                                        )
                                        .await
                                    }
                                    Err(error) => Err((socket, error)),
                                }
                            } else {
                                Ok(self.spawn_resumed(
                                    socket,
                                    owner,
                                    id.clone(),
                                    client_recv,
                                    snapshot,
                                ))
                            }
                        }
                        Ok(Claim::Ended(snapshot)) => {
                            self.lock().remove(&key);
                            self.answer_ended(socket, &key, id.clone(), client_recv, snapshot)
                                .await
                        }
                        Ok(Claim::Lost { reason, last_sent }) => {
                            self.lock().remove(&key);
                            // Diverged: the client's count says nothing about what it missed.
                            let last_sent = last_sent.filter(|_| reason != LostReason::Diverged);
                            let missed = last_sent.map(|last| last.saturating_sub(client_recv));
                            self.start_new(socket, owner, Some(reason), missed.unwrap_or(u64::MAX))
                                .await
                        }
                        Err(error) => {
                            self.lock().remove(&key);
                            Err((socket, error))
                        }
                    };
                    // The placeholder first, then the waiters are woken.
                    drop(claiming);
                    drop(done);
                    return result;
                }
            }
        }
    }

    /// A resume of a session the server ended while the client was away: `welcome
    /// ended`, the last messages the client lacks, `end`, a clean close; then the record
    /// goes. No session runs for it.
    async fn answer_ended(
        self: &Arc<Self>,
        mut socket: WebSocket,
        key: &str,
        id: String,
        client_recv: u64,
        snapshot: Snapshot,
    ) -> Result<Option<Session>, (WebSocket, Error)> {
        let last_sent = snapshot.acknowledged + snapshot.unacknowledged.len() as u64;
        let acked = client_recv.max(snapshot.acknowledged).min(last_sent);
        let welcome = Control::Ended {
            session: id,
            recv: snapshot.received,
            next: acked + 1,
        };
        let skip = (acked - snapshot.acknowledged) as usize;
        let limit = self.config.handshake_timeout;
        let sent = tokio::time::timeout(limit, async {
            socket.send(crate::connection::control(&welcome)).await?;
            for message in snapshot.unacknowledged.into_iter().skip(skip) {
                socket.send(crate::connection::data_frame(message)).await?;
            }
            socket.send(crate::connection::control(&Control::End)).await
        })
        .await;
        let limit = self.config.handshake_timeout;
        tokio::spawn(crate::connection::close_cleanly(
            socket,
            1000,
            String::new(),
            limit,
        ));
        // Delivered: forgotten. Not delivered: kept until it expires, for another try.
        if matches!(sent, Ok(Ok(()))) {
            if let Err(error) = self.store.remove(key, snapshot.epoch).await {
                tracing::warn!("an ended session's record stays until it expires: {error}");
            }
        }
        Ok(None)
    }

    /// A new session: `welcome new`, or `welcome lost <reason>` with `missed` messages
    /// (`u64::MAX`: unknown).
    async fn start_new(
        self: &Arc<Self>,
        socket: WebSocket,
        owner: Arc<str>,
        lost: Option<LostReason>,
        missed: u64,
    ) -> Result<Option<Session>, (WebSocket, Error)> {
        if self.sessions_held() >= self.config.max_sessions {
            tracing::warn!(
                "refusing a session: {} running (Config::max_sessions)",
                self.config.max_sessions
            );
            close(socket, 1013, "too many sessions; try again later").await;
            return Ok(None);
        }
        let id = match new_session_id() {
            Ok(id) => id,
            Err(error) => return Err((socket, error)),
        };
        let epoch = match self
            .store
            .create(&hashed("session", &id), &owner, self.config.ttl)
            .await
        {
            Ok(epoch) => epoch,
            Err(error) => return Err((socket, error)),
        };
        let window = self.config.max_incoming_bytes as u64;
        let welcome = match lost {
            None => Control::New {
                session: id.clone(),
                window,
            },
            Some(reason) => Control::Lost {
                reason: wire_reason(reason),
                session: id.clone(),
                missed: (missed != u64::MAX).then_some(missed),
                window,
            },
        };
        let (session, actor) = self.spawn(
            id,
            owner,
            epoch,
            false,
            Snapshot::new(epoch, 0, 0, Vec::new()),
        );
        tokio::spawn(actor.run(Start::Fresh { socket, welcome }));
        Ok(Some(session))
    }

    /// How many sessions have a task here (or are being claimed).
    fn sessions_held(&self) -> usize {
        self.lock().len()
    }

    fn spawn_resumed(
        self: &Arc<Self>,
        socket: WebSocket,
        owner: Arc<str>,
        id: String,
        client_recv: u64,
        snapshot: Snapshot,
    ) -> Option<Session> {
        let (session, actor) = self.spawn(id, owner, snapshot.epoch, true, snapshot.clone());
        tokio::spawn(actor.run(Start::Resumed {
            socket,
            client_recv,
            snapshot,
        }));
        Some(session)
    }

    /// Registers a session's task (replacing a claim placeholder) and builds its handles.
    fn spawn(
        self: &Arc<Self>,
        id: String,
        owner: Arc<str>,
        epoch: u64,
        resumed: bool,
        snapshot: Snapshot,
    ) -> (Session, Actor) {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let unacknowledged = snapshot.unacknowledged.len() as u64;
        let next_seq = snapshot.acknowledged + unacknowledged + 1;
        let buffered = snapshot.unacknowledged.iter().map(|m| m.len()).sum();
        let shared = Shared::new(
            next_seq,
            unacknowledged,
            self.config.max_buffer_bytes,
            buffered,
        );
        let key = hashed("session", &id);
        self.lock().insert(
            key.clone(),
            Slot::Running {
                token,
                commands: commands_tx,
            },
        );
        let session = Session::new(id.clone(), resumed, shared.clone());
        let actor = Actor::new(
            id,
            key,
            owner,
            token,
            epoch,
            self.clone(),
            shared,
            commands,
            snapshot.received,
            snapshot.acknowledged,
            snapshot.unacknowledged,
        );
        (session, actor)
    }
}

async fn close(socket: WebSocket, code: u16, reason: &str) {
    let limit = std::time::Duration::from_secs(2);
    crate::connection::close_cleanly(socket, code, reason.to_owned(), limit).await;
}

/// Removes a claim's placeholder when the claim ends, unless the session's task took the
/// slot over.
struct ClaimGuard {
    registry: Arc<Registry>,
    key: String,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        let mut slots = self.registry.lock();
        if matches!(slots.get(&self.key), Some(Slot::Claiming(_))) {
            slots.remove(&self.key);
        }
    }
}

/// `value` as the store keeps it: SHA-256 of a domain word and the value, in hexadecimal
/// (ids are credentials; a store's contents must not be a list of them).
fn hashed(domain: &str, value: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::new()
        .chain_update(domain.as_bytes())
        .chain_update([0u8])
        .chain_update(value.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The store's reason as the protocol's word.
fn wire_reason(reason: LostReason) -> ws_tether::LostReason {
    match reason {
        LostReason::Unknown => ws_tether::LostReason::Unknown,
        LostReason::Expired => ws_tether::LostReason::Expired,
        LostReason::Overflow => ws_tether::LostReason::Overflow,
        LostReason::Diverged => ws_tether::LostReason::Diverged,
    }
}

/// 128 random bits as 32 hexadecimal digits (spec section 3: unguessable, at least 128
/// bits).
fn new_session_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::store(RandomUnavailable(e.to_string())))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The operating system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("no random source for session ids: {0}")]
struct RandomUnavailable(String);
