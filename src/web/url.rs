//! URLs as the browser's `WebSocket` constructor reads them: parsed by the browser's own URL
//! parser against the page's URL, so a URL is accepted or rejected exactly as the browser
//! would, but when the socket is built rather than on every retry.

use crate::Error;

/// The URL to dial for `url`: relative URLs resolved, `http(s)` turned into `ws(s)`.
pub(crate) fn resolve_url(url: &str) -> Result<String, Error> {
    let invalid = |reason| Error::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let base = web_sys::window().and_then(|w| w.location().href().ok());
    let parsed = match &base {
        Some(base) => web_sys::Url::new_with_base(url, base),
        None => web_sys::Url::new(url),
    }
    .map_err(|_| invalid("the browser's URL parser rejects it"))?;
    match parsed.protocol().as_str() {
        "ws:" | "wss:" => {}
        "http:" => parsed.set_protocol("ws:"),
        "https:" => parsed.set_protocol("wss:"),
        other => {
            return Err(Error::InvalidScheme {
                scheme: other.trim_end_matches(':').to_owned(),
            })
        }
    }
    let href = parsed.href();
    if href.contains('#') {
        return Err(invalid("WebSocket URLs may not have a fragment (#...)"));
    }
    Ok(href)
}
