//! The WebSocket handshake (done by hand) and the per-route sessions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::http::RequestHead;
use crate::response::{send_and_close, Response};
use crate::routes::WsRoute;
use crate::state::{ConnGuard, Refusal, State};

type Ws = WebSocketStream<BufReader<TcpStream>>;

/// Prefix of a heartbeat ping text message.
pub const PING_PREFIX: &str = "\u{1}ping";
/// Prefix of the answer to a heartbeat ping.
pub const PONG_PREFIX: &str = "\u{1}pong";
/// How long to wait for the client's reply to our close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack above `--max-message-size` given to tungstenite's own limits, so our
/// own check (with its deterministic 1009) normally fires first.
const TUNGSTENITE_SLACK: usize = 1024 * 1024;
/// Most bytes discarded after an oversized frame before giving up.
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

/// Validates the upgrade request, applies refusals and limits, writes the
/// `101` response and runs the route's session.
pub async fn handle_upgrade(
    state: Arc<State>,
    mut stream: BufReader<TcpStream>,
    head: RequestHead,
    route: WsRoute,
    peer: SocketAddr,
) {
    if let WsRoute::Reject { status } = route {
        tracing::info!(%peer, status, "handshake rejected by /reject");
        let resp = Response::text(status, format!("rejected by /reject with status {status}"));
        send_and_close(&mut stream, &resp, false).await;
        return;
    }
    let key = match check_upgrade_headers(&head) {
        Ok(key) => key,
        Err(resp) => {
            send_and_close(&mut stream, &resp, false).await;
            return;
        }
    };
    let id = head.query_param("id").map(str::to_owned);
    let path = route.path();
    let guard = match state.admit(path, id, matches!(route, WsRoute::Room)) {
        Ok(g) => g,
        Err(refusal) => {
            let msg = match refusal {
                Refusal::Refusing => "refusing WebSocket handshakes (/control/refuse)",
                Refusal::Full => "too many open WebSocket connections (--max-connections)",
            };
            tracing::info!(%peer, route = path, "handshake refused: {msg}");
            send_and_close(&mut stream, &Response::text(503, msg), false).await;
            return;
        }
    };

    let protocol = match route {
        WsRoute::Protocols => head
            .header_items("sec-websocket-protocol")
            .into_iter()
            .next(),
        _ => None,
    };
    let mut reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if let Some(p) = &protocol {
        reply.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    reply.push_str("\r\n");
    if stream.write_all(reply.as_bytes()).await.is_err() || stream.flush().await.is_err() {
        return;
    }

    let limit = state.config.max_message_size;
    let tungstenite_limit = limit.saturating_add(TUNGSTENITE_SLACK);
    let config = WebSocketConfig::default()
        .max_message_size(Some(tungstenite_limit))
        .max_frame_size(Some(tungstenite_limit));
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;

    tracing::info!(
        conn = guard.conn_id,
        %peer,
        route = path,
        id = guard.id.as_deref().unwrap_or(""),
        protocol = protocol.as_deref().unwrap_or(""),
        "connection opened"
    );
    let kill = guard.kill.clone();
    let mut guard = guard;
    let ended = tokio::select! {
        _ = kill.notified() => "dropped by /control/drop-all".to_owned(),
        ended = session(&mut ws, &mut guard, route) => ended,
    };
    // Dropping the stream closes the TCP connection (no close frame unless the
    // session sent one).
    drop(ws);
    tracing::info!(conn = guard.conn_id, %peer, route = path, "connection closed: {ended}");
}

/// Checks the handshake headers; returns the `Sec-WebSocket-Key`.
fn check_upgrade_headers(head: &RequestHead) -> Result<String, Response> {
    if head.method != "GET" {
        return Err(Response::text(405, "WebSocket handshakes must use GET"));
    }
    if !head.header_has_token("connection", "upgrade") {
        return Err(Response::text(400, "missing 'Connection: Upgrade'"));
    }
    if head.header("sec-websocket-version") != Some("13") {
        return Err(
            Response::text(426, "unsupported Sec-WebSocket-Version (need 13)")
                .with_header("Sec-WebSocket-Version", "13"),
        );
    }
    match head.header("sec-websocket-key") {
        Some(key) if !key.is_empty() => Ok(key.to_owned()),
        _ => Err(Response::text(400, "missing Sec-WebSocket-Key")),
    }
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
async fn session(ws: &mut Ws, guard: &mut ConnGuard, route: WsRoute) -> String {
    match route {
        WsRoute::Silent { hold } => {
            tokio::time::sleep(hold).await;
            "hold time elapsed (/silent)".to_owned()
        }
        WsRoute::Flood { n, size, binary } => {
            if let Err(e) = flood(ws, n, size, binary).await {
                return format!("flood failed: {e}");
            }
            message_loop(ws, guard, Finish::Never, 0).await
        }
        WsRoute::Close {
            code,
            reason,
            after,
        } => message_loop(ws, guard, Finish::Close(code, reason), after).await,
        WsRoute::Drop { after } => message_loop(ws, guard, Finish::Drop, after).await,
        WsRoute::Garbage => {
            // FIN + text opcode with all three reserved bits set, no extension agreed.
            let stream = ws.get_mut().get_mut();
            if stream.write_all(&[0xF1, 0x01, b'x']).await.is_err() {
                return "client gone before the garbage (/garbage)".to_owned();
            }
            let _ = stream.flush().await;
            tokio::time::sleep(CLOSE_TIMEOUT).await;
            "sent an invalid frame (/garbage)".to_owned()
        }
        WsRoute::Echo | WsRoute::Protocols | WsRoute::Room | WsRoute::Reject { .. } => {
            message_loop(ws, guard, Finish::Never, 0).await
        }
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

async fn flood(ws: &mut Ws, n: u64, size: usize, binary: bool) -> Result<(), WsError> {
    for i in 0..n {
        let text = flood_message(i, size);
        let msg = if binary {
            Message::binary(text.into_bytes())
        } else {
            Message::text(text)
        };
        ws.feed(msg).await?;
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
async fn close_with(ws: &mut Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let handshake = async {
        if ws.close(Some(frame)).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, handshake).await;
}

/// Best effort after tungstenite refused an oversized frame: send close 1009,
/// then discard the rest of what the client sends (bounded), so that closing
/// the socket does not reset the connection before the close frame is read.
async fn close_after_capacity_error(ws: &mut Ws) {
    let frame = CloseFrame {
        code: CloseCode::Size,
        reason: "message too big".into(),
    };
    let sent = tokio::time::timeout(Duration::from_secs(1), ws.close(Some(frame))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    let raw = ws.get_mut();
    let drain = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while total < DRAIN_LIMIT {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, drain).await;
}

/// The common receive loop: heartbeat pings, size limit, stats, echo or
/// broadcast, and the route's finishing action after `after` messages.
async fn message_loop(ws: &mut Ws, guard: &mut ConnGuard, finish: Finish, after: u64) -> String {
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
            incoming = ws.next() => incoming,
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
            Some(Err(WsError::Capacity(e))) => {
                close_after_capacity_error(ws).await;
                return format!("message too big ({e}); sent close 1009");
            }
            Some(Err(e)) => return format!("read error: {e}"),
        };
        let len = match &msg {
            Message::Text(text) => {
                if let Some(payload) = text.as_str().strip_prefix(PING_PREFIX) {
                    if !state.pings_muted() {
                        let pong = Message::text(format!("{PONG_PREFIX}{payload}"));
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
