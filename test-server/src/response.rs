//! Writing HTTP responses. Every response carries the CORS, `no-store`,
//! `Connection: close` and `Content-Length` headers.

use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// An HTTP response to be written with [`write_response`].
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Value of `Content-Type` (omitted when empty).
    pub content_type: String,
    /// Additional headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes (not sent for HEAD requests, but still counted in Content-Length).
    pub body: Vec<u8>,
}

impl Response {
    /// A `text/plain` response; a newline is appended to the message.
    pub fn text(status: u16, message: impl Into<String>) -> Self {
        let mut body = message.into();
        body.push('\n');
        Self {
            status,
            content_type: "text/plain; charset=utf-8".to_owned(),
            headers: Vec::new(),
            body: body.into_bytes(),
        }
    }

    /// An `application/json` response.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json".to_owned(),
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }

    /// An empty response with no content type.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Standard reason phrase for a status code (`"Unknown"` for unlisted codes).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Serializes a response, always adding the CORS, no-store, close and length headers.
pub fn encode_response(resp: &Response, head_only: bool) -> Vec<u8> {
    let mut head = String::with_capacity(256);
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\n",
        resp.status,
        reason_phrase(resp.status)
    );
    if !resp.content_type.is_empty() {
        let _ = write!(head, "Content-Type: {}\r\n", resp.content_type);
    }
    let _ = write!(head, "Content-Length: {}\r\n", resp.body.len());
    head.push_str("Access-Control-Allow-Origin: *\r\n");
    head.push_str("Cache-Control: no-store\r\n");
    head.push_str("Connection: close\r\n");
    for (name, value) in &resp.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(&resp.body);
    }
    out
}

/// Writes a response and flushes.
pub async fn write_response<W>(writer: &mut W, resp: &Response, head_only: bool) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    writer.write_all(&encode_response(resp, head_only)).await?;
    writer.flush().await
}

/// How long [`send_and_close`] waits for the client to close its side.
const LINGER: Duration = Duration::from_secs(2);

/// Writes a response, half-closes, then briefly drains the client's remaining
/// bytes so that closing does not reset the connection before the client has
/// read the response.
pub async fn send_and_close<S>(stream: &mut S, resp: &Response, head_only: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if write_response(stream, resp, head_only).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while total < 1024 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_has_required_headers() {
        let bytes = encode_response(&Response::text(404, "nope"), false);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        for h in [
            "Access-Control-Allow-Origin: *",
            "Cache-Control: no-store",
            "Connection: close",
            "Content-Length: 5",
        ] {
            assert!(text.contains(h), "missing {h} in {text}");
        }
        assert!(text.ends_with("\r\n\r\nnope\n"));
    }
}
