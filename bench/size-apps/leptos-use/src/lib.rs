//! The twin of `../tether-leptos` on leptos-use's `use_websocket` (default options: it
//! reconnects, up to 3 times, every 3 s).
#![cfg(target_arch = "wasm32")]

use codee::string::FromToStringCodec;
use leptos::prelude::*;
use leptos_use_websocket::{use_websocket, ConnectionReadyState, UseWebSocketReturn};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let UseWebSocketReturn {
        ready_state,
        message,
        send,
        ..
    } = use_websocket::<String, String, FromToStringCodec>("/echo");
    let status = move || match ready_state.get() {
        ConnectionReadyState::Open => "open",
        ConnectionReadyState::Closed => "closed",
        _ => "connecting",
    };
    view! {
        <p>{status}</p>
        <button on:click=move |_| send(&"hello".to_owned())>"Send"</button>
        <p>{move || message.get().unwrap_or_default()}</p>
    }
}
