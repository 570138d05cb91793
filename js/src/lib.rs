//! JavaScript bindings of ws-tether, built by wasm-pack into the npm package. Kept out of
//! the library crate so Rust users never inherit these exports.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use futures_util::StreamExt;
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use ws_tether::{CloseCode, CloseHandle, Event, Message, WebSocket, WsSender};

/// A single browser connection driven from Rust, reporting every event to a callback.
#[wasm_bindgen]
#[derive(Debug)]
pub struct TetherSocket {
    tx: WsSender,
    close: CloseHandle,
}

fn to_js(err: ws_tether::Error) -> JsValue {
    js_sys::Error::new(&err.to_string()).into()
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a plain property on a fresh object can't fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

fn event_to_js(event: &Event) -> JsValue {
    let obj = Object::new();
    match event {
        Event::Open { protocol } => {
            set(&obj, "type", "open");
            set(&obj, "protocol", protocol.as_str());
        }
        Event::Message(Message::Text(text)) => {
            set(&obj, "type", "message");
            set(&obj, "data", text.as_str());
        }
        Event::Message(Message::Binary(bytes)) => {
            set(&obj, "type", "message");
            set(
                &obj,
                "data",
                js_sys::Uint8Array::from(bytes.as_slice()).buffer(),
            );
        }
        Event::Error => set(&obj, "type", "error"),
        Event::Close(info) => {
            set(&obj, "type", "close");
            set(&obj, "code", info.code);
            set(&obj, "reason", info.reason.as_str());
            set(&obj, "wasClean", info.was_clean);
        }
    }
    obj.into()
}

#[wasm_bindgen]
impl TetherSocket {
    /// Opens a socket to `url`; `on_event` is called with `{type, ...}` for every event.
    /// Throws an `Error` naming what is wrong for an invalid URL or subprotocol list.
    #[wasm_bindgen(constructor)]
    pub fn new(
        url: String,
        protocols: Vec<String>,
        on_event: Function,
    ) -> Result<TetherSocket, JsValue> {
        let ws = WebSocket::builder(url)
            .protocols(protocols)
            .open()
            .map_err(to_js)?;
        let mut events = ws.events();
        let close = ws.close_handle();
        let (tx, mut rx) = ws.split();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                let _ = on_event.call1(&JsValue::NULL, &event_to_js(&event));
            }
        });
        // Messages are reported through the events; keep draining so nothing piles up.
        wasm_bindgen_futures::spawn_local(async move { while rx.next().await.is_some() {} });
        Ok(TetherSocket { tx, close })
    }

    /// Sends a text message; throws if the socket isn't open.
    pub fn send(&self, text: String) -> Result<(), JsValue> {
        self.tx.send_now(&Message::Text(text)).map_err(to_js)
    }

    /// Closes with `code` (1000 or 3000–4999, default 1000) and `reason` (≤ 123 bytes).
    pub fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), JsValue> {
        let code = CloseCode::new(code.unwrap_or(1000)).map_err(to_js)?;
        self.close
            .close_with(code, reason.as_deref().unwrap_or(""))
            .map_err(to_js)
    }

    /// The browser's readyState: 0 connecting, 1 open, 2 closing, 3 closed.
    #[wasm_bindgen(getter, js_name = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.tx.ready_state() as u16
    }
}
