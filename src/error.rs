//! The one error type of the crate.

/// Everything that can go wrong, from bad input to a connection that died.
///
/// Each variant's documentation says what the caller should do about it. The enum is
/// `#[non_exhaustive]`: match the variants you handle and keep a fallback arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed. Fix the URL; nothing was sent anywhere.
    #[error("invalid WebSocket URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The URL's scheme is not one a WebSocket can use. Use `ws://` or `wss://` (`http://`
    /// and `https://` are accepted too and become them, as in browsers).
    #[error(
        "invalid WebSocket URL scheme {scheme:?}: only \"ws\" and \"wss\" are allowed (and \"http\" and \"https\", which become them)"
    )]
    InvalidScheme {
        /// The scheme as given.
        scheme: String,
    },

    /// A subprotocol name is empty, contains characters outside the HTTP token set
    /// (RFC 7230), or is listed twice. Fix the list; nothing was sent anywhere.
    #[error("invalid subprotocol {protocol:?}: {reason}")]
    InvalidProtocol {
        /// The offending subprotocol name.
        protocol: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A close code outside what an application may send. Use 1000 (normal closure) or a
    /// code in 3000–4999.
    #[error("invalid close code {code}: only 1000 and 3000-4999 are allowed")]
    InvalidCloseCode {
        /// The code as given.
        code: u16,
    },

    /// A close reason longer than the protocol allows. Shorten it to at most 123 bytes of
    /// UTF-8.
    #[error("close reason is {len} bytes of UTF-8: at most 123 are allowed")]
    CloseReasonTooLong {
        /// Its length in UTF-8 bytes.
        len: usize,
    },

    /// A configuration value is out of range. The message names the field and what is
    /// allowed; fix the value.
    #[error("invalid option `{field}`: {allowed}")]
    InvalidOption {
        /// The field's name.
        field: &'static str,
        /// What values it accepts.
        allowed: &'static str,
    },

    /// The connection never opened: nothing listening, the handshake was refused, or the
    /// attempt was aborted. Browsers hide the reason from scripts (the code is usually 1006),
    /// so check the URL and the server; retrying later may succeed.
    #[error(
        "connection failed before it opened (code {code}{})",
        reason_suffix(reason)
    )]
    ConnectFailed {
        /// The close code the browser reported (1006 when the handshake failed).
        code: u16,
        /// The close reason the browser reported (usually empty).
        reason: String,
    },

    /// The open connection ended abnormally: the peer closed with a code other than a
    /// normal closure, or the connection dropped without a close frame (1006). Open a new
    /// connection if you still need one.
    #[error(
        "connection closed abnormally (code {code}{}, clean: {was_clean})",
        reason_suffix(reason)
    )]
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
    #[error("the socket is closing or closed; the message was not sent")]
    AlreadyClosed,

    /// The socket is still connecting, so a message can't be written yet. Wait for it to
    /// open; the `Sink` does that for you.
    #[error("the socket is still connecting; wait until it is open")]
    NotOpen,

    /// The reconnecting socket's send queue has no room for this message (overflow policy
    /// `Reject`, or a message larger than the whole queue). Nothing was queued: wait for the
    /// connection to open (the `Sink` does), raise `queue_max_bytes`, or pick another
    /// overflow policy.
    #[error("send queue full: the message is {message_bytes} bytes, {free_bytes} bytes are free")]
    QueueFull {
        /// The message's size.
        message_bytes: usize,
        /// Free space in the queue.
        free_bytes: usize,
    },

    /// The reconnecting socket was closed by the user or gave up; it sends and receives
    /// nothing more. Call `reconnect()` (after giving up) or create a new socket.
    #[error("the reconnecting socket is closed for good")]
    Stopped,

    /// `send` was called from inside a backoff or close-policy function, while the socket
    /// is deciding what to do next: nothing was sent. Decide from the function's argument
    /// and send afterwards (`close` and `reconnect` called there run right after it).
    #[error("send called from inside a backoff or close-policy function; nothing was sent")]
    InsidePolicy,

    /// The browser threw an exception we did not expect. The message is the browser's.
    #[error("browser error: {message}")]
    Browser {
        /// The exception's message.
        message: String,
    },

    /// A value could not be encoded, or a message could not be decoded, by a codec (see
    /// [`Decoder`](crate::Decoder)). The connection is unaffected: log or skip this one
    /// message, or fix the types on either side.
    #[error("codec error: {reason}")]
    Codec {
        /// The codec's own description (for `Json`, serde_json's).
        reason: String,
    },

    /// A post between the tabs sharing one connection could not be read: another version of
    /// the cross-tab protocol (`version`, its first byte; tabs of different versions use
    /// different channels, so this means a bug or a foreign writer), or malformed bytes.
    /// The tab ignores the post; nothing to do but report it if it recurs.
    #[error("unreadable cross-tab post (version {version}): {reason}")]
    ShareMessage {
        /// The post's first byte: the protocol version it claims.
        version: u8,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// WebSockets are only available in the browser (`wasm32`). On other targets, such as
    /// server-side rendering, every connect returns this: don't connect during SSR.
    #[error("WebSocket is only available on wasm32 in a browser")]
    Unsupported,
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(", reason {reason:?}")
    }
}

impl Error {
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
