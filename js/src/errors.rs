//! The library's typed errors as the exceptions a browser `WebSocket` throws for the same
//! mistake, so a drop-in behaves alike.

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
        "high_water_mark" => "highWaterMark",
        other => other,
    }
}

pub(crate) fn to_js(err: Error) -> JsValue {
    let message = err.to_string();
    match err {
        Error::InvalidUrl { .. } | Error::InvalidScheme { .. } | Error::InvalidProtocol { .. } => {
            dom("SyntaxError", &message)
        }
        Error::CloseReasonTooLong { .. } => dom("SyntaxError", &message),
        Error::InvalidCloseCode { .. } => dom("InvalidAccessError", &message),
        Error::InvalidOption { field, allowed } => type_error(&format!(
            "ReconnectingWebSocket option `{}`: {allowed}",
            js_field(field)
        )),
        Error::QueueFull { .. } => dom("QuotaExceededError", &message),
        Error::NotOpen | Error::Stopped | Error::AlreadyClosed => {
            dom("InvalidStateError", &message)
        }
        _ => js_sys::Error::new(&message).into(),
    }
}
