//! The reconnecting socket's two halves after `split()`: a cloneable handle (send, close,
//! reconnect, status, events; a `Sink`) and the receiving `Stream`. Both share the one
//! driver; the last of them to go closes the connection.

use crate::core::close::check_reason;
use crate::core::queue::SendOutcome;
use crate::reconnecting::{Accept, ConnectionEvents};
use crate::{sys, CloseCode, ConnectionStatus, Error, Message, ReadyState};
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The two halves over one driver.
pub(crate) fn halves(inner: sys::Reconnecting) -> (ReconnectingHandle, ReconnectingReceiver) {
    let inner = Rc::new(inner);
    let handle = ReconnectingHandle {
        inner: Rc::clone(&inner),
        slot: None,
        wait: None,
    };
    (handle, ReconnectingReceiver { inner })
}

/// The sending and controlling half of a [`ReconnectingWebSocket`](crate::ReconnectingWebSocket),
/// from [`split`](crate::ReconnectingWebSocket::split). Cloning it is cheap, and every clone
/// acts on the same connection: keep one in each component or task that sends.
///
/// It is also a `Sink<Message>`, with the socket's backpressure; each clone is its own sink
/// (a message a clone's sink holds isn't visible to the others). `SinkExt::close` on any of
/// them closes the connection for good.
#[derive(Debug)]
pub struct ReconnectingHandle {
    inner: Rc<sys::Reconnecting>,
    /// The message `start_send` took, until the core accepts it.
    slot: Option<Message>,
    wait: Option<sys::Delay>,
}

impl Clone for ReconnectingHandle {
    /// Another handle to the same connection, with an empty sink.
    fn clone(&self) -> Self {
        ReconnectingHandle {
            inner: Rc::clone(&self.inner),
            slot: None,
            wait: None,
        }
    }
}

impl ReconnectingHandle {
    /// As [`ReconnectingWebSocket::send`](crate::ReconnectingWebSocket::send): writes if
    /// open, otherwise queues; never drops a message without saying so.
    pub fn send(&self, message: Message) -> Result<SendOutcome, Error> {
        self.inner.send(message)
    }

    /// A stream of [`ConnectionEvent`](crate::ConnectionEvent)s from now on.
    pub fn events(&self) -> ConnectionEvents {
        ConnectionEvents(self.inner.subscribe())
    }

    /// Where the connection is now (see
    /// [`ReconnectingWebSocket::status`](crate::ReconnectingWebSocket::status)).
    pub fn status(&self) -> ConnectionStatus {
        self.inner.status()
    }

    /// `Open` while connected; `Connecting` while dialling or waiting to retry; `Closed` once
    /// closed for good.
    pub fn ready_state(&self) -> ReadyState {
        self.inner.ready_state()
    }

    /// Retries since the last stable connection (0 while the first attempt runs).
    pub fn attempt(&self) -> u32 {
        self.inner.attempt()
    }

    /// The last heartbeat round-trip time, if the heartbeat is on and was answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.inner.rtt()
    }

    /// Bytes waiting in the send queue.
    pub fn queued_bytes(&self) -> usize {
        self.inner.queued_bytes()
    }

    /// Whether [`resume`](crate::ReconnectingBuilder::resume) is on: the server then
    /// acknowledges what it received, and the `Sink`'s `poll_flush` waits for it.
    pub fn resumes(&self) -> bool {
        // Constant without the `resume` feature: what a caller does with resume compiles out.
        cfg!(any(feature = "resume", test)) && self.inner.resumes()
    }

    /// The subprotocol of the last connection that opened (empty if none).
    pub fn protocol(&self) -> String {
        self.inner.protocol()
    }

    /// The extensions of the last connection that opened (empty if none).
    pub fn extensions(&self) -> String {
        self.inner.extensions()
    }

    /// Bytes the socket holds but hasn't sent yet, also while it closes after
    /// [`close`](crate::ReconnectingWebSocket::close) (0 between connections). With
    /// [`resume`](crate::ReconnectingBuilder::resume), instead, the bytes of every message
    /// the server has not acknowledged yet, connected or not: a new connection sends them
    /// again. Queued messages are counted apart:
    /// [`queued_bytes`](crate::ReconnectingWebSocket::queued_bytes) (the npm package's
    /// `bufferedAmount` is the sum of both).
    pub fn buffered_amount(&self) -> u32 {
        self.inner.buffered_amount()
    }

    /// Whether connections read through `WebSocketStream`, pausing while the stream is not
    /// polled (see [`ReconnectingWebSocket::reads_with_backpressure`](crate::ReconnectingWebSocket::reads_with_backpressure)).
    pub fn reads_with_backpressure(&self) -> bool {
        self.inner.reads_with_backpressure()
    }

    /// A shared socket: which socket holds the connection (see
    /// [`ReconnectingWebSocket::holder`](crate::ReconnectingWebSocket::holder)).
    #[cfg(feature = "share")]
    #[cfg_attr(docsrs, doc(cfg(feature = "share")))]
    pub fn holder(&self) -> Option<crate::Holder> {
        self.inner.holder()
    }

    /// Closes for good with 1000 (see
    /// [`ReconnectingWebSocket::close`](crate::ReconnectingWebSocket::close)).
    pub fn close(&self) {
        self.inner.close(Some(CloseCode::NORMAL), "");
    }

    /// Closes for good with this code and reason (at most 123 bytes of UTF-8).
    pub fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        check_reason(reason)?;
        self.inner.close(Some(code), reason);
        Ok(())
    }

    /// Closes for good sending no status code: the peer sees 1005.
    pub fn close_without_status(&self) {
        self.inner.close(None, "");
    }

    /// Drops the current connection (if any) and dials at once with the backoff reset; also
    /// restarts after the policy gave up. Does nothing after a `close`.
    pub fn reconnect(&self) {
        self.inner.reconnect();
    }

    /// Hands the slot's message to the core once it can take it without an error or a drop.
    fn poll_slot(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            let Some(message) = self.slot.as_ref() else {
                return Poll::Ready(Ok(()));
            };
            match self.inner.poll_accept(message.len(), cx) {
                Accept::Yes => {
                    self.wait = None;
                    if let Some(message) = self.slot.take() {
                        // Accepted without a drop: `Written` or `Queued { dropped: 0 }`.
                        let _ = self.inner.send(message)?;
                    }
                    return Poll::Ready(Ok(()));
                }
                Accept::Stopped => return Poll::Ready(Err(Error::Stopped)),
                Accept::Wait => return Poll::Pending,
                Accept::Full => {
                    let inner = &self.inner;
                    let wait = self.wait.get_or_insert_with(|| inner.backpressure_delay());
                    if Pin::new(wait).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.wait = None;
                }
            }
        }
    }
}

impl Sink<Message> for ReconnectingHandle {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match this.poll_slot(cx) {
            Poll::Ready(Ok(())) if this.inner.is_stopped() => Poll::Ready(Err(Error::Stopped)),
            other => other,
        }
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        let this = self.get_mut();
        if this.inner.is_stopped() {
            return Err(Error::Stopped);
        }
        this.slot = Some(item);
        Ok(())
    }

    /// Hands over the last message; with resume, then waits until the server acknowledged
    /// everything sent (`Err(Stopped)` if the socket stops first).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        match this.poll_slot(cx) {
            Poll::Ready(Ok(())) => this.inner.poll_acked(cx),
            other => other,
        }
    }

    /// Hands over the last message, closes for good with 1000 and resolves once closed.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let flushed = match this.poll_slot(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(flushed) => flushed,
        };
        this.inner.close(Some(CloseCode::NORMAL), "");
        this.inner.poll_finished(cx).map(|()| flushed)
    }
}

/// The receiving half of a [`ReconnectingWebSocket`](crate::ReconnectingWebSocket), from
/// [`split`](crate::ReconnectingWebSocket::split): every message from every connection, in
/// order, ending as the socket's own `Stream` does. Dropping it discards the messages that
/// arrive from then on.
#[derive(Debug)]
pub struct ReconnectingReceiver {
    inner: Rc<sys::Reconnecting>,
}

impl Stream for ReconnectingReceiver {
    type Item = Message;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.inner.poll_message(cx)
    }
}

impl FusedStream for ReconnectingReceiver {
    /// True while stopped with nothing left to read; `reconnect()` after giving up makes it
    /// false again.
    fn is_terminated(&self) -> bool {
        self.inner.is_finished()
    }
}

impl Drop for ReconnectingReceiver {
    fn drop(&mut self) {
        // Nobody will read: stop buffering messages for the stream.
        self.inner.receiver_dropped();
    }
}
