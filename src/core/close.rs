//! Close codes and reasons: what an application may send, and what arrived.
//! Pure values; never touches the browser.

use crate::Error;
use std::fmt;

/// The longest close reason the protocol allows, in UTF-8 bytes (a close frame's payload is
/// at most 125 bytes, two of which hold the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// A close code an application is allowed to send: 1000 (normal closure) or 3000–4999.
///
/// Browsers throw `InvalidAccessError` for anything else; this type rejects it before a
/// call reaches the browser.
///
/// ```
/// use ws_tether::CloseCode;
/// assert_eq!(CloseCode::new(4000).unwrap().get(), 4000);
/// assert!(CloseCode::new(1001).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);

    /// Accepts 1000 and 3000–4999; any other code is [`Error::InvalidCloseCode`].
    pub fn new(code: u16) -> Result<CloseCode, Error> {
        if code == 1000 || (3000..=4999).contains(&code) {
            Ok(CloseCode(code))
        } else {
            Err(Error::InvalidCloseCode { code })
        }
    }

    /// The numeric code.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for CloseCode {
    fn default() -> Self {
        CloseCode::NORMAL
    }
}

impl TryFrom<u16> for CloseCode {
    type Error = Error;
    fn try_from(code: u16) -> Result<Self, Error> {
        CloseCode::new(code)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Checks a close reason's length: at most [`MAX_CLOSE_REASON_BYTES`] bytes of UTF-8.
pub(crate) fn check_reason(reason: &str) -> Result<(), Error> {
    if reason.len() > MAX_CLOSE_REASON_BYTES {
        Err(Error::CloseReasonTooLong { len: reason.len() })
    } else {
        Ok(())
    }
}

/// How a connection ended, as the browser's `close` event reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (any value the peer or the browser chose: 1006 means the connection
    /// dropped without a close frame).
    pub code: u16,
    /// The close reason (empty when none was given).
    pub reason: String,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

impl CloseInfo {
    /// A normal end: a clean close with 1000 (normal closure) or 1005 (no code given).
    ///
    /// The message stream ends with `None` after a normal end, or after any clean close
    /// this side started; every other end yields one [`Error::Closed`] first.
    pub fn is_normal(&self) -> bool {
        self.was_clean && matches!(self.code, 1000 | 1005)
    }

    /// The close as the WebSocket standard reports it: a code no close frame can carry
    /// (below 1000: Deno's WebSocket reports 0 for a dropped connection) becomes 1006
    /// (abnormal closure), or 1005 (no code) when the closing handshake completed.
    pub(crate) fn standard(mut self) -> Self {
        if self.code < 1000 {
            self.code = if self.was_clean { 1005 } else { 1006 };
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_normal_and_application_codes() {
        for code in [1000, 3000, 3999, 4000, 4999] {
            assert_eq!(CloseCode::new(code).map(CloseCode::get), Ok(code));
        }
        for code in [0, 999, 1001, 1004, 1005, 1006, 1015, 2999, 5000, u16::MAX] {
            assert_eq!(CloseCode::new(code), Err(Error::InvalidCloseCode { code }));
        }
    }

    #[test]
    fn try_from_checks_like_new_and_display_shows_the_number() {
        assert_eq!(CloseCode::try_from(4001).map(CloseCode::get), Ok(4001));
        assert_eq!(
            CloseCode::try_from(1001),
            Err(Error::InvalidCloseCode { code: 1001 })
        );
        assert_eq!(CloseCode::new(3003).unwrap().to_string(), "3003");
        assert_eq!(CloseCode::default(), CloseCode::NORMAL);
    }

    #[test]
    fn reason_limit_counts_utf8_bytes_not_chars() {
        assert!(check_reason(&"a".repeat(123)).is_ok());
        assert_eq!(
            check_reason(&"a".repeat(124)),
            Err(Error::CloseReasonTooLong { len: 124 })
        );
        // 42 three-byte characters are 126 bytes although only 42 chars.
        assert_eq!(
            check_reason(&"€".repeat(42)),
            Err(Error::CloseReasonTooLong { len: 126 })
        );
        assert!(check_reason(&"€".repeat(41)).is_ok());
    }

    #[test]
    fn normal_end_needs_a_clean_close() {
        let info = |code, was_clean| CloseInfo {
            code,
            reason: String::new(),
            was_clean,
        };
        assert!(info(1000, true).is_normal());
        assert!(info(1005, true).is_normal());
        assert!(!info(1000, false).is_normal());
        assert!(!info(1006, false).is_normal());
        assert!(!info(4000, true).is_normal());
        assert!(!info(1001, true).is_normal());
    }

    #[test]
    fn error_message_names_what_is_allowed() {
        let msg = CloseCode::new(2999).unwrap_err().to_string();
        assert!(msg.contains("2999") && msg.contains("1000") && msg.contains("3000-4999"));
    }
}
