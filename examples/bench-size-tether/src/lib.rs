//! Connects, sends one text message and returns its echo: the least an app does with the
//! socket. Built by scripts/bench-size like its gloo-net twin.
#![cfg(target_arch = "wasm32")]

use futures_util::{SinkExt, StreamExt};
use wasm_bindgen::prelude::*;
use ws_tether::{Message, WebSocket};

#[wasm_bindgen]
pub async fn echo(url: String, text: String) -> Option<String> {
    let mut ws = WebSocket::connect(url).await.ok()?;
    ws.send(Message::Text(text)).await.ok()?;
    match ws.next().await? {
        Ok(Message::Text(reply)) => Some(reply),
        _ => None,
    }
}
