//! The JavaScript options object, read field by field with serde-wasm-bindgen so that a
//! wrong value throws a `TypeError` naming the field and what it accepts.

use crate::errors::type_error;
use js_sys::{Function, Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use ws_tether::{
    Backoff, ClosePolicy, Disconnect, ExponentialBackoff, Heartbeat, Jitter, Overflow,
    ReconnectingBuilder, RetryContext,
};

const FIELDS: &str = "minDelay, maxDelay, factor, jitter, maxRetries, backoff, connectTimeout, \
                      stableAfter, closePolicy, heartbeat, queueMaxBytes, overflow, replay, \
                      highWaterMark";

fn bad(field: &str, allowed: &str) -> JsValue {
    type_error(&format!(
        "ReconnectingWebSocket option `{field}`: expected {allowed}"
    ))
}

fn read<T: DeserializeOwned>(value: JsValue, field: &str, allowed: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|_| bad(field, allowed))
}

fn millis(value: JsValue, field: &str) -> Result<Duration, JsValue> {
    let ms: f64 = read(value, field, "a number of milliseconds >= 0")?;
    if ms.is_finite() && ms >= 0.0 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(bad(field, "a number of milliseconds >= 0"))
    }
}

fn function(value: JsValue, field: &str) -> Result<Function, JsValue> {
    value
        .dyn_into::<Function>()
        .map_err(|_| bad(field, "a function"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatOption {
    interval: f64,
    timeout: f64,
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

pub(crate) fn close_to_js(code: u16, reason: &str, was_clean: bool) -> Object {
    let obj = Object::new();
    set(&obj, "code", code);
    set(&obj, "reason", reason);
    set(&obj, "wasClean", was_clean);
    obj
}

fn disconnect_to_js(d: &Disconnect) -> Object {
    let obj = close_to_js(d.close.code, &d.close.reason, d.close.was_clean);
    set(&obj, "wasOpen", d.was_open);
    obj
}

/// Applies `options` (undefined, null or a plain object) to the builder.
pub(crate) fn apply(
    mut builder: ReconnectingBuilder,
    options: &JsValue,
) -> Result<ReconnectingBuilder, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(builder);
    }
    let Some(obj) = options.dyn_ref::<Object>() else {
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
                max_retries = Some(read::<u32>(value, "maxRetries", "an integer >= 0")?)
            }
            "backoff" => custom_backoff = Some(function(value, "backoff")?),
            "connectTimeout" => builder = builder.connect_timeout(millis(value, "connectTimeout")?),
            "stableAfter" => builder = builder.stable_after(millis(value, "stableAfter")?),
            "closePolicy" => close_policy = Some(function(value, "closePolicy")?),
            "heartbeat" => {
                if value.is_null() || value.as_bool() == Some(false) {
                    continue;
                }
                let allowed = "{ interval, timeout } in milliseconds, or false";
                let hb: HeartbeatOption = read(value, "heartbeat", allowed)?;
                let ok = |ms: f64| ms.is_finite() && ms > 0.0;
                if !ok(hb.interval) || !ok(hb.timeout) {
                    return Err(bad("heartbeat", allowed));
                }
                builder = builder.heartbeat(Heartbeat {
                    interval: Duration::from_secs_f64(hb.interval / 1000.0),
                    timeout: Duration::from_secs_f64(hb.timeout / 1000.0),
                });
            }
            "queueMaxBytes" => {
                builder = builder.queue_max_bytes(read(value, "queueMaxBytes", "an integer >= 0")?)
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
            "highWaterMark" => {
                builder = builder.high_water_mark(read(value, "highWaterMark", "an integer >= 1")?)
            }
            other => {
                return Err(type_error(&format!(
                    "ReconnectingWebSocket has no option `{other}`; the options are: {FIELDS}"
                )))
            }
        }
    }
    if let Some(n) = max_retries.filter(|n| *n > 0) {
        exp = exp.max_attempts(n);
    }
    builder = builder.backoff(match custom_backoff {
        Some(f) => Backoff::custom(move |ctx: &RetryContext| {
            let arg = Object::new();
            set(&arg, "attempt", ctx.attempt);
            set(&arg, "elapsed", ctx.elapsed.as_secs_f64() * 1000.0);
            let close = &ctx.last_close;
            set(
                &arg,
                "lastClose",
                close_to_js(close.code, &close.reason, close.was_clean),
            );
            // A throwing or non-numeric answer stops, as `null` does.
            let ms = f.call1(&JsValue::NULL, &arg).ok()?.as_f64()?;
            (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
        }),
        None => Backoff::from(exp),
    });
    let never_retry = max_retries == Some(0);
    if never_retry || close_policy.is_some() {
        builder = builder.close_policy(ClosePolicy::custom(move |d: &Disconnect| {
            if never_retry {
                return false;
            }
            match &close_policy {
                // A policy that throws keeps the socket retrying rather than dying.
                Some(f) => f
                    .call1(&JsValue::NULL, &disconnect_to_js(d))
                    .map_or(true, |v| v.is_truthy()),
                None => d.should_retry_by_default(),
            }
        }));
    }
    Ok(builder)
}
