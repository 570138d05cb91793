//! The twin of `../tether-yew` on yew-hooks' `use_websocket` (default options: it
//! reconnects, up to 3 times, every 3 s).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::*;
use yew::prelude::*;
use yew_hooks::{use_websocket, UseWebSocketReadyState};

#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<App>::new().render();
}

#[function_component]
fn App() -> Html {
    let ws = use_websocket("/echo".to_owned());
    let status = match *ws.ready_state {
        UseWebSocketReadyState::Open => "open",
        UseWebSocketReadyState::Closed => "closed",
        _ => "connecting",
    };
    let send = {
        let ws = ws.clone();
        Callback::from(move |_| ws.send("hello".to_owned()))
    };
    html! {
        <>
            <p>{status}</p>
            <button onclick={send}>{"Send"}</button>
            <p>{(*ws.message).clone().unwrap_or_default()}</p>
        </>
    }
}
