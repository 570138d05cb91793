//! The browser side: the socket, the 10 ms sender, the receiver and the event watcher.

use crate::Sequence;
use futures_util::future::{select, Either};
use futures_util::{SinkExt, StreamExt};
use gloo_timers::callback::Interval;
use gloo_timers::future::TimeoutFuture;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use ws_tether::{
    ConnectionEvent, Endpoint, ExponentialBackoff, Heartbeat, Message, ReadyState,
    ReconnectingHandle, ReconnectingWebSocket, Resume,
};

/// Every soak client, in both APIs, uses these (the page passes the same to the npm
/// package, `www/soak.js`): quick retries, a short connect timeout, and a heartbeat that
/// notices a stopped server (it pushes every 10 ms, so 1 s of silence is a dead peer).
const MIN_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_millis(2000);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(2000);
/// Faults come every second or two: the backoff resets after 1 s up, so each reconnect
/// time is one fault's recovery, not the backoff piled up by the faults before it.
const STABLE_AFTER: Duration = Duration::from_millis(1000);
const SILENCE: Duration = Duration::from_millis(1000);
/// With resume: a ping after 500 ms of silence, dead 500 ms later (1 s in all, as above).
const PING_AFTER: Duration = Duration::from_millis(500);
const PING_TIMEOUT: Duration = Duration::from_millis(500);
const SEND_EVERY_MS: u32 = 10;

#[derive(Debug, Default)]
struct State {
    /// The last number handed to `send` and accepted.
    sent: u64,
    send_errors: u64,
    last_send_error: String,
    incoming: Sequence,
    opens: u64,
    /// Lost connections (a retry was scheduled while we were open).
    reconnects: u64,
    /// When the open connection was lost (`Date.now()`), until the next open.
    down_since: Option<f64>,
    /// Close -> next open, in ms, one per reconnect.
    reconnect_ms: Vec<f64>,
    connected: bool,
    closed_for_good: bool,
    /// Connections that resumed the session.
    resumed: u64,
    sessions_lost: u64,
    other_events: Vec<String>,
}

/// One soak client: sends "1", "2", ... every 10 ms until [`stop`](Self::stop).
#[wasm_bindgen]
#[derive(Debug)]
pub struct SoakClient {
    ws: ReconnectingHandle,
    state: Rc<RefCell<State>>,
    sender: RefCell<Option<Interval>>,
    resume: bool,
}

#[wasm_bindgen]
impl SoakClient {
    /// Starts a client that asks `url()` for the URL before every attempt.
    #[wasm_bindgen(constructor)]
    pub fn new(url: js_sys::Function, resume: bool) -> Result<SoakClient, JsError> {
        let builder = ReconnectingWebSocket::builder("")
            .url_provider(move || {
                let url = url.call0(&JsValue::NULL);
                async move {
                    match url {
                        Ok(v) => v
                            .as_string()
                            .map(Endpoint::new)
                            .ok_or("url() returned no string"),
                        Err(_) => Err("url() threw"),
                    }
                }
            })
            .backoff(ExponentialBackoff::new().min(MIN_DELAY).max(MAX_DELAY))
            .connect_timeout(CONNECT_TIMEOUT)
            .stable_after(STABLE_AFTER);
        // Resume's heartbeat is the protocol's ping; the plain server never answers pings.
        let builder = if resume {
            builder
                .resume(Resume::default())
                .heartbeat(Heartbeat::new(PING_AFTER, PING_TIMEOUT))
        } else {
            builder.heartbeat(Heartbeat::silence(SILENCE))
        };
        let (ws, mut receiver) = builder
            .open()
            .map_err(|e| JsError::new(&e.to_string()))?
            .split();
        let state = Rc::new(RefCell::new(State::default()));

        let st = state.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(message) = receiver.next().await {
                let mut s = st.borrow_mut();
                match &message {
                    Message::Text(text) => s.incoming.record_text(text),
                    Message::Binary(_) => s.incoming.record_text(""),
                }
            }
        });

        let st = state.clone();
        let mut events = ws.events();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                let now = js_sys::Date::now();
                let mut s = st.borrow_mut();
                match event {
                    ConnectionEvent::Open { .. } => {
                        s.opens += 1;
                        s.connected = true;
                        if let Some(since) = s.down_since.take() {
                            s.reconnect_ms.push(now - since);
                        }
                    }
                    ConnectionEvent::Reconnecting { .. }
                    | ConnectionEvent::WaitingForNetwork { .. }
                        if s.connected =>
                    {
                        s.connected = false;
                        s.reconnects += 1;
                        s.down_since = Some(now);
                    }
                    ConnectionEvent::Resumed { .. } => s.resumed += 1,
                    ConnectionEvent::SessionLost {
                        reason,
                        missed,
                        unconfirmed,
                    } => {
                        s.sessions_lost += 1;
                        s.other_events.push(format!(
                            "session lost: {reason:?}, missed {missed:?}, unconfirmed {}",
                            unconfirmed.len()
                        ));
                    }
                    ConnectionEvent::Closed { reason, .. } => {
                        s.connected = false;
                        s.closed_for_good = true;
                        s.other_events.push(format!("closed for good: {reason:?}"));
                    }
                    _ => {}
                }
            }
        });

        let client = SoakClient {
            ws,
            state,
            sender: RefCell::new(None),
            resume,
        };
        client.start_sending();
        Ok(client)
    }

    fn start_sending(&self) {
        let ws = self.ws.clone();
        let st = self.state.clone();
        let interval = Interval::new(SEND_EVERY_MS, move || {
            let mut s = st.borrow_mut();
            let n = s.sent + 1;
            match ws.send(Message::Text(n.to_string())) {
                Ok(_) => s.sent = n,
                // The same number goes again on the next tick: the numbering stays whole.
                Err(e) => {
                    s.send_errors += 1;
                    s.last_send_error = e.to_string();
                }
            }
        });
        *self.sender.borrow_mut() = Some(interval);
    }

    /// Stops sending and resolves once everything sent has left: with resume, once the
    /// server acknowledged it; without, once the queue and the browser's buffer are empty
    /// on an open connection. Resolves to whether that happened within `timeout_ms`.
    pub fn stop(&self, timeout_ms: u32) -> js_sys::Promise {
        self.sender.borrow_mut().take();
        let ws = self.ws.clone();
        let resume = self.resume;
        wasm_bindgen_futures::future_to_promise(async move {
            let deadline = js_sys::Date::now() + f64::from(timeout_ms);
            if resume {
                // With resume, `flush` resolves once the server acknowledged everything.
                let mut sink = ws.clone();
                let flush = Box::pin(async move { sink.flush().await.is_ok() });
                let timeout = Box::pin(TimeoutFuture::new(timeout_ms));
                return Ok(match select(flush, timeout).await {
                    Either::Left((ok, _)) => JsValue::from_bool(ok),
                    Either::Right(_) => JsValue::FALSE,
                });
            }
            loop {
                let empty = ws.ready_state() == ReadyState::Open
                    && ws.queued_bytes() == 0
                    && ws.buffered_amount() == 0;
                if empty {
                    return Ok(JsValue::TRUE);
                }
                if js_sys::Date::now() > deadline {
                    return Ok(JsValue::FALSE);
                }
                TimeoutFuture::new(20).await;
            }
        })
    }

    /// How many of the server's pushes `1..=pushed` never arrived.
    #[wasm_bindgen(js_name = lostUpTo)]
    pub fn lost_up_to(&self, pushed: f64) -> f64 {
        self.state.borrow().incoming.lost_up_to(pushed as u64) as f64
    }

    /// The counts so far, as JSON.
    pub fn stats(&self) -> String {
        let s = self.state.borrow();
        let i = &s.incoming;
        let mut times = String::new();
        for (k, ms) in s.reconnect_ms.iter().enumerate() {
            let _ = write!(times, "{}{ms}", if k == 0 { "" } else { "," });
        }
        let events: Vec<String> = s.other_events.iter().map(|e| json_string(e)).collect();
        format!(
            concat!(
                "{{\"sent\":{},\"sendErrors\":{},\"lastSendError\":{},\"received\":{},",
                "\"highest\":{},\"gaps\":{},\"duplicates\":{},\"reordered\":{},\"garbage\":{},",
                "\"opens\":{},\"reconnects\":{},\"reconnectMs\":[{}],\"connected\":{},",
                "\"closedForGood\":{},\"resumed\":{},\"sessionsLost\":{},\"notes\":[{}]}}"
            ),
            s.sent,
            s.send_errors,
            json_string(&s.last_send_error),
            i.received,
            i.highest,
            i.gaps(),
            i.duplicates,
            i.reordered,
            i.garbage,
            s.opens,
            s.reconnects,
            times,
            s.connected,
            s.closed_for_good,
            s.resumed,
            s.sessions_lost,
            events.join(","),
        )
    }

    /// Closes for good (1000).
    pub fn close(&self) {
        self.sender.borrow_mut().take();
        self.ws.close();
    }
}

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
