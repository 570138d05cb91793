//! The one task per socket. The socket is opened with `messages_as_events`, so a single
//! stream carries every message and every connection event in the order they happened:
//! messages go to the component's callback, the rest to its status. The task holds the
//! socket weakly; once the hook drops it, the task ends without calling anything again,
//! even with events still buffered.

use crate::Status;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Weak;
use ws_tether::{ConnectionEvent, ConnectionEvents, Message, ReconnectingWebSocket, Stream};

/// Runs until the socket is dropped, or closed by the user (the stream then ends).
pub(crate) async fn pump(
    socket: Weak<ReconnectingWebSocket>,
    mut events: ConnectionEvents,
    on_message: impl Fn(Message),
    on_status: impl Fn(Status),
) {
    while let Some(event) = poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await {
        if socket.strong_count() == 0 {
            return;
        }
        match event {
            ConnectionEvent::Message(message) => on_message(message),
            event => {
                if let Some(status) = Status::after(event) {
                    on_status(status);
                }
            }
        }
    }
}
