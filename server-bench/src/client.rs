//! One client connection of the load generator: a plain WebSocket (raw axum) or a
//! `tether.resume.v1` session (ws-tether-server), spoken through the shared codec
//! (`ws_tether::sans_io::resume`): `hello` or `resume`, the welcome, acks of the server's
//! messages (every 64, the spec's count bound, or when asked), the server's acks freeing the
//! receive window. Owns no timers and no policy beyond that: the phases drive it.

use std::collections::VecDeque;
use std::net::SocketAddr;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use ws_tether::sans_io::resume::{wrap, Control, Frame};
use ws_tether::Message;

use crate::Result;

/// The spec's count bound: an ack at once after this many unacknowledged messages.
const ACK_EVERY: u64 = 64;

/// Which server a client talks to: the raw echo speaks plain WebSocket, the others the
/// resume protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain axum WebSocket echo.
    Raw,
    /// ws-tether-server with `MemoryStore`.
    Memory,
    /// ws-tether-server with `RedisStore`.
    Redis,
}

impl Kind {
    /// The key of this server's figures in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Memory => "memory",
            Kind::Redis => "redis",
        }
    }

    fn resumes(self) -> bool {
        self != Kind::Raw
    }
}

/// What the client knows of its resume session, kept across connections.
#[derive(Debug)]
pub struct Session {
    id: String,
    window: u64,
    /// The number of the last application message sent.
    sent: u64,
    /// Payload lengths of messages `sent - unacked.len() + 1 ..= sent`.
    unacked: VecDeque<u64>,
    unacked_bytes: u64,
    /// The number of the last server message received.
    recv: u64,
    /// The last `recv` acknowledged to the server.
    acked: u64,
}

impl Session {
    fn new(id: String, window: u64) -> Session {
        Session {
            id,
            window,
            sent: 0,
            unacked: VecDeque::new(),
            unacked_bytes: 0,
            recv: 0,
            acked: 0,
        }
    }

    /// The server acknowledged our messages `1..=n`.
    fn on_ack(&mut self, n: u64) -> Result<()> {
        let first = self.sent - self.unacked.len() as u64;
        if n > self.sent {
            return Err(format!("ack {n} of messages never sent (sent {})", self.sent).into());
        }
        for _ in first..n {
            if let Some(len) = self.unacked.pop_front() {
                self.unacked_bytes -= len;
            }
        }
        Ok(())
    }
}

/// What [`Client::next`] read.
#[derive(Debug)]
pub enum Event {
    /// An application text message (for the resume servers: the next numbered one).
    Text(Utf8Bytes),
    /// A control message was handled (an ack may have opened the window).
    Control,
}

/// One connection, and for the resume servers its session.
#[derive(Debug)]
pub struct Client {
    ws: WebSocketStream<TcpStream>,
    session: Option<Session>,
}

/// A WebSocket to `addr`'s `/echo`. The client's own read buffer is small (4 KiB) and its
/// socket has TCP_NODELAY, so the load generator neither holds memory nor delays frames.
async fn socket(addr: SocketAddr) -> Result<WebSocketStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let url = format!("ws://{addr}/echo");
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
    Ok(ws)
}

impl Client {
    /// Opens a connection: for the resume servers, a new session (`hello`, `welcome new`).
    pub async fn connect(addr: SocketAddr, kind: Kind) -> Result<Client> {
        let mut client = Client {
            ws: socket(addr).await?,
            session: None,
        };
        if kind.resumes() {
            client.write(Control::Hello.encode()).await?;
            match client.first_frame().await? {
                Control::New { session, window } => {
                    client.session = Some(Session::new(session, window));
                }
                other => return Err(format!("hello answered with {other:?}").into()),
            }
        }
        Ok(client)
    }

    /// Continues `session` on a new connection to `addr` (`resume`, `welcome resumed`).
    /// The bench only resumes sessions with nothing unacknowledged either way, so anything
    /// but a welcome that says so is an error.
    pub async fn resume(addr: SocketAddr, mut session: Session) -> Result<Client> {
        let mut ws = socket(addr).await?;
        let hello = Control::Resume {
            session: session.id.clone(),
            recv: session.recv,
        };
        ws.send(hello.encode().into()).await?;
        let mut client = Client { ws, session: None };
        match client.first_frame().await? {
            Control::Resumed {
                session: id,
                recv,
                next,
                window,
            } => {
                session.on_ack(recv)?;
                if !session.unacked.is_empty() || next != session.recv + 1 {
                    return Err(format!(
                        "resumed with recv {recv} next {next}; the client sent {} and received {}",
                        session.sent, session.recv
                    )
                    .into());
                }
                session.id = id;
                session.window = window;
                client.session = Some(session);
                Ok(client)
            }
            other => Err(format!("resume answered with {other:?}").into()),
        }
    }

    /// A plain reconnect (raw) or a resume of this client's session, on `addr`.
    pub async fn reconnect(addr: SocketAddr, session: Option<Session>) -> Result<Client> {
        match session {
            Some(session) => Client::resume(addr, session).await,
            None => Ok(Client {
                ws: socket(addr).await?,
                session: None,
            }),
        }
    }

    /// Drops the connection without a closing handshake (a lost connection), keeping the
    /// session for a resume.
    pub fn drop_connection(self) -> Option<Session> {
        self.session
    }

    async fn first_frame(&mut self) -> Result<Control> {
        loop {
            match self.ws.next().await.ok_or("closed before the welcome")?? {
                tungstenite::Message::Binary(bytes) => match Frame::parse_bytes(&bytes) {
                    Frame::Control(control) => return Ok(control),
                    other => return Err(format!("first frame {other:?}").into()),
                },
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {}
                other => return Err(format!("first frame {other:?}").into()),
            }
        }
    }

    async fn write(&mut self, message: Message) -> Result<()> {
        self.ws.send(message.into()).await?;
        Ok(())
    }

    /// Whether a message of `len` bytes fits the server's receive window now (always for
    /// the raw server).
    pub fn can_send(&self, len: u64) -> bool {
        self.session
            .as_ref()
            .is_none_or(|s| s.unacked.is_empty() || s.unacked_bytes + len <= s.window)
    }

    /// Queues an application text message (written by the next [`Client::flush`]).
    pub async fn feed_text(&mut self, text: String) -> Result<()> {
        let message = Message::Text(text);
        if let Some(session) = &mut self.session {
            session.sent += 1;
            session.unacked.push_back(message.len() as u64);
            session.unacked_bytes += message.len() as u64;
        }
        self.ws.feed(wrap(&message).into()).await?;
        Ok(())
    }

    /// Writes what was fed.
    pub async fn flush(&mut self) -> Result<()> {
        self.ws.flush().await?;
        Ok(())
    }

    /// Acknowledges every server message received so far (if any is unacknowledged).
    pub async fn ack(&mut self) -> Result<()> {
        if let Some(session) = &mut self.session {
            if session.acked < session.recv {
                session.acked = session.recv;
                let ack = Control::Ack(session.recv).encode();
                self.write(ack).await?;
            }
        }
        Ok(())
    }

    /// Whether the server acknowledged every message this client sent.
    pub fn all_acknowledged(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.unacked.is_empty())
    }

    /// Reads the next frame: an application message, or a control message handled here.
    pub async fn next(&mut self) -> Result<Event> {
        loop {
            let message = self.ws.next().await.ok_or("connection ended")??;
            let Some(session) = &mut self.session else {
                match message {
                    tungstenite::Message::Text(text) => return Ok(Event::Text(text)),
                    tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
                    other => return Err(format!("unexpected {other:?}").into()),
                }
            };
            match message {
                tungstenite::Message::Text(text) => {
                    session.recv += 1;
                    if session.recv - session.acked >= ACK_EVERY {
                        self.ack().await?;
                    }
                    return Ok(Event::Text(text));
                }
                tungstenite::Message::Binary(bytes) => match Frame::parse_bytes(&bytes) {
                    Frame::Control(Control::Ack(n)) => {
                        session.on_ack(n)?;
                        return Ok(Event::Control);
                    }
                    Frame::Control(Control::Ping(n)) => {
                        session.on_ack(n)?;
                        // A ping asks for an ack at once, even of nothing new.
                        let ack = Control::Ack(session.recv).encode();
                        session.acked = session.recv;
                        self.write(ack).await?;
                        return Ok(Event::Control);
                    }
                    other => return Err(format!("unexpected frame {other:?}").into()),
                },
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {}
                other => return Err(format!("unexpected {other:?}").into()),
            }
        }
    }
}
