//! URLs as the browser's `WebSocket` constructor reads them: parsed by the browser's own URL
//! parser against the page's (or the Worker script's) URL, so a URL is accepted or rejected
//! exactly as the browser would, but when the socket is built rather than on every retry.

use crate::Error;

/// The URL to dial for `url`: relative URLs resolved, `http(s)` turned into `ws(s)`.
pub(crate) fn resolve_url(url: &str) -> Result<String, Error> {
    let invalid = |reason| Error::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let base = super::scope::href();
    // The browser says only that it refuses: name the part that is wrong if we can.
    let refused = |fallback| {
        crate::core::validate::check_url(url)
            .err()
            .unwrap_or_else(|| invalid(fallback))
    };
    let parsed = match &base {
        Some(base) => web_sys::Url::new_with_base(url, base),
        None => web_sys::Url::new(url),
    }
    .map_err(|_| refused("the browser's URL parser rejects it"))?;
    // Chromium takes a space in the host as `%20` (a host no server has, so every attempt
    // fails); Firefox, WebKit and the URL standard refuse it, and so do we.
    if parsed.hostname().bytes().any(|b| b == b'%') {
        return Err(refused("the host has a character no host name may contain"));
    }
    match parsed.protocol().as_str() {
        "ws:" | "wss:" => {}
        "http:" => parsed.set_protocol("ws:"),
        "https:" => parsed.set_protocol("wss:"),
        other => {
            return Err(Error::InvalidScheme {
                scheme: other.strip_suffix(':').unwrap_or(other).to_owned(),
            })
        }
    }
    let href = parsed.href();
    if href.bytes().any(|b| b == b'#') {
        return Err(invalid("WebSocket URLs may not have a fragment (#...)"));
    }
    Ok(href)
}
