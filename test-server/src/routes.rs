//! Route table: WebSocket routes with their query parameters, and the plain
//! HTTP routes (`/stats`, `/control/*`, static files, CORS preflight).

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use serde_json::json;

use crate::files;
use crate::http::RequestHead;
use crate::response::Response;
use crate::state::State;

/// Paths of all WebSocket routes (listed in `/stats` from the start).
pub const WS_ROUTES: &[&str] = &[
    "/echo",
    "/close",
    "/drop",
    "/silent",
    "/reject",
    "/protocols",
    "/flood",
    "/room",
    "/garbage",
];

/// Longest close reason that fits a close frame (125 - 2 bytes of code).
pub const MAX_CLOSE_REASON: usize = 123;
/// Upper bound for `/flood`'s `n * size`.
pub const MAX_FLOOD_BYTES: u64 = 256 * 1024 * 1024;

/// A WebSocket route with validated parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum WsRoute {
    /// `/echo`
    Echo,
    /// `/close?code=C&reason=R&after=N`
    Close {
        /// Close code to send.
        code: u16,
        /// Close reason to send.
        reason: String,
        /// Messages echoed before closing.
        after: u64,
    },
    /// `/drop?after=N`
    Drop {
        /// Messages echoed before dropping TCP.
        after: u64,
    },
    /// `/silent?hold=SECS`
    Silent {
        /// How long to keep TCP open.
        hold: Duration,
    },
    /// `/reject?status=S`
    Reject {
        /// HTTP status of the refusal.
        status: u16,
    },
    /// `/protocols`
    Protocols,
    /// `/flood?n=N&size=S&binary=B`
    Flood {
        /// Number of messages.
        n: u64,
        /// Size of each message (at least the index prefix).
        size: usize,
        /// Send binary frames instead of text.
        binary: bool,
    },
    /// `/room`
    Room,
    /// `/garbage`: after the handshake, a frame no client may accept (reserved bits set), so
    /// the browser fails the connection (`error`, then close 1006).
    Garbage,
}

impl WsRoute {
    /// The route's path, as used in stats.
    pub fn path(&self) -> &'static str {
        match self {
            WsRoute::Echo => "/echo",
            WsRoute::Close { .. } => "/close",
            WsRoute::Drop { .. } => "/drop",
            WsRoute::Silent { .. } => "/silent",
            WsRoute::Reject { .. } => "/reject",
            WsRoute::Protocols => "/protocols",
            WsRoute::Flood { .. } => "/flood",
            WsRoute::Room => "/room",
            WsRoute::Garbage => "/garbage",
        }
    }
}

/// Parses an optional numeric query parameter within a range.
fn param<T>(
    head: &RequestHead,
    name: &str,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T, String>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let bad = || {
        format!(
            "bad query parameter {name}: must be an integer from {} to {}",
            range.start(),
            range.end()
        )
    };
    match head.query_param(name) {
        None | Some("") => Ok(default),
        Some(raw) => {
            let v: T = raw.trim().parse().map_err(|_| bad())?;
            if range.contains(&v) {
                Ok(v)
            } else {
                Err(bad())
            }
        }
    }
}

fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Parses a WebSocket route: `None` if the path is not one, `Err` (HTTP 400
/// message) if a query value is invalid.
pub fn parse_ws_route(head: &RequestHead) -> Option<Result<WsRoute, String>> {
    let route = match head.path.as_str() {
        "/echo" => Ok(WsRoute::Echo),
        "/protocols" => Ok(WsRoute::Protocols),
        "/room" => Ok(WsRoute::Room),
        "/garbage" => Ok(WsRoute::Garbage),
        "/close" => parse_close(head),
        "/drop" => param(head, "after", 0, 0..=u64::MAX).map(|after| WsRoute::Drop { after }),
        "/silent" => parse_silent(head),
        "/reject" => param(head, "status", 403, 400..=599).map(|status| WsRoute::Reject { status }),
        "/flood" => parse_flood(head),
        _ => return None,
    };
    Some(route)
}

fn parse_close(head: &RequestHead) -> Result<WsRoute, String> {
    let code = match head.query_param("code") {
        None | Some("") => 1000,
        Some(raw) => raw
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|c| valid_close_code(*c))
            .ok_or_else(|| {
                "bad query parameter code: must be 1000-1003, 1007-1014 or 3000-4999".to_owned()
            })?,
    };
    let reason = head.query_param("reason").unwrap_or_default().to_owned();
    if reason.len() > MAX_CLOSE_REASON {
        return Err(format!(
            "bad query parameter reason: at most {MAX_CLOSE_REASON} bytes of UTF-8"
        ));
    }
    let after = param(head, "after", 0, 0..=u64::MAX)?;
    Ok(WsRoute::Close {
        code,
        reason,
        after,
    })
}

fn parse_silent(head: &RequestHead) -> Result<WsRoute, String> {
    let bad = || "bad query parameter hold: must be seconds from 0 to 3600".to_owned();
    let secs = match head.query_param("hold") {
        None | Some("") => 30.0,
        Some(raw) => raw.trim().parse::<f64>().map_err(|_| bad())?,
    };
    if !(0.0..=3600.0).contains(&secs) {
        return Err(bad());
    }
    Ok(WsRoute::Silent {
        hold: Duration::from_secs_f64(secs),
    })
}

fn parse_flood(head: &RequestHead) -> Result<WsRoute, String> {
    let n: u64 = param(head, "n", 100, 0..=10_000_000)?;
    let size: usize = param(head, "size", 16, 0..=16 * 1024 * 1024)?;
    let binary = match head.query_param("binary").unwrap_or("0") {
        "" | "0" | "false" => false,
        "1" | "true" => true,
        _ => return Err("bad query parameter binary: must be 0, 1, true or false".to_owned()),
    };
    if n.saturating_mul(size as u64) > MAX_FLOOD_BYTES {
        return Err(format!(
            "bad query parameters: n * size must be at most {MAX_FLOOD_BYTES}"
        ));
    }
    Ok(WsRoute::Flood { n, size, binary })
}

/// Longest window accepted by `/control/refuse` and `/control/mute-pings`: one day.
pub const MAX_WINDOW_MS: u64 = 86_400_000;

fn ms_param(head: &RequestHead) -> Result<u64, Response> {
    head.query_param("ms")
        .and_then(|raw| raw.trim().parse::<u64>().ok())
        .filter(|ms| *ms <= MAX_WINDOW_MS)
        .ok_or_else(|| {
            Response::text(
                400,
                format!("bad query parameter ms: must be an integer from 0 to {MAX_WINDOW_MS} (milliseconds)"),
            )
        })
}

/// Answers a plain (non-upgrade) HTTP request.
pub async fn handle_http(state: &State, head: &RequestHead) -> Response {
    let method = head.method.as_str();
    if method == "OPTIONS" {
        return Response::empty(204)
            .with_header("Access-Control-Allow-Methods", "GET, POST, HEAD, OPTIONS")
            .with_header("Access-Control-Allow-Headers", "*")
            .with_header("Access-Control-Max-Age", "86400");
    }
    if !matches!(method, "GET" | "HEAD" | "POST") {
        return Response::text(405, "method not allowed: use GET, HEAD, POST or OPTIONS")
            .with_header("Allow", "GET, HEAD, POST, OPTIONS");
    }
    let path = head.path.as_str();
    match path {
        "/stats" => {
            let stats = state.stats();
            let doc = match head.query_param("id") {
                Some(id) => stats.id_json(id),
                None => stats.to_json(),
            };
            return Response::json(200, &doc);
        }
        "/control/drop-all" => {
            // `?id=X` drops only the connections opened with that id.
            let n = state.drop_all(head.query_param("id"));
            tracing::info!(dropped = n, "control: drop-all");
            return Response::json(200, &json!({ "dropped": n }));
        }
        "/control/refuse" => {
            return match ms_param(head) {
                Ok(ms) => {
                    state.refuse_for(ms);
                    tracing::info!(ms, "control: refusing handshakes");
                    Response::json(200, &json!({ "refusing_ms": ms }))
                }
                Err(resp) => resp,
            };
        }
        "/control/mute-pings" => {
            return match ms_param(head) {
                Ok(ms) => {
                    state.mute_pings_for(ms);
                    tracing::info!(ms, "control: muting heartbeat pings");
                    Response::json(200, &json!({ "muted_ms": ms }))
                }
                Err(resp) => resp,
            };
        }
        "/control/reset" => {
            let id = head.query_param("id");
            state.stats().reset(id);
            return Response::json(200, &json!({ "reset": id.unwrap_or("*") }));
        }
        _ => {}
    }
    if path.starts_with("/control/") {
        return Response::text(
            404,
            "unknown control route: use drop-all, refuse, mute-pings or reset",
        );
    }
    if let Some(route) = parse_ws_route(head) {
        return match route {
            Ok(WsRoute::Reject { status }) => {
                Response::text(status, format!("rejected by /reject with status {status}"))
            }
            Ok(_) => Response::text(426, "this route needs a WebSocket upgrade")
                .with_header("Upgrade", "websocket"),
            Err(msg) => Response::text(400, msg),
        };
    }
    if let Some(rest) = path.strip_prefix("/pkg/") {
        if let Some(dir) = &state.config.pkg {
            return files::serve(dir, rest).await;
        }
    } else if let (Some(dir), Some(rest)) = (&state.config.www, path.strip_prefix('/')) {
        return files::serve(dir, rest).await;
    }
    Response::text(404, "not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_head;

    fn route(target: &str) -> Option<Result<WsRoute, String>> {
        let head = parse_head(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes()).unwrap();
        parse_ws_route(&head)
    }

    #[test]
    fn parses_routes_and_defaults() {
        assert_eq!(route("/echo?id=a"), Some(Ok(WsRoute::Echo)));
        assert_eq!(route("/nope"), None);
        assert_eq!(
            route("/close"),
            Some(Ok(WsRoute::Close {
                code: 1000,
                reason: String::new(),
                after: 0
            }))
        );
        assert_eq!(
            route("/close?code=4001&reason=a%20b&after=3"),
            Some(Ok(WsRoute::Close {
                code: 4001,
                reason: "a b".into(),
                after: 3
            }))
        );
        assert_eq!(route("/reject"), Some(Ok(WsRoute::Reject { status: 403 })));
        assert_eq!(
            route("/silent?hold=0.5"),
            Some(Ok(WsRoute::Silent {
                hold: Duration::from_millis(500)
            }))
        );
        assert_eq!(
            route("/flood?binary=1"),
            Some(Ok(WsRoute::Flood {
                n: 100,
                size: 16,
                binary: true
            }))
        );
    }

    #[test]
    fn rejects_bad_values() {
        for t in [
            "/close?code=abc",
            "/close?code=1006",
            "/close?code=5000",
            "/reject?status=399",
            "/reject?status=600",
            "/drop?after=-1",
            "/silent?hold=x",
            "/flood?n=10000&size=1000000",
            "/flood?binary=maybe",
        ] {
            assert!(matches!(route(t), Some(Err(_))), "{t} should be rejected");
        }
        let long = "r".repeat(MAX_CLOSE_REASON + 1);
        assert!(matches!(
            route(&format!("/close?reason={long}")),
            Some(Err(_))
        ));
    }
}
