//! The one error type of the crate.

use crate::core::text::Text;
use std::fmt;

/// Everything that can go wrong, from bad input to a connection that died.
///
/// Each variant's documentation says what the caller should do about it. The enum is
/// `#[non_exhaustive]`: match the variants you handle and keep a fallback arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed. Fix the URL; nothing was sent anywhere.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The URL's scheme is not one a WebSocket can use. Use `ws://` or `wss://` (`http://`
    /// and `https://` are accepted too and become them, as in browsers).
    InvalidScheme {
        /// The scheme as given.
        scheme: String,
    },

    /// A subprotocol name is empty, contains characters outside the HTTP token set
    /// (RFC 7230), or is listed twice. Fix the list; nothing was sent anywhere.
    InvalidProtocol {
        /// The offending subprotocol name.
        protocol: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A close code outside what an application may send. Use 1000 (normal closure) or a
    /// code in 3000–4999.
    InvalidCloseCode {
        /// The code as given.
        code: u16,
    },

    /// A close reason longer than the protocol allows. Shorten it to at most 123 bytes of
    /// UTF-8.
    CloseReasonTooLong {
        /// Its length in UTF-8 bytes.
        len: usize,
    },

    /// A configuration value is out of range. The message names the field and what is
    /// allowed; fix the value.
    InvalidOption {
        /// The field's name.
        field: &'static str,
        /// What values it accepts.
        allowed: &'static str,
    },

    /// The connection never opened: nothing listening, the handshake was refused, or the
    /// attempt was aborted. Browsers hide the reason from scripts (the code is usually 1006),
    /// so check the URL and the server; retrying later may succeed.
    ConnectFailed {
        /// The close code the browser reported (1006 when the handshake failed).
        code: u16,
        /// The close reason the browser reported (usually empty).
        reason: String,
    },

    /// The open connection ended abnormally: the peer closed with a code other than a
    /// normal closure, or the connection dropped without a close frame (1006). Open a new
    /// connection if you still need one.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },

    /// The socket is closing or closed, so it can't take this message. Nothing was sent;
    /// open a new connection to send it.
    AlreadyClosed,

    /// The socket is still connecting, so a message can't be written yet. Wait for it to
    /// open; the `Sink` does that for you.
    NotOpen,

    /// The reconnecting socket's send queue has no room for this message (overflow policy
    /// `Reject`, or a message larger than the whole queue). Nothing was queued: wait for the
    /// connection to open (the `Sink` does), raise `queue_max_bytes`, or pick another
    /// overflow policy.
    QueueFull {
        /// The message's size.
        message_bytes: usize,
        /// Free space in the queue.
        free_bytes: usize,
    },

    /// The reconnecting socket was closed by the user or gave up; it sends and receives
    /// nothing more. Call `reconnect()` (after giving up) or create a new socket.
    Stopped,

    /// `send` was called from inside a backoff or close-policy function, while the socket
    /// is deciding what to do next: nothing was sent. Decide from the function's argument
    /// and send afterwards (`close` and `reconnect` called there run right after it).
    InsidePolicy,

    /// The browser threw an exception we did not expect. The message is the browser's.
    Browser {
        /// The exception's message.
        message: String,
    },

    /// A value could not be encoded, or a message could not be decoded, by a codec (see
    /// [`Decoder`](crate::Decoder)). The connection is unaffected: log or skip this one
    /// message, or fix the types on either side.
    Codec {
        /// The codec's own description (for `Json`, serde_json's).
        reason: String,
    },

    /// A post between the tabs sharing one connection could not be read: another version of
    /// the cross-tab protocol (`version`, its first byte; tabs of different versions use
    /// different channels, so this means a bug or a foreign writer), or malformed bytes.
    /// The tab ignores the post; nothing to do but report it if it recurs.
    ShareMessage {
        /// The post's first byte: the protocol version it claims.
        version: u8,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// WebSockets are only available in the browser (`wasm32`). On other targets, such as
    /// server-side rendering, every connect returns this: don't connect during SSR.
    Unsupported,
}

/// Written without `core::fmt` (see `core::text`): the browser driver turns a dial's error
/// into the attempt's close reason with it, in every app.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// `, reason "{reason}"` if there is one.
fn with_reason(text: Text, reason: &str) -> Text {
    if reason.is_empty() {
        text
    } else {
        text.str(", reason ").quoted(reason)
    }
}

impl Error {
    /// What `Display` shows.
    pub(crate) fn message(&self) -> String {
        if let Some(text) = self.dial_message() {
            return text;
        }
        let text = Text::new();
        match self {
            Error::InvalidCloseCode { code } => text
                .str("invalid close code ")
                .num(*code)
                .str(": only 1000 and 3000-4999 are allowed"),
            Error::CloseReasonTooLong { len } => text
                .str("close reason is ")
                .num(*len as u64)
                .str(" bytes of UTF-8: at most 123 are allowed"),
            Error::InvalidOption { field, allowed } => text
                .str("invalid option `")
                .str(field)
                .str("`: ")
                .str(allowed),
            Error::ConnectFailed { code, reason } => with_reason(
                text.str("connection failed before it opened (code ")
                    .num(*code),
                reason,
            )
            .str(")"),
            Error::Closed {
                code,
                reason,
                was_clean,
            } => with_reason(
                text.str("connection closed abnormally (code ").num(*code),
                reason,
            )
            .str(", clean: ")
            .str(if *was_clean { "true" } else { "false" })
            .str(")"),
            Error::AlreadyClosed => {
                text.str("the socket is closing or closed; the message was not sent")
            }
            Error::NotOpen => text.str("the socket is still connecting; wait until it is open"),
            Error::QueueFull {
                message_bytes,
                free_bytes,
            } => text
                .str("send queue full: the message is ")
                .num(*message_bytes as u64)
                .str(" bytes, ")
                .num(*free_bytes as u64)
                .str(" bytes are free"),
            Error::Stopped => text.str("the reconnecting socket is closed for good"),
            Error::InsidePolicy => text.str(
                "send called from inside a backoff or close-policy function; nothing was sent",
            ),
            Error::Codec { reason } => text.str("codec error: ").str(reason),
            Error::ShareMessage { version, reason } => text
                .str("unreadable cross-tab post (version ")
                .num(*version)
                .str("): ")
                .str(reason),
            Error::Unsupported => text.str("WebSocket is only available on wasm32 in a browser"),
            // The dial's errors, above.
            _ => text,
        }
        .done()
    }

    /// The text of the errors a dial can end with (the URL, a subprotocol, the browser
    /// refusing to create the socket), `None` for the others: the browser driver makes it a
    /// failed attempt's close reason, and only these texts are linked into every app.
    pub(crate) fn dial_message(&self) -> Option<String> {
        let text = Text::new();
        let text = match self {
            Error::InvalidUrl { url, reason } => text
                .str("invalid WebSocket URL ")
                .quoted(url)
                .str(": ")
                .str(reason),
            Error::InvalidScheme { scheme } => text
                .str("invalid WebSocket URL scheme ")
                .quoted(scheme)
                .str(": only \"ws\" and \"wss\" are allowed (and \"http\" and \"https\", which become them)"),
            Error::InvalidProtocol { protocol, reason } => text
                .str("invalid subprotocol ")
                .quoted(protocol)
                .str(": ")
                .str(reason),
            Error::Browser { message } => text.str("browser error: ").str(message),
            _ => return None,
        };
        Some(text.done())
    }

    /// True for errors caused by the caller's input (URL, subprotocols, close code or
    /// reason, options): retrying with the same input fails the same way.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidUrl { .. }
                | Error::InvalidScheme { .. }
                | Error::InvalidProtocol { .. }
                | Error::InvalidCloseCode { .. }
                | Error::CloseReasonTooLong { .. }
                | Error::InvalidOption { .. }
        )
    }

    /// True when the connection is gone (never opened, closed abnormally, or already
    /// closed).
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            Error::ConnectFailed { .. } | Error::Closed { .. } | Error::AlreadyClosed
        )
    }

    /// The close code and reason this error carries, if it is about a closed connection.
    pub fn close_info(&self) -> Option<(u16, &str)> {
        match self {
            Error::ConnectFailed { code, reason } | Error::Closed { code, reason, .. } => {
                Some((*code, reason))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant's text, beside the format string it was first written with.
    #[test]
    fn every_variant_reads_as_its_format_string_says() {
        let (url, reason) = ("ws://h/a b \"q\"\n", "the URL contains whitespace");
        let cases = [
            (
                Error::InvalidUrl {
                    url: url.into(),
                    reason,
                },
                format!("invalid WebSocket URL {url:?}: {reason}"),
            ),
            (
                Error::InvalidScheme { scheme: "ftp".into() },
                format!(
                    "invalid WebSocket URL scheme {:?}: only \"ws\" and \"wss\" are allowed (and \"http\" and \"https\", which become them)",
                    "ftp"
                ),
            ),
            (
                Error::InvalidProtocol {
                    protocol: "a b".into(),
                    reason: "listed more than once",
                },
                format!("invalid subprotocol {:?}: listed more than once", "a b"),
            ),
            (
                Error::InvalidCloseCode { code: 2999 },
                "invalid close code 2999: only 1000 and 3000-4999 are allowed".into(),
            ),
            (
                Error::CloseReasonTooLong { len: 124 },
                "close reason is 124 bytes of UTF-8: at most 123 are allowed".into(),
            ),
            (
                Error::InvalidOption {
                    field: "high_water_mark",
                    allowed: "at least 1",
                },
                "invalid option `high_water_mark`: at least 1".into(),
            ),
            (
                Error::ConnectFailed {
                    code: 1006,
                    reason: String::new(),
                },
                "connection failed before it opened (code 1006)".into(),
            ),
            (
                Error::ConnectFailed {
                    code: 4401,
                    reason: "auth".into(),
                },
                format!("connection failed before it opened (code 4401, reason {:?})", "auth"),
            ),
            (
                Error::Closed {
                    code: 1011,
                    reason: "oops \"x\"".into(),
                    was_clean: true,
                },
                format!(
                    "connection closed abnormally (code 1011, reason {:?}, clean: true)",
                    "oops \"x\""
                ),
            ),
            (
                Error::Closed {
                    code: 1006,
                    reason: String::new(),
                    was_clean: false,
                },
                "connection closed abnormally (code 1006, clean: false)".into(),
            ),
            (
                Error::AlreadyClosed,
                "the socket is closing or closed; the message was not sent".into(),
            ),
            (
                Error::NotOpen,
                "the socket is still connecting; wait until it is open".into(),
            ),
            (
                Error::QueueFull {
                    message_bytes: 70000,
                    free_bytes: 12,
                },
                "send queue full: the message is 70000 bytes, 12 bytes are free".into(),
            ),
            (
                Error::Stopped,
                "the reconnecting socket is closed for good".into(),
            ),
            (
                Error::InsidePolicy,
                "send called from inside a backoff or close-policy function; nothing was sent"
                    .into(),
            ),
            (
                Error::Browser {
                    message: "SecurityError".into(),
                },
                "browser error: SecurityError".into(),
            ),
            (
                Error::Codec {
                    reason: "expected value".into(),
                },
                "codec error: expected value".into(),
            ),
            (
                Error::ShareMessage {
                    version: 9,
                    reason: "truncated",
                },
                "unreadable cross-tab post (version 9): truncated".into(),
            ),
            (
                Error::Unsupported,
                "WebSocket is only available on wasm32 in a browser".into(),
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
            if let Some(dial) = error.dial_message() {
                assert_eq!(dial, text);
            }
        }
    }
}
