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

/// The JavaScript option a library option field corresponds to, and what it accepts, in
/// JavaScript's terms (the library's own text names Rust fields and types).
fn js_option(field: &'static str, allowed: &'static str) -> (&'static str, &'static str) {
    match field {
        "backoff.min" => ("minDelay", "a number of milliseconds above 0"),
        "backoff.max" => (
            "maxDelay",
            "a number of milliseconds at least as large as minDelay",
        ),
        "backoff.factor" => ("factor", "a finite number >= 1"),
        "backoff.max_attempts" => ("maxRetries", "an integer from 0 to 4294967295"),
        "connect_timeout" => ("connectTimeout", "a number of milliseconds above 0"),
        "heartbeat" => (
            "heartbeat",
            "{ interval, timeout } in milliseconds above 0, or false",
        ),
        other => (other, allowed),
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
        Error::InvalidOption { field, allowed } => {
            let (field, allowed) = js_option(field, allowed);
            bad_option(field, allowed)
        }
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
        Error::InsidePolicy => reentered(),
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

/// A policy function called back into the socket.
pub(crate) fn reentered() -> JsValue {
    dom(
        "InvalidStateError",
        "A backoff or closePolicy function may not send, close or reconnect.",
    )
}
