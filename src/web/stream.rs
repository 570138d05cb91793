//! The `WebSocketStream` transport of a [`Conn`](super::Conn) (Chromium today): our own
//! bindings (web-sys has none), and the one task per connection that turns its promises
//! into the same calls the `WebSocket` listeners make. The readable side is read only when
//! the consumer asks for a message, one `read()` at a time: a consumer that stops polling
//! stops the browser from reading the socket. Never touches the `WebSocket` path.

use super::conn::{self, Shared};
use crate::{CloseInfo, Error, Message};
use js_sys::{Promise, Reflect};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `new WebSocketStream(url, { protocols })`.
    #[derive(Debug, Clone)]
    pub(crate) type WebSocketStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(url: &str, options: &JsValue) -> Result<WebSocketStream, JsValue>;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn url(this: &WebSocketStream) -> String;
    #[wasm_bindgen(method, getter)]
    fn opened(this: &WebSocketStream) -> Promise;
    #[wasm_bindgen(method, getter)]
    fn closed(this: &WebSocketStream) -> Promise;
    #[wasm_bindgen(method, catch, js_name = close)]
    fn close_with(this: &WebSocketStream, info: &JsValue) -> Result<(), JsValue>;

    /// What `opened` resolves with.
    type OpenInfo;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &OpenInfo) -> Readable;
    #[wasm_bindgen(method, getter)]
    fn writable(this: &OpenInfo) -> Writable;
    #[wasm_bindgen(method, getter)]
    fn protocol(this: &OpenInfo) -> String;
    #[wasm_bindgen(method, getter)]
    fn extensions(this: &OpenInfo) -> String;

    type Readable;
    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn get_reader(this: &Readable) -> Result<Reader, JsValue>;
    type Reader;
    #[wasm_bindgen(method)]
    fn read(this: &Reader) -> Promise;

    type Writable;
    #[wasm_bindgen(method, catch, js_name = getWriter)]
    fn get_writer(this: &Writable) -> Result<Writer, JsValue>;
    /// The writable side's writer; each `write` settles once the browser took the message.
    #[derive(Debug)]
    pub(crate) type Writer;
    #[wasm_bindgen(method)]
    fn write(this: &Writer, chunk: &JsValue) -> Promise;
}

/// What only the `WebSocketStream` transport keeps in a connection's state.
#[derive(Default)]
pub(crate) struct StreamState {
    pub(crate) writer: Option<Writer>,
    pub(crate) protocol: String,
    pub(crate) extensions: String,
    /// Writes whose promise hasn't settled, oldest first (they settle in order), with their
    /// sizes: the stream's stand-in for `bufferedAmount`.
    writes: VecDeque<(JsFuture, u32)>,
    pub(crate) unsent: u32,
    /// The consumer polled with an empty inbox: the task may read one message.
    pub(crate) demand: bool,
    /// Nobody reads the stream and its owner asked not to read ahead (the reconnecting
    /// driver, whose inbox is full).
    pub(crate) read_paused: bool,
    pub(crate) reader_waker: Option<Waker>,
}

impl StreamState {
    /// Hands `message` to the writer (the connection is open).
    pub(crate) fn write(&mut self, message: &Message) -> Result<(), Error> {
        let Some(writer) = &self.writer else {
            return Err(Error::NotOpen);
        };
        let (chunk, len) = match message {
            Message::Text(text) => (JsValue::from_str(text), text.len()),
            Message::Binary(bytes) => (js_sys::Uint8Array::from(&bytes[..]).into(), bytes.len()),
        };
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        // Rejected only once the connection is failing; its close says why.
        self.writes
            .push_back((JsFuture::from(writer.write(&chunk)), len));
        self.unsent = self.unsent.saturating_add(len);
        Ok(())
    }

    /// Forgets the writes that have settled; `cx` is woken when the oldest one does.
    pub(crate) fn settle_writes(&mut self, cx: &mut Context<'_>) {
        while let Some((write, len)) = self.writes.front_mut() {
            if Pin::new(write).poll(cx).is_pending() {
                return;
            }
            self.unsent = self.unsent.saturating_sub(*len);
            self.writes.pop_front();
        }
    }
}

/// Whether this page has `WebSocketStream` (Chromium 124+; not Firefox or WebKit today).
pub(crate) fn available() -> bool {
    Reflect::has(&js_sys::global(), &JsValue::from_str("WebSocketStream")).unwrap_or(false)
}

/// Starts the handshake; errors as `new WebSocket` would throw them.
pub(crate) fn open(url: &str, protocols: &[String]) -> Result<WebSocketStream, JsValue> {
    let options = js_sys::Object::new();
    if !protocols.is_empty() {
        let list: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
        Reflect::set(&options, &JsValue::from_str("protocols"), &list)?;
    }
    WebSocketStream::new(url, &options)
}

/// `close({ closeCode, reason })`; no code sends none (the peer sees 1005).
pub(crate) fn close(stream: &WebSocketStream, code: Option<u16>, reason: &str) {
    let info = js_sys::Object::new();
    if let Some(code) = code {
        let _ = Reflect::set(&info, &"closeCode".into(), &JsValue::from(code));
        let _ = Reflect::set(&info, &"reason".into(), &JsValue::from_str(reason));
    }
    // Code and reason were validated by the caller; closing twice is a no-op.
    let _ = stream.close_with(&info);
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// How the connection ended, from `closed` (resolved: a clean close) or its rejection (a
/// `WebSocketError`, whose `closeCode` is 1006 when the connection was lost).
fn close_info(result: Result<JsValue, JsValue>) -> (CloseInfo, bool) {
    let (value, was_clean) = match result {
        Ok(value) => (value, true),
        Err(error) => (error, false),
    };
    let code = get(&value, "closeCode").as_f64().map_or(1006, |c| c as u16);
    let reason = get(&value, "reason").as_string().unwrap_or_default();
    let info = CloseInfo {
        code,
        reason,
        was_clean,
    }
    .standard();
    (info, !was_clean)
}

/// A chunk of the readable side: a string for text, an `ArrayBuffer` (or a view) for binary.
fn message(chunk: JsValue) -> Message {
    match chunk.as_string() {
        Some(text) => Message::Text(text),
        None => Message::Binary(js_sys::Uint8Array::new(&chunk).to_vec()),
    }
}

/// Counts the task among the live listeners (it holds the stream's promise reactions, as
/// the four listeners hold the `WebSocket`'s callbacks) until it ends or is dropped.
struct Live;

impl Live {
    fn new() -> Live {
        super::live::inc(&super::live::LISTENERS);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        super::live::dec(&super::live::LISTENERS);
    }
}

/// Runs one connection: waits for `opened`, then reads whenever the `Conn` asks for a
/// message, until the readable side ends and `closed` has settled. Holds the `Conn` only
/// while polled: once it is dropped (which closes the stream, settling every promise) the
/// task ends at its next wake-up.
pub(crate) async fn run(weak: Weak<Shared>, stream: WebSocketStream) {
    let _live = Live::new();
    // Both handlers attach now, so neither promise's rejection goes unhandled.
    let opened = JsFuture::from(stream.opened());
    let mut closed = JsFuture::from(stream.closed());
    drop(stream);
    let parts = opened.await.ok().and_then(|info| {
        let info: OpenInfo = info.unchecked_into();
        let reader = info.readable().get_reader().ok()?;
        let writer = info.writable().get_writer().ok()?;
        Some((reader, writer, info.protocol(), info.extensions()))
    });
    let Some(shared) = weak.upgrade() else { return };
    let Some((reader, writer, protocol, extensions)) = parts else {
        // The handshake failed (or was cancelled by a close): `error`, then close 1006.
        conn::on_error(&shared);
        return;
    };
    conn::on_stream_open(&shared, writer, protocol, extensions);
    drop(shared);

    let mut read: Option<JsFuture> = None;
    let mut reader_done = false;
    let mut ended: Option<(CloseInfo, bool)> = None;
    std::future::poll_fn(|cx: &mut Context<'_>| loop {
        let Some(shared) = weak.upgrade() else {
            return Poll::Ready(());
        };
        if ended.is_none() {
            if let Poll::Ready(result) = Pin::new(&mut closed).poll(cx) {
                ended = Some(close_info(result));
            }
        }
        if reader_done {
            // The readable side ends before `closed` settles or right after; messages
            // read before it are all delivered, so the close comes after them, as with
            // the `WebSocket` listeners.
            return match ended.take() {
                Some((info, errored)) => {
                    if errored {
                        conn::on_error(&shared);
                    }
                    conn::finish(&shared, info);
                    Poll::Ready(())
                }
                None => Poll::Pending,
            };
        }
        let pending = match &mut read {
            Some(pending) => pending,
            // After the close, drain what the stream still holds without waiting for the
            // consumer: nothing more can arrive, and the close must come after it.
            None if ended.is_some() || conn::wants_message(&shared, cx) => {
                read.insert(JsFuture::from(reader.read()))
            }
            None => return Poll::Pending,
        };
        let Poll::Ready(result) = Pin::new(pending).poll(cx) else {
            return Poll::Pending;
        };
        read = None;
        match result {
            Ok(chunk) if !get(&chunk, "done").is_truthy() => {
                conn::deliver(&shared, message(get(&chunk, "value")));
            }
            // Done, or errored by a failed connection: either way no message follows.
            _ => reader_done = true,
        }
    })
    .await;
}
