//! The message and state values applications see.

/// One WebSocket data message.
///
/// Exhaustive on purpose: the protocol has exactly two kinds of data frame, and browsers
/// handle control frames (ping, pong, close) themselves, so `match` on both variants needs
/// no fallback arm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text frame.
    Text(String),
    /// A binary frame (delivered from an `ArrayBuffer`, never a `Blob`).
    Binary(Vec<u8>),
}

impl Message {
    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The bytes, if this is a binary message.
    pub fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Message::Text(_) => None,
            Message::Binary(bytes) => Some(bytes),
        }
    }

    /// The payload as bytes, whichever the kind (a text's UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }

    /// The text, if this is a text message; a binary message gives `None`.
    pub fn into_text(self) -> Option<String> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The payload as bytes, whichever the kind (a text's UTF-8), without copying.
    pub fn into_data(self) -> Vec<u8> {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Message::Binary(bytes)
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Self {
        Message::Binary(bytes.to_vec())
    }
}

/// The browser's `readyState`, as an enum. Exhaustive: the standard defines these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// 0: the handshake is in progress.
    Connecting,
    /// 1: open; messages can be sent.
    Open,
    /// 2: a close was started and the closing handshake is in progress.
    Closing,
    /// 3: closed, or never opened.
    Closed,
}

impl ReadyState {
    /// From the browser's numeric value; unknown values count as closed.
    pub fn from_u16(value: u16) -> ReadyState {
        match value {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            2 => ReadyState::Closing,
            _ => ReadyState::Closed,
        }
    }
}

/// One of the browser socket's events: open, message, error and close today.
///
/// `#[non_exhaustive]`: the socket may report more (match with a fallback arm).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The connection opened; carries the subprotocol the server selected (empty if none).
    Open {
        /// The negotiated subprotocol.
        protocol: String,
    },
    /// A message arrived.
    Message(Message),
    /// The browser reported an error. Browsers give scripts no detail; a
    /// [`Event::Close`] always follows.
    Error,
    /// The connection closed.
    Close(crate::CloseInfo),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_state_maps_browser_numbers() {
        assert_eq!(ReadyState::from_u16(0), ReadyState::Connecting);
        assert_eq!(ReadyState::from_u16(1), ReadyState::Open);
        assert_eq!(ReadyState::from_u16(2), ReadyState::Closing);
        assert_eq!(ReadyState::from_u16(3), ReadyState::Closed);
        assert_eq!(ReadyState::from_u16(9), ReadyState::Closed);
    }

    #[test]
    fn message_conversions_keep_the_kind() {
        assert_eq!(Message::from("hi"), Message::Text("hi".into()));
        assert_eq!(Message::from(&b"\x00\x01"[..]), Message::Binary(vec![0, 1]));
        assert_eq!(Message::from("héllo").len(), 6);
        assert!(Message::Binary(vec![]).is_empty() && Message::from("").is_empty());
        assert!(!Message::from("x").is_empty() && !Message::Binary(vec![0]).is_empty());
        assert_eq!(Message::from(vec![7u8]), Message::Binary(vec![7]));
        assert_eq!(Message::from(String::from("s")), Message::Text("s".into()));
    }

    #[test]
    fn accessors_see_the_kind_and_the_payload() {
        let text = Message::from("héllo");
        let binary = Message::from(vec![0u8, 159]);
        assert!(text.is_text() && !text.is_binary());
        assert!(binary.is_binary() && !binary.is_text());
        assert_eq!(text.as_text(), Some("héllo"));
        assert_eq!(binary.as_text(), None);
        assert_eq!(binary.as_binary(), Some(&[0u8, 159][..]));
        assert_eq!(text.as_binary(), None);
        assert_eq!(text.as_bytes(), "héllo".as_bytes());
        assert_eq!(binary.as_bytes(), &[0, 159]);
        assert_eq!(text.clone().into_text().as_deref(), Some("héllo"));
        assert_eq!(binary.clone().into_text(), None);
        assert_eq!(text.into_data(), "héllo".as_bytes());
        assert_eq!(binary.into_data(), vec![0, 159]);
    }
}
