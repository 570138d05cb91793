//! Helpers shared by the integration tests: start a server in-process, open
//! WebSocket clients, make raw HTTP requests.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::handshake::client::Response as WsResponse;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, WebSocketStream};

pub use test_server::Config;

/// Upper bound for any single step, only to turn hangs into failures.
pub const STEP: Duration = Duration::from_secs(15);

pub type Client = WebSocketStream<TcpStream>;

/// Starts a server with `config` on 127.0.0.1 and a free port.
pub async fn start(config: Config) -> SocketAddr {
    let (addr, _task) = test_server::spawn(config).await.expect("start server");
    addr
}

/// Starts a server with the default configuration.
pub async fn start_default() -> SocketAddr {
    start(Config::default()).await
}

/// Runs `fut` with the [`STEP`] timeout, panicking with `what` on timeout.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Opens a WebSocket to `path` (with query) offering `protocols`.
pub async fn try_connect_with(
    addr: SocketAddr,
    path: &str,
    protocols: Option<&str>,
) -> Result<(Client, WsResponse), WsError> {
    let mut request = format!("ws://{addr}{path}").into_client_request()?;
    if let Some(p) = protocols {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    within("websocket handshake", client_async(request, tcp)).await
}

/// Opens a WebSocket to `path`.
pub async fn try_connect(addr: SocketAddr, path: &str) -> Result<Client, WsError> {
    try_connect_with(addr, path, None).await.map(|(c, _)| c)
}

/// Opens a WebSocket to `path`, panicking on failure.
pub async fn connect(addr: SocketAddr, path: &str) -> Client {
    try_connect(addr, path)
        .await
        .unwrap_or_else(|e| panic!("connect {path}: {e}"))
}

/// The HTTP status of a refused handshake.
pub fn refused_status(err: &WsError) -> u16 {
    match err {
        WsError::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// Next item from the client (bounded wait).
pub async fn next(client: &mut Client) -> Option<Result<Message, WsError>> {
    within("next websocket message", client.next()).await
}

/// Next message, which must be a data or close message (not an error / end).
pub async fn next_msg(client: &mut Client) -> Message {
    match next(client).await {
        Some(Ok(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Next message, which must be text.
pub async fn next_text(client: &mut Client) -> String {
    match next_msg(client).await {
        Message::Text(t) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Sends a text message.
pub async fn send_text(client: &mut Client, text: &str) {
    within("send", client.send(Message::text(text)))
        .await
        .expect("send text");
}

/// Asserts the connection ends without a close frame (error or end of stream).
pub async fn assert_dropped_without_close(client: &mut Client) {
    loop {
        match next(client).await {
            None | Some(Err(_)) => return,
            Some(Ok(Message::Close(frame))) => panic!("unexpected close frame {frame:?}"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("bad JSON {:?}: {e}", self.text()))
    }
}

/// Sends raw request bytes and reads the whole response (the server closes).
pub async fn http_raw(addr: SocketAddr, request: &str) -> HttpResponse {
    within("http request", async {
        let mut tcp = TcpStream::connect(addr).await.expect("tcp connect");
        tcp.write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.expect("read response");
        parse_response(&raw)
    })
    .await
}

/// Makes a request with `method` to `target`.
pub async fn http(addr: SocketAddr, method: &str, target: &str) -> HttpResponse {
    http_raw(
        addr,
        &format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://other.test\r\n\r\n"),
    )
    .await
}

/// GET that must answer 200 with JSON.
pub async fn get_json(addr: SocketAddr, target: &str) -> serde_json::Value {
    let resp = http(addr, "GET", target).await;
    assert_eq!(resp.status, 200, "GET {target}: {}", resp.text());
    resp.json()
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).expect("utf-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

/// Polls `GET target` until `pred` holds for its JSON (bounded).
pub async fn wait_json(
    addr: SocketAddr,
    target: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    within(&format!("waiting on {target}"), async {
        loop {
            let v = get_json(addr, target).await;
            if pred(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A fresh, empty temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "test-server-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}
