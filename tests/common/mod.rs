//! Helpers for the browser tests: where the test server is, its stats, and timeouts so a
//! broken test fails instead of hanging.
#![allow(dead_code)]

use futures::future::{select, Either};
use std::future::Future;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// `host:port` of the test server.
pub fn server() -> &'static str {
    servers()["server"]
        .as_str()
        .expect("ws-tether-servers.json: a \"server\" string")
}

/// Where the servers are: `/ws-tether-servers.json` on the test page's own origin, which the
/// wasm-bindgen test runner serves from its working directory, where scripts/test-browsers
/// writes `{"server": "127.0.0.1:PORT", "interop": {NAME: PORT, ...}}`. Read when the tests
/// run, not compiled in, so the tests are built once whatever ports the servers get. Read
/// once per test page, synchronously, so that the helpers stay synchronous.
/// (A service Worker has no `XMLHttpRequest`: tests there call [`read_servers_async`] first.)
fn servers() -> &'static serde_json::Value {
    SERVERS.with(|servers| *servers.get_or_init(|| Box::leak(Box::new(read_servers()))))
}

thread_local! {
    static SERVERS: std::cell::OnceCell<&'static serde_json::Value> = const { std::cell::OnceCell::new() };
}

/// Reads where the servers are with `fetch`, for scopes without a synchronous
/// `XMLHttpRequest` (a service Worker); the helpers then find them read.
pub async fn read_servers_async() {
    let text = fetch_text("/ws-tether-servers.json").await;
    let value: serde_json::Value =
        serde_json::from_str(&text).expect("ws-tether-servers.json is JSON");
    SERVERS.with(|servers| {
        servers.get_or_init(|| Box::leak(Box::new(value)));
    });
}

/// GETs `url` with the global scope's `fetch` (a page's or a Worker's); fails unless 2xx.
async fn fetch_text(url: &str) -> String {
    let global = js_sys::global();
    let fetch: js_sys::Function = js_sys::Reflect::get(&global, &"fetch".into())
        .expect("a global fetch")
        .unchecked_into();
    let promise: js_sys::Promise = fetch
        .call1(&global, &url.into())
        .expect("fetch")
        .unchecked_into();
    let resp = JsFuture::from(promise).await.expect("fetch failed");
    let resp: web_sys::Response = resp.dyn_into().expect("a Response");
    assert!(resp.ok(), "GET {url}: HTTP {}", resp.status());
    let text = JsFuture::from(resp.text().expect("a body"))
        .await
        .expect("body text");
    text.as_string().expect("text")
}

fn read_servers() -> serde_json::Value {
    const PATH: &str = "/ws-tether-servers.json";
    let xhr = web_sys::XmlHttpRequest::new().expect("an XMLHttpRequest");
    xhr.open_with_async("GET", PATH, false).expect("open");
    xhr.send().expect("GET /ws-tether-servers.json");
    match xhr.status() {
        Ok(200) => {}
        _ => panic!(
            "GET {PATH} from the test runner failed: run the browser tests with `npm test` or scripts/test-browsers"
        ),
    }
    let text = xhr.response_text().ok().flatten().expect("a body");
    serde_json::from_str(&text).expect("ws-tether-servers.json is JSON")
}

/// A fresh id, so each test reads only its own connections from /stats.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

pub fn ws_url(path: &str) -> String {
    format!("ws://{}{}", server(), path)
}

pub fn http_url(path: &str) -> String {
    format!("http://{}{}", server(), path)
}

/// Runs `fut`, failing the test if it takes longer than `ms`.
pub async fn within<F: Future>(ms: u32, what: &str, fut: F) -> F::Output {
    let fut = Box::pin(fut);
    match select(fut, gloo_timers::future::TimeoutFuture::new(ms)).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("timed out after {ms} ms waiting for {what}"),
    }
}

pub async fn sleep(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// GETs a JSON document from the test server.
pub async fn get_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&fetch_text(&http_url(path)).await).expect("JSON")
}

/// What the server saw from the connections tagged with `id`.
pub async fn stats(id: &str) -> serde_json::Value {
    get_json(&format!("/stats?id={id}")).await
}

/// Polls the server's stats for `id` until `pred` holds; fails after `ms`.
pub async fn wait_for_stats(
    id: &str,
    ms: u32,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    within(ms, what, async {
        loop {
            let s = stats(id).await;
            if pred(&s) {
                return s;
            }
            sleep(20).await;
        }
    })
    .await
}

/// Reads events until one matches `pred`, failing after `ms`; returns it.
pub async fn next_event<S, T>(events: &mut S, ms: u32, what: &str, pred: impl Fn(&T) -> bool) -> T
where
    S: futures::Stream<Item = T> + Unpin,
    T: std::fmt::Debug,
{
    use futures::StreamExt;
    within(ms, what, async {
        loop {
            match events.next().await {
                Some(event) if pred(&event) => return event,
                Some(_) => {}
                None => panic!("the event stream ended while waiting for {what}"),
            }
        }
    })
    .await
}

/// Milliseconds on the page's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The port of an interop server (scripts/interop), or of their supervisor ("control").
pub fn interop_port(name: &str) -> u16 {
    servers()["interop"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("ws-tether-servers.json: no interop port for {name}")) as u16
}

/// Asks the interop supervisor to `action` (restart, stop, cont) the server `name`.
pub async fn interop_control(action: &str, name: &str) {
    let url = format!(
        "http://127.0.0.1:{}/{action}/{name}",
        interop_port("control")
    );
    fetch_text(&url).await;
}

/// A text message.
pub fn text(s: &str) -> ws_tether::Message {
    ws_tether::Message::Text(s.into())
}

/// Quick retries (20 to 100 ms), so the tests' drops come back fast.
pub fn fast() -> ws_tether::ExponentialBackoff {
    ws_tether::ExponentialBackoff::new()
        .min(std::time::Duration::from_millis(20))
        .max(std::time::Duration::from_millis(100))
}

/// `n` sockets with resume sharing one connection (`share(id)`) to the resume echo of test
/// `id`.
#[cfg(feature = "share")]
pub fn shared_sockets(id: &str, n: usize) -> Vec<ws_tether::ReconnectingWebSocket> {
    (0..n)
        .map(|_| {
            ws_tether::ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}")))
                .resume(ws_tether::Resume::default())
                .share(id)
                .open()
                .unwrap()
        })
        .collect()
}

/// Sends "m1" to "m`n`" through `ws`'s sink, paced (10 ms apart, so most of the server's
/// drops find a connection), waits for `flush` (the server acknowledged them all, across the
/// drops), checks every echo came back once and in order, and that `events` told of at
/// least one resumed connection and of no lost session. Returns how many resumed.
pub async fn resume_round_trip(
    ws: &mut ws_tether::ReconnectingWebSocket,
    events: &mut (impl futures::Stream<Item = ws_tether::ConnectionEvent> + Unpin),
    n: usize,
) -> usize {
    use futures::{FutureExt, SinkExt, StreamExt};
    use ws_tether::ConnectionEvent as Ev;
    for i in 1..=n {
        within(
            10_000,
            "the sink takes a message",
            ws.feed(text(&format!("m{i}"))),
        )
        .await
        .unwrap();
        sleep(10).await;
    }
    within(20_000, "every message acknowledged", ws.flush())
        .await
        .unwrap();
    let mut echoes = Vec::new();
    while echoes.len() < n {
        let m = within(20_000, "the echoes", ws.next()).await.expect("open");
        echoes.push(m.into_text().unwrap());
    }
    let expected: Vec<String> = (1..=n).map(|i| format!("m{i}")).collect();
    assert_eq!(echoes, expected, "every echo once, in order");
    let mut resumed = 0;
    while let Some(Some(e)) = events.next().now_or_never() {
        match e {
            Ev::Resumed { .. } => resumed += 1,
            Ev::SessionLost { .. } => panic!("lost: {e:?}"),
            _ => {}
        }
    }
    // How many drops find a connection depends on timing (one that comes while the client
    // is still reconnecting finds nothing to drop); at least one did, and was resumed.
    assert!(resumed >= 1, "resumed {resumed} times");
    resumed
}
