//! JavaScript bindings of ws-tether, built by wasm-pack into the npm package. Kept out of
//! the library crate so Rust users never inherit these exports. `js/index.js` wraps `Core`
//! in a drop-in `ReconnectingWebSocket` class; every decision stays in the Rust core.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod errors;
mod options;
mod url;

use errors::{dom, to_js};
use futures_util::StreamExt;
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use ws_tether::{
    CloseCode, ConnectionEvent, Endpoint, Message, ReconnectingWebSocket, SendOutcome, StopReason,
};

/// One reconnecting socket. `emit(type, detail)` is called for every event, in order.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Core {
    ws: ReconnectingWebSocket,
    url: String,
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

fn millis(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `protocols` as the browser reads it: absent, one string, or a sequence of strings.
fn protocols(value: &JsValue) -> Result<Vec<String>, JsValue> {
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    if let Some(array) = value.dyn_ref::<js_sys::Array>() {
        return Ok(array
            .iter()
            .map(|p| String::from(js_sys::JsString::from(p)))
            .collect());
    }
    Ok(vec![String::from(js_sys::JsString::from(value.clone()))])
}

fn emit(callback: &Function, kind: &str, detail: JsValue) {
    // An exception in a user's handler must not stop the event loop.
    let _ = callback.call2(&JsValue::NULL, &JsValue::from_str(kind), &detail);
}

fn dispatch(callback: &Function, event: ConnectionEvent) {
    let detail = Object::new();
    match event {
        ConnectionEvent::Connecting { attempt } => {
            set(&detail, "attempt", attempt);
            emit(callback, "connecting", detail.into());
        }
        ConnectionEvent::Open { protocol } => {
            set(&detail, "protocol", protocol);
            emit(callback, "open", detail.into());
        }
        ConnectionEvent::Message(Message::Text(text)) => {
            emit(callback, "message", JsValue::from_str(&text))
        }
        ConnectionEvent::Message(Message::Binary(bytes)) => {
            let buffer = js_sys::Uint8Array::from(bytes.as_slice()).buffer();
            emit(callback, "message", buffer.into())
        }
        ConnectionEvent::Reconnecting {
            attempt,
            delay,
            last_close,
        } => {
            let close = &last_close.close;
            let detail = options::close_to_js(close.code, &close.reason, close.was_clean);
            set(&detail, "wasOpen", last_close.was_open);
            set(&detail, "attempt", attempt);
            set(&detail, "delay", millis(delay));
            emit(callback, "reconnecting", detail.into());
        }
        ConnectionEvent::WaitingForNetwork => emit(callback, "offline", detail.into()),
        ConnectionEvent::Rtt(rtt) => emit(callback, "rtt", JsValue::from_f64(millis(rtt))),
        ConnectionEvent::Closed {
            reason,
            unsent,
            close,
        } => {
            let detail = match &close {
                Some(c) => options::close_to_js(c.code, &c.reason, c.was_clean),
                None => Object::new(),
            };
            let why = match reason {
                StopReason::UserClosed => "user",
                StopReason::Policy(_) => "policy",
                _ => "gave-up",
            };
            set(&detail, "why", why);
            set(&detail, "unsent", unsent as u32);
            emit(callback, "closed", detail.into());
        }
        _ => {}
    }
}

#[wasm_bindgen]
impl Core {
    /// Opens a socket to `url` (a string, or a function returning a string or a promise of
    /// one, called before every attempt). Throws what `new WebSocket` throws for a bad URL
    /// or protocol list, and a `TypeError` naming a bad option.
    #[wasm_bindgen(constructor)]
    pub fn new(
        url: JsValue,
        protocols: JsValue,
        options: JsValue,
        callback: Function,
    ) -> Result<Core, JsValue> {
        let protocols = self::protocols(&protocols)?;
        let (builder, url) = match url.dyn_into::<Function>() {
            Ok(provider) => {
                let protocols = protocols.clone();
                let builder = ReconnectingWebSocket::builder("ws://provider.invalid/")
                    .url_provider(move || {
                        let result = provider.call0(&JsValue::NULL);
                        let protocols = protocols.clone();
                        async move {
                            let value = result.map_err(|e| describe(&e))?;
                            let value = match value.dyn_into::<js_sys::Promise>() {
                                Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise)
                                    .await
                                    .map_err(|e| describe(&e))?,
                                Err(value) => value,
                            };
                            let text = value
                                .as_string()
                                .ok_or("the URL provider returned no string")?;
                            let resolved = url::resolve(&text).map_err(|e| describe(&e))?;
                            Ok::<_, String>(Endpoint::new(resolved).protocols(protocols))
                        }
                    });
                (builder, String::new())
            }
            Err(url) => {
                let text = String::from(js_sys::JsString::from(url));
                let resolved = url::resolve(&text)?;
                (
                    ReconnectingWebSocket::builder(resolved.clone()).protocols(protocols),
                    resolved,
                )
            }
        };
        let ws = options::apply(builder, &options)?
            .messages_as_events(true)
            .open()
            .map_err(to_js)?;
        let mut events = ws.events();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                dispatch(&callback, event);
            }
        });
        Ok(Core { ws, url })
    }

    /// Sends text; returns "written", "queued" or "dropped" (overflow "drop-newest").
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&self, text: String) -> Result<String, JsValue> {
        self.send(Message::Text(text))
    }

    /// Sends bytes; returns like `sendText`.
    #[wasm_bindgen(js_name = sendBytes)]
    pub fn send_bytes(&self, bytes: Vec<u8>) -> Result<String, JsValue> {
        self.send(Message::Binary(bytes))
    }

    fn send(&self, message: Message) -> Result<String, JsValue> {
        Ok(match self.ws.send(message).map_err(to_js)? {
            SendOutcome::Written => "written",
            SendOutcome::Queued { .. } => "queued",
            _ => "dropped",
        }
        .into())
    }

    /// Closes for good. Throws `InvalidAccessError` for a code other than 1000 or
    /// 3000–4999 and `SyntaxError` for a reason over 123 bytes, as `WebSocket.close` does.
    pub fn close(&self, code: Option<f64>, reason: Option<String>) -> Result<(), JsValue> {
        let code = match code {
            // WebIDL [Clamp] unsigned short.
            Some(c) => {
                let clamped = if c.is_nan() {
                    0.0
                } else {
                    c.round().clamp(0.0, 65535.0)
                };
                CloseCode::new(clamped as u16).map_err(|_| {
                    dom(
                        "InvalidAccessError",
                        &format!("The close code must be either 1000, or between 3000 and 4999. {} is neither.", clamped as u32),
                    )
                })?
            }
            // No code and no reason: no status code, as `WebSocket.close()` sends.
            None if reason.is_none() => {
                self.ws.close_without_status();
                return Ok(());
            }
            None => CloseCode::NORMAL,
        };
        self.ws
            .close_with(code, reason.as_deref().unwrap_or(""))
            .map_err(to_js)
    }

    /// Drops the current connection and dials at once (also after giving up).
    pub fn reconnect(&self) {
        self.ws.reconnect();
    }

    /// 0 connecting (or waiting to retry), 1 open, 2 closing, 3 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.ws.ready_state() as u16
    }

    /// The negotiated subprotocol of the current connection.
    #[wasm_bindgen(getter)]
    pub fn protocol(&self) -> String {
        self.ws.protocol()
    }

    /// The negotiated extensions of the current connection.
    #[wasm_bindgen(getter)]
    pub fn extensions(&self) -> String {
        self.ws.extensions()
    }

    /// The URL as resolved (empty with a URL provider).
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Bytes the open socket hasn't sent yet, plus bytes queued while down.
    #[wasm_bindgen(getter, js_name = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        f64::from(self.ws.buffered_amount()) + self.ws.queued_bytes() as f64
    }

    /// Retries since the last stable connection.
    #[wasm_bindgen(getter, js_name = retryCount)]
    pub fn retry_count(&self) -> u32 {
        self.ws.attempt()
    }

    /// The last heartbeat round trip in ms, if any.
    #[wasm_bindgen(getter)]
    pub fn rtt(&self) -> Option<f64> {
        self.ws.rtt().map(millis)
    }
}

fn describe(err: &JsValue) -> String {
    Reflect::get(err, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "the URL provider failed".into())
}
