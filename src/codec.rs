//! Typed messages: an [`Encoder`] turns a value into a [`Message`], a [`Decoder`] turns a
//! message back into a value. The traits need no feature; [`Json`] (the `serde` feature) is
//! the one this crate ships. Both sides of a connection can share the types.

use crate::{Error, Message};

/// Turns values of type `T` into messages, for `send`.
pub trait Encoder<T: ?Sized> {
    /// The message carrying `value`, or [`Error::Codec`] if it can't be encoded.
    fn encode(&self, value: &T) -> Result<Message, Error>;
}

/// Turns messages into values of type `T`, for the receiving side (a `Stream`, a framework
/// hook's `on_message`).
pub trait Decoder<T> {
    /// The value `message` carries, or [`Error::Codec`] if it isn't one. The message stays
    /// yours, to log or hand on.
    fn decode(&self, message: &Message) -> Result<T, Error>;

    /// A callback for messages (a framework hook's `on_message`) that decodes each one and
    /// hands `on_value` the value, or the [`Error::Codec`] saying why it isn't a `T`.
    fn callback<F>(self, on_value: F) -> impl Fn(Message)
    where
        Self: Sized,
        F: Fn(Result<T, Error>),
    {
        move |message| on_value(self.decode(&message))
    }
}

/// JSON over text frames, with serde: encodes to a text message, decodes a text message
/// (or a binary one holding UTF-8 JSON).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use ws_tether::{Decoder, Encoder, Json, Message};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// struct Chat { from: String, text: String }
///
/// let hi = Chat { from: "ann".into(), text: "hi".into() };
/// let message = Json.encode(&hi)?; // ws.send(message) on any of the sockets
/// assert_eq!(message, Message::from(r#"{"from":"ann","text":"hi"}"#));
/// let back: Chat = Json.decode(&message)?; // for each message the stream yields
/// assert_eq!(back, hi);
/// assert!(matches!(Json.decode(&Message::from("nope")) as Result<Chat, _>, Err(ws_tether::Error::Codec { .. })));
/// # Ok::<(), ws_tether::Error>(())
/// ```
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json;

#[cfg(feature = "serde")]
fn codec_error(err: serde_json::Error) -> Error {
    Error::Codec {
        reason: err.to_string(),
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<T: serde::Serialize + ?Sized> Encoder<T> for Json {
    fn encode(&self, value: &T) -> Result<Message, Error> {
        serde_json::to_string(value)
            .map(Message::Text)
            .map_err(codec_error)
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<T: serde::de::DeserializeOwned> Decoder<T> for Json {
    fn decode(&self, message: &Message) -> Result<T, Error> {
        match message {
            Message::Text(text) => serde_json::from_str(text),
            Message::Binary(bytes) => serde_json::from_slice(bytes),
        }
        .map_err(codec_error)
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(tag = "type")]
    enum Event {
        Joined { name: String },
        Said { name: String, text: String },
    }

    /// Numbers as decimal text.
    struct Decimal;

    impl Decoder<u32> for Decimal {
        fn decode(&self, message: &Message) -> Result<u32, Error> {
            let text = message.as_text().unwrap_or_default();
            text.parse().map_err(|_| Error::Codec {
                reason: format!("not a number: {text:?}"),
            })
        }
    }

    #[test]
    fn a_callback_gets_each_message_decoded_in_order_errors_included() {
        let got = std::cell::RefCell::new(Vec::new());
        let on_message = Decimal.callback(|value| got.borrow_mut().push(value));
        for text in ["1", "x", "3"] {
            on_message(Message::from(text));
        }
        drop(on_message);
        let got = got.into_inner();
        assert_eq!(got[0], Ok(1));
        assert!(matches!(&got[1], Err(Error::Codec { reason }) if reason.contains("\"x\"")));
        assert_eq!(got[2], Ok(3));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn json_values_travel_as_text_frames_and_come_back() {
        let said = Event::Said {
            name: "ann".into(),
            text: "héllo \"there\"".into(),
        };
        let message = Json.encode(&said).unwrap();
        assert!(message.is_text());
        assert_eq!(Json.decode(&message), Ok(said));
        let joined = Message::from(r#"{"type":"Joined","name":"bo"}"#.as_bytes());
        assert_eq!(
            Json.decode(&joined),
            Ok(Event::Joined { name: "bo".into() })
        );
    }

    #[test]
    fn what_is_not_the_type_is_a_codec_error_naming_the_problem() {
        for bad in [
            Message::from("not json"),
            Message::from(r#"{"type":"Left"}"#),
            Message::from(vec![0xff, 0xfe]),
        ] {
            match Json.decode(&bad) as Result<Event, Error> {
                Err(Error::Codec { reason }) => assert!(!reason.is_empty()),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        // A map with non-string keys can't be JSON.
        let map = BTreeMap::from([((1, 2), 3)]);
        assert!(matches!(Json.encode(&map), Err(Error::Codec { .. })));
    }
}
