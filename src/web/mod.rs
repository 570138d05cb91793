//! The browser driver (wasm32 only): owns the `web_sys::WebSocket`, its listeners and
//! timers, and turns callbacks into state that the public types poll.

mod conn;
mod listener;
mod reconnect;

pub(crate) use conn::{Conn, Delay, Subscription, WeakConn};
pub(crate) use reconnect::Reconnecting;
