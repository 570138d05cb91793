//! Input checks for opening a socket: the subprotocol list, and the URL where no browser
//! parses it (natively; in the browser its own URL parser decides, see `web::url`, and this
//! check says which part of a URL it refused is wrong).

use crate::Error;

/// Checks what a browser would reject with a `SyntaxError`, with an error that says why.
/// (In the browser its own URL parser decides; this names what is wrong when it refuses.)
pub(crate) fn check_url(url: &str) -> Result<(), Error> {
    // The error is built in one place: each `Err` built inline would copy the URL's
    // allocation into the wasm once more.
    url_problem(url).map_err(|problem| match problem {
        Problem::Url(reason) => Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        },
        Problem::Scheme(scheme) => Error::InvalidScheme {
            scheme: scheme.to_owned(),
        },
    })
}

/// What is wrong with a URL.
enum Problem<'a> {
    /// `Error::InvalidUrl`'s reason.
    Url(&'static str),
    /// A scheme other than ws, wss, http and https.
    Scheme(&'a str),
}

fn url_problem(url: &str) -> Result<(), Problem<'_>> {
    let invalid = Problem::Url;
    let trimmed = url.trim();
    if trimmed.is_empty() {
        return Err(invalid("the URL is empty"));
    }
    // Bytes, not chars: every separator is ASCII, and searching bytes links none of the
    // `char` pattern searchers into the wasm (this runs in the browser for every URL it
    // refuses). Sliced with `get`: no panic path either.
    let Some((scheme, rest)) = split_first(trimmed, b":") else {
        return Err(invalid(
            "no scheme: expected ws://host/path or wss://host/path",
        ));
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(invalid(
            "no scheme: expected ws://host/path or wss://host/path",
        ));
    }
    let known = ["ws", "wss", "http", "https"];
    if !known.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
        return Err(Problem::Scheme(scheme));
    }
    let Some(authority_and_path) = rest.strip_prefix("//") else {
        return Err(invalid("expected \"//\" and a host after the scheme"));
    };
    let authority = split_first(authority_and_path, b"/?#")
        .map_or(authority_and_path, |(authority, _)| authority);
    let host = split_last(authority, b'@').map_or(authority, |(_, host)| host);
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("the host is empty"));
    }
    // After an IPv6 literal's `]`, or after the last `:` of any other host.
    let port = match split_last(host, b']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => split_last(host, b':').map(|(_, port)| port),
    };
    // Digits only, at most 65535 (none at all is allowed, as in browsers).
    let port_ok = |p: &str| {
        p.bytes().all(|b| b.is_ascii_digit())
            && p.bytes()
                .try_fold(0u32, |n, b| {
                    n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
                })
                .is_some_and(|n| n <= 65535)
    };
    if port.is_some_and(|p| !port_ok(p)) {
        return Err(invalid("the port is not a number from 0 to 65535"));
    }
    if trimmed.bytes().any(|b| b == b'#') {
        return Err(invalid("WebSocket URLs may not have a fragment (#...)"));
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(invalid("the URL contains whitespace"));
    }
    Ok(())
}

/// `s` around the first of the (ASCII) bytes `any`: what is before it and after it.
fn split_first<'a>(s: &'a str, any: &[u8]) -> Option<(&'a str, &'a str)> {
    around(s, s.bytes().position(|b| any.contains(&b))?)
}

/// `s` around the last (ASCII) byte `at`.
fn split_last(s: &str, at: u8) -> Option<(&str, &str)> {
    around(s, s.bytes().rposition(|b| b == at)?)
}

fn around(s: &str, i: usize) -> Option<(&str, &str)> {
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Each subprotocol must be a non-empty HTTP token (RFC 7230) and appear only once.
pub(crate) fn check_protocols(protocols: &[String]) -> Result<(), Error> {
    for (i, protocol) in protocols.iter().enumerate() {
        let listed = protocols.iter().take(i).any(|p| p == protocol);
        if let Err(reason) = check_protocol(protocol, listed) {
            return Err(Error::InvalidProtocol {
                protocol: protocol.clone(),
                reason,
            });
        }
    }
    Ok(())
}

/// One subprotocol of a list, `listed` if it came earlier in the list: what is wrong with it,
/// as [`Error::InvalidProtocol`]'s reason. For drivers that create their socket later than
/// they are given the list (a URL provider runs first): a bad list is refused at once, as the
/// browser's `WebSocket` constructor refuses it, rather than failing every attempt.
pub fn check_protocol(protocol: &str, listed: bool) -> Result<(), &'static str> {
    if protocol.is_empty() {
        Err("subprotocol names may not be empty")
    } else if !protocol.bytes().all(is_token_byte) {
        Err("only visible ASCII except separators ()<>@,;:\\\"/[]?={} is allowed")
    } else if listed {
        Err("listed more than once")
    } else {
        Ok(())
    }
}

/// RFC 7230's `tchar`: visible ASCII except the separators.
fn is_token_byte(b: u8) -> bool {
    // `#` to `'`, and `^` `_` `` ` `` with the lower-case letters, are runs of it.
    matches!(b,
        b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'|' | b'~'
            | b'0'..=b'9' | b'A'..=b'Z' | b'^'..=b'z')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ws_and_wss_urls() {
        for url in [
            "ws://127.0.0.1:8080/echo",
            "wss://example.com",
            "WS://example.com/a?b=c",
            "ws://user@host:1/",
            "ws://[::1]:9000/x",
            "ws://[::1]/x",
            "ws://host:65535",
            "ws://host:/",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn rejects_other_schemes_by_name() {
        // As in browsers, http(s) URLs become ws(s).
        assert_eq!(check_url("http://example.com/"), Ok(()));
        assert_eq!(check_url("HTTPS://example.com/"), Ok(()));
        assert_eq!(
            check_url("ftp://example.com/"),
            Err(Error::InvalidScheme {
                scheme: "ftp".into()
            })
        );
    }

    #[test]
    fn rejects_malformed_urls_with_a_reason() {
        for (url, needle) in [
            ("", "empty"),
            ("example.com/echo", "scheme"),
            // A host and port without a scheme: not "unsupported scheme 127.0.0.1".
            ("127.0.0.1:8787/echo", "scheme"),
            ("ws:example.com", "//"),
            ("ws://", "host"),
            ("ws://:80/x", "host"),
            ("ws://host/a#frag", "fragment"),
            ("ws://host/a b", "whitespace"),
            ("http://not a url", "whitespace"),
            ("ws://127.0.0.1:99999/", "port"),
            ("ws://host:port/", "port"),
            ("ws://[::1]:65536", "port"),
        ] {
            match check_url(url) {
                Err(Error::InvalidUrl { reason, .. }) => {
                    assert!(reason.contains(needle), "{url}: {reason}")
                }
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
    }

    /// The browser driver reports a failed dial with the error's dial message: every error
    /// these checks (and the browser, `Error::Browser`) end a dial with must have one.
    #[test]
    fn every_check_error_has_a_dial_message() {
        let errors = [
            check_url("ws://host/a b").unwrap_err(),
            check_url("ftp://host/").unwrap_err(),
            check_protocols(&["a b".to_owned()]).unwrap_err(),
            Error::Browser {
                message: "SyntaxError".into(),
            },
        ];
        for error in errors {
            assert_eq!(error.dial_message(), Some(error.to_string()), "{error:?}");
        }
    }

    #[test]
    fn protocols_must_be_unique_tokens() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(check_protocols(&list(&[])), Ok(()));
        assert_eq!(
            check_protocols(&list(&["chat", "v2.json", "a-b_c"])),
            Ok(())
        );
        for bad in [&["chat", "chat"][..], &[""], &["a b"], &["a,b"], &["é"]] {
            assert!(
                matches!(
                    check_protocols(&list(bad)),
                    Err(Error::InvalidProtocol { .. })
                ),
                "{bad:?}"
            );
        }
        // Comparison is exact, as in browsers.
        assert_eq!(check_protocols(&list(&["chat", "Chat"])), Ok(()));
    }

    #[test]
    fn a_token_is_visible_ascii_but_the_separators() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b);
            assert_eq!(is_token_byte(b), expected, "{:?}", b as char);
        }
    }

    #[test]
    fn one_protocol_at_a_time_says_why() {
        assert_eq!(check_protocol("chat", false), Ok(()));
        assert!(check_protocol("chat", true)
            .unwrap_err()
            .contains("more than once"));
        assert!(check_protocol("", false).unwrap_err().contains("empty"));
        assert!(check_protocol("a b", false)
            .unwrap_err()
            .contains("separators"));
    }
}
