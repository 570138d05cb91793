//! The WebSocket routes and their query parameters: which values each accepts and the
//! message a bad one gets. Nothing here touches a socket.

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

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

/// The query parameters of every WebSocket route (each route reads its own).
///
/// Values stay strings so that a bad one gets this server's own message (naming the
/// parameter and its range), not a deserializer's.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WsQuery {
    /// Groups connections in the stats (`/stats?id=`) and for `/control/drop-all?id=`.
    pub id: Option<String>,
    /// `/close`: the close code.
    pub code: Option<String>,
    /// `/close`: the close reason.
    pub reason: Option<String>,
    /// `/close`, `/drop`: messages echoed first.
    pub after: Option<String>,
    /// `/silent`: seconds to hold the connection.
    pub hold: Option<String>,
    /// `/reject`: the HTTP status.
    pub status: Option<String>,
    /// `/flood`: number of messages.
    pub n: Option<String>,
    /// `/flood`: size of each message.
    pub size: Option<String>,
    /// `/flood`: binary frames instead of text.
    pub binary: Option<String>,
}

/// Parses an optional numeric query parameter within a range; empty means absent.
fn param<T>(
    raw: Option<&str>,
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
    match raw {
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

impl WsRoute {
    /// Validates the query of the WebSocket route at `path` (one of [`WS_ROUTES`]);
    /// `Err` is the HTTP 400 message.
    pub fn parse(path: &str, q: &WsQuery) -> Result<WsRoute, String> {
        match path {
            "/close" => parse_close(q),
            "/drop" => param(q.after.as_deref(), "after", 0, 0..=u64::MAX)
                .map(|after| WsRoute::Drop { after }),
            "/silent" => parse_silent(q),
            "/reject" => param(q.status.as_deref(), "status", 403, 400..=599)
                .map(|status| WsRoute::Reject { status }),
            "/flood" => parse_flood(q),
            "/protocols" => Ok(WsRoute::Protocols),
            "/room" => Ok(WsRoute::Room),
            "/garbage" => Ok(WsRoute::Garbage),
            "/echo" => Ok(WsRoute::Echo),
            _ => Err(format!("no WebSocket route at {path}")),
        }
    }
}

fn parse_close(q: &WsQuery) -> Result<WsRoute, String> {
    let code = match q.code.as_deref() {
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
    let reason = q.reason.clone().unwrap_or_default();
    if reason.len() > MAX_CLOSE_REASON {
        return Err(format!(
            "bad query parameter reason: at most {MAX_CLOSE_REASON} bytes of UTF-8"
        ));
    }
    let after = param(q.after.as_deref(), "after", 0, 0..=u64::MAX)?;
    Ok(WsRoute::Close {
        code,
        reason,
        after,
    })
}

fn parse_silent(q: &WsQuery) -> Result<WsRoute, String> {
    let bad = || "bad query parameter hold: must be seconds from 0 to 3600".to_owned();
    let secs = match q.hold.as_deref() {
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

fn parse_flood(q: &WsQuery) -> Result<WsRoute, String> {
    let n: u64 = param(q.n.as_deref(), "n", 100, 0..=10_000_000)?;
    let size: usize = param(q.size.as_deref(), "size", 16, 0..=16 * 1024 * 1024)?;
    let binary = match q.binary.as_deref().unwrap_or("0") {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `target` as the router would: the path picks the route, the query
    /// is deserialized like axum's `Query` does.
    fn route(target: &str) -> Option<Result<WsRoute, String>> {
        let uri: axum::http::Uri = target.parse().unwrap();
        if !WS_ROUTES.contains(&uri.path()) {
            return None;
        }
        let axum::extract::Query(q) = axum::extract::Query::<WsQuery>::try_from_uri(&uri).unwrap();
        Some(WsRoute::parse(uri.path(), &q))
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
