//! `/chat?id=TAB`: the demo's chat room (`npm start`) over ws-tether-server sessions (the
//! resume protocol): every text message a tab sends goes to every tab's session, and a tab
//! that is away gets what was said meanwhile when it resumes. Each tab has `Sessions` of
//! its own (keyed by its id, as `/resume`'s test ids), so `/control/drop-all?id=TAB` drops
//! one tab's connection; `/control/restart?ms=T` closes every connection as a restarting
//! server does (1012) and refuses new ones for T ms: the sessions stay, and resume.

use std::sync::Arc;

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use tokio::sync::broadcast;
use ws_tether_server::Message;

use crate::app::text;
use crate::state::State as Shared;

/// The route's path.
pub const PATH: &str = "/chat";

/// What a room keeps for a session behind it before that session skips ahead (told in the
/// server's log): far more than a demo produces.
pub const ROOM_CAPACITY: usize = 4096;

/// The chat room: every text said, to every session.
#[derive(Debug)]
pub struct Room {
    said: broadcast::Sender<String>,
}

impl Default for Room {
    fn default() -> Self {
        Room {
            said: broadcast::channel(ROOM_CAPACITY).0,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ChatQuery {
    id: Option<String>,
}

pub async fn handle(
    State(state): State<Arc<Shared>>,
    Query(q): Query<ChatQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    if state.refusing() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "refusing WebSocket handshakes (the server is restarting)",
        );
    }
    let Some(id) = q.id.filter(|id| !id.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "id: the tab's id is required");
    };
    let sessions = match state
        .resume
        .plain(&id, state.config.resume_redis.as_deref())
        .await
    {
        Ok(sessions) => sessions,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    sessions.upgrade(ws, move |session| async move {
        let (mut sink, mut stream) = session.split();
        // Subscribed for the session's life, not the connection's: what is said while the
        // tab is away waits in its session and reaches it when it resumes.
        let mut room = state.chat.said.subscribe();
        loop {
            tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(incoming)) => {
                        if let Message::Text(said) = incoming.message {
                            let _ = state.chat.said.send(said);
                        }
                    }
                    _ => break,
                },
                said = room.recv() => match said {
                    Ok(said) => {
                        if sink.send(Message::Text(said)).await.is_err() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(tab = %id, skipped = n, "chat: a session fell behind the room");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    })
}
