//! The gloo-net twin of bench-size-tether: connect, send one text message, return its echo.
#![cfg(target_arch = "wasm32")]

use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub async fn echo(url: String, text: String) -> Option<String> {
    let mut ws = WebSocket::open(&url).ok()?;
    ws.send(Message::Text(text)).await.ok()?;
    match ws.next().await? {
        Ok(Message::Text(reply)) => Some(reply),
        _ => None,
    }
}
