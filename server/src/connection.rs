//! A session's connection: read at all times, and written without the session's task ever
//! waiting on the socket. What the session has for the client waits here (the welcome, the
//! latest acknowledgement, `end`) or in the session's replay buffer (its messages, sent from
//! there in order): a connection the client stopped reading holds up nothing but itself, and
//! one that takes nothing for the write timeout is lost. A resume can take over at once.

use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::time::Instant;
use ws_tether::sans_io::resume::Control;
use ws_tether::Message;

/// At most this many frames are given to the socket in one go: a long replay to a fast
/// client does not keep the session's task from its other work.
const FRAMES_PER_TURN: usize = 256;

pub(crate) struct Connection {
    socket: WebSocket,
    /// Control frames to send before anything else (the welcome).
    first: VecDeque<WsMessage>,
    /// The number of the session's next message to send on this connection.
    next_data: u64,
    /// The latest acknowledgement for the client, sent after the messages waiting before
    /// it: a newer one replaces it (a `ping` stays a ping: the client answers it).
    ack: Option<(u64, bool)>,
    /// `end` follows the last message.
    end: bool,
    /// Frames were given to the socket since its last completed flush.
    unflushed: bool,
    /// While something waits: when the socket must have taken a frame (or finished a
    /// flush) by, or the connection is lost.
    deadline: Option<Instant>,
    write_timeout: Duration,
}

/// What a connection did.
pub(crate) enum Activity {
    /// A frame from the client (`None`: the connection ended).
    Frame(Option<Result<WsMessage, axum::Error>>),
    /// The socket took frames: the write deadline moved.
    Wrote,
    /// Writing failed: the connection is lost.
    WriteFailed,
}

/// A message of the session's replay buffer, ready to send: its frame (the bytes shared,
/// so a send or a replay copies nothing) and its payload's size.
pub(crate) struct Outbound {
    frame: WsMessage,
    pub(crate) len: usize,
}

impl Outbound {
    pub(crate) fn new(message: Message) -> Outbound {
        let len = message.len();
        Outbound {
            frame: data_frame(message),
            len,
        }
    }
}

/// The session's outgoing messages, as a connection sends them: `messages[0]` is number
/// `first`.
#[derive(Clone, Copy)]
pub(crate) struct Outgoing<'a> {
    pub(crate) messages: &'a VecDeque<Outbound>,
    pub(crate) first: u64,
}

impl Outgoing<'_> {
    fn get(&self, seq: u64) -> Option<&Outbound> {
        let index = seq.checked_sub(self.first)?;
        self.messages.get(usize::try_from(index).ok()?)
    }

    fn end(&self) -> u64 {
        self.first + self.messages.len() as u64
    }
}

impl Connection {
    /// A connection that starts with `welcome`, then the session's messages from `next_data`.
    pub(crate) fn new(
        socket: WebSocket,
        welcome: &Control,
        next_data: u64,
        write_timeout: Duration,
    ) -> Connection {
        let mut connection = Connection {
            socket,
            first: VecDeque::new(),
            next_data,
            ack: None,
            end: false,
            unflushed: false,
            deadline: None,
            write_timeout,
        };
        connection.first.push_back(control(welcome));
        connection.wrote();
        connection
    }

    /// When the connection is lost unless the socket takes something.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Something new waits for the socket (the write clock starts if it wasn't running).
    pub(crate) fn wrote(&mut self) {
        if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + self.write_timeout);
        }
    }

    /// `ack recv`, or `ping recv` if `ping`: sent after what waits before it, replacing an
    /// older one not sent yet.
    pub(crate) fn acknowledge(&mut self, recv: u64, ping: bool) {
        let ping = ping || self.ack.is_some_and(|(_, ping)| ping);
        self.ack = Some((recv, ping));
        self.wrote();
    }

    /// `end` after the last message.
    pub(crate) fn end(&mut self) {
        self.end = true;
        self.wrote();
    }

    /// Frames wait to be given to the socket.
    fn waiting(&self, outgoing: Outgoing<'_>) -> bool {
        !self.first.is_empty()
            || self.next_data.max(outgoing.first) < outgoing.end()
            || self.ack.is_some()
            || self.end
    }

    /// Frames wait, or wait to be flushed.
    fn pending(&self, outgoing: Outgoing<'_>) -> bool {
        self.waiting(outgoing) || self.unflushed
    }

    /// The next frame to give the socket, in the order the client must see them.
    fn next_frame(&mut self, outgoing: Outgoing<'_>) -> Option<WsMessage> {
        if let Some(frame) = self.first.pop_front() {
            return Some(frame);
        }
        // Acknowledged on another connection meanwhile: the client has it.
        self.next_data = self.next_data.max(outgoing.first);
        if let Some(message) = outgoing.get(self.next_data) {
            self.next_data += 1;
            return Some(message.frame.clone());
        }
        if let Some((recv, ping)) = self.ack.take() {
            let ack = if ping {
                Control::Ping(recv)
            } else {
                Control::Ack(recv)
            };
            return Some(control(&ack));
        }
        if std::mem::take(&mut self.end) {
            return Some(control(&Control::End));
        }
        None
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, outgoing: Outgoing<'_>) -> Poll<bool> {
        let mut progressed = false;
        for _ in 0..FRAMES_PER_TURN {
            if !self.waiting(outgoing) {
                break;
            }
            match self.socket.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(false),
                Poll::Pending => return self.progress(progressed),
            }
            let Some(frame) = self.next_frame(outgoing) else {
                break;
            };
            if self.socket.start_send_unpin(frame).is_err() {
                return Poll::Ready(false);
            }
            self.unflushed = true;
            progressed = true;
        }
        match self.socket.poll_flush_unpin(cx) {
            Poll::Ready(Ok(())) => {
                self.unflushed = false;
                self.deadline = if self.pending(outgoing) {
                    Some(Instant::now() + self.write_timeout)
                } else {
                    None
                };
                Poll::Ready(true)
            }
            Poll::Ready(Err(_)) => Poll::Ready(false),
            Poll::Pending => self.progress(progressed),
        }
    }

    /// The socket took frames but can't take more now: the write clock restarts.
    fn progress(&mut self, progressed: bool) -> Poll<bool> {
        if progressed {
            self.deadline = Some(Instant::now() + self.write_timeout);
            Poll::Ready(true)
        } else {
            Poll::Pending
        }
    }

    /// Writes what waits (if the socket takes it) and reads the next frame (if `read`),
    /// whichever happens first.
    pub(crate) async fn activity(&mut self, outgoing: Outgoing<'_>, read: bool) -> Activity {
        std::future::poll_fn(|cx| {
            if self.pending(outgoing) {
                match self.poll_write(cx, outgoing) {
                    Poll::Ready(true) => return Poll::Ready(Activity::Wrote),
                    Poll::Ready(false) => return Poll::Ready(Activity::WriteFailed),
                    Poll::Pending => {}
                }
            }
            if read {
                if let Poll::Ready(frame) = self.socket.poll_next_unpin(cx) {
                    return Poll::Ready(Activity::Frame(frame));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Closes the connection in a task of its own (it may be half-open: nothing waits on
    /// it). With `deliver`, what waits for the client (`end` and the messages before it)
    /// is sent first; the whole is bounded by the write timeout.
    pub(crate) fn close(
        mut self,
        code: u16,
        reason: &str,
        deliver: Option<Outgoing<'_>>,
    ) -> tokio::task::JoinHandle<()> {
        let mut frames = Vec::new();
        if let Some(outgoing) = deliver {
            while let Some(frame) = self.next_frame(outgoing) {
                frames.push(frame);
            }
        }
        let limit = self.write_timeout;
        let reason = reason.to_owned();
        let mut socket = self.socket;
        tokio::spawn(async move {
            let sent = tokio::time::timeout(limit, async {
                for frame in frames {
                    socket.feed(frame).await?;
                }
                socket.flush().await
            })
            .await;
            if matches!(sent, Ok(Ok(()))) {
                close_cleanly(socket, code, reason, limit).await;
            }
        })
    }
}

/// A message's data frame.
pub(crate) fn data_frame(message: Message) -> WsMessage {
    match message {
        Message::Text(text) => WsMessage::Text(text.into()),
        message => match ws_tether::sans_io::resume::wrap(&message) {
            Message::Binary(bytes) => WsMessage::Binary(bytes.into()),
            Message::Text(text) => WsMessage::Text(text.into()),
        },
    }
}

/// A control message's frame.
pub(crate) fn control(control: &Control) -> WsMessage {
    match control.encode() {
        Message::Binary(bytes) => WsMessage::Binary(bytes.into()),
        Message::Text(text) => WsMessage::Text(text.into()),
    }
}

/// Sends a close frame and waits (at most `limit`) for the client's, so the closing
/// handshake is clean: the socket is not dropped with the client's close frame unread.
pub(crate) async fn close_cleanly(
    mut socket: WebSocket,
    code: u16,
    reason: String,
    limit: Duration,
) {
    let close = WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(limit, async {
        // After the client's close this send fails (the reply is already queued); reading
        // on flushes the reply and ends with the connection.
        let _ = socket.send(close).await;
        while let Some(Ok(frame)) = socket.next().await {
            if matches!(frame, WsMessage::Close(_)) {
                break;
            }
        }
    })
    .await;
}
