//! Conversions between [`Message`] and `tungstenite::Message` (the `tungstenite` feature),
//! so a server on tokio-tungstenite (or anything built on it) speaks the browser side's
//! type. Off wasm32 only: tungstenite needs an OS random source that
//! `wasm32-unknown-unknown` lacks, and the browser never sees its messages anyway.

use crate::Message;

/// A text message becomes a text frame, a binary message a binary frame.
#[cfg_attr(docsrs, doc(cfg(feature = "tungstenite")))]
impl From<Message> for tungstenite::Message {
    fn from(message: Message) -> Self {
        match message {
            Message::Text(text) => tungstenite::Message::text(text),
            Message::Binary(bytes) => tungstenite::Message::binary(bytes),
        }
    }
}

/// Text and binary frames convert; a ping, pong, close or raw frame is not a data message
/// and comes back unchanged as the error, for the caller to handle.
#[cfg_attr(docsrs, doc(cfg(feature = "tungstenite")))]
impl TryFrom<tungstenite::Message> for Message {
    type Error = tungstenite::Message;

    fn try_from(message: tungstenite::Message) -> Result<Self, Self::Error> {
        match message {
            tungstenite::Message::Text(text) => Ok(Message::Text(text.as_str().to_owned())),
            tungstenite::Message::Binary(bytes) => Ok(Message::Binary(bytes.into())),
            control => Err(control),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tungstenite::protocol::frame::{coding::CloseCode, CloseFrame};

    #[test]
    fn data_messages_cross_both_ways_with_their_kind() {
        for message in [
            Message::from("héllo"),
            Message::from(""),
            Message::from(vec![0u8, 255, 1]),
            Message::from(Vec::new()),
        ] {
            let wire = tungstenite::Message::from(message.clone());
            assert_eq!(wire.is_text(), message.is_text());
            assert_eq!(wire.clone().into_data().as_ref(), message.as_bytes());
            assert_eq!(Message::try_from(wire), Ok(message));
        }
    }

    #[test]
    fn control_frames_come_back_as_the_error() {
        let close = tungstenite::Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }));
        for control in [
            tungstenite::Message::Ping(vec![1u8].into()),
            tungstenite::Message::Pong(Vec::new().into()),
            close,
        ] {
            assert_eq!(Message::try_from(control.clone()), Err(control));
        }
    }
}
