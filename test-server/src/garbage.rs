//! `/garbage`: a completed handshake, then a frame no client may accept (text with all
//! three reserved bits set and no extension agreed), so the browser fails the
//! connection (`error`, then close 1006).
//!
//! No WebSocket library writes such a frame, so this route takes the upgraded
//! connection from hyper's upgrade API (the one axum's `WebSocketUpgrade` uses) and
//! writes the bytes itself. The handshake is checked only as far as the answer needs:
//! a GET with `Upgrade: websocket`, version 13 and a key.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::app::text;
use crate::routes::{WsQuery, WsRoute};
use crate::state::State as Shared;
use crate::ws::{admit, upgrade_required, version_unsupported, CLOSE_TIMEOUT};

/// FIN + text opcode with RSV1-3 set, payload length 1, payload `x`.
const INVALID_FRAME: [u8; 3] = [0xF1, 0x01, b'x'];

/// Upgrades the request and spawns the session that writes the invalid frame.
pub async fn handle(
    State(state): State<Arc<Shared>>,
    Query(query): Query<WsQuery>,
    mut req: Request,
) -> Response {
    let headers = req.headers();
    let is_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !is_token(header::UPGRADE, "websocket")
        || !is_token(header::CONNECTION, "upgrade")
        || req.method() != Method::GET
    {
        return upgrade_required();
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return version_unsupported();
    }
    let Some(accept) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|key| HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok())
    else {
        return text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key");
    };
    let guard = match admit(&state, &WsRoute::Garbage, query.id) {
        Ok(guard) => guard,
        Err(msg) => return text(StatusCode::SERVICE_UNAVAILABLE, msg),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        tracing::info!(
            conn = guard.conn_id,
            route = "/garbage",
            "connection opened"
        );
        let ended = tokio::select! {
            _ = guard.kill.notified() => "dropped by /control/drop-all",
            ended = async {
                if io.write_all(&INVALID_FRAME).await.is_err() || io.flush().await.is_err() {
                    return "client gone before the garbage (/garbage)";
                }
                // The client fails the connection; give it time to see the frame.
                tokio::time::sleep(CLOSE_TIMEOUT).await;
                "sent an invalid frame (/garbage)"
            } => ended,
        };
        drop(io);
        tracing::info!(
            conn = guard.conn_id,
            route = "/garbage",
            "connection closed: {ended}"
        );
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response()
}
