//! A chat in the test server's broadcast room, written with `ws-tether-yew`'s typed hook:
//! every message is a `Said` in JSON, sent and decoded by the hook. `npm test`
//! builds it and drives two copies in headless Chromium (scripts/frameworks-test.mjs).
//!
//! The page's `?id=` names this member in the server's `/stats` (default `yew-chat`). With
//! `?resume`, it talks to the test server's `/resume` echo with session resume on, and shows
//! the hook's `session` (the latest `Resumed` or `SessionLost`). With `?manual`, it opens no
//! socket until "Connect" is clicked. With `?share=NAME` (`Options::share`), its socket
//! shares one connection with every page of that name, and `#holder` says whether this page
//! holds it (`holds`, `follows`, or `alone` without Web Locks). It counts the hook's `on_open` calls (with the session
//! each saw) and its `on_event` retries. A heartbeat (ws-tether's pings, which the room
//! answers; with resume, the resume protocol's own) keeps the handle's `rtt` up to date.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::HtmlInputElement;
use ws_tether_yew::{
    use_reconnecting_websocket_typed, Connection, ConnectionEvent, Delivery, Error,
    ExponentialBackoff, Heartbeat, Json, Options, Resume, SendOutcome, Sent, Session, Status,
};
use yew::prelude::*;

/// How many of the latest messages the list shows; the counter counts every one.
const SHOWN: usize = 100;

/// What a member says, as JSON on the wire: `{"from":"<id>","text":"..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Said {
    from: String,
    text: String,
}

impl Said {
    /// `text`, said by this page's member.
    fn mine(text: String) -> Said {
        Said {
            from: member_id(),
            text,
        }
    }
}

/// Mounts the app when the module is initialised.
#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// What ws-tether holds in this page now: `[listeners, sockets, timers]`. The browser test
/// calls it to check that leaving the room leaves nothing behind.
#[wasm_bindgen(js_name = liveResources)]
pub fn live_resources() -> Vec<u32> {
    let (listeners, sockets, timers) = ws_tether_yew::ws_tether::diagnostics::live_counts();
    [listeners, sockets, timers]
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .to_vec()
}

#[function_component]
fn App() -> Html {
    let joined = use_state(|| true);
    let toggle = {
        let joined = joined.clone();
        Callback::from(move |_| joined.set(!*joined))
    };
    html! {
        <>
            <header>
                <h1>{ "ws-tether × Yew" }</h1>
                <button id="join" onclick={toggle}>
                    { if *joined { "Leave the room" } else { "Join the room" } }
                </button>
            </header>
            // Leaving destroys the chat, which closes its socket.
            if *joined { <Chat /> } else { <p id="left">{ "You left the room." }</p> }
        </>
    }
}

/// Every message received: the count and the latest [`SHOWN`], each decoded: who said it
/// and what (or why it isn't a `Said`).
#[derive(Default)]
struct Received {
    count: usize,
    shown: VecDeque<(usize, Rc<Said>)>,
}

impl Reducible for Received {
    type Action = Result<Said, Error>;

    fn reduce(self: Rc<Self>, said: Result<Said, Error>) -> Rc<Self> {
        let mut next = Received {
            count: self.count + 1,
            shown: self.shown.clone(),
        };
        next.shown
            .push_back((next.count, Rc::new(said.unwrap_or_else(not_said))));
        if next.shown.len() > SHOWN {
            next.shown.pop_front();
        }
        Rc::new(next)
    }
}

/// What the hook's `on_open` and `on_event` told: opens (with the session the latest saw)
/// and retries; heartbeat round trips, counted so the chat renders the handle's `rtt` again.
#[derive(Default)]
struct Hooked {
    opens: usize,
    last_open: String,
    retries: usize,
    pongs: usize,
    /// With `?share=NAME`: whether this page holds the shared connection.
    holder: &'static str,
}

enum Hook {
    Opened(String),
    Retried,
    Ponged,
    Holder(&'static str),
}

impl Reducible for Hooked {
    type Action = Hook;

    fn reduce(self: Rc<Self>, hook: Hook) -> Rc<Self> {
        Rc::new(match hook {
            Hook::Opened(session) => Hooked {
                opens: self.opens + 1,
                last_open: session,
                ..*self
            },
            Hook::Retried => Hooked {
                last_open: self.last_open.clone(),
                retries: self.retries + 1,
                ..*self
            },
            Hook::Ponged => Hooked {
                last_open: self.last_open.clone(),
                pongs: self.pongs + 1,
                ..*self
            },
            Hook::Holder(holder) => Hooked {
                last_open: self.last_open.clone(),
                holder,
                ..*self
            },
        })
    }
}

#[function_component]
fn Chat() -> Html {
    // A reducer, not `use_state`: each of a burst's messages builds on the one before.
    let received = use_reducer(Received::default);
    let resume = resume_requested();
    let hooked = use_reducer(Hooked::default);
    // "Switch room" changes the URL: the hook closes the socket and opens one to the new URL,
    // with a new session.
    let url = use_state(|| room_url(resume));
    let ws = {
        let add = received.dispatcher();
        let (opened, retried) = (hooked.dispatcher(), hooked.dispatcher());
        let options = Options::new()
            .manual(query_has("manual"))
            // Every open (the first and each reconnect), with what it was for the session.
            .on_open(move |_connection, session| {
                opened.dispatch(Hook::Opened(session_text(session)))
            })
            // Every retry and heartbeat round trip the hook's events tell of.
            .on_event(move |event| match event {
                ConnectionEvent::Reconnecting { .. } => retried.dispatch(Hook::Retried),
                ConnectionEvent::Rtt(_) => retried.dispatch(Hook::Ponged),
                ConnectionEvent::Holder(h) => retried.dispatch(Hook::Holder(holder_text(h))),
                _ => {}
            });
        let options = match share_name() {
            Some(name) => options.share(name),
            None => options,
        };
        use_reconnecting_websocket_typed(
            (*url).clone(),
            options.configure(move |builder| {
                let builder = builder
                    .backoff(
                        ExponentialBackoff::new()
                            .min(Duration::from_millis(250))
                            .max(Duration::from_secs(2)),
                    )
                    .heartbeat(heartbeat());
                if resume {
                    builder.resume(Resume::new())
                } else {
                    builder
                }
            }),
            Json,
            move |said| add.dispatch(said),
        )
    };

    // "Join on mount": sent during the first render, before any effect ran. It must be
    // queued (or written) as any later send is.
    let mounted = {
        let ws = ws.clone();
        use_state(move || describe(ws.send(Said::mine(format!("joined {}", member_id())))))
    };

    let input = use_node_ref();
    // What became of the last send, numbered so a repeat of the same text is visible.
    let outcome = use_state(|| (0usize, String::new()));
    // Its delivery: with resume, pending until the server acknowledged it, then delivered.
    let delivery = use_state(|| "");
    // Numbers the sends for the delivery task: only the latest send's delivery is shown.
    let latest = use_mut_ref(|| 0usize);
    let send = {
        let (ws, input, outcome) = (ws.clone(), input.clone(), outcome.clone());
        let (delivery, latest) = (delivery.setter(), latest.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let text = field.value();
            if text.is_empty() {
                return;
            }
            let result = ws.send_tracked(Said::mine(text));
            let n = outcome.0 + 1;
            *latest.borrow_mut() = n;
            let described = describe(result.as_ref().map(Sent::outcome).map_err(Clone::clone));
            if let Ok(sent) = result {
                field.set_value("");
                delivery.set(delivery_text(sent.delivery()));
                let (delivery, latest) = (delivery.clone(), latest.clone());
                yew::platform::spawn_local(async move {
                    let done = sent.delivered().await;
                    if *latest.borrow() == n {
                        delivery.set(delivery_text(done));
                    }
                });
            }
            outcome.set((n, described));
        })
    };
    // Everything sent so far: with resume, "flushed" once the server acknowledged it all.
    let flushed = use_state(String::new);
    let flush = {
        let (ws, flushed) = (ws.clone(), flushed.setter());
        Callback::from(move |_| {
            flushed.set("flushing".to_owned());
            let (flush, flushed) = (ws.flush(), flushed.clone());
            yew::platform::spawn_local(async move {
                flushed.set(match flush.await {
                    Ok(()) => "flushed".to_owned(),
                    Err(error) => format!("not flushed: {error}"),
                });
            });
        })
    };
    let switch = {
        let url = url.setter();
        Callback::from(move |_| url.set(format!("{}-2", room_url(resume))))
    };
    let connect = {
        let ws = ws.clone();
        Callback::from(move |_| ws.connect())
    };
    let reconnect = {
        let ws = ws.clone();
        Callback::from(move |_| ws.reconnect())
    };
    let close = {
        let ws = ws.clone();
        Callback::from(move |_| ws.close())
    };

    html! {
        <>
            <section class="bar">
                <span id="status" data-state={state_name(&ws.status)}>{ badge(&ws.status) }</span>
                <span>{ "received " }<b id="count">{ received.count }</b></span>
                <span id="session">{ session_text(&ws.session) }</span>
                <span id="mounted">{ (*mounted).clone() }</span>
                <span id="opens" data-opens={hooked.opens.to_string()}>
                    { format!("opens {} ({})", hooked.opens, hooked.last_open) }
                </span>
                <span id="retries" data-retries={hooked.retries.to_string()}>
                    { format!("retries {}", hooked.retries) }
                </span>
                // The handle's rtt as of this render (each round trip renders).
                <span id="holder" data-holder={hooked.holder}>{ hooked.holder }</span>
                <span id="rtt">{ rtt_text(ws.rtt()) }</span>
            </section>
            <form id="composer" onsubmit={send}>
                <input id="message" ref={input} placeholder="Say something" autocomplete="off" />
                <button id="send" type="submit">{ "Send" }</button>
                <span id="outcome" data-sends={outcome.0.to_string()}>{ outcome.1.clone() }</span>
                // The socket's send queue as of this render (each send and status change renders).
                <span id="queued">{ format!("queued {} B", ws.queued_bytes()) }</span>
                <span id="delivery">{ *delivery }</span>
                <button id="flush" type="button" onclick={flush}>{ "Flush" }</button>
                <span id="flushed">{ (*flushed).clone() }</span>
            </form>
            <section class="bar">
                <button id="drop" onclick={Callback::from(|_| drop_all())}>
                    { "Server: drop all connections" }
                </button>
                <button id="connect" onclick={connect}>{ "Connect" }</button>
                <button id="switch" onclick={switch}>{ "Switch room" }</button>
                <button id="reconnect" onclick={reconnect}>{ "Reconnect" }</button>
                <button id="close" onclick={close}>{ "Close" }</button>
                <ContextProvider<Connection> context={ws.connection()}>
                    <SendsOnly />
                </ContextProvider<Connection>>
            </section>
            <ol id="messages">
                { for received.shown.iter().map(|(n, said)| html! {
                    <li key={*n} value={n.to_string()} data-from={said.from.clone()}>
                        { said.text.clone() }
                    </li>
                }) }
            </ol>
        </>
    }
}

/// A child that only sends: it takes the hook's `Connection` from a context, and counts its
/// own renders. The connection is the same value whatever the status, so a retry step
/// doesn't render it again (the framework check reads the count).
#[function_component]
fn SendsOnly() -> Html {
    let ws = use_context::<Connection>().expect("inside Chat's ContextProvider");
    let renders = use_mut_ref(|| 0usize);
    *renders.borrow_mut() += 1;
    // The untyped connection sends the chat's JSON with the same codec.
    let wave = Callback::from(move |_| drop(ws.send_encoded(&Json, &Said::mine("wave".into()))));
    html! {
        <>
            <button id="wave" onclick={wave}>{ "Wave" }</button>
            <span id="renders">{ format!("renders {}", *renders.borrow()) }</span>
        </>
    }
}

/// A relative URL (the hook resolves it against the page: ws:// or wss:// on its host),
/// naming this member with the page's `?id=`: the broadcast room, or the resume echo with
/// `resume`.
fn room_url(resume: bool) -> String {
    let path = if resume { "resume" } else { "room" };
    format!("/{path}?id={}", member_id())
}

/// A ping after a second without a message, so the round trip shows soon after opening; a
/// peer silent for 10 s after one is dead.
fn heartbeat() -> Heartbeat {
    Heartbeat::new(Duration::from_secs(1), Duration::from_secs(10))
}

/// The last heartbeat round trip in ms, "–" before the first.
fn rtt_text(rtt: Option<Duration>) -> String {
    rtt.map_or_else(
        || "rtt –".to_owned(),
        |rtt| format!("rtt {} ms", rtt.as_millis()),
    )
}

/// This member's name: the page's `?id=` (default `yew-chat`).
fn member_id() -> String {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    param(&query, "id").unwrap_or("yew-chat").to_owned()
}

/// What a shared socket's `Holder` says of this page (`?share=NAME`): it holds the
/// connection, follows the one that does, or connects alone (no Web Locks here).
fn holder_text(holder: &ws_tether_yew::Holder) -> &'static str {
    match holder {
        h if !h.shared => "alone",
        h if h.this_tab => "holds",
        _ => "follows",
    }
}

/// `?share=NAME`: the chat's socket shares one connection with every page of that name.
fn share_name() -> Option<String> {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    param(&query, "share")
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

/// `?resume` in the page's address: session resume on.
fn resume_requested() -> bool {
    query_has("resume")
}

/// Whether the page's address has `?name` (or `&name`).
fn query_has(name: &str) -> bool {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    param(&query, name).is_some()
}

/// The value of `name` in a `?a=1&b` query (`""` for a bare `b`).
fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.trim_start_matches('?').split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// What the hook's `session` says about the current socket.
fn session_text(session: &Session) -> String {
    match session {
        Session::New => "new session".to_owned(),
        Session::Resumed { resent, .. } => format!("resumed (resent {resent})"),
        Session::Lost { reason, .. } => format!("session lost: {}", reason.as_str()),
    }
}

/// What became of a tracked send (with resume: pending, then delivered).
fn delivery_text(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Pending => "pending",
        Delivery::Delivered => "delivered",
        Delivery::Unconfirmed => "unconfirmed",
        Delivery::Unsent => "unsent",
        _ => "unknown",
    }
}

/// Asks the test server to drop every WebSocket without a close frame.
fn drop_all() {
    // The answer doesn't matter: the status badge shows what happens.
    if let Some(window) = web_sys::window() {
        let _ = window.fetch_with_str("/control/drop-all");
    }
}

/// A message that isn't a `Said`, shown as one from nobody saying why.
fn not_said(error: Error) -> Said {
    Said {
        from: String::new(),
        text: format!("<not a chat message: {error}>"),
    }
}

fn state_name(status: &Status) -> &'static str {
    match status {
        Status::Connecting { attempt: 0 } => "connecting",
        Status::Connecting { .. } | Status::Reconnecting { .. } => "reconnecting",
        Status::Open => "open",
        Status::WaitingForNetwork => "offline",
        Status::Closing => "closing",
        Status::Closed { .. } => "closed",
        _ => "failed",
    }
}

fn badge(status: &Status) -> String {
    match status {
        Status::Connecting { attempt: 0 } => "connecting".to_owned(),
        Status::Connecting { attempt } => format!("reconnecting {attempt}"),
        Status::Reconnecting {
            attempt,
            delay,
            last_close,
        } => format!(
            "reconnecting {attempt} in {} ms (lost: {})",
            delay.as_millis(),
            last_close.close.code
        ),
        Status::Open => "open".to_owned(),
        Status::WaitingForNetwork => "offline".to_owned(),
        Status::Closing => "closing".to_owned(),
        Status::Closed {
            close: Some(close), ..
        } => format!("closed ({})", close.code),
        Status::Closed { .. } => "closed".to_owned(),
        Status::Failed(error) => format!("failed: {error}"),
        _ => "unknown".to_owned(),
    }
}

fn describe(result: Result<SendOutcome, Error>) -> String {
    match result {
        Ok(SendOutcome::Written) => "sent".to_owned(),
        Ok(SendOutcome::Queued { .. }) => "queued until reconnected".to_owned(),
        Ok(_) => "dropped: the queue is full".to_owned(),
        Err(error) => format!("not sent: {error}"),
    }
}
