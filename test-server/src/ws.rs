//! The WebSocket routes on axum's `WebSocketUpgrade`: admission (refusals, limits,
//! `/reject`), the subprotocol of `/protocols`, and each route's session.
//! `/garbage` is upgraded by hand, in [`crate::garbage`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::SinkExt;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::error::Error as WsError;

use crate::app::text;
use crate::conn::Linger;
use crate::routes::{WsQuery, WsRoute};
use crate::state::{ConnGuard, Refusal, State as Shared};

/// Prefix of a heartbeat ping text message.
pub const PING_PREFIX: &str = "\u{1}ping";
/// Prefix of the answer to a heartbeat ping.
pub const PONG_PREFIX: &str = "\u{1}pong";
/// How long to wait for the client's reply to our close frame.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack above `--max-message-size` given to tungstenite's own limits, so our
/// own check (with its deterministic 1009) normally fires first.
const TUNGSTENITE_SLACK: usize = 1024 * 1024;

/// Whether the request asks for a WebSocket (`Upgrade: websocket`), well-formed or not.
fn wants_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// 426 for a plain request to a WebSocket route.
pub(crate) fn upgrade_required() -> Response {
    let mut resp = text(
        StatusCode::UPGRADE_REQUIRED,
        "this route needs a WebSocket upgrade",
    );
    resp.headers_mut()
        .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    resp
}

/// 426 naming the version this server speaks (RFC 6455 4.4).
pub(crate) fn version_unsupported() -> Response {
    let mut resp = text(
        StatusCode::UPGRADE_REQUIRED,
        "unsupported Sec-WebSocket-Version (need 13)",
    );
    resp.headers_mut().insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static("13"),
    );
    resp
}

/// Answers a request that could not be upgraded: 426 for a plain request or an
/// unsupported version, axum's own refusal otherwise.
fn not_upgradable(headers: &HeaderMap, rejection: WebSocketUpgradeRejection) -> Response {
    if !wants_websocket(headers) {
        return upgrade_required();
    }
    match rejection {
        WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_) => version_unsupported(),
        other => other.into_response(),
    }
}

/// Admits a connection on `route`, or says why not (answered 503: `/control/refuse`,
/// `--max-connections`).
pub(crate) fn admit(
    state: &Arc<Shared>,
    route: &WsRoute,
    id: Option<String>,
) -> Result<ConnGuard, &'static str> {
    let path = route.path();
    state
        .admit(path, id, matches!(route, WsRoute::Room))
        .map_err(|refusal| {
            let msg = match refusal {
                Refusal::Refusing => "refusing WebSocket handshakes (/control/refuse)",
                Refusal::Full => "too many open WebSocket connections (--max-connections)",
            };
            tracing::info!(route = path, "handshake refused: {msg}");
            msg
        })
}

/// Validates the query, applies `/reject`, refusals and limits, and upgrades to the
/// route's session.
pub async fn handle(
    path: &'static str,
    State(state): State<Arc<Shared>>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    Extension(linger): Extension<Linger>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let route = match WsRoute::parse(path, &query) {
        Ok(route) => route,
        Err(msg) => {
            tracing::info!(path, "bad handshake query: {msg}");
            return text(StatusCode::BAD_REQUEST, msg);
        }
    };
    if let WsRoute::Reject { status } = route {
        tracing::info!(status, "handshake rejected by /reject");
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
        return text(code, format!("rejected by /reject with status {status}"));
    }
    let mut upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return not_upgradable(&headers, rejection),
    };
    let guard = match admit(&state, &route, query.id) {
        Ok(guard) => guard,
        Err(msg) => return text(StatusCode::SERVICE_UNAVAILABLE, msg),
    };
    if route == WsRoute::Protocols {
        // The client's first offer. Read from the header: axum's
        // `requested_protocols` is a sorted set, which loses the client's order.
        let first = headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').map(str::trim).find(|p| !p.is_empty()))
            .and_then(|p| HeaderValue::from_str(p).ok());
        if let Some(first) = first {
            upgrade.set_selected_protocol(first);
        }
    }
    let protocol = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let limit = state
        .config
        .max_message_size
        .saturating_add(TUNGSTENITE_SLACK);
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| run(socket, guard, route, protocol, linger))
}

/// Runs a session until it ends or `/control/drop-all` drops it; dropping the socket
/// closes TCP (without a close frame unless the session sent one).
async fn run(
    mut ws: WebSocket,
    guard: ConnGuard,
    route: WsRoute,
    protocol: String,
    linger: Linger,
) {
    let path = route.path();
    tracing::info!(
        conn = guard.conn_id,
        route = path,
        id = guard.id.as_deref().unwrap_or(""),
        protocol,
        "connection opened"
    );
    let kill = guard.kill.clone();
    let mut guard = guard;
    let ended = tokio::select! {
        _ = kill.notified() => "dropped by /control/drop-all".to_owned(),
        ended = session(&mut ws, &mut guard, route, &linger) => ended,
    };
    drop(ws);
    tracing::info!(
        conn = guard.conn_id,
        route = path,
        "connection closed: {ended}"
    );
}

/// What happens once `after` messages were echoed.
#[derive(Debug)]
enum Finish {
    /// Keep echoing / broadcasting forever.
    Never,
    /// Send a close frame and complete the closing handshake.
    Close(u16, String),
    /// Drop TCP without a close frame.
    Drop,
}

/// Runs a route's behaviour; returns a description of how it ended.
async fn session(
    ws: &mut WebSocket,
    guard: &mut ConnGuard,
    route: WsRoute,
    linger: &Linger,
) -> String {
    match route {
        WsRoute::Silent { hold } => {
            tokio::time::sleep(hold).await;
            "hold time elapsed (/silent)".to_owned()
        }
        WsRoute::Flood { n, size, binary } => {
            let progress = guard.id.clone().map(|id| (Arc::clone(guard.state()), id));
            if let Err(e) = flood(ws, n, size, binary, progress).await {
                return format!("flood failed: {e}");
            }
            message_loop(ws, guard, Finish::Never, 0, linger).await
        }
        WsRoute::Close {
            code,
            reason,
            after,
        } => message_loop(ws, guard, Finish::Close(code, reason), after, linger).await,
        WsRoute::Drop { after } => message_loop(ws, guard, Finish::Drop, after, linger).await,
        // `/reject` refuses before upgrading and `/garbage` is upgraded in
        // `crate::garbage`: neither gets here.
        WsRoute::Echo
        | WsRoute::Protocols
        | WsRoute::Room
        | WsRoute::Reject { .. }
        | WsRoute::Garbage => message_loop(ws, guard, Finish::Never, 0, linger).await,
    }
}

/// Message `i` of a flood: the decimal index, `:`, then `x` up to `size` bytes.
pub fn flood_message(i: u64, size: usize) -> String {
    let mut s = format!("{i}:");
    if s.len() < size {
        s.extend(std::iter::repeat_n('x', size - s.len()));
    }
    s
}

/// Sends the flood; with an `id`, counts each message's bytes in the id's stats once the
/// socket took it (`feed` waits while tungstenite's write buffer is full, which it stays
/// while the kernel's send buffer is full, i.e. while the peer doesn't read).
async fn flood(
    ws: &mut WebSocket,
    n: u64,
    size: usize,
    binary: bool,
    progress: Option<(Arc<Shared>, String)>,
) -> Result<(), axum::Error> {
    for i in 0..n {
        let text = flood_message(i, size);
        let len = text.len() as u64;
        let msg = if binary {
            Message::Binary(text.into_bytes().into())
        } else {
            Message::Text(text.into())
        };
        ws.feed(msg).await?;
        if let Some((state, id)) = &progress {
            state.stats().record_flooded(id, len);
        }
    }
    ws.flush().await
}

/// Receives from the room if subscribed; never completes otherwise.
async fn room_recv(
    rx: &mut Option<broadcast::Receiver<Message>>,
) -> Result<Message, broadcast::error::RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends a close frame and waits (bounded) for the peer's close reply.
async fn close_with(ws: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let handshake = async {
        if ws.send(Message::Close(Some(frame))).await.is_ok() {
            while let Some(Ok(_)) = ws.recv().await {}
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
}

/// Whether a receive error is tungstenite refusing a frame or message above its limit.
fn is_too_big(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if matches!(err.downcast_ref::<WsError>(), Some(WsError::Capacity(_))) {
            return true;
        }
        source = err.source();
    }
    false
}

/// Best effort after tungstenite refused an oversized frame: send close 1009 and
/// have the connection linger, as the rest of the frame is still on its way and
/// closing over unread bytes would reset the connection before the close is read.
async fn close_after_capacity_error(ws: &mut WebSocket, linger: &Linger) {
    let frame = CloseFrame {
        code: 1009,
        reason: "message too big".into(),
    };
    let sent = tokio::time::timeout(Duration::from_secs(1), ws.send(Message::Close(Some(frame))));
    if matches!(sent.await, Ok(Ok(()))) {
        linger.arm();
    }
}

/// The common receive loop: heartbeat pings, size limit, stats, echo or
/// broadcast, and the route's finishing action after `after` messages.
async fn message_loop(
    ws: &mut WebSocket,
    guard: &mut ConnGuard,
    finish: Finish,
    after: u64,
    linger: &Linger,
) -> String {
    let state = Arc::clone(guard.state());
    let limit = state.config.max_message_size;
    let mut room = guard.room.take();
    let is_room = room.is_some();
    let mut handled: u64 = 0;
    loop {
        if handled >= after {
            match &finish {
                Finish::Never => {}
                Finish::Close(code, reason) => {
                    close_with(ws, *code, reason).await;
                    return format!("sent close {code} after {handled} message(s)");
                }
                Finish::Drop => return format!("dropped after {handled} message(s) (/drop)"),
            }
        }
        let msg = tokio::select! {
            incoming = ws.recv() => incoming,
            from_room = room_recv(&mut room) => {
                match from_room {
                    Ok(msg) => {
                        if let Err(e) = ws.send(msg).await {
                            return format!("send failed: {e}");
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(conn = guard.conn_id, "room member lagged, skipped {n} message(s)");
                    }
                    Err(broadcast::error::RecvError::Closed) => room = None,
                }
                continue;
            }
        };
        let msg = match msg {
            None => return "closed by peer".to_owned(),
            Some(Ok(msg)) => msg,
            Some(Err(e)) if is_too_big(&e) => {
                close_after_capacity_error(ws, linger).await;
                return format!("message too big ({e}); sent close 1009");
            }
            Some(Err(e)) => return format!("read error: {e}"),
        };
        let len = match &msg {
            Message::Text(text) => {
                if let Some(payload) = text.as_str().strip_prefix(PING_PREFIX) {
                    if !state.pings_muted() {
                        let pong = Message::Text(format!("{PONG_PREFIX}{payload}").into());
                        if let Err(e) = ws.send(pong).await {
                            return format!("send failed: {e}");
                        }
                    }
                    continue;
                }
                text.len()
            }
            Message::Binary(data) => data.len(),
            // Control frames are answered by tungstenite itself; after a
            // close frame the next read returns `None`.
            _ => continue,
        };
        if len > limit {
            close_with(ws, 1009, "message too big").await;
            return format!("message of {len} bytes exceeds {limit}; sent close 1009");
        }
        {
            let received = match &msg {
                Message::Text(t) => crate::stats::Received::Text(t.as_str()),
                _ => crate::stats::Received::Binary(len),
            };
            state
                .stats()
                .record_message(guard.route, guard.id.as_deref(), received);
        }
        if is_room {
            state.broadcast(msg);
        } else if let Err(e) = ws.send(msg).await {
            return format!("send failed: {e}");
        }
        handled += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::flood_message;

    #[test]
    fn flood_messages_are_padded() {
        assert_eq!(flood_message(0, 6), "0:xxxx");
        assert_eq!(flood_message(12, 3), "12:");
        assert_eq!(flood_message(123, 2), "123:");
        assert_eq!(flood_message(7, 0), "7:");
    }
}
