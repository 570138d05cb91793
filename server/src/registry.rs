//! [`Sessions`]: this process's running sessions, and the opening of each connection
//! (subprotocol check, `hello`/`resume`, welcome). Owns the map from session id to the
//! session's task; never touches a session's state (that is the task's, `actor.rs`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, oneshot, watch};

use crate::actor::{Actor, Command, Start};
use crate::frame::{self, Control, Frame, Reply};
use crate::session::{Session, Shared};
use crate::store::{Claim, LostReason, MemoryStore, Snapshot, Store};
use crate::{Config, Error};

/// Messages the application has not taken yet, per session: beyond this the session stops
/// reading its socket (backpressure to the client).
const INCOMING_CAPACITY: usize = 64;

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
    slots: Mutex<HashMap<String, Slot>>,
    tokens: AtomicU64,
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
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.registry.config
    }

    /// Accepts a WebSocket for the resume protocol, selecting the subprotocol
    /// `tether.resume.v1`.
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
    /// `hello` or `resume` closes the connection with 1002.
    pub fn upgrade<F, Fut>(&self, ws: WebSocketUpgrade, on_session: F) -> Response
    where
        F: FnOnce(Session) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let registry = self.registry.clone();
        ws.on_upgrade(move |socket| async move {
            if let Some(session) = registry.open(socket).await {
                on_session(session).await;
            }
        })
    }

    /// Closes every open connection of this process's sessions with `code` and `reason`
    /// (the sessions stay: their clients resume, here or on another process). For a
    /// graceful shutdown, use 1001. Returns once each connection is closed.
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

    /// Removes the session's entry if it is still this task's.
    pub(crate) fn leave(&self, id: &str, token: u64) {
        let mut slots = self.lock();
        if matches!(slots.get(id), Some(Slot::Running { token: t, .. }) if *t == token) {
            slots.remove(id);
        }
    }

    /// The opening of a connection, up to the welcome; the session for `on_session`, if
    /// this process starts running one.
    async fn open(self: Arc<Self>, mut socket: WebSocket) -> Option<Session> {
        let first = tokio::time::timeout(self.config.handshake_timeout, socket.next()).await;
        let control = match first {
            Ok(Some(Ok(WsMessage::Binary(bytes)))) => frame::decode_binary(&bytes),
            Ok(Some(Ok(WsMessage::Text(_)))) => {
                Err(frame::ProtocolError("data before the welcome"))
            }
            // The client gave up before its first frame.
            Ok(Some(Ok(WsMessage::Close(_)))) => return None,
            Ok(Some(Ok(_))) => Err(frame::ProtocolError("expected hello or resume")),
            // Gone or silent: nothing to answer.
            Ok(None | Some(Err(_))) | Err(_) => return None,
        };
        let result = match control {
            Ok(Frame::Control(Control::Hello)) => self.start_new(socket, None, 0).await,
            Ok(Frame::Control(Control::Resume { session, recv })) => {
                self.resume(socket, session, recv).await
            }
            Ok(_) => {
                close(socket, 1002, "expected hello or resume").await;
                return None;
            }
            Err(error) => {
                close(socket, 1002, error.0).await;
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
        id: String,
        client_recv: u64,
    ) -> Result<Option<Session>, (WebSocket, Error)> {
        loop {
            enum Next {
                Join(mpsc::UnboundedSender<Command>),
                Wait(watch::Receiver<()>),
                Claim(watch::Sender<()>),
            }
            let next = {
                let mut slots = self.lock();
                match slots.get(&id) {
                    Some(Slot::Running { commands, .. }) => Next::Join(commands.clone()),
                    Some(Slot::Claiming(wait)) => Next::Wait(wait.clone()),
                    None => {
                        let (done, wait) = watch::channel(());
                        slots.insert(id.clone(), Slot::Claiming(wait));
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
                        reply,
                    };
                    socket = match commands.send(command) {
                        Err(mpsc::error::SendError(Command::Attach { socket, .. })) => *socket,
                        Err(_) => return Ok(None),
                        Ok(()) => match returned.await {
                            Ok(Some(socket)) => *socket,
                            // Joined; or the task ended holding the socket (closed).
                            Ok(None) | Err(_) => return Ok(None),
                        },
                    };
                    // The task ended meanwhile: make sure it has left, then retry.
                    let mut slots = self.lock();
                    if matches!(slots.get(&id), Some(Slot::Running { commands: c, .. }) if c.same_channel(&commands))
                    {
                        slots.remove(&id);
                    }
                }
                Next::Wait(mut wait) => {
                    let _ = wait.changed().await;
                }
                Next::Claim(done) => {
                    let claimed = self.store.claim(&id, self.config.ttl).await;
                    let result = match claimed {
                        Ok(Claim::Live(snapshot)) => {
                            Ok(self.spawn_resumed(socket, id.clone(), client_recv, snapshot))
                        }
                        Ok(Claim::Lost { reason, last_sent }) => {
                            self.lock().remove(&id);
                            let missed = last_sent.map(|last| last.saturating_sub(client_recv));
                            self.start_new(socket, Some(reason), missed.unwrap_or(u64::MAX))
                                .await
                        }
                        Err(error) => {
                            self.lock().remove(&id);
                            Err((socket, error))
                        }
                    };
                    drop(done);
                    return result;
                }
            }
        }
    }

    /// A new session: `welcome new`, or `welcome lost <reason>` with `missed` messages
    /// (`u64::MAX`: unknown).
    async fn start_new(
        self: &Arc<Self>,
        socket: WebSocket,
        lost: Option<LostReason>,
        missed: u64,
    ) -> Result<Option<Session>, (WebSocket, Error)> {
        let id = match new_session_id() {
            Ok(id) => id,
            Err(error) => return Err((socket, error)),
        };
        let epoch = match self.store.create(&id, self.config.ttl).await {
            Ok(epoch) => epoch,
            Err(error) => return Err((socket, error)),
        };
        let welcome = match lost {
            None => Reply::WelcomeNew { session: &id },
            Some(reason) => Reply::WelcomeLost {
                reason: reason.as_str(),
                session: &id,
                missed: (missed != u64::MAX).then_some(missed),
            },
        };
        let welcome = frame::encode_control(&welcome);
        let (session, actor) = self.spawn(id, epoch, false, Snapshot::new(epoch, 0, 0, Vec::new()));
        tokio::spawn(actor.run(Start::Fresh { socket, welcome }));
        Ok(Some(session))
    }

    fn spawn_resumed(
        self: &Arc<Self>,
        socket: WebSocket,
        id: String,
        client_recv: u64,
        snapshot: Snapshot,
    ) -> Option<Session> {
        let (session, actor) = self.spawn(id, snapshot.epoch, true, snapshot.clone());
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
        epoch: u64,
        resumed: bool,
        snapshot: Snapshot,
    ) -> (Session, Actor) {
        let token = self.tokens.fetch_add(1, Ordering::Relaxed);
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = mpsc::channel(INCOMING_CAPACITY);
        let next_seq = snapshot.acknowledged + snapshot.unacknowledged.len() as u64 + 1;
        let buffered = snapshot.unacknowledged.iter().map(|m| m.len()).sum();
        let shared = Shared::new(next_seq, self.config.max_buffer_bytes, buffered);
        self.lock().insert(
            id.clone(),
            Slot::Running {
                token,
                commands: commands_tx,
            },
        );
        let session = Session::new(id.clone(), resumed, shared.clone(), incoming);
        let actor = Actor::new(
            id,
            token,
            epoch,
            self.clone(),
            shared,
            commands,
            incoming_tx,
            snapshot.received,
            snapshot.acknowledged,
            snapshot.unacknowledged,
        );
        (session, actor)
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let close = WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = socket.send(close).await;
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
