//! The one task per socket. The socket is opened with `messages_as_events`, so a single
//! stream carries every message and every connection event in the order they happened:
//! messages go to the component's callback, the rest to its status, its session, its
//! tracked sends and its `on_open` / `on_event`. Before each event the task checks that the
//! hook still holds this socket; once it let go (unmounted, a new URL), the task ends
//! without calling anything again, even with events still buffered.

use crate::connection::{Connection, Inner, Update};
use crate::Session;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use ws_tether::{ConnectionEvent, ConnectionEvents, ConnectionStatus, Resume, Stream};

/// Runs until the hook lets go of socket number `opened`, or the stream ends.
pub(crate) async fn pump(mut events: ConnectionEvents, hook: Weak<Inner>, opened: u64) {
    let mut pump = Pump {
        session: Session::New,
        lost_this_attempt: false,
    };
    let mut next = None;
    loop {
        let event = match next.take() {
            Some(event) => event,
            None => match poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await {
                Some(event) => event,
                None => return,
            },
        };
        let Some(inner) = hook.upgrade().filter(|inner| inner.is_current(opened)) else {
            return;
        };
        let open = matches!(event, ConnectionEvent::Open { .. });
        pump.handle(&inner, event);
        if open {
            // With resume the session's outcome comes right after `Open`, in the same step:
            // take it first, so that `on_open` knows whether the session is new.
            if Resume::AVAILABLE {
                let mut cx = Context::from_waker(Waker::noop());
                match Pin::new(&mut events).poll_next(&mut cx) {
                    Poll::Ready(Some(event @ ConnectionEvent::Resumed { .. }))
                    | Poll::Ready(Some(event @ ConnectionEvent::SessionLost { .. })) => {
                        pump.handle(&inner, event);
                    }
                    Poll::Ready(Some(event)) => next = Some(event),
                    _ => {}
                }
            }
            if let Some(on_open) = inner.on_open() {
                on_open(&Connection(Rc::clone(&inner)), &pump.session);
            }
        }
    }
}

struct Pump {
    /// The socket's session, as last told to the component.
    session: Session,
    /// A session was lost since the last dial: a `Resumed` right after it (a resume with a
    /// gap) doesn't hide it.
    lost_this_attempt: bool,
}

impl Pump {
    fn handle(&mut self, inner: &Rc<Inner>, event: ConnectionEvent) {
        let event = match event {
            ConnectionEvent::Message(message) => {
                // Cloned out first: the callback may render, and a render writes the hook.
                if let Some(on_message) = inner.on_message() {
                    on_message(message);
                }
                return;
            }
            event => event,
        };
        match &event {
            ConnectionEvent::Connecting { .. } => self.lost_this_attempt = false,
            // Only with resume (`Resume::AVAILABLE`: these arms compile out without it).
            ConnectionEvent::Resumed { session, resent }
                if Resume::AVAILABLE && !self.lost_this_attempt =>
            {
                self.set_session(
                    inner,
                    Session::Resumed {
                        id: session.clone(),
                        resent: *resent,
                    },
                );
            }
            ConnectionEvent::SessionLost {
                reason,
                missed,
                unconfirmed,
            } if Resume::AVAILABLE => {
                self.lost_this_attempt = true;
                if let Some(tracker) = inner.tracker() {
                    tracker.unconfirmed(unconfirmed.len());
                }
                self.set_session(
                    inner,
                    Session::Lost {
                        reason: reason.clone(),
                        missed: *missed,
                        unconfirmed: unconfirmed.clone(),
                    },
                );
            }
            ConnectionEvent::Closed { unsent, .. } => {
                if let Some(tracker) = inner.tracker() {
                    tracker.stopped(*unsent);
                }
            }
            _ => {}
        }
        if let Some(on_event) = inner.on_event() {
            on_event(&event);
        }
        if let Some(status) = ConnectionStatus::after(event) {
            inner.notify(Update::Status(status));
        }
    }

    fn set_session(&mut self, inner: &Inner, session: Session) {
        self.session = session.clone();
        inner.notify(Update::Session(session));
    }
}
