//! Minimal HTTP/1.1 request heads: reading, parsing, query strings and
//! percent-decoding. Responses are in [`crate::response`].
//!
//! Only what the test server needs: one request per TCP connection.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Largest request head accepted (request line plus headers).
pub const MAX_HEAD_SIZE: usize = 16 * 1024;

/// Why a request head could not be read.
#[derive(Debug)]
pub enum HeadError {
    /// The head exceeded [`MAX_HEAD_SIZE`] (answer 431).
    TooLarge,
    /// The head was not valid HTTP/1.x (answer 400).
    Malformed(&'static str),
    /// The peer closed before sending a complete head.
    Incomplete,
    /// Reading from the socket failed.
    Io(io::Error),
}

/// A parsed HTTP/1.x request head.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Percent-decoded path (`*` for `OPTIONS *`).
    pub path: String,
    /// Raw query string (without `?`), empty when absent.
    pub raw_query: String,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// Header names (as sent) and trimmed values, in order.
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// First value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All comma-separated items of every header with that name, trimmed, non-empty.
    pub fn header_items(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether a comma-separated header contains `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.header_items(name)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(token))
    }

    /// First value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the request asks for a WebSocket upgrade.
    pub fn is_upgrade(&self) -> bool {
        self.header_has_token("upgrade", "websocket")
    }
}

/// Reads one request head, leaving any following bytes in the reader's buffer.
///
/// Returns `Ok(None)` when the peer closed without sending anything.
pub async fn read_head<R>(reader: &mut R) -> Result<Option<RequestHead>, HeadError>
where
    R: AsyncBufRead + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        let chunk = reader.fill_buf().await.map_err(HeadError::Io)?;
        if chunk.is_empty() {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(HeadError::Incomplete)
            };
        }
        let mut used = 0;
        let mut done = false;
        for &b in chunk {
            used += 1;
            buf.push(b);
            if buf.ends_with(b"\r\n\r\n") || buf.ends_with(b"\n\n") {
                done = true;
                break;
            }
            if buf.len() >= MAX_HEAD_SIZE {
                break;
            }
        }
        reader.consume(used);
        if done {
            return parse_head(&buf).map(Some);
        }
        if buf.len() >= MAX_HEAD_SIZE {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Parses a complete request head (including the blank line).
pub fn parse_head(bytes: &[u8]) -> Result<RequestHead, HeadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HeadError::Malformed("head is not UTF-8"))?;
    let mut lines = text.lines();
    let request_line = lines.next().ok_or(HeadError::Malformed("empty request"))?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) if !m.is_empty() && !t.is_empty() => (m, t, v),
        _ => return Err(HeadError::Malformed("bad request line")),
    };
    if !version.starts_with("HTTP/1.") {
        return Err(HeadError::Malformed("only HTTP/1.x is supported"));
    }
    if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(HeadError::Malformed("bad method"));
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            return Err(HeadError::Malformed("folded headers are not supported"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HeadError::Malformed("header line without ':'"))?;
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(HeadError::Malformed("bad header name"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let (path, raw_query) = split_target(target)?;
    Ok(RequestHead {
        method: method.to_owned(),
        path: percent_decode(path, false),
        query: parse_query(raw_query),
        raw_query: raw_query.to_owned(),
        headers,
    })
}

/// Splits a request target into path and query, accepting origin-form,
/// absolute-form and `*`.
fn split_target(target: &str) -> Result<(&str, &str), HeadError> {
    let target = target.split('#').next().unwrap_or_default();
    let origin_form = if target == "*" || target.starts_with('/') {
        target
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
        .or_else(|| target.strip_prefix("ws://"))
        .or_else(|| target.strip_prefix("wss://"))
    {
        match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => &rest[i..],
            Some(i) => return Ok(("/", &rest[i + 1..])),
            None => "/",
        }
    } else {
        return Err(HeadError::Malformed("bad request target"));
    };
    Ok(match origin_form.split_once('?') {
        Some((p, q)) => (p, q),
        None => (origin_form, ""),
    })
}

/// Decodes `%XX` escapes (invalid escapes are kept literally); with
/// `plus_is_space`, `+` becomes a space as in form encoding.
pub fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=two` into decoded pairs; a key without `=` gets an empty value.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_head() {
        let head = parse_head(
            b"GET /close?code=4000&reason=bye%20now+x HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
        )
        .unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/close");
        assert_eq!(head.query_param("code"), Some("4000"));
        assert_eq!(head.query_param("reason"), Some("bye now x"));
        assert_eq!(head.header("host"), Some("a"));
        assert!(head.is_upgrade());
        assert!(head.header_has_token("connection", "upgrade"));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_head(b"HELLO\r\n\r\n").is_err());
        assert!(parse_head(b"GET / SPDY/3\r\n\r\n").is_err());
        assert!(parse_head(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n").is_err());
    }

    #[test]
    fn absolute_and_star_targets() {
        let h = parse_head(b"GET http://h:1/stats?id=x HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(
            (h.path.as_str(), h.query_param("id")),
            ("/stats", Some("x"))
        );
        let h = parse_head(b"OPTIONS * HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(h.path, "*");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%zz%4", false), "a/b%zz%4");
        assert_eq!(percent_decode("a+b%2B", true), "a b+");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%e2%9c%93", false), "\u{2713}");
    }

    #[tokio::test]
    async fn read_head_keeps_following_bytes() {
        let data: &[u8] = b"GET / HTTP/1.1\r\nA: b\r\n\r\nREST";
        let mut reader = tokio::io::BufReader::new(data);
        let head = read_head(&mut reader).await.unwrap().unwrap();
        assert_eq!(head.header("a"), Some("b"));
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut rest)
            .await
            .unwrap();
        assert_eq!(rest, "REST");
    }

    #[tokio::test]
    async fn read_head_limits_size() {
        let mut data = b"GET / HTTP/1.1\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', MAX_HEAD_SIZE + 10));
        let mut reader = tokio::io::BufReader::new(&data[..]);
        assert!(matches!(
            read_head(&mut reader).await,
            Err(HeadError::TooLarge)
        ));
    }
}
