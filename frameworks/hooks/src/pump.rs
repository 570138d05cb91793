//! The one task per socket. The socket is opened with `messages_as_events`, so a single
//! stream carries every message and every connection event in the order they happened:
//! messages go to the component's callback, the rest to its status. The task asks `alive`
//! before each event; once the hook has let go of this socket (unmounted, a new URL), the
//! task ends without calling anything again, even with events still buffered.

use std::future::poll_fn;
use std::pin::Pin;
use ws_tether::ConnectionStatus as Status;
use ws_tether::{ConnectionEvent, ConnectionEvents, Message, Stream};

/// Runs until `alive` says no, or the socket is closed for good by the user or dropped (the
/// stream then ends).
pub async fn pump(
    mut events: ConnectionEvents,
    alive: impl Fn() -> bool,
    on_message: impl Fn(Message),
    on_status: impl Fn(Status),
    on_session: impl Fn(ConnectionEvent),
) {
    while let Some(event) = poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await {
        if !alive() {
            return;
        }
        match event {
            ConnectionEvent::Message(message) => on_message(message),
            event @ (ConnectionEvent::Resumed { .. } | ConnectionEvent::SessionLost { .. }) => {
                on_session(event)
            }
            event => {
                if let Some(status) = Status::after(event) {
                    on_status(status);
                }
            }
        }
    }
}
