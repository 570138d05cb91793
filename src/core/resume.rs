//! The client side of the resume protocol (docs/resume-protocol.md, `tether.resume.v1`):
//! its frames, and the session the machine keeps across connections (numbers, the replay
//! buffer, acknowledgements). Pure: the machine decides when, this module keeps count.

use crate::Message;
use std::collections::VecDeque;
use std::time::Duration;

/// The close reason when the server's first frame was not a welcome: it doesn't speak the
/// resume protocol (reported with code 1002).
pub const RESUME_UNSUPPORTED_REASON: &str = "the server does not speak tether.resume.v1";

/// Without a heartbeat, how long data may stay in flight with no acknowledgement at all
/// before the link counts as dead (with one, its timeout).
pub(crate) const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The close reason prefix when the server broke the resume protocol.
pub(crate) const PROTOCOL_ERROR_REASON: &str = "resume protocol error";

/// Session resume: every message is numbered and acknowledged by the server, and after a
/// reconnect both sides replay what the other hasn't acknowledged (see
/// `docs/resume-protocol.md`). Needs a server that speaks `tether.resume.v1`, such as
/// `ws-tether-server`: the first frames negotiate it (our `hello` or `resume`, its
/// `welcome`). A server that answers anything else stops the socket with close code 1002
/// and [`RESUME_UNSUPPORTED_REASON`].
///
/// The replay buffer shares the send queue's bound (`queue_max_bytes`): queued plus
/// unacknowledged bytes never exceed it.
///
/// Acknowledgements are also a proof of life the server's own messages can't give: when
/// data (or a ping) has been in flight for the heartbeat's timeout (10 s without a
/// heartbeat) with no acknowledgement at all, the link is dead at least one way (a one-way
/// partition): the connection is dropped with
/// [`HEARTBEAT_TIMEOUT_CODE`](crate::HEARTBEAT_TIMEOUT_CODE) and
/// [`ACK_TIMEOUT_REASON`](crate::ACK_TIMEOUT_REASON), and the session resumed on a new one.
/// Half-way through, a `ping` asks the server for an acknowledgement, which it sends at
/// once however busy its application is. The ping waits behind the data on the socket, so
/// the timeout must also cover carrying a message (at most the server's receive window)
/// over the slowest link: for large messages on slow uplinks, a heartbeat with a longer
/// timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub(crate) ack_delay: Duration,
    pub(crate) ack_every: u32,
    /// Without the `resume` feature there is no `Resume` (see [`Off`](crate::core::Off)).
    #[cfg(not(any(feature = "resume", test)))]
    pub(crate) off: crate::core::Off,
}

#[cfg(any(feature = "resume", test))]
#[cfg_attr(docsrs, doc(cfg(feature = "resume")))]
impl Default for Resume {
    /// Acknowledge within 100 ms, and at once after every 64 messages.
    fn default() -> Self {
        Resume {
            ack_delay: Duration::from_millis(100),
            ack_every: 64,
        }
    }
}

impl Resume {
    /// Whether this build has resume (the `resume` feature). A constant: code that only
    /// matters with resume (the framework hooks' session and delivery tracking) reads it
    /// and compiles out without the feature.
    pub const AVAILABLE: bool = cfg!(any(feature = "resume", test));

    /// The defaults: acknowledge within 100 ms, and at once every 64 messages.
    #[cfg(any(feature = "resume", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "resume")))]
    pub fn new() -> Resume {
        Resume::default()
    }

    /// How long a received message may wait for its acknowledgement (default 100 ms).
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.ack_delay = delay;
        self
    }

    /// After this many unacknowledged messages an acknowledgement goes out at once
    /// (default 64; at least 1).
    pub fn ack_every(mut self, messages: u32) -> Self {
        self.ack_every = messages;
        self
    }
}

/// Why a session could not be resumed (or its last messages not confirmed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LostReason {
    /// The server doesn't know the session (never issued, or forgotten).
    Unknown,
    /// The session was kept too long without a connection.
    Expired,
    /// The server's replay buffer for the session overflowed while the client was away.
    Overflow,
    /// The server's record of the session is behind what it had already confirmed (its
    /// store lost writes: a failover, a reload from an older snapshot, an eviction), or the
    /// client's count is beyond anything the server sent. Neither side can tell what the
    /// other has, so the session starts afresh instead of resuming on a wrong count.
    Diverged,
    /// The server had ended the session while the client was away (after delivering its
    /// last messages): the client's messages it never confirmed were not processed.
    Ended,
    /// The server resumed the session but no longer had some of its messages.
    Gap,
    /// The socket stopped for good (closed, gave up, or the server ended the session)
    /// before the server confirmed these messages.
    Stopped,
    /// A reason this version doesn't know, as the server sent it.
    Other(String),
}

impl LostReason {
    /// The reason's word, as on the wire (`unknown`, `expired`, `overflow`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            LostReason::Unknown => "unknown",
            LostReason::Expired => "expired",
            LostReason::Overflow => "overflow",
            LostReason::Diverged => "diverged",
            LostReason::Ended => "ended",
            LostReason::Gap => "gap",
            LostReason::Stopped => "stopped",
            LostReason::Other(word) => word,
        }
    }

    /// A reason word: printable ASCII (anything else makes the welcome malformed).
    fn parse(word: &[u8]) -> Option<LostReason> {
        Some(match word {
            b"unknown" => LostReason::Unknown,
            b"expired" => LostReason::Expired,
            b"overflow" => LostReason::Overflow,
            b"diverged" => LostReason::Diverged,
            w if !w.is_empty() && w.iter().all(u8::is_ascii_graphic) => LostReason::Other(ascii(w)),
            _ => return None,
        })
    }
}

/// A control message of the protocol (spec section 3), as both sides write and read it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Control {
    /// `hello`: the client starts a new session.
    Hello,
    /// `resume <session> <recv>`: the client continues `session`, having received the
    /// server's messages `1..=recv`.
    Resume {
        /// The session identifier.
        session: String,
        /// The client received the server's messages `1..=recv`.
        recv: u64,
    },
    /// `welcome new <session> <window>`: a new session.
    New {
        /// The new session's identifier.
        session: String,
        /// The server's receive window: the most payload bytes the client may have sent
        /// and not had acknowledged (a message alone may exceed it).
        window: u64,
    },
    /// `welcome resumed <session> <recv> <next> <window>`: the session continues.
    Resumed {
        /// The session identifier (possibly a new one for the same session).
        session: String,
        /// The server received the client's messages `1..=recv`.
        recv: u64,
        /// The number of the next application message the server sends.
        next: u64,
        /// The server's receive window (see [`Control::New`]).
        window: u64,
    },
    /// `welcome lost <reason> <session> <missed> <window>`: the old session can't continue;
    /// `session` is a new one.
    Lost {
        /// Why.
        reason: LostReason,
        /// The new session's identifier.
        session: String,
        /// How many of the server's messages the client will never get, if known.
        missed: Option<u64>,
        /// The server's receive window (see [`Control::New`]).
        window: u64,
    },
    /// `welcome ended <session> <recv> <next>`: the server ended the session while the
    /// client was away. It sends its last messages from `next` on, then `end`.
    Ended {
        /// The session identifier.
        session: String,
        /// The server received (and processed) the client's messages `1..=recv`.
        recv: u64,
        /// The number of the next application message the server sends.
        next: u64,
    },
    /// `ack <recv>`: the sender received the other side's messages `1..=recv`.
    Ack(u64),
    /// `ping <recv>`: like `ack`, and asks for an `ack` back at once.
    Ping(u64),
    /// `end`: the sender ends the session.
    End,
}

const TAG_DATA: u8 = 0;
const TAG_CONTROL: u8 = 1;

/// The longest control message either side accepts, tag byte included (spec section 3):
/// the longest valid one (a `welcome resumed` with a 128-character identifier and three
/// 20-digit numbers) is 208 bytes. A longer frame is a protocol error, found without
/// reading past this length.
pub const MAX_CONTROL_BYTES: usize = 256;

impl Control {
    /// The binary frame carrying this control message.
    // The server's side (`ws-tether-server`, through `sans_io`) and the tests use it.
    #[cfg_attr(not(feature = "sans-io"), allow(dead_code))]
    pub fn encode(&self) -> Message {
        match self {
            Control::New { .. }
            | Control::Resumed { .. }
            | Control::Lost { .. }
            | Control::Ended { .. } => self.encode_welcome(),
            _ => self.encode_client(),
        }
    }

    /// [`Control::encode`] for what a client sends: the client's machine calls this one, so
    /// the server's welcomes are not built into the npm package's wasm.
    pub(crate) fn encode_client(&self) -> Message {
        // Built by hand, not with `format!`: integer formatting would link `core::fmt`'s
        // number machinery into the npm package's wasm.
        let mut out = Words::new();
        match self {
            Control::Hello => out.word("hello"),
            Control::Resume { session, recv } => {
                out.word("resume");
                out.word(session);
                out.number(*recv);
            }
            Control::Ack(n) => {
                out.word("ack");
                out.number(*n);
            }
            Control::Ping(n) => {
                out.word("ping");
                out.number(*n);
            }
            Control::End => out.word("end"),
            // The server's messages: `encode_welcome`.
            _ => {}
        }
        out.done()
    }

    #[cfg_attr(not(feature = "sans-io"), allow(dead_code))]
    fn encode_welcome(&self) -> Message {
        let mut out = Words::new();
        out.word("welcome");
        match self {
            Control::New { session, window } => {
                out.word("new");
                out.word(session);
                out.number(*window);
            }
            Control::Resumed {
                session,
                recv,
                next,
                window,
            } => {
                out.word("resumed");
                out.word(session);
                out.number(*recv);
                out.number(*next);
                out.number(*window);
            }
            Control::Lost {
                reason,
                session,
                missed,
                window,
            } => {
                out.word("lost");
                out.word(reason.as_str());
                out.word(session);
                match missed {
                    Some(missed) => out.number(*missed),
                    None => out.word("?"),
                }
                out.number(*window);
            }
            Control::Ended {
                session,
                recv,
                next,
            } => {
                out.word("ended");
                out.word(session);
                out.number(*recv);
                out.number(*next);
            }
            _ => {}
        }
        out.done()
    }

    fn decode(bytes: &[u8]) -> Option<Control> {
        // On bytes, not `str`: every valid word is ASCII, and UTF-8 validation and `str`
        // parsing would add their code to the npm package's wasm. Word by word, without
        // collecting: a frame costs no memory beyond its own.
        let mut words = bytes.split(|b| *b == b' ');
        let mut word = || words.next();
        let num = parse_number;
        let session = parse_session;
        let control = match word()? {
            b"hello" => Control::Hello,
            b"end" => Control::End,
            b"ack" => Control::Ack(num(word())?),
            b"ping" => Control::Ping(num(word())?),
            b"resume" => Control::Resume {
                session: session(word())?,
                recv: num(word())?,
            },
            b"welcome" => match word()? {
                b"new" => Control::New {
                    session: session(word())?,
                    window: num(word())?,
                },
                b"resumed" => Control::Resumed {
                    session: session(word())?,
                    recv: num(word())?,
                    next: num(word())?,
                    window: num(word())?,
                },
                b"lost" => Control::Lost {
                    reason: LostReason::parse(word()?)?,
                    session: session(word())?,
                    missed: match word()? {
                        b"?" => None,
                        n => Some(num(Some(n))?),
                    },
                    window: num(word())?,
                },
                b"ended" => Control::Ended {
                    session: session(word())?,
                    recv: num(word())?,
                    next: num(word())?,
                },
                _ => return None,
            },
            _ => return None,
        };
        // Nothing may follow.
        word().is_none().then_some(control)
    }
}

/// A number of the protocol: decimal without leading zeros (or "0"), at most `u64::MAX`.
fn parse_number(w: Option<&[u8]>) -> Option<u64> {
    let w = w?;
    if w.is_empty() || (w.len() > 1 && w[0] == b'0') {
        return None;
    }
    w.iter().try_fold(0u64, |n, b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A session identifier: 1 to 128 characters from `A-Z a-z 0-9 _ -`.
fn parse_session(w: Option<&[u8]>) -> Option<String> {
    let w = w?;
    let ok = (1..=128).contains(&w.len())
        && w.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
    ok.then(|| ascii(w))
}

/// A control frame being written: the tag, then words separated by single spaces.
struct Words(Vec<u8>);

impl Words {
    fn new() -> Words {
        Words(vec![TAG_CONTROL])
    }

    fn word(&mut self, word: &str) {
        if self.0.len() > 1 {
            self.0.push(b' ');
        }
        self.0.extend_from_slice(word.as_bytes());
    }

    fn number(&mut self, n: u64) {
        self.word(&decimal(n));
    }

    fn done(self) -> Message {
        Message::Binary(self.0)
    }
}

/// ASCII bytes as a `String`, without UTF-8 validation (other bytes become `?`).
fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii() { b as char } else { '?' })
        .collect()
}

/// `n` in decimal, without `core::fmt` (nor an index or a reversal, whose checks would link
/// its integer formatting).
pub(crate) fn decimal(n: u64) -> String {
    let mut text = if n >= 10 {
        decimal(n / 10)
    } else {
        String::with_capacity(20)
    };
    text.push(char::from(b'0' + (n % 10) as u8));
    text
}

/// What a received frame is (spec section 2).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// An application message, unwrapped.
    App(Message),
    /// A control message.
    Control(Control),
    /// Not a frame of the protocol; the text says why (the reason of the 1002 close).
    Invalid(&'static str),
}

impl Frame {
    /// Reads one WebSocket message of a `tether.resume.v1` connection.
    pub fn parse(message: Message) -> Frame {
        match message {
            Message::Text(_) => Frame::App(message),
            Message::Binary(bytes) => Frame::parse_bytes(&bytes),
        }
    }

    /// Reads a binary message's bytes without taking them (a data frame's payload is
    /// copied out).
    pub fn parse_bytes(bytes: &[u8]) -> Frame {
        // (Not `[1..]` nor `remove(0)`: their checks link integer formatting into the wasm.)
        match bytes.first() {
            Some(&TAG_DATA) => Frame::App(Message::Binary(after_tag(bytes).to_vec())),
            Some(&TAG_CONTROL) => Frame::control(bytes),
            Some(_) => Frame::Invalid("unknown frame tag"),
            None => Frame::Invalid("empty binary frame"),
        }
    }

    fn control(bytes: &[u8]) -> Frame {
        if bytes.len() > MAX_CONTROL_BYTES {
            return Frame::Invalid("control message too long");
        }
        match Control::decode(after_tag(bytes)) {
            Some(control) => Frame::Control(control),
            None => Frame::Invalid("malformed control message"),
        }
    }
}

/// A frame's bytes after its tag.
fn after_tag(bytes: &[u8]) -> &[u8] {
    bytes.get(1..).unwrap_or_default()
}

/// An application message as it goes on the wire: text unchanged, binary behind the data
/// tag.
pub fn wrap(message: &Message) -> Message {
    match message {
        Message::Text(_) => message.clone(),
        Message::Binary(bytes) => {
            let mut framed = Vec::with_capacity(bytes.len() + 1);
            framed.push(TAG_DATA);
            framed.extend_from_slice(bytes);
            Message::Binary(framed)
        }
    }
}

/// A resumable session as one machine hands it to another
/// ([`Machine::resume_state`](crate::sans_io::Machine::resume_state),
/// [`Machine::import_resume`](crate::sans_io::Machine::import_resume)): a tab taking over a
/// shared connection continues the session the previous holder had.
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeState {
    /// The session's identifier, as the server issued it.
    pub session: String,
    /// The server's messages `1..=received` arrived.
    pub received: u64,
    /// The server acknowledged our messages `1..=acked`.
    pub acked: u64,
    /// Our messages `acked + 1 ..`, sent and not acknowledged, in order: a resume sends them
    /// again with these numbers.
    pub unacked: Vec<Message>,
}

/// The client's session: what it sent and the server hasn't acknowledged, what it received.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Issued by the server; `None` until the first welcome (or after the session ended).
    pub(crate) id: Option<String>,
    /// The number of the last application message sent (written) in this session.
    pub(crate) sent: u64,
    /// Messages `sent - unacked.len() + 1 ..= sent`, not acknowledged yet.
    pub(crate) unacked: VecDeque<Message>,
    pub(crate) unacked_bytes: usize,
    /// The number of the last server message received in order.
    pub(crate) recv: u64,
    /// The `recv` last reported to the server.
    pub(crate) reported: u64,
    /// Duplicates still to discard after a resume.
    pub(crate) skip: u64,
    /// The server's receive window on this connection (its welcome's `<window>`).
    window: u64,
    /// How many of `unacked` (from the front) went out on this connection, and their bytes.
    written: usize,
    inflight: usize,
}

impl Session {
    /// The number of the oldest unacknowledged message minus one: what the server has.
    pub(crate) fn acked(&self) -> u64 {
        self.sent - self.unacked.len() as u64
    }

    /// A welcomed connection with the server's receive `window`: nothing is in flight on it
    /// yet (every unacknowledged message goes out again).
    pub(crate) fn connected(&mut self, window: u64) {
        self.window = window;
        self.written = 0;
        self.inflight = 0;
    }

    /// Whether a message of `len` bytes may go out now: within the server's window, or
    /// alone (a message larger than the window goes when nothing else is in flight).
    pub(crate) fn fits(&self, len: usize) -> bool {
        self.inflight == 0 || (self.inflight as u64).saturating_add(len as u64) <= self.window
    }

    /// The next unacknowledged message to send again on this connection, if the window
    /// allows; its wire form.
    pub(crate) fn next_resend(&mut self) -> Option<Message> {
        let len = self.unacked.get(self.written)?.len();
        if !self.fits(len) {
            return None;
        }
        self.written += 1;
        self.inflight += len;
        Some(wrap(&self.unacked[self.written - 1]))
    }

    /// Whether messages sent on this connection await their acknowledgement.
    pub(crate) fn in_flight(&self) -> bool {
        self.written > 0
    }

    /// Whether every unacknowledged message went out on this connection.
    pub(crate) fn all_resent(&self) -> bool {
        self.written == self.unacked.len()
    }

    /// Records a message written to the socket; returns its wire form.
    pub(crate) fn record_sent(&mut self, message: Message) -> Message {
        let framed = wrap(&message);
        self.sent += 1;
        self.unacked_bytes += message.len();
        self.inflight += message.len();
        self.written += 1;
        self.unacked.push_back(message);
        framed
    }

    /// The server has messages `..=n`: forget them. `false` if `n` is impossible (beyond
    /// what was sent, or behind an earlier acknowledgement).
    pub(crate) fn ack(&mut self, n: u64) -> bool {
        if n > self.sent || n < self.acked() {
            return false;
        }
        while self.acked() < n {
            if let Some(m) = self.unacked.pop_front() {
                self.unacked_bytes -= m.len();
                if self.written > 0 {
                    self.written -= 1;
                    self.inflight -= m.len();
                }
            }
        }
        true
    }

    /// The first frame of a connection: resume the session, or start one.
    pub(crate) fn greeting(&self) -> Control {
        match &self.id {
            Some(session) => Control::Resume {
                session: session.clone(),
                recv: self.recv,
            },
            None => Control::Hello,
        }
    }

    /// Forgets everything: the next connection starts a new session. Returns the messages
    /// the server never confirmed.
    pub(crate) fn reset(&mut self) -> Vec<Message> {
        // Taken and iterated, not converted (`VecDeque -> Vec` rotates) nor drained (a range
        // check): code the wasm would carry.
        let unconfirmed = std::mem::take(&mut self.unacked).into_iter().collect();
        let window = self.window;
        *self = Session::default();
        // The connection the reset happened on keeps its window.
        self.window = window;
        unconfirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(text: &str) -> Message {
        let mut bytes = vec![TAG_CONTROL];
        bytes.extend_from_slice(text.as_bytes());
        Message::Binary(bytes)
    }

    fn binary(message: Message) -> Vec<u8> {
        match message {
            Message::Binary(bytes) => bytes,
            Message::Text(_) => unreachable!("control messages are binary"),
        }
    }

    #[test]
    fn every_control_message_round_trips() {
        let all = [
            Control::Hello,
            Control::Resume {
                session: "k9_Qx-1".into(),
                recv: 17,
            },
            Control::New {
                session: "abc".into(),
                window: 1 << 20,
            },
            Control::Resumed {
                session: "abc".into(),
                recv: 0,
                next: 1,
                window: 0,
            },
            Control::Lost {
                reason: LostReason::Overflow,
                session: "n".into(),
                missed: Some(12),
                window: u64::MAX,
            },
            Control::Lost {
                reason: LostReason::Diverged,
                session: "n".into(),
                missed: None,
                window: 7,
            },
            Control::Lost {
                reason: LostReason::Other("moved".into()),
                session: "n".into(),
                missed: None,
                window: 7,
            },
            Control::Ended {
                session: "abc".into(),
                recv: 4,
                next: 9,
            },
            Control::Ack(u64::MAX),
            Control::Ping(0),
            Control::End,
        ];
        for c in all {
            assert_eq!(Frame::parse(c.encode()), Frame::Control(c.clone()), "{c:?}");
        }
    }

    #[test]
    fn malformed_frames_are_invalid_not_data() {
        for bad in [
            "ack",
            "ack 01",
            "ack -1",
            "ack 1 2",
            "ack  1",
            "ping x",
            "welcome new",
            "welcome new s",
            "welcome new s 1 2",
            "welcome new has space",
            "welcome resumed s 1",
            "welcome resumed s 1 2",
            "welcome lost unknown s -",
            "welcome lost unknown s 1",
            "welcome lost unknown s ? 01",
            "welcome ended s 1",
            "welcome ended s 1 2 3",
            "resume s 18446744073709551616",
            "bye",
            "",
        ] {
            assert!(
                matches!(Frame::parse(control(bad)), Frame::Invalid(_)),
                "{bad:?}"
            );
        }
        let long = format!("welcome new {} 1", "a".repeat(129));
        assert!(matches!(Frame::parse(control(&long)), Frame::Invalid(_)));
        // The longest valid control message fits the bound; one byte of padding more
        // than the bound is refused before it is read.
        let longest = Control::Resumed {
            session: "a".repeat(128),
            recv: u64::MAX,
            next: u64::MAX,
            window: u64::MAX,
        };
        assert_eq!(longest.encode().len(), 208);
        assert_eq!(Frame::parse(longest.encode()), Frame::Control(longest));
        let padded = |len| {
            let mut padded = binary(control("ack 1"));
            padded.resize(len, b' ');
            Message::Binary(padded)
        };
        assert_eq!(
            Frame::parse(padded(MAX_CONTROL_BYTES + 1)),
            Frame::Invalid("control message too long")
        );
        // At the bound it is read, and found malformed (the reason the peer is given).
        assert_eq!(
            Frame::parse(padded(MAX_CONTROL_BYTES)),
            Frame::Invalid("malformed control message")
        );
        assert!(matches!(
            Frame::parse(Message::Binary(vec![])),
            Frame::Invalid(_)
        ));
        assert!(matches!(
            Frame::parse(Message::Binary(vec![2, 1])),
            Frame::Invalid(_)
        ));
    }

    #[test]
    fn data_frames_carry_the_payload_unchanged() {
        let text = Message::from("\u{1}looks like a control");
        assert_eq!(wrap(&text), text);
        assert_eq!(Frame::parse(wrap(&text)), Frame::App(text));
        let bin = Message::Binary(vec![1, 2, 3]);
        assert_eq!(wrap(&bin), Message::Binary(vec![0, 1, 2, 3]));
        assert_eq!(Frame::parse(wrap(&bin)), Frame::App(bin));
        let empty = Message::Binary(vec![]);
        assert_eq!(Frame::parse(wrap(&empty)), Frame::App(empty));
    }

    #[test]
    fn acks_free_the_replay_buffer_and_impossible_ones_are_refused() {
        let mut s = Session::default();
        for m in ["a", "bb", "ccc"] {
            s.record_sent(Message::from(m));
        }
        assert_eq!((s.sent, s.acked(), s.unacked_bytes), (3, 0, 6));
        assert!(s.ack(2));
        assert_eq!((s.acked(), s.unacked_bytes), (2, 3));
        assert!(!s.ack(1), "behind an earlier ack");
        assert!(!s.ack(4), "beyond what was sent");
        assert!(s.ack(3));
        assert_eq!((s.unacked.len(), s.unacked_bytes), (0, 0));
    }
}
