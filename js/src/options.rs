//! The JavaScript options object, read field by field so that a wrong value throws a
//! `TypeError` naming the field and what it accepts.
//!
//! Not with serde-wasm-bindgen: its errors go through serde's `Unexpected`, whose `Display`
//! links Rust's float and `Debug` formatting. Measured on this package: 40.3 KB of gzipped
//! wasm with it, 24.0 KB without, for the same checks and messages.

use crate::errors::{bad_option as bad, join, type_error};
use crate::{with_io, Io};
use js_sys::{Object, Reflect};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use ws_tether::sans_io::from_millis;
use ws_tether::{
    Backoff, ClosePolicy, Disconnect, ExponentialBackoff, Heartbeat, Jitter, Message, Overflow,
    Pong, ReconnectingBuilder, Resume, RetryContext,
};

const FIELDS: &str = "minDelay, maxDelay, factor, jitter, maxRetries, backoff, connectTimeout, \
                      stableAfter, closePolicy, heartbeat, handshake, queueMaxBytes, overflow, \
                      replay, resume";

/// A JavaScript value of the type an option needs: exactly that type, no coercion.
trait FromJs: Sized {
    fn from_js(value: &JsValue) -> Option<Self>;
}

impl FromJs for f64 {
    fn from_js(value: &JsValue) -> Option<Self> {
        value.as_f64()
    }
}

impl FromJs for bool {
    fn from_js(value: &JsValue) -> Option<Self> {
        value.as_bool()
    }
}

impl FromJs for String {
    fn from_js(value: &JsValue) -> Option<Self> {
        value.as_string()
    }
}

/// A whole number in 0..=2^32-1.
fn whole(value: &JsValue) -> Option<u32> {
    let n = value.as_f64()?;
    (n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0).then_some(n as u32)
}

impl FromJs for u32 {
    fn from_js(value: &JsValue) -> Option<Self> {
        whole(value)
    }
}

impl FromJs for usize {
    fn from_js(value: &JsValue) -> Option<Self> {
        whole(value).map(|n| n as usize)
    }
}

fn read<T: FromJs>(value: JsValue, field: &str, allowed: &str) -> Result<T, JsValue> {
    T::from_js(&value).ok_or_else(|| bad(field, allowed))
}

fn millis(value: JsValue, field: &str) -> Result<Duration, JsValue> {
    let ms: f64 = read(value, field, "a number of milliseconds >= 0")?;
    if ms.is_finite() && ms >= 0.0 {
        Ok(from_millis(ms))
    } else {
        Err(bad(field, "a number of milliseconds >= 0"))
    }
}

/// A function option: checked here, called by the glue (which keeps it) through `Io`.
fn function(value: JsValue, field: &str) -> Result<(), JsValue> {
    match value.is_function() {
        true => Ok(()),
        false => Err(bad(field, "a function")),
    }
}

/// A plain object, also from another realm (an iframe's: `instanceof Object` is false).
fn object(value: &JsValue) -> Option<&Object> {
    value.is_object().then(|| value.unchecked_ref::<Object>())
}

/// A message a user function made: a string, or bytes the glue copies in (copying here
/// with `Uint8Array::to_vec` would link its index assertions' formatting).
fn message(io: &Io, value: &JsValue) -> Option<Message> {
    match value.as_string() {
        Some(text) => Some(Message::Text(text)),
        None => io.to_bytes(value).map(Message::Binary),
    }
}

const HEARTBEAT: &str =
    "{ interval, timeout } in milliseconds above 0 (with ping and pong for your \
                         server's format), { timeout, answer } when the server pings, \
                         { timeout, mode: \"silence\" } when it pushes, or false";

const RESUME: &str = "true, false, or { ackDelay?: ms above 0, ackEvery?: an integer >= 1 }";

/// The `resume` option: `true`, `false`, or `{ ackDelay, ackEvery }`.
fn resume(value: &JsValue) -> Result<Option<Resume>, JsValue> {
    if let Some(on) = value.as_bool() {
        return Ok(on.then(Resume::default));
    }
    let Some(obj) = value.dyn_ref::<Object>() else {
        return Err(bad("resume", RESUME));
    };
    let mut resume = Resume::default();
    for key in Object::keys(obj).iter() {
        let v = Reflect::get(obj, &key).unwrap_or(JsValue::UNDEFINED);
        if v.is_undefined() {
            continue;
        }
        match key.as_string().unwrap_or_default().as_str() {
            "ackDelay" => resume = resume.ack_delay(millis(v, "resume.ackDelay")?),
            "ackEvery" => {
                resume = resume.ack_every(read(
                    v,
                    "resume.ackEvery",
                    "an integer from 1 to 4294967295",
                )?)
            }
            _ => return Err(bad("resume", RESUME)),
        }
    }
    Ok(Some(resume))
}

/// The heartbeat in one of its forms (see `HEARTBEAT`), or `None` if it is none of them.
fn heartbeat(value: &JsValue) -> Option<Heartbeat> {
    let obj = object(value)?;
    let (mut interval, mut timeout) = (None, None);
    let (mut ping, mut pong, mut answer, mut silence) = (None, None, false, false);
    for key in Object::keys(obj).iter() {
        let value = Reflect::get(obj, &key).ok()?;
        let ms = || Some(value.as_f64()?).filter(|ms| ms.is_finite() && *ms > 0.0);
        match key.as_string()?.as_str() {
            "interval" => interval = Some(from_millis(ms()?)),
            "timeout" => timeout = Some(from_millis(ms()?)),
            // A fixed text, or a function of the ping's number the glue calls (the glue
            // turns a fixed binary ping into such a function).
            "ping" if value.is_function() => ping = Some(None),
            "ping" => ping = Some(Some(Message::Text(value.as_string()?))),
            "pong" if value.is_function() => pong = Some(()),
            "answer" if value.is_function() => answer = true,
            "mode" if value.as_string()? == "silence" => silence = true,
            _ => return None,
        }
    }
    let timeout = timeout?;
    if answer || silence {
        // No pings of ours: an interval, ping or pong would never be used.
        if interval.is_some() || ping.is_some() || pong.is_some() || (answer && silence) {
            return None;
        }
        return Some(if silence {
            Heartbeat::silence(timeout)
        } else {
            Heartbeat::answer(timeout, |_| {
                with_io(|io| message(io, &io.heartbeat_answer())).flatten()
            })
        });
    }
    let mut hb = Heartbeat::new(interval?, timeout);
    match ping {
        Some(Some(fixed)) => hb = hb.ping(move |_| fixed.clone()),
        Some(None) => {
            hb = hb.ping(|n| {
                let made = with_io(|io| message(io, &io.heartbeat_ping(n as f64)));
                // A function that throws or returns nothing usable pings with nothing.
                made.flatten().unwrap_or(Message::Text(String::new()))
            })
        }
        None => {}
    }
    if pong.is_some() {
        hb = hb.pong(|_| {
            let verdict = with_io(|io| io.heartbeat_pong())?;
            match verdict.as_f64() {
                Some(n) if n >= 0.0 && n.fract() == 0.0 => Some(Pong::Numbered(n as u64)),
                _ if verdict.as_bool() == Some(true) => Some(Pong::Unnumbered),
                _ => None,
            }
        });
    }
    Some(hb)
}

/// Applies `options` (undefined, null or a plain object) to the builder.
pub(crate) fn apply(
    mut builder: ReconnectingBuilder,
    options: &JsValue,
) -> Result<ReconnectingBuilder, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(builder);
    }
    let Some(obj) = object(options) else {
        return Err(type_error(
            "ReconnectingWebSocket options must be an object",
        ));
    };
    let mut exp = ExponentialBackoff::new();
    let mut custom_backoff = None;
    let mut max_retries = None;
    let mut close_policy = None;
    for key in Object::keys(obj).iter() {
        let name = key.as_string().unwrap_or_default();
        let value = Reflect::get(obj, &key).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() {
            continue;
        }
        match name.as_str() {
            "minDelay" => exp = exp.min(millis(value, "minDelay")?),
            "maxDelay" => exp = exp.max(millis(value, "maxDelay")?),
            "factor" => exp = exp.factor(read(value, "factor", "a number >= 1")?),
            "jitter" => {
                let allowed = "\"full\", \"equal\" or \"none\"";
                exp = exp.jitter(match read::<String>(value, "jitter", allowed)?.as_str() {
                    "full" => Jitter::Full,
                    "equal" => Jitter::Equal,
                    "none" => Jitter::None,
                    _ => return Err(bad("jitter", allowed)),
                })
            }
            "maxRetries" => {
                max_retries = Some(read::<u32>(
                    value,
                    "maxRetries",
                    "an integer from 0 to 4294967295",
                )?)
            }
            "backoff" => custom_backoff = Some(function(value, "backoff")?),
            "connectTimeout" => builder = builder.connect_timeout(millis(value, "connectTimeout")?),
            "stableAfter" => builder = builder.stable_after(millis(value, "stableAfter")?),
            "closePolicy" => close_policy = Some(function(value, "closePolicy")?),
            "heartbeat" => {
                if value.is_null() || value.as_bool() == Some(false) {
                    continue;
                }
                let hb = heartbeat(&value).ok_or_else(|| bad("heartbeat", HEARTBEAT))?;
                builder = builder.heartbeat(hb);
            }
            "queueMaxBytes" => {
                builder = builder.queue_max_bytes(read(
                    value,
                    "queueMaxBytes",
                    "an integer from 0 to 4294967295",
                )?)
            }
            "overflow" => {
                let allowed = "\"reject\", \"drop-oldest\" or \"drop-newest\"";
                builder =
                    builder.overflow(match read::<String>(value, "overflow", allowed)?.as_str() {
                        "reject" => Overflow::Reject,
                        "drop-oldest" => Overflow::DropOldest,
                        "drop-newest" => Overflow::DropNewest,
                        _ => return Err(bad("overflow", allowed)),
                    })
            }
            "replay" => builder = builder.replay(read(value, "replay", "true or false")?),
            "resume" => {
                if let Some(resume) = resume(&value)? {
                    builder = builder.resume(resume);
                }
            }
            // The glue keeps and runs the function; the core only pauses for it.
            "handshake" => {
                function(value, "handshake")?;
                builder = builder.handshake_phase(true);
            }
            other => {
                return Err(type_error(&join(&[
                    "ReconnectingWebSocket has no option `",
                    other,
                    "`; the options are: ",
                    FIELDS,
                ])))
            }
        }
    }
    if let Some(n) = max_retries.filter(|n| *n > 0) {
        exp = exp.max_attempts(n);
    }
    builder = builder.backoff(match custom_backoff {
        Some(()) => Backoff::custom(|ctx: &RetryContext| {
            let c = &ctx.last_close;
            let elapsed = ctx.elapsed.as_secs_f64() * 1000.0;
            // The glue answers -1 when the function returns no number or throws: stop.
            let ms =
                with_io(|io| io.backoff(ctx.attempt, elapsed, c.code, &c.reason, c.was_clean))?;
            (ms.is_finite() && ms >= 0.0).then(|| from_millis(ms))
        }),
        None => Backoff::from(exp),
    });
    let never_retry = max_retries == Some(0);
    if never_retry || close_policy.is_some() {
        let custom = close_policy.is_some();
        builder = builder.close_policy(ClosePolicy::custom(move |d: &Disconnect| {
            if never_retry {
                return false;
            }
            if !custom {
                return d.should_retry_by_default();
            }
            // A function that throws keeps the socket retrying rather than dying.
            let c = &d.close;
            with_io(|io| io.close_policy(c.code, &c.reason, c.was_clean, d.was_open))
                .unwrap_or(true)
        }));
    }
    Ok(builder)
}
