//! The library's typed errors as the exceptions a browser `WebSocket` throws for the same
//! mistake, so a drop-in behaves alike. Messages are put together from plain strings: going
//! through `Display` would link Rust's formatting machinery into the package.

use wasm_bindgen::JsValue;
use ws_tether::Error;

pub(crate) fn dom(name: &str, message: &str) -> JsValue {
    web_sys::DomException::new_with_message_and_name(message, name)
        .map(JsValue::from)
        .unwrap_or_else(|_| js_sys::Error::new(message).into())
}

pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// The JavaScript option a library option field corresponds to.
fn js_field(field: &str) -> &str {
    match field {
        "backoff.max" => "maxDelay",
        "backoff.factor" => "factor",
        "backoff.max_attempts" => "maxRetries",
        "connect_timeout" => "connectTimeout",
        other => other,
    }
}

/// A bad option, named as the JavaScript caller spelled it.
pub(crate) fn bad_option(field: &str, allowed: &str) -> JsValue {
    type_error(&join(&[
        "ReconnectingWebSocket option `",
        field,
        "`: expected ",
        allowed,
    ]))
}

pub(crate) fn to_js(err: Error) -> JsValue {
    match err {
        Error::InvalidOption { field, allowed } => bad_option(js_field(field), allowed),
        Error::QueueFull { message_bytes, .. } => dom(
            "QuotaExceededError",
            &join(&[
                "The send queue is full: no room for a message of ",
                &message_bytes.to_string(),
                " bytes (see the queueMaxBytes and overflow options).",
            ]),
        ),
        Error::NotOpen => dom(
            "InvalidStateError",
            "Still in CONNECTING state (the replay option is off).",
        ),
        Error::Stopped => dom(
            "InvalidStateError",
            "The socket is closed for good: it sends nothing more.",
        ),
        _ => js_sys::Error::new("ws-tether: unexpected error").into(),
    }
}

/// Joins message parts (`concat` would link a generic copy loop of its own).
pub(crate) fn join(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(part);
    }
    out
}
