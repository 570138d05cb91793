//! The browser driver (wasm32 only): owns the `web_sys::WebSocket`, its listeners and
//! timers, and turns callbacks into state that the public types poll.

mod conn;
mod driven;
mod listener;
mod reconnect;
mod scope;
#[cfg(feature = "share")]
mod share;
// Without the `receive-backpressure` feature nothing opens a `WebSocketStream`.
#[cfg_attr(not(feature = "receive-backpressure"), allow(dead_code))]
mod stream;
mod url;

pub(crate) use conn::{Conn, Delay, Subscription, WeakConn};
pub(crate) use reconnect::Reconnecting;
pub(crate) use url::resolve_url;

/// Live counts of what the driver holds, for leak tests: listeners (each owns one JS
/// closure; a `WebSocketStream` connection's task counts as one), sockets and timer tasks.
pub(crate) mod live {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static LISTENERS: Cell<usize> = const { Cell::new(0) };
        pub(crate) static SOCKETS: Cell<usize> = const { Cell::new(0) };
        pub(crate) static TIMERS: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn inc(counter: &'static std::thread::LocalKey<Cell<usize>>) {
        counter.with(|c| c.set(c.get() + 1));
    }

    pub(crate) fn dec(counter: &'static std::thread::LocalKey<Cell<usize>>) {
        counter.with(|c| c.set(c.get().saturating_sub(1)));
    }
}
