//! The options object as js/index.js (`readOptions`) has read it: each field checked on its
//! own there (a wrong type or value throws a `TypeError` naming it), handed over as plain
//! numbers (NaN: not given) and applied to the library's builder here, which checks what
//! depends on several fields. Reading the object in Rust (with `Reflect`, or with
//! serde-wasm-bindgen, whose errors link Rust's float and `Debug` formatting) cost about
//! 5 KB of gzipped wasm for the same checks and messages.

use crate::{with_io, Io};
use std::time::Duration;
use ws_tether::sans_io::from_millis;
use ws_tether::{
    Backoff, ClosePolicy, Disconnect, ExponentialBackoff, Heartbeat, Jitter, Message, Overflow,
    Pong, ReconnectingBuilder, ReconnectingWebSocket, Resume, RetryContext,
};

/// `Options::heartbeat`.
const HEARTBEAT_PING: u8 = 1;
const HEARTBEAT_ANSWER: u8 = 2;
const HEARTBEAT_SILENCE: u8 = 3;
/// `Options::ping`.
const PING_TEXT: u8 = 1;
const PING_FUNCTION: u8 = 2;

/// One field per option, in `Core::new`'s order; see js/index.js `readOptions`.
#[derive(Debug)]
pub(crate) struct Options {
    pub min_delay: f64,
    pub max_delay: f64,
    /// `None`: not given (NaN is a value the library refuses, not "not given").
    pub factor: Option<f64>,
    /// 0 full, 1 equal, 2 none.
    pub jitter: u8,
    pub max_retries: f64,
    /// A `backoff` function (the glue keeps it and calls it through `Io.policy`).
    pub backoff: bool,
    pub connect_timeout: f64,
    pub stable_after: f64,
    /// A `closePolicy` function.
    pub close_policy: bool,
    /// 0 none, or one of `HEARTBEAT_*`, with its `interval` and `timeout`.
    pub heartbeat: u8,
    pub interval: f64,
    pub timeout: f64,
    /// 0 the default ping, or one of `PING_*`.
    pub ping: u8,
    pub ping_text: String,
    /// A `pong` function.
    pub pong: bool,
    pub queue_max_bytes: f64,
    /// 0 reject, 1 drop-oldest, 2 drop-newest.
    pub overflow: u8,
    pub replay: bool,
    /// A `handshake` function (the glue runs it; the core only pauses for it).
    pub handshake: bool,
    /// Resume: NaN off; otherwise the ack delay in ms (0: the default).
    pub resume_ack_delay: f64,
    /// Resume: ack at once after this many messages (NaN or 0: the default).
    pub resume_ack_every: f64,
}

/// A duration given in ms, or `None` when not given.
fn given(ms: f64) -> Option<Duration> {
    (!ms.is_nan()).then(|| from_millis(ms))
}

/// A message a user function made (`Io.heartbeat` said which kind), or `None`.
fn made(io: &Io, kind: f64) -> Option<Message> {
    match kind as u8 {
        1 => Some(Message::Text(io.made_text())),
        2 => Some(Message::Binary(io.made_bytes())),
        _ => None,
    }
}

impl Options {
    /// Whether the machine reads received text: only the default pong matcher does.
    pub(crate) fn wants_text(&self) -> bool {
        self.heartbeat == HEARTBEAT_PING && !self.pong
    }

    /// Whether the machine will call a JavaScript function (through `with_io`).
    pub(crate) fn calls_back(&self) -> bool {
        self.backoff
            || self.close_policy
            || self.heartbeat == HEARTBEAT_ANSWER
            || (self.heartbeat == HEARTBEAT_PING && (self.ping == PING_FUNCTION || self.pong))
    }

    pub(crate) fn builder(self) -> ReconnectingBuilder {
        // The URL is the glue's business: the machine only says when to dial.
        let mut builder = ReconnectingWebSocket::builder("");
        let mut exp = ExponentialBackoff::new().jitter(match self.jitter {
            1 => Jitter::Equal,
            2 => Jitter::None,
            _ => Jitter::Full,
        });
        if let Some(min) = given(self.min_delay) {
            exp = exp.min(min);
        }
        if let Some(max) = given(self.max_delay) {
            exp = exp.max(max);
        }
        if let Some(factor) = self.factor {
            exp = exp.factor(factor);
        }
        if self.max_retries >= 1.0 {
            exp = exp.max_attempts(self.max_retries as u32);
        }
        if let Some(timeout) = given(self.connect_timeout) {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(stable) = given(self.stable_after) {
            builder = builder.stable_after(stable);
        }
        if let Some(hb) = self.heartbeat() {
            builder = builder.heartbeat(hb);
        }
        if !self.queue_max_bytes.is_nan() {
            builder = builder.queue_max_bytes(self.queue_max_bytes as usize);
        }
        builder = builder
            .overflow(match self.overflow {
                1 => Overflow::DropOldest,
                2 => Overflow::DropNewest,
                _ => Overflow::Reject,
            })
            .replay(self.replay)
            .handshake_phase(self.handshake);
        if !self.resume_ack_delay.is_nan() {
            let mut resume = Resume::new();
            if self.resume_ack_delay > 0.0 {
                resume = resume.ack_delay(from_millis(self.resume_ack_delay));
            }
            if self.resume_ack_every >= 1.0 {
                resume = resume.ack_every(self.resume_ack_every as u32);
            }
            builder = builder.resume(resume);
        }
        builder = builder.backoff(if self.backoff {
            Backoff::custom(|ctx: &RetryContext| {
                let c = &ctx.last_close;
                let elapsed = millis(ctx.elapsed);
                // The glue answers -1 when the function returns no number or throws: stop.
                let ms = with_io(|io| {
                    io.policy(
                        0,
                        ctx.attempt,
                        elapsed,
                        c.code,
                        &c.reason,
                        c.was_clean,
                        false,
                    )
                })?;
                (ms.is_finite() && ms >= 0.0).then(|| from_millis(ms))
            })
        } else {
            Backoff::from(exp)
        });
        let never_retry = self.max_retries == 0.0;
        if never_retry || self.close_policy {
            let custom = self.close_policy;
            builder = builder.close_policy(ClosePolicy::custom(move |d: &Disconnect| {
                if never_retry {
                    return false;
                }
                if !custom {
                    return d.should_retry_by_default();
                }
                // A function that throws keeps the socket retrying rather than dying.
                let c = &d.close;
                with_io(|io| io.policy(1, 0, 0.0, c.code, &c.reason, c.was_clean, d.was_open))
                    .is_none_or(|retry| retry != 0.0)
            }));
        }
        builder
    }

    fn heartbeat(&self) -> Option<Heartbeat> {
        let timeout = from_millis(self.timeout);
        let mut hb = match self.heartbeat {
            HEARTBEAT_PING => Heartbeat::new(from_millis(self.interval), timeout),
            HEARTBEAT_ANSWER => {
                return Some(Heartbeat::answer(timeout, |_| {
                    with_io(|io| made(io, io.heartbeat(2, 0.0))).flatten()
                }))
            }
            HEARTBEAT_SILENCE => return Some(Heartbeat::silence(timeout)),
            _ => return None,
        };
        match self.ping {
            PING_TEXT => {
                let fixed = Message::Text(self.ping_text.clone());
                hb = hb.ping(move |_| fixed.clone());
            }
            PING_FUNCTION => {
                hb = hb.ping(|n| {
                    let made = with_io(|io| made(io, io.heartbeat(0, n as f64)));
                    // A function that throws or returns nothing usable pings with nothing.
                    made.flatten().unwrap_or(Message::Text(String::new()))
                })
            }
            _ => {}
        }
        if self.pong {
            hb = hb.pong(|_| {
                let verdict = with_io(|io| io.heartbeat(1, 0.0))?;
                match verdict {
                    n if n >= 0.0 => Some(Pong::Numbered(n as u64)),
                    -2.0 => Some(Pong::Unnumbered),
                    _ => None,
                }
            });
        }
        Some(hb)
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
