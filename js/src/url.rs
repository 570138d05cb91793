//! Turns what a script passes to `new WebSocket(url)` into the URL the socket dials, by the
//! browser's rules: relative URLs resolve against the document, http(s) becomes ws(s), and a
//! fragment or another scheme is a `SyntaxError`.

use crate::errors::dom;
use wasm_bindgen::JsValue;

fn base() -> Option<String> {
    let window = web_sys::window()?;
    if let Some(Ok(Some(base))) = window.document().map(|d| d.base_uri()) {
        return Some(base);
    }
    window.location().href().ok()
}

pub(crate) fn resolve(input: &str) -> Result<String, JsValue> {
    let parsed = match base() {
        Some(base) => web_sys::Url::new_with_base(input, &base),
        None => web_sys::Url::new(input),
    }
    .map_err(|_| dom("SyntaxError", &format!("The URL '{input}' is invalid.")))?;
    match parsed.protocol().as_str() {
        "http:" => parsed.set_protocol("ws:"),
        "https:" => parsed.set_protocol("wss:"),
        "ws:" | "wss:" => {}
        other => {
            return Err(dom(
                "SyntaxError",
                &format!("The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '{other}' is not allowed."),
            ))
        }
    }
    if !parsed.hash().is_empty() || input.contains('#') {
        return Err(dom(
            "SyntaxError",
            &format!("The URL contains a fragment identifier ('{}'). Fragment identifiers are not allowed in WebSocket URLs.", parsed.hash()),
        ));
    }
    Ok(parsed.href())
}
