//! `/resume?id=X&drop_every=N&hold_ms=T`: an echo over a ws-tether-server session (the
//! resume protocol, in-memory store) for the browser tests. Each test id gets its own
//! `Sessions`, so `drop_every` (close the connection after every N messages received, keeping
//! the session: the client resumes) and `/control/drop-all` touch only that test's sockets.
//! `hold_ms` makes the application take T ms over the first message before echoing it:
//! the server acknowledges only messages the application has finished with, so a client's
//! flush must wait that long. `/stats?id=X` counts the sessions started and those the client
//! ended (`end`), and lists the messages the application received.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use ws_tether_server::{Config, Sessions};

use crate::app::text;
use crate::state::State as Shared;
use crate::stats::Received;

/// The route's path, as in the stats.
pub const PATH: &str = "/resume";

/// The close code of a `drop_every` drop: 1012 (service restart), which clients retry.
const DROP_CODE: u16 = 1012;

/// The `Sessions` of each test id (`""` without one).
#[derive(Debug, Default)]
pub struct ResumeSessions(Mutex<HashMap<String, Sessions>>);

impl ResumeSessions {
    fn get(&self, id: &str) -> Result<Sessions, ws_tether_server::Error> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sessions) = map.get(id) {
            return Ok(sessions.clone());
        }
        let sessions = Sessions::new(Config::default())?;
        map.insert(id.to_owned(), sessions.clone());
        Ok(sessions)
    }

    /// Closes the connections of every session (of `only_id`'s, if given); they resume.
    pub fn drop_all(&self, only_id: Option<&str>) {
        let all: Vec<Sessions> = {
            let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.iter()
                .filter(|(id, _)| only_id.is_none_or(|only| only == id.as_str()))
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
}

/// Upper bound of `hold_ms`.
const MAX_HOLD_MS: u64 = 60_000;

pub async fn handle(
    State(state): State<Arc<Shared>>,
    Query(q): Query<ResumeQuery>,
    ws: WebSocketUpgrade,
) -> Response {
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
    let id = q.id.unwrap_or_default();
    let sessions = match state.resume.get(&id) {
        Ok(sessions) => sessions,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let kicker = sessions.clone();
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
                tokio::time::sleep(std::time::Duration::from_millis(hold)).await;
            }
            if sink.send(incoming.message).await.is_err() {
                break;
            }
            if drop_every > 0 && received.is_multiple_of(drop_every) {
                kicker.close_connections(DROP_CODE, "drop_every").await;
            }
        }
    })
}
