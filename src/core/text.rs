//! Texts for people (error messages, close reasons) built without `core::fmt`. A `format!`
//! or a `Display` impl written with `write!` links the formatting machinery and every
//! argument's formatter into the wasm (for the errors' texts, ~5 KB gzip in every app that
//! can fail a dial); pushing pieces onto a `String` links almost nothing. Owns no wording:
//! the callers say what the texts are.

/// A text under construction: pieces, decimal numbers, quoted strings.
#[derive(Debug, Default)]
pub(crate) struct Text(String);

impl Text {
    pub(crate) fn new() -> Text {
        Text::default()
    }

    pub(crate) fn str(mut self, piece: &str) -> Text {
        self.0.push_str(piece);
        self
    }

    /// `n` in decimal, as `{n}` writes it.
    pub(crate) fn num(mut self, n: impl Into<u64>) -> Text {
        let mut n = n.into();
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[at..] {
            self.0.push(char::from(d));
        }
        self
    }

    /// `value` in double quotes, as `{value:?}` writes it for any text a URL, a scheme or a
    /// subprotocol holds: quotes and backslashes escaped, control characters as escapes.
    /// Other characters are kept as they are (`{:?}` would also escape the unprintable
    /// ones, which takes Unicode tables).
    pub(crate) fn quoted(mut self, value: &str) -> Text {
        self.0.push('"');
        for c in value.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                '\0' => self.0.push_str("\\0"),
                c if matches!(u32::from(c), 0..=0x1f | 0x7f..=0x9f) => {
                    self.0.push_str("\\u{");
                    let code = u32::from(c);
                    // At most 0x9f: two hex digits, without leading zeros as `{:?}`.
                    let hex = |d: u32| char::from(b"0123456789abcdef"[(d & 0xf) as usize]);
                    if code >= 0x10 {
                        self.0.push(hex(code >> 4));
                    }
                    self.0.push(hex(code));
                    self.0.push('}');
                }
                c => self.0.push(c),
            }
        }
        self.0.push('"');
        self
    }

    pub(crate) fn done(self) -> String {
        self.0
    }
}

/// `"{prefix}: {detail}"`, allocated once.
pub(crate) fn joined(prefix: &str, detail: &str) -> String {
    let mut text = String::with_capacity(prefix.len() + 2 + detail.len());
    text.push_str(prefix);
    text.push_str(": ");
    text.push_str(detail);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        for n in [0u64, 7, 10, 1006, 65535, u64::MAX] {
            assert_eq!(Text::new().num(n).done(), n.to_string());
        }
    }

    #[test]
    fn quoting_matches_debug_for_ascii_and_controls() {
        let mut samples: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        samples.extend(
            [
                "",
                "ws://host/a b",
                "http://not a url",
                "ws://[::1",
                "a\"b\\c",
                "grüße 世界",
                "\u{80}\u{9f}",
            ]
            .map(String::from),
        );
        for s in samples {
            assert_eq!(Text::new().quoted(&s).done(), format!("{s:?}"), "{s:?}");
        }
    }

    #[test]
    fn joined_puts_a_colon_between() {
        assert_eq!(joined("url provider", "down"), "url provider: down");
    }
}
