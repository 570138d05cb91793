//! The minimal reconnecting chat: a status badge, the last message received, a send button.
//! Its twin on leptos-use is `../leptos-use`; scripts/bench-size builds both.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use ws_tether_leptos::{use_reconnecting_websocket, Message, Status};

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let (last, set_last) = signal(String::new());
    let ws = use_reconnecting_websocket("/echo", move |message| {
        if let Message::Text(text) = message {
            set_last.set(text);
        }
    });
    let status = move || match ws.status.get() {
        Status::Open => "open",
        Status::Closed { .. } | Status::Failed(_) => "closed",
        _ => "connecting",
    };
    view! {
        <p>{status}</p>
        <button on:click=move |_| drop(ws.send("hello"))>"Send"</button>
        <p>{last}</p>
    }
}
