//! The kit's client end: one session of `tether.resume.v1` as a correct client keeps it
//! (numbering, replay buffer, received messages, acks), over one real socket at a time.
//!
//! Every frame the server sends passes the checks every section makes of any frame (the
//! first is a welcome and only the first, each frame parses with the shared codec, acks are
//! cumulative and cover only what was sent, replayed messages equal the originals), so a
//! check only states what its own section adds. It owns no policy of its own beyond a
//! correct client's: it answers `ping` with `ack`, and otherwise acks only when told.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Wire;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use ws_tether::sans_io::resume::{wrap, Control, Frame};
use ws_tether::Message;

use crate::{fail, Failure};

/// How long the kit waits for a frame the spec says must come. Not a bound the spec sets:
/// a server that never answers fails after this long instead of hanging the run.
pub const WAIT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the server did, as a check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An application message with its number in the session; `again` when the kit had
    /// already received that number (a replay the check asked for by resuming with a
    /// smaller count; it equals the original).
    App {
        /// Its number in the session.
        seq: u64,
        /// The message.
        message: Message,
        /// Received before, under the same number.
        again: bool,
    },
    /// A control message other than the welcome (acks and pings are checked and recorded
    /// before the check sees them).
    Control(Control),
    /// The connection closed: the close frame's code and reason, or `None` without one.
    Closed(Option<(u16, String)>),
}

/// A client's session, and its connection if one is open.
#[derive(Debug, Default)]
pub struct Peer {
    socket: Option<Socket>,
    /// The session identifier, once welcomed.
    pub session: Option<String>,
    /// The server's receive window from the last welcome.
    pub window: u64,
    /// The kit's application messages in the session; number `i + 1` at index `i`.
    pub sent: Vec<Message>,
    /// The server's application messages received, in order; number `i + 1` at index `i`.
    pub received: Vec<Message>,
    /// The highest count the server acknowledged (acks, pings, welcomes).
    pub server_acked: u64,
    /// The number of the next application message on this connection.
    next_in: u64,
    /// The first frame of this connection was a welcome.
    welcomed: bool,
    /// How the last connection closed: its close frame, `Some(None)` without one.
    closed: Option<Option<(u16, String)>>,
}

/// `url` with `query` appended (`?` or `&`).
pub fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&{query}")
    } else {
        format!("{url}?{query}")
    }
}

impl Peer {
    /// Opens a WebSocket to `url` and sends nothing: the check writes the first frame.
    pub async fn open(url: &str) -> Result<Peer, Failure> {
        let mut peer = Peer::default();
        peer.connect(url).await?;
        Ok(peer)
    }

    /// Opens a WebSocket to `url`, sends `hello` and reads the `welcome new`.
    pub async fn hello(url: &str) -> Result<Peer, Failure> {
        let mut peer = Peer::open(url).await?;
        peer.control(&Control::Hello).await?;
        match peer.welcome().await? {
            Control::New { .. } => Ok(peer),
            other => Err(fail!(
                "§4: `hello` was answered with {other:?}, not `welcome new`"
            )),
        }
    }

    async fn connect(&mut self, url: &str) -> Result<(), Failure> {
        let (socket, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| fail!("the WebSocket handshake with {url} took over {WAIT:?}"))?
            .map_err(|e| fail!("cannot open a WebSocket to {url}: {e}"))?;
        self.socket = Some(socket);
        self.closed = None;
        self.welcomed = false;
        self.next_in = 1;
        Ok(())
    }

    /// A copy of the session's state without the connection: a second client resuming the
    /// same session (a takeover).
    pub fn fork(&self) -> Peer {
        Peer {
            socket: None,
            session: self.session.clone(),
            window: self.window,
            sent: self.sent.clone(),
            received: self.received.clone(),
            server_acked: self.server_acked,
            next_in: 1,
            welcomed: false,
            closed: None,
        }
    }

    /// The session identifier (a check calls this only after a welcome).
    pub fn id(&self) -> String {
        self.session.clone().unwrap_or_default()
    }

    /// The count a correct client reports: the server's messages received in order.
    pub fn recv(&self) -> u64 {
        self.received.len() as u64
    }

    /// Reconnects to `url` and resumes the session, claiming to have received the server's
    /// messages `1..=claimed`; checks the welcome against the session and applies it as a
    /// client must (a `resumed` makes the kit send again what the server lacks).
    pub async fn resume(&mut self, url: &str, claimed: u64) -> Result<Control, Failure> {
        let session = self.id();
        self.resume_with(url, &session, claimed).await
    }

    /// [`Peer::resume`] with any identifier (an unknown one, for `welcome lost unknown`).
    pub async fn resume_with(
        &mut self,
        url: &str,
        session: &str,
        claimed: u64,
    ) -> Result<Control, Failure> {
        self.drop_connection();
        self.connect(url).await?;
        self.control(&Control::Resume {
            session: session.to_owned(),
            recv: claimed,
        })
        .await?;
        let welcome = self.welcome().await?;
        match &welcome {
            Control::Resumed { recv, next, .. } | Control::Ended { recv, next, .. } => {
                if *next == 0 || *next > claimed + 1 {
                    return Err(fail!(
                        "§4.3: {welcome:?} answers `resume {session} {claimed}`: <next> must be \
                         from 1 to <recv> + 1 = {}",
                        claimed + 1
                    ));
                }
                self.next_in = *next;
                if matches!(welcome, Control::Resumed { .. }) {
                    // Send again, in order, what the server lacks.
                    let again: Vec<Message> =
                        self.sent[*recv as usize..].iter().map(wrap).collect();
                    for frame in again {
                        self.write(frame).await?;
                    }
                }
            }
            _ => {}
        }
        Ok(welcome)
    }

    /// Reads the welcome (the connection's first frame) and checks it against the session.
    async fn welcome(&mut self) -> Result<Control, Failure> {
        let frame = self.read().await?;
        let welcome = match frame {
            Some(Frame::Control(c @ (Control::New { .. } | Control::Resumed { .. }))) => c,
            Some(Frame::Control(c @ (Control::Lost { .. } | Control::Ended { .. }))) => c,
            Some(Frame::Invalid(why)) => {
                return Err(fail!(
                    "§1: the server's first frame must be a welcome; it sent an invalid frame \
                     ({why})"
                ))
            }
            Some(other) => {
                return Err(fail!(
                    "§1, §4.2: the server's first frame must be a welcome, not {other:?}"
                ))
            }
            None => {
                return Err(fail!(
                    "§1: the connection closed ({}) before any welcome",
                    self.describe_close()
                ));
            }
        };
        self.welcomed = true;
        let sent = self.sent.len() as u64;
        match &welcome {
            Control::New { session, window } => self.start(session, *window),
            Control::Lost {
                session, window, ..
            } => {
                if self.session.as_deref() == Some(session) {
                    return Err(fail!(
                        "§3: `welcome lost` must carry a new session, not the old id {session}"
                    ));
                }
                self.start(session, *window);
            }
            Control::Resumed { session, recv, .. } | Control::Ended { session, recv, .. } => {
                if *recv > sent {
                    return Err(fail!(
                        "§4.3: the welcome says the server has the client's messages \
                         1..={recv}, but the client sent {sent}"
                    ));
                }
                if *recv < self.server_acked {
                    return Err(fail!(
                        "§4.3: the welcome's <recv> {recv} is below the server's earlier ack \
                         {} (a welcome covers only recorded messages, and acks never go back)",
                        self.server_acked
                    ));
                }
                self.server_acked = *recv;
                self.session = Some(session.clone());
                if let Control::Resumed { window, .. } = &welcome {
                    self.window = *window;
                }
            }
            // Only welcomes get here.
            _ => {}
        }
        Ok(welcome)
    }

    fn start(&mut self, session: &str, window: u64) {
        self.session = Some(session.to_owned());
        self.window = window;
        self.sent.clear();
        self.received.clear();
        self.server_acked = 0;
        self.next_in = 1;
    }

    /// Sends an application message (numbered in the session).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Failure> {
        let message = message.into();
        self.write(wrap(&message)).await?;
        self.sent.push(message);
        Ok(())
    }

    /// Sends a control message.
    pub async fn control(&mut self, control: &Control) -> Result<(), Failure> {
        self.write(control.encode()).await
    }

    /// Sends `ack <recv>`: everything received in order so far.
    pub async fn ack(&mut self) -> Result<(), Failure> {
        let recv = self.recv();
        self.control(&Control::Ack(recv)).await
    }

    /// Sends any frame as is (malformed ones included), not numbered.
    pub async fn write(&mut self, message: Message) -> Result<(), Failure> {
        let wire = match message {
            Message::Text(text) => Wire::text(text),
            Message::Binary(bytes) => Wire::binary(bytes),
        };
        self.write_wire(wire).await
    }

    /// Sends a WebSocket message of any kind.
    pub async fn write_wire(&mut self, wire: Wire) -> Result<(), Failure> {
        let socket = self
            .socket
            .as_mut()
            .ok_or_else(|| fail!("the kit wrote without a connection"))?;
        timeout(WAIT, socket.send(wire))
            .await
            .map_err(|_| fail!("a write to the server took over {WAIT:?}"))?
            .map_err(|e| fail!("the write failed: {e}"))
    }

    /// Closes the TCP connection without a closing handshake (a lost connection).
    pub fn drop_connection(&mut self) {
        self.socket = None;
    }

    /// Closes the connection with a close frame (`code`), then waits for the server's.
    pub async fn close(&mut self, code: u16) -> Result<(), Failure> {
        if let Some(socket) = self.socket.as_mut() {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: "".into(),
            };
            let _ = timeout(WAIT, socket.close(Some(frame))).await;
            let _ = timeout(WAIT, async { while socket.next().await.is_some() {} }).await;
        }
        self.socket = None;
        Ok(())
    }

    /// The next frame, `None` once closed (the close frame kept in `last_close`).
    async fn read(&mut self) -> Result<Option<Frame>, Failure> {
        self.read_until(Instant::now() + WAIT).await
    }

    async fn read_until(&mut self, deadline: Instant) -> Result<Option<Frame>, Failure> {
        loop {
            let Some(socket) = self.socket.as_mut() else {
                return Ok(None);
            };
            let wire = match tokio::time::timeout_at(deadline, socket.next()).await {
                Err(_) => return Err(Failure::timeout()),
                Ok(wire) => wire,
            };
            return Ok(Some(match wire {
                Some(Ok(Wire::Text(text))) => Frame::App(Message::Text(text.as_str().to_owned())),
                Some(Ok(Wire::Binary(bytes))) => Frame::parse_bytes(&bytes),
                Some(Ok(Wire::Close(close))) => {
                    self.closed = Some(close.map(|f| (u16::from(f.code), f.reason.to_string())));
                    // Answer the close (tungstenite queued the reply) before letting go.
                    let _ = timeout(Duration::from_secs(1), socket.close(None)).await;
                    self.socket = None;
                    return Ok(None);
                }
                // WebSocket pings and pongs are not part of the protocol.
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    self.closed.get_or_insert(None);
                    self.socket = None;
                    return Ok(None);
                }
            }));
        }
    }

    /// The next event within `WAIT`, checked as every section requires of any frame.
    pub async fn next(&mut self) -> Result<Event, Failure> {
        self.next_until(Instant::now() + WAIT).await
    }

    /// The next event before `deadline` (`Failure::timeout` after it).
    pub async fn next_until(&mut self, deadline: Instant) -> Result<Event, Failure> {
        let frame = match self.read_until(deadline).await? {
            Some(frame) => frame,
            None => return Ok(Event::Closed(self.closed.clone().flatten())),
        };
        if !self.welcomed {
            return Err(fail!(
                "§1, §4.2: the server's first frame must be a welcome, not {frame:?}"
            ));
        }
        match frame {
            Frame::App(message) => {
                let seq = self.next_in;
                self.next_in += 1;
                let again = seq <= self.recv();
                if again {
                    let original = &self.received[seq as usize - 1];
                    if *original != message {
                        return Err(fail!(
                            "§4.3: the server's message {seq} came again as {message:?}, but it \
                             was {original:?}"
                        ));
                    }
                } else {
                    self.received.push(message.clone());
                }
                Ok(Event::App {
                    seq,
                    message,
                    again,
                })
            }
            Frame::Control(control) => {
                match control {
                    Control::Ack(n) | Control::Ping(n) => self.acked(n)?,
                    Control::End => {}
                    other => {
                        return Err(fail!(
                            "§3: a control message in the wrong place: {other:?} after the \
                             welcome"
                        ))
                    }
                }
                if let Control::Ping(_) = control {
                    // A ping asks for an ack at once (§5): a correct client answers.
                    self.ack().await?;
                }
                Ok(Event::Control(control))
            }
            Frame::Invalid(why) => Err(fail!("§2, §3: the server sent an invalid frame ({why})")),
            _ => Err(fail!("a frame kind this kit doesn't know: {frame:?}")),
        }
    }

    /// Checks a server's `ack n` or `ping n` (§3, §5) and records it.
    fn acked(&mut self, n: u64) -> Result<(), Failure> {
        let sent = self.sent.len() as u64;
        if n > sent {
            return Err(fail!(
                "§3: the server acknowledged the client's message {n}, but the client sent {sent}"
            ));
        }
        if n < self.server_acked {
            return Err(fail!(
                "§3, §5: the server's ack went back from {} to {n} (acks are cumulative)",
                self.server_acked
            ));
        }
        self.server_acked = n;
        Ok(())
    }

    /// The next application message (acks and pings on the way are checked and recorded).
    pub async fn app(&mut self) -> Result<(u64, Message), Failure> {
        loop {
            match self.next().await {
                Ok(Event::App { seq, message, .. }) => return Ok((seq, message)),
                Ok(Event::Control(Control::End)) => {
                    return Err(fail!("the server ended the session; expected a message"))
                }
                Ok(Event::Control(_)) => {}
                Ok(Event::Closed(close)) => {
                    return Err(fail!(
                        "the connection closed ({}) where a message was expected",
                        describe(&close)
                    ))
                }
                Err(e) if e.is_timeout() => {
                    return Err(fail!("no application message came within {WAIT:?}"))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads until the server has acknowledged the client's messages `1..=n`, within
    /// `within`; messages on the way are received. Returns how long it took.
    pub async fn until_acked(&mut self, n: u64, within: Duration) -> Result<Duration, Failure> {
        let start = Instant::now();
        while self.server_acked < n {
            match self.next_until(start + within).await {
                Ok(Event::Closed(close)) => {
                    return Err(fail!(
                        "the connection closed ({}) before an ack of {n}",
                        describe(&close)
                    ))
                }
                Ok(Event::Control(Control::End)) => {
                    return Err(fail!("the server ended the session before an ack of {n}"))
                }
                Ok(_) => {}
                Err(e) if e.is_timeout() => {
                    return Err(fail!(
                        "no ack of {n} within {within:?} (the server acknowledged {})",
                        self.server_acked
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(start.elapsed())
    }

    /// Reads until the connection closes (messages and acks on the way are received);
    /// returns the close frame's code and reason.
    pub async fn until_closed(&mut self) -> Result<Option<(u16, String)>, Failure> {
        loop {
            match self.next().await {
                Ok(Event::Closed(close)) => return Ok(close),
                Ok(_) => {}
                Err(e) if e.is_timeout() => {
                    return Err(fail!("the connection was still open after {WAIT:?}"))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads until the connection closes and checks its close code.
    pub async fn expect_close(&mut self, code: u16, why: &str) -> Result<(), Failure> {
        match self.until_closed().await? {
            Some((got, _)) if got == code => Ok(()),
            close => Err(fail!(
                "{why}: expected a close with {code}, got {}",
                describe(&close)
            )),
        }
    }

    /// How the last connection closed, in words.
    pub fn describe_close(&self) -> String {
        match &self.closed {
            None => "still open".to_owned(),
            Some(close) => describe(close),
        }
    }
}

/// A close frame in words.
pub fn describe(close: &Option<(u16, String)>) -> String {
    match close {
        Some((code, reason)) if reason.is_empty() => format!("code {code}"),
        Some((code, reason)) => format!("code {code}, reason {reason:?}"),
        None => "no close frame".to_owned(),
    }
}
