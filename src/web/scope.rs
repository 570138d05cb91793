//! The global scope the socket runs in: a page's `window`, or a Worker's global (dedicated,
//! shared or service), which has `navigator.onLine`, `location` and the `online` and
//! `offline` events too, but no `document`. Read by property, so nothing here assumes a
//! `Window`.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// `navigator.onLine` of the global scope, where it has one.
pub(crate) fn on_line() -> Option<bool> {
    get(&get(&js_sys::global(), "navigator")?, "onLine")?.as_bool()
}

/// `navigator[key]` of the global scope, where it has it (`locks`: Web Locks).
#[cfg(feature = "share")]
pub(crate) fn navigator(key: &str) -> Option<JsValue> {
    get(&get(&js_sys::global(), "navigator")?, key)
}

/// `location.href` of the global scope: the page's URL, or the Worker script's.
pub(crate) fn href() -> Option<String> {
    get(&get(&js_sys::global(), "location")?, "href")?.as_string()
}

/// The global scope as the target of `online` and `offline`, where it has
/// `addEventListener`.
pub(crate) fn events() -> Option<web_sys::EventTarget> {
    let global = js_sys::global();
    get(&global, "addEventListener")?;
    Some(global.unchecked_into())
}
