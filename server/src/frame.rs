//! The wire format of `tether.resume.v1` (spec sections 2 and 3): decoding the client's
//! frames and encoding the server's. Pure functions; no I/O, no session state.

use std::fmt;

use ws_tether::Message;

const TAG_DATA: u8 = 0x00;
const TAG_CONTROL: u8 = 0x01;

/// Why a session identifier is unusable, or a frame is not protocol: the reason sent
/// with the 1002 close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub(crate) &'static str);

/// A decoded frame from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// An application message.
    Data(Message),
    /// A control message.
    Control(Control),
}

/// The control messages a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    Hello,
    Resume { session: String, recv: u64 },
    Ack(u64),
    Ping(u64),
    End,
}

/// Decodes a text frame's or a binary frame's payload.
pub(crate) fn decode_text(text: &str) -> Frame {
    Frame::Data(Message::Text(text.to_owned()))
}

/// Decodes a binary frame: a tag byte, then data or a control message.
pub(crate) fn decode_binary(bytes: &[u8]) -> Result<Frame, ProtocolError> {
    match bytes.split_first() {
        Some((&TAG_DATA, rest)) => Ok(Frame::Data(Message::Binary(rest.to_vec()))),
        Some((&TAG_CONTROL, rest)) => parse_control(rest).map(Frame::Control),
        Some(_) => Err(ProtocolError("unknown frame tag")),
        None => Err(ProtocolError("empty binary frame")),
    }
}

fn parse_control(bytes: &[u8]) -> Result<Control, ProtocolError> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or(ProtocolError("control message is not ASCII"))?;
    let words: Vec<&str> = text.split(' ').collect();
    match words.as_slice() {
        ["hello"] => Ok(Control::Hello),
        ["resume", session, recv] => Ok(Control::Resume {
            session: parse_session_id(session)?.to_owned(),
            recv: parse_number(recv)?,
        }),
        ["ack", recv] => Ok(Control::Ack(parse_number(recv)?)),
        ["ping", recv] => Ok(Control::Ping(parse_number(recv)?)),
        ["end"] => Ok(Control::End),
        _ => Err(ProtocolError("unknown or malformed control message")),
    }
}

/// A decimal u64 without leading zeros (spec section 2).
fn parse_number(word: &str) -> Result<u64, ProtocolError> {
    let canonical = !word.is_empty()
        && word.bytes().all(|b| b.is_ascii_digit())
        && (word == "0" || !word.starts_with('0'));
    if !canonical {
        return Err(ProtocolError("malformed number"));
    }
    word.parse()
        .map_err(|_| ProtocolError("number out of range"))
}

/// 1 to 128 characters from `A-Z a-z 0-9 _ -` (spec section 3).
pub(crate) fn parse_session_id(word: &str) -> Result<&str, ProtocolError> {
    let valid = (1..=128).contains(&word.len())
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(word)
    } else {
        Err(ProtocolError("malformed session identifier"))
    }
}

/// The server's control messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<'a> {
    WelcomeNew {
        session: &'a str,
    },
    WelcomeResumed {
        session: &'a str,
        recv: u64,
        next: u64,
    },
    WelcomeLost {
        reason: &'static str,
        session: &'a str,
        missed: Option<u64>,
    },
    Ack(u64),
    End,
}

impl fmt::Display for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::WelcomeNew { session } => write!(f, "welcome new {session}"),
            Reply::WelcomeResumed {
                session,
                recv,
                next,
            } => write!(f, "welcome resumed {session} {recv} {next}"),
            Reply::WelcomeLost {
                reason,
                session,
                missed: Some(missed),
            } => write!(f, "welcome lost {reason} {session} {missed}"),
            Reply::WelcomeLost {
                reason,
                session,
                missed: None,
            } => write!(f, "welcome lost {reason} {session} ?"),
            Reply::Ack(recv) => write!(f, "ack {recv}"),
            Reply::End => f.write_str("end"),
        }
    }
}

/// The binary frame carrying a control message.
pub(crate) fn encode_control(reply: &Reply<'_>) -> Vec<u8> {
    let mut bytes = vec![TAG_CONTROL];
    bytes.extend_from_slice(reply.to_string().as_bytes());
    bytes
}

/// A binary application message's frame: the data tag, then the payload.
pub(crate) fn encode_binary(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload.len() + 1);
    bytes.push(TAG_DATA);
    bytes.extend_from_slice(payload);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(text: &str) -> Result<Frame, ProtocolError> {
        let mut bytes = vec![TAG_CONTROL];
        bytes.extend_from_slice(text.as_bytes());
        decode_binary(&bytes)
    }

    #[test]
    fn decodes_every_client_control_message() {
        assert_eq!(control("hello"), Ok(Frame::Control(Control::Hello)));
        assert_eq!(
            control("resume k9Q-x_1 42"),
            Ok(Frame::Control(Control::Resume {
                session: "k9Q-x_1".into(),
                recv: 42
            }))
        );
        assert_eq!(control("ack 0"), Ok(Frame::Control(Control::Ack(0))));
        assert_eq!(
            control("ping 18446744073709551615"),
            Ok(Frame::Control(Control::Ping(u64::MAX)))
        );
        assert_eq!(control("end"), Ok(Frame::Control(Control::End)));
    }

    #[test]
    fn rejects_malformed_control_messages() {
        for bad in [
            "",
            "helo",
            "hello ",
            " hello",
            "ack",
            "ack 01",
            "ack -1",
            "ack 1 2",
            "ack  1",
            "ack 18446744073709551616",
            "resume a/b 1",
            "resume  1",
            "welcome new abc",
            "ping x",
            "end now",
        ] {
            assert!(control(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(control(&format!("resume {} 1", "a".repeat(129))).is_err());
        assert!(control(&format!("resume {} 1", "a".repeat(128))).is_ok());
        assert!(decode_binary(&[TAG_CONTROL, 0xff]).is_err());
    }

    #[test]
    fn binary_frames_need_a_known_tag() {
        assert_eq!(
            decode_binary(&[TAG_DATA, 1, 2]),
            Ok(Frame::Data(Message::Binary(vec![1, 2])))
        );
        assert_eq!(
            decode_binary(&[TAG_DATA]),
            Ok(Frame::Data(Message::Binary(vec![])))
        );
        assert!(decode_binary(&[]).is_err());
        assert!(decode_binary(&[2, 1]).is_err());
        assert_eq!(decode_text("hi"), Frame::Data(Message::Text("hi".into())));
    }

    #[test]
    fn encodes_the_server_messages() {
        let text = |r: Reply<'_>| String::from_utf8(encode_control(&r)[1..].to_vec()).unwrap();
        assert_eq!(text(Reply::WelcomeNew { session: "s" }), "welcome new s");
        assert_eq!(
            text(Reply::WelcomeResumed {
                session: "s",
                recv: 3,
                next: 5
            }),
            "welcome resumed s 3 5"
        );
        assert_eq!(
            text(Reply::WelcomeLost {
                reason: "expired",
                session: "t",
                missed: Some(2)
            }),
            "welcome lost expired t 2"
        );
        assert_eq!(
            text(Reply::WelcomeLost {
                reason: "unknown",
                session: "t",
                missed: None
            }),
            "welcome lost unknown t ?"
        );
        assert_eq!(text(Reply::Ack(7)), "ack 7");
        assert_eq!(text(Reply::End), "end");
        assert_eq!(encode_control(&Reply::End)[0], TAG_CONTROL);
        assert_eq!(encode_binary(&[9]), vec![TAG_DATA, 9]);
    }
}
