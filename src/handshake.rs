//! The handshake hook's handle: what a protocol's per-connection handshake (auth,
//! `connection_init`/`connection_ack`, resubscribing) uses to talk on a connection that is
//! open but not yet shown to the application. Platform-neutral: the driver supplies the
//! writer and feeds the inbox.

use crate::{Error, Message};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

type HookFuture = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// The user's hook, type-erased: its error is already a message.
#[derive(Clone)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) struct HookFn(
    pub(crate) Rc<dyn Fn(Handshake) -> HookFuture>,
    /// Without the `handshake` feature there is no hook (see [`Off`](crate::core::Off)).
    #[cfg(not(any(feature = "handshake", test)))]
    pub(crate) crate::core::Off,
);

impl fmt::Debug for HookFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookFn(..)")
    }
}
type WriteFn = Rc<dyn Fn(&Message) -> Result<(), Error>>;

/// What the driver and the hook share for one connection.
#[derive(Default)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) struct HookState {
    /// Messages that arrived for the hook and it hasn't read.
    pub(crate) inbox: VecDeque<Message>,
    /// Messages the hook read and handed back with `keep`.
    pub(crate) kept: Vec<Message>,
    pub(crate) waker: Option<Waker>,
    /// The connection is gone (or the hook was abandoned): nothing more arrives.
    pub(crate) closed: bool,
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl HookState {
    pub(crate) fn push(&mut self, message: Message) {
        self.inbox.push_back(message);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    pub(crate) fn close(&mut self) {
        self.closed = true;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// What the application gets once the hook succeeded: kept, then unread, in order.
    pub(crate) fn leftovers(&mut self) -> Vec<Message> {
        let mut out = std::mem::take(&mut self.kept);
        out.extend(self.inbox.drain(..));
        out
    }
}

/// A connection during its handshake hook (see
/// [`ReconnectingBuilder::handshake`](crate::ReconnectingBuilder::handshake)): open, but
/// not yet open for the application, and nothing queued has been written.
///
/// `send` writes at once; `recv` takes the next message, which the application then never
/// sees, unless the hook hands it back with `keep`. Messages the hook doesn't read are
/// delivered to the application, in order, once the hook succeeds.
pub struct Handshake {
    state: Rc<RefCell<HookState>>,
    write: WriteFn,
}

impl Handshake {
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn new(state: Rc<RefCell<HookState>>, write: WriteFn) -> Handshake {
        Handshake { state, write }
    }

    /// Writes `message` now. [`Error::AlreadyClosed`] once the connection is gone.
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        if self.state.borrow().closed {
            return Err(Error::AlreadyClosed);
        }
        (self.write)(&message.into())
    }

    /// The next message from the server. [`Error::AlreadyClosed`] once the connection is
    /// gone (the attempt then counts as failed anyway).
    pub async fn recv(&mut self) -> Result<Message, Error> {
        std::future::poll_fn(|cx| {
            let mut st = self.state.borrow_mut();
            if let Some(message) = st.inbox.pop_front() {
                return Poll::Ready(Ok(message));
            }
            if st.closed {
                return Poll::Ready(Err(Error::AlreadyClosed));
            }
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Hands a message the hook read back to the application: it is delivered after the
    /// hook succeeds, before the messages the hook didn't read.
    pub fn keep(&mut self, message: Message) {
        self.state.borrow_mut().kept.push(message);
    }
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("Handshake")
            .field("unread", &st.inbox.len())
            .field("closed", &st.closed)
            .finish()
    }
}
