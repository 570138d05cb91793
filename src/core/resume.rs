//! The client side of the resume protocol (docs/resume-protocol.md, `tether.resume.v1`):
//! its frames, and the session the machine keeps across connections (numbers, the replay
//! buffer, acknowledgements). Pure: the machine decides when, this module keeps count.

use crate::Message;
use std::collections::VecDeque;
use std::time::Duration;

/// The close reason when the server's first frame was not a welcome: it doesn't speak the
/// resume protocol (reported with code 1002).
pub const RESUME_UNSUPPORTED_REASON: &str = "the server does not speak tether.resume.v1";

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub(crate) ack_delay: Duration,
    pub(crate) ack_every: u32,
}

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
    /// The defaults: acknowledge within 100 ms, and at once every 64 messages.
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
            w if !w.is_empty() && w.iter().all(u8::is_ascii_graphic) => LostReason::Other(ascii(w)),
            _ => return None,
        })
    }
}

/// A control message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Hello,
    Resume {
        session: String,
        recv: u64,
    },
    New {
        session: String,
    },
    Resumed {
        session: String,
        recv: u64,
        next: u64,
    },
    Lost {
        reason: LostReason,
        session: String,
        missed: Option<u64>,
    },
    Ack(u64),
    Ping(u64),
    End,
}

const TAG_DATA: u8 = 0;
const TAG_CONTROL: u8 = 1;

impl Control {
    pub(crate) fn encode(&self) -> Message {
        // Built by hand, not with `format!`: integer formatting would link `core::fmt`'s
        // number machinery into the npm package's wasm.
        let mut out = vec![TAG_CONTROL];
        let mut word = |w: &str| {
            if out.len() > 1 {
                out.push(b' ');
            }
            out.extend_from_slice(w.as_bytes());
        };
        match self {
            Control::Hello => word("hello"),
            Control::Resume { session, recv } => {
                word("resume");
                word(session);
                word(&decimal(*recv));
            }
            Control::New { session } => {
                word("welcome");
                word("new");
                word(session);
            }
            Control::Resumed {
                session,
                recv,
                next,
            } => {
                word("welcome");
                word("resumed");
                word(session);
                word(&decimal(*recv));
                word(&decimal(*next));
            }
            Control::Lost {
                reason,
                session,
                missed,
            } => {
                word("welcome");
                word("lost");
                word(reason.as_str());
                word(session);
                word(&missed.map_or_else(|| "?".to_owned(), decimal));
            }
            Control::Ack(n) => {
                word("ack");
                word(&decimal(*n));
            }
            Control::Ping(n) => {
                word("ping");
                word(&decimal(*n));
            }
            Control::End => word("end"),
        }
        Message::Binary(out)
    }

    fn decode(bytes: &[u8]) -> Option<Control> {
        // On bytes, not `str`: every valid word is ASCII, and UTF-8 validation and `str`
        // parsing would add their code to the npm package's wasm.
        let mut words = bytes.split(|b| *b == b' ');
        let mut word = || words.next();
        let num = |w: Option<&[u8]>| -> Option<u64> {
            let w = w?;
            // Decimal without leading zeros (or "0").
            if w.is_empty() || (w.len() > 1 && w[0] == b'0') {
                return None;
            }
            w.iter().try_fold(0u64, |n, b| {
                let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
                n.checked_mul(10)?.checked_add(u64::from(digit))
            })
        };
        let session = |w: Option<&[u8]>| -> Option<String> {
            let w = w?;
            let ok = (1..=128).contains(&w.len())
                && w.iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
            ok.then(|| ascii(w))
        };
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
                },
                b"resumed" => Control::Resumed {
                    session: session(word())?,
                    recv: num(word())?,
                    next: num(word())?,
                },
                b"lost" => Control::Lost {
                    reason: LostReason::parse(word()?)?,
                    session: session(word())?,
                    missed: match word()? {
                        b"?" => None,
                        n => Some(num(Some(n))?),
                    },
                },
                _ => return None,
            },
            _ => return None,
        };
        // Nothing may follow.
        word().is_none().then_some(control)
    }
}

/// ASCII bytes as a `String`, without UTF-8 validation (other bytes become `?`).
fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii() { b as char } else { '?' })
        .collect()
}

/// `n` in decimal, without `core::fmt`.
fn decimal(mut n: u64) -> String {
    let mut digits = Vec::with_capacity(20);
    loop {
        digits.push(b'0' + (n % 10) as u8);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    ascii(&digits)
}

/// What a received frame is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    App(Message),
    Control(Control),
    /// Not a frame of the protocol; the text says why.
    Invalid(&'static str),
}

impl Frame {
    pub(crate) fn parse(message: Message) -> Frame {
        match message {
            Message::Text(_) => Frame::App(message),
            Message::Binary(mut bytes) => match bytes.first() {
                Some(&TAG_DATA) => {
                    bytes.remove(0);
                    Frame::App(Message::Binary(bytes))
                }
                Some(&TAG_CONTROL) => match Control::decode(&bytes[1..]) {
                    Some(control) => Frame::Control(control),
                    None => Frame::Invalid("malformed control message"),
                },
                Some(_) => Frame::Invalid("unknown frame tag"),
                None => Frame::Invalid("empty binary frame"),
            },
        }
    }
}

/// An application message as it goes on the wire.
pub(crate) fn wrap(message: &Message) -> Message {
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
}

impl Session {
    /// The number of the oldest unacknowledged message minus one: what the server has.
    pub(crate) fn acked(&self) -> u64 {
        self.sent - self.unacked.len() as u64
    }

    /// Records a message written to the socket; returns its wire form.
    pub(crate) fn record_sent(&mut self, message: Message) -> Message {
        let framed = wrap(&message);
        self.sent += 1;
        self.unacked_bytes += message.len();
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
        // Drained, not converted: `VecDeque -> Vec` rotates, whose code the wasm would carry.
        let unconfirmed = self.unacked.drain(..).collect();
        *self = Session::default();
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
            },
            Control::Resumed {
                session: "abc".into(),
                recv: 0,
                next: 1,
            },
            Control::Lost {
                reason: LostReason::Overflow,
                session: "n".into(),
                missed: Some(12),
            },
            Control::Lost {
                reason: LostReason::Other("moved".into()),
                session: "n".into(),
                missed: None,
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
            "welcome new has space",
            "welcome resumed s 1",
            "welcome lost unknown s -",
            "resume s 18446744073709551616",
            "bye",
            "",
        ] {
            assert!(
                matches!(Frame::parse(control(bad)), Frame::Invalid(_)),
                "{bad:?}"
            );
        }
        let long = format!("welcome new {}", "a".repeat(129));
        assert!(matches!(Frame::parse(control(&long)), Frame::Invalid(_)));
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
