//! The non-wasm stand-in for the browser driver: the types exist so that code depending on
//! this crate (e.g. server-side rendering of a Yew or Leptos app) compiles, and opening a
//! socket returns [`Error::Unsupported`]. No value of these types can exist.

use crate::core::machine::ConnectionEvent;
use crate::core::policy::Config;
use crate::core::queue::SendOutcome;
use crate::reconnecting::{Accept, EndpointSource};
use crate::socket::Writable;
use crate::{CloseCode, CloseInfo, Error, Event, Message, ReadyState};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum Void {}

/// Makes a stand-in `!Send` and `!Sync`, as the browser types it stands for are (they hold
/// `Rc`s and JavaScript objects): code that compiles here compiles on wasm32 too.
type NotSend = PhantomData<Rc<()>>;

/// Checks the URL without a browser (relative URLs can't be resolved here).
pub(crate) fn resolve_url(url: &str) -> Result<String, Error> {
    crate::core::validate::check_url(url)?;
    Ok(url.to_owned())
}

#[derive(Debug, Clone)]
pub(crate) struct Conn(Void, NotSend);

#[derive(Debug, Clone)]
pub(crate) struct WeakConn(Void, NotSend);

#[derive(Debug)]
pub(crate) struct Subscription<T>(Void, PhantomData<T>, NotSend);

#[derive(Debug)]
pub(crate) struct Delay(Void, NotSend);

impl Conn {
    pub(crate) fn open(
        _url: &str,
        _protocols: &[String],
        _high_water: u32,
        _backpressure: bool,
    ) -> Result<Conn, Error> {
        Err(Error::Unsupported)
    }
    pub(crate) fn reads_with_backpressure(&self) -> bool {
        match self.0 {}
    }
    pub(crate) fn poll_opened(&self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.0 {}
    }
    pub(crate) fn ready_state(&self) -> ReadyState {
        match self.0 {}
    }
    pub(crate) fn protocol(&self) -> String {
        match self.0 {}
    }
    pub(crate) fn url(&self) -> String {
        match self.0 {}
    }
    pub(crate) fn extensions(&self) -> String {
        match self.0 {}
    }
    pub(crate) fn buffered_amount(&self) -> u32 {
        match self.0 {}
    }
    pub(crate) fn subscribe_events(&self) -> Subscription<Event> {
        match self.0 {}
    }
    pub(crate) fn subscribe_states(&self) -> Subscription<ReadyState> {
        match self.0 {}
    }
    pub(crate) fn close(&self, _code: Option<CloseCode>, _reason: &str) {
        match self.0 {}
    }
    pub(crate) fn poll_closed(&self, _cx: &mut Context<'_>) -> Poll<CloseInfo> {
        match self.0 {}
    }
    pub(crate) fn send(&self, _message: &Message) -> Result<(), Error> {
        match self.0 {}
    }
    pub(crate) fn poll_writable(&self, _cx: &mut Context<'_>) -> Writable {
        match self.0 {}
    }
    pub(crate) fn poll_message(
        &self,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        match self.0 {}
    }
    pub(crate) fn receiver_dropped(&self) {
        match self.0 {}
    }
    pub(crate) fn downgrade(&self) -> WeakConn {
        match self.0 {}
    }
    pub(crate) fn backpressure_delay(&self) -> Delay {
        match self.0 {}
    }
}

impl WeakConn {
    pub(crate) fn upgrade(&self) -> Option<Conn> {
        match self.0 {}
    }
}

impl<T> Subscription<T> {
    pub(crate) fn poll_next(&mut self, _cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.0 {}
    }
}

impl Future for Delay {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        match self.0 {}
    }
}

#[derive(Debug)]
pub(crate) struct Reconnecting(Void, NotSend);

impl Reconnecting {
    pub(crate) fn start(
        _: EndpointSource,
        _: Option<crate::handshake::HookFn>,
        _: u32,
        _: bool,
        _: bool,
        _: Option<String>,
        _: Config,
    ) -> Result<Reconnecting, Error> {
        Err(Error::Unsupported)
    }
    pub(crate) fn send(&self, _message: Message) -> Result<SendOutcome, Error> {
        match self.0 {}
    }
    pub(crate) fn poll_accept(&self, _len: usize, _cx: &mut Context<'_>) -> Accept {
        match self.0 {}
    }
    pub(crate) fn poll_message(&self, _cx: &mut Context<'_>) -> Poll<Option<Message>> {
        match self.0 {}
    }
    pub(crate) fn subscribe(&self) -> Subscription<ConnectionEvent> {
        match self.0 {}
    }
    pub(crate) fn ready_state(&self) -> ReadyState {
        match self.0 {}
    }
    pub(crate) fn attempt(&self) -> u32 {
        match self.0 {}
    }
    pub(crate) fn rtt(&self) -> Option<Duration> {
        match self.0 {}
    }
    pub(crate) fn queued_bytes(&self) -> usize {
        match self.0 {}
    }
    pub(crate) fn poll_acked(&self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Err(Error::Unsupported))
    }
    pub(crate) fn resumes(&self) -> bool {
        match self.0 {}
    }
    pub(crate) fn is_finished(&self) -> bool {
        match self.0 {}
    }
    pub(crate) fn is_stopped(&self) -> bool {
        match self.0 {}
    }
    pub(crate) fn status(&self) -> crate::ConnectionStatus {
        match self.0 {}
    }
    pub(crate) fn extensions(&self) -> String {
        match self.0 {}
    }
    pub(crate) fn poll_finished(&self, _cx: &mut Context<'_>) -> Poll<()> {
        match self.0 {}
    }
    pub(crate) fn protocol(&self) -> String {
        match self.0 {}
    }
    pub(crate) fn buffered_amount(&self) -> u32 {
        match self.0 {}
    }
    pub(crate) fn close(&self, _code: Option<CloseCode>, _reason: &str) {
        match self.0 {}
    }
    pub(crate) fn reconnect(&self) {
        match self.0 {}
    }
    pub(crate) fn backpressure_delay(&self) -> Delay {
        match self.0 {}
    }
    pub(crate) fn reads_with_backpressure(&self) -> bool {
        match self.0 {}
    }
    #[cfg(feature = "share")]
    pub(crate) fn holder(&self) -> Option<crate::Holder> {
        match self.0 {}
    }
    pub(crate) fn receiver_dropped(&self) {
        match self.0 {}
    }
}
