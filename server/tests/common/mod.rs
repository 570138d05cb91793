//! A test server (axum on 127.0.0.1:0 running `Sessions`) and a client speaking the
//! protocol by hand over tokio-tungstenite.

#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use axum::serve::Listener;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_tether_server::{Error, Incoming, Message, SessionSink, Sessions};

/// The upper bound on any wait: a hung test fails instead of hanging.
pub const LIMIT: Duration = Duration::from_secs(20);

pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// What the application saw.
#[derive(Debug)]
pub enum Seen {
    Started { id: String, resumed: bool },
    Message { id: String, incoming: Incoming },
    Ended { id: String, error: Option<Error> },
}

/// A server and what its application saw; the test sends through the sessions' sinks.
pub struct Server {
    pub addr: SocketAddr,
    pub sessions: Sessions,
    sinks: Arc<Mutex<HashMap<String, SessionSink>>>,
    seen: mpsc::UnboundedReceiver<Seen>,
    gate: Option<Arc<Semaphore>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct App {
    sessions: Sessions,
    sinks: Arc<Mutex<HashMap<String, SessionSink>>>,
    seen: mpsc::UnboundedSender<Seen>,
    /// If set, the application asks for the next message only after taking a permit.
    gate: Option<Arc<Semaphore>>,
}

/// The owner a test's client says it is (`?owner=NAME`; none: anonymous), as a route that
/// authenticated its user would pass it.
fn owner(uri: &Uri) -> String {
    uri.query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("owner=")))
        .unwrap_or("")
        .to_owned()
}

async fn route(ws: WebSocketUpgrade, uri: Uri, State(app): State<App>) -> Response {
    let seen = app.seen.clone();
    let sinks = app.sinks.clone();
    let gate = app.gate.clone();
    app.sessions
        .upgrade_as(ws, owner(&uri), move |session| async move {
            let id = session.id().to_owned();
            let resumed = session.resumed();
            // The sink is there for the test to take once it saw the session start.
            let (sink, mut stream) = session.split();
            sinks.lock().unwrap().insert(id.clone(), sink);
            let _ = seen.send(Seen::Started {
                id: id.clone(),
                resumed,
            });
            let error = loop {
                match stream.next().await {
                    Some(Ok(incoming)) => {
                        let _ = seen.send(Seen::Message {
                            id: id.clone(),
                            incoming,
                        });
                        if let Some(gate) = &gate {
                            gate.acquire().await.unwrap().forget();
                        }
                    }
                    Some(Err(error)) => break Some(error),
                    None => break None,
                }
            };
            let _ = seen.send(Seen::Ended { id, error });
        })
}

/// The README's echo server: each message sent back through the session's sink, the next
/// one read only once the echo was accepted (a busy application when the sink waits).
async fn echo_route(ws: WebSocketUpgrade, State(app): State<App>) -> Response {
    let seen = app.seen.clone();
    app.sessions.upgrade(ws, move |session| async move {
        let id = session.id().to_owned();
        let _ = seen.send(Seen::Started {
            id: id.clone(),
            resumed: session.resumed(),
        });
        let (mut sink, mut stream) = session.split();
        let error = loop {
            match stream.next().await {
                Some(Ok(incoming)) => {
                    if let Err(error) = sink.send(incoming.message).await {
                        break Some(error);
                    }
                }
                Some(Err(error)) => break Some(error),
                None => break None,
            }
        };
        let _ = seen.send(Seen::Ended { id, error });
    })
}

impl Server {
    /// A server whose application echoes every message (see `echo_route`).
    pub async fn start_echo(sessions: Sessions) -> Server {
        Server::start_routed(sessions, None, true).await
    }

    /// An echo server (see `echo_route`) counting the writes its connections make to their
    /// sockets.
    pub async fn start_echo_counting_writes(sessions: Sessions) -> (Server, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let writes = Arc::new(AtomicUsize::new(0));
        let counting = CountingListener {
            listener,
            writes: writes.clone(),
        };
        let server = Server::serve(sessions, None, true, counting).await;
        (server, writes)
    }

    pub async fn start(sessions: Sessions) -> Server {
        Server::start_with(sessions, None).await
    }

    /// A server whose application finishes with a message (asks for the next one) only
    /// when the test calls [`Server::finish_one`].
    pub async fn start_gated(sessions: Sessions) -> Server {
        Server::start_with(sessions, Some(Arc::new(Semaphore::new(0)))).await
    }

    async fn start_with(sessions: Sessions, gate: Option<Arc<Semaphore>>) -> Server {
        Server::start_routed(sessions, gate, false).await
    }

    async fn start_routed(sessions: Sessions, gate: Option<Arc<Semaphore>>, echo: bool) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Server::serve(sessions, gate, echo, listener).await
    }

    async fn serve<L>(
        sessions: Sessions,
        gate: Option<Arc<Semaphore>>,
        echo: bool,
        listener: L,
    ) -> Server
    where
        L: Listener<Addr = SocketAddr>,
    {
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let sinks = Arc::new(Mutex::new(HashMap::new()));
        let app = App {
            sessions: sessions.clone(),
            sinks: sinks.clone(),
            seen: seen_tx,
            gate: gate.clone(),
        };
        let handler = if echo { get(echo_route) } else { get(route) };
        let router = axum::Router::new().route("/ws", handler).with_state(app);
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Server {
            addr,
            sessions,
            sinks,
            seen,
            gate,
            task,
        }
    }

    /// A gated server's application finishes with the message it holds.
    pub fn finish_one(&self) {
        self.gate.as_ref().expect("a gated server").add_permits(1);
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The next thing the application saw.
    pub async fn seen(&mut self) -> Seen {
        within("the application", self.seen.recv())
            .await
            .expect("server gone")
    }

    pub async fn started(&mut self) -> (String, bool) {
        match self.seen().await {
            Seen::Started { id, resumed } => (id, resumed),
            other => panic!("expected a session, got {other:?}"),
        }
    }

    /// The next message the application received: (seq, text).
    pub async fn message(&mut self) -> (u64, String) {
        match self.seen().await {
            Seen::Message { incoming, .. } => (
                incoming.seq,
                incoming.message.into_text().expect("a text message"),
            ),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub async fn ended(&mut self) -> Option<Error> {
        match self.seen().await {
            Seen::Ended { error, .. } => error,
            other => panic!("expected the end, got {other:?}"),
        }
    }

    pub fn take_sink(&self, id: &str) -> SessionSink {
        self.sinks.lock().unwrap().remove(id).expect("no such sink")
    }

    pub fn no_more_seen(&mut self) -> bool {
        self.seen.try_recv().is_err()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP listener whose connections count the writes they make (calls that put bytes on
/// the socket).
struct CountingListener {
    listener: tokio::net::TcpListener,
    writes: Arc<AtomicUsize>,
}

impl Listener for CountingListener {
    type Io = CountedWrites;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CountedWrites, SocketAddr) {
        let (tcp, addr) = Listener::accept(&mut self.listener).await;
        let io = CountedWrites {
            tcp,
            writes: self.writes.clone(),
        };
        (io, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

struct CountedWrites {
    tcp: TcpStream,
    writes: Arc<AtomicUsize>,
}

impl CountedWrites {
    fn count(&self, written: &Poll<std::io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl AsyncRead for CountedWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.count(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.count(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Waits until the session's connection state is `connected`.
pub async fn until_connected(sink: &SessionSink, connected: bool) {
    within("the connection state", async {
        while sink.is_connected() != connected {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// What the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Text(String),
    Binary(Vec<u8>),
    Control(String),
    Close(u16, String),
    Gone,
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub protocol: Option<String>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        Client::connect_offering(url, None).await
    }

    pub async fn connect_offering(url: &str, protocol: Option<&str>) -> Client {
        let mut request = url.into_client_request().unwrap();
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(protocol).unwrap(),
            );
        }
        let (ws, response) = within("connect", tokio_tungstenite::connect_async(request))
            .await
            .expect("connect");
        let protocol = response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().unwrap().to_owned());
        Client { ws, protocol }
    }

    pub async fn control(&mut self, text: &str) {
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(text.as_bytes());
        self.ws.send(Frame::Binary(bytes.into())).await.unwrap();
    }

    pub async fn text(&mut self, text: &str) {
        self.ws.send(Frame::Text(text.into())).await.unwrap();
    }

    pub async fn raw(&mut self, frame: Frame) {
        self.ws.send(frame).await.unwrap();
    }

    /// Sends these messages as text frames, written to the socket together.
    pub async fn texts_together(&mut self, texts: &[&str]) {
        for text in texts {
            self.ws.feed(Frame::Text((*text).into())).await.unwrap();
        }
        self.ws.flush().await.unwrap();
    }

    pub async fn recv(&mut self) -> Got {
        loop {
            let frame = within("a frame", self.ws.next()).await;
            return match frame {
                Some(Ok(Frame::Text(text))) => Got::Text(text.to_string()),
                Some(Ok(Frame::Binary(bytes))) => match bytes.split_first() {
                    Some((1, rest)) => Got::Control(String::from_utf8(rest.to_vec()).unwrap()),
                    Some((0, rest)) => Got::Binary(rest.to_vec()),
                    _ => panic!("bad frame from the server: {bytes:?}"),
                },
                Some(Ok(Frame::Close(close))) => match close {
                    Some(close) => Got::Close(u16::from(close.code), close.reason.to_string()),
                    None => Got::Close(1005, String::new()),
                },
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Got::Gone,
            };
        }
    }

    /// The next frame that is not an `ack`.
    pub async fn recv_skipping_acks(&mut self) -> Got {
        loop {
            match self.recv().await {
                Got::Control(text) if text.starts_with("ack ") => continue,
                other => return other,
            }
        }
    }

    /// Reads until `ack n` (or more) arrives; fails on anything but acks.
    pub async fn until_ack(&mut self, n: u64) {
        loop {
            match self.recv().await {
                Got::Control(text) if text.starts_with("ack ") => {
                    let acked: u64 = text[4..].parse().unwrap();
                    if acked >= n {
                        return;
                    }
                }
                other => panic!("expected ack {n}, got {other:?}"),
            }
        }
    }

    /// `hello`, and the new session's id from `welcome new`.
    pub async fn hello(url: &str) -> (Client, String) {
        let mut client = Client::connect(url).await;
        client.control("hello").await;
        match client.recv().await {
            Got::Control(text) => {
                let rest = text
                    .strip_prefix("welcome new ")
                    .unwrap_or_else(|| panic!("expected welcome new, got {text}"));
                let (id, window) = rest.split_once(' ').expect("welcome new <id> <window>");
                assert!(window.parse::<u64>().is_ok(), "{text}");
                (client, id.to_owned())
            }
            other => panic!("expected welcome new, got {other:?}"),
        }
    }

    /// `resume id recv`, and the welcome's words after `welcome`.
    pub async fn resume(url: &str, id: &str, recv: u64) -> (Client, Vec<String>) {
        let mut client = Client::connect(url).await;
        client.control(&format!("resume {id} {recv}")).await;
        match client.recv().await {
            Got::Control(text) => {
                let mut words: Vec<String> = text.split(' ').map(str::to_owned).collect();
                assert_eq!(words[0], "welcome", "{text}");
                if matches!(words[1].as_str(), "resumed" | "lost") {
                    // The receive window: checked here, left out of what tests compare.
                    let window = words.pop().expect("a window");
                    assert!(window.parse::<u64>().is_ok(), "{text}");
                }
                (client, words[1..].to_vec())
            }
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    /// The next frame, or `None` if nothing arrives within `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Got> {
        tokio::time::timeout(wait, self.recv()).await.ok()
    }

    /// Drops the TCP connection without a closing handshake.
    pub fn drop_connection(self) {
        drop(self.ws);
    }

    pub async fn close(mut self, code: u16) {
        let frame = tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::from(code),
            reason: "".into(),
        };
        let _ = self.ws.send(Frame::Close(Some(frame))).await;
    }
}

pub fn text(s: &str) -> Message {
    Message::Text(s.to_owned())
}

pub mod faults;
#[cfg(feature = "redis")]
pub mod redis;
