//! The minimal reconnecting chat: a status badge, the last message received, a send button.
//! Its twin on yew-hooks is `../yew-hooks`; scripts/bench-size builds both.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::*;
use ws_tether_yew::{use_reconnecting_websocket, Message, Status};
use yew::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<App>::new().render();
}

#[function_component]
fn App() -> Html {
    let last = use_state(String::new);
    let set_last = last.setter();
    let ws = use_reconnecting_websocket("/echo", move |message| {
        if let Message::Text(text) = message {
            set_last.set(text);
        }
    });
    let status = match ws.status {
        Status::Open => "open",
        Status::Closed { .. } | Status::Failed(_) => "closed",
        _ => "connecting",
    };
    let send = {
        let ws = ws.clone();
        Callback::from(move |_| drop(ws.send("hello")))
    };
    html! {
        <>
            <p>{status}</p>
            <button onclick={send}>{"Send"}</button>
            <p>{(*last).clone()}</p>
        </>
    }
}
