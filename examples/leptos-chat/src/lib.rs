//! A chat in the test server's broadcast room, written with `ws-tether-leptos`'s typed hook:
//! every message is a `Said` in JSON, sent and decoded by the hook. `npm test`
//! builds it and drives two copies in headless Chromium (scripts/frameworks-test.mjs).
//!
//! The page's `?id=` names this member in the server's `/stats` (default `leptos-chat`). With
//! `?resume`, it talks to the test server's `/resume` echo with session resume on, and shows
//! the hook's `session` (the latest `Resumed` or `SessionLost`). With `?manual`, it opens no
//! socket until "Connect" is clicked. With `?share=NAME` (`Options::share`), its socket
//! shares one connection with every page of that name, and `#holder` says whether this page
//! holds it (`holds`, `follows`, or `alone` without Web Locks). It counts the hook's `on_open` calls (with the session
//! each saw) and its `on_event` retries. A heartbeat (ws-tether's pings, which the room
//! answers; with resume, the resume protocol's own) keeps the handle's `rtt` up to date.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use ws_tether_leptos::{
    use_reconnecting_websocket_typed, ConnectionEvent, Delivery, Error, ExponentialBackoff,
    Heartbeat, Json, Options, Resume, SendOutcome, Sent, Session, Status,
};

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
    leptos::mount::mount_to_body(App);
}

/// What ws-tether holds in this page now: `[listeners, sockets, timers]`. The browser test
/// calls it to check that leaving the room leaves nothing behind.
#[wasm_bindgen(js_name = liveResources)]
pub fn live_resources() -> Vec<u32> {
    let (listeners, sockets, timers) = ws_tether_leptos::ws_tether::diagnostics::live_counts();
    [listeners, sockets, timers]
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .to_vec()
}

#[component]
fn App() -> impl IntoView {
    let (joined, set_joined) = signal(true);
    view! {
        <header>
            <h1>"ws-tether × Leptos"</h1>
            <button id="join" on:click=move |_| set_joined.update(|joined| *joined = !*joined)>
                {move || if joined.get() { "Leave the room" } else { "Join the room" }}
            </button>
        </header>
        // Leaving unmounts the chat, which closes its socket.
        <Show when=move || joined.get() fallback=|| view! { <p id="left">"You left the room."</p> }>
            <Chat />
        </Show>
    }
}

#[component]
fn Chat() -> impl IntoView {
    let (count, set_count) = signal(0usize);
    // Each message decoded: its number, who said it and what (or why it isn't a `Said`).
    let shown = RwSignal::new(VecDeque::<(usize, Said)>::new());
    let resume = resume_requested();
    // Every open (the first and each reconnect), with what it was for the session.
    let (opens, set_opens) = signal((0usize, String::new()));
    // Every retry the hook's events told of.
    let (retries, set_retries) = signal(0usize);
    // Heartbeat round trips: each one has the `#rtt` read the handle's `rtt` again.
    let (pongs, set_pongs) = signal(0usize);
    // With `?share=NAME`: whether this page holds the shared connection.
    let (holder, set_holder) = signal("");
    let options = Options::new()
        .manual(query_has("manual"))
        .on_open(move |_connection, session| {
            set_opens.update(|(n, last)| {
                *n += 1;
                *last = session_text(session);
            });
        })
        .on_event(move |event| match event {
            ConnectionEvent::Reconnecting { .. } => set_retries.update(|n| *n += 1),
            ConnectionEvent::Rtt(_) => set_pongs.update(|n| *n += 1),
            ConnectionEvent::Holder(h) => set_holder.set(holder_text(h)),
            _ => {}
        });
    let options = match share_name() {
        Some(name) => options.share(name),
        None => options,
    };
    // "Switch room" changes the URL: the hook closes the socket and opens one to the new URL,
    // with a new session.
    let url = RwSignal::new(room_url(resume));
    let ws = use_reconnecting_websocket_typed(
        url,
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
        move |said: Result<Said, Error>| {
            let mut n = 0;
            set_count.update(|count| {
                *count += 1;
                n = *count;
            });
            shown.update(|list| {
                list.push_back((n, said.unwrap_or_else(not_said)));
                if list.len() > SHOWN {
                    list.pop_front();
                }
            });
        },
    );

    // "Join on mount": sent while the component is created, before any effect ran. It must
    // be queued (or written) as any later send is.
    let mounted = describe(ws.send(Said::mine(format!("joined {}", member_id()))));

    let draft = RwSignal::new(String::new());
    // What became of the last send, numbered so a repeat of the same text is visible.
    let (outcome, set_outcome) = signal((0usize, String::new()));
    // Its delivery: with resume, pending until the server acknowledged it, then delivered.
    let (delivery, set_delivery) = signal("");
    let send = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let text = draft.get_untracked();
        if text.is_empty() {
            return;
        }
        let result = ws.send_tracked(Said::mine(text));
        let n = outcome.get_untracked().0 + 1;
        let described = describe(result.as_ref().map(Sent::outcome).map_err(Clone::clone));
        if let Ok(sent) = result {
            draft.set(String::new());
            set_delivery.set(delivery_text(sent.delivery()));
            leptos::task::spawn_local(async move {
                let delivery = sent.delivered().await;
                // Only the latest send's delivery is shown.
                if outcome.get_untracked().0 == n {
                    set_delivery.set(delivery_text(delivery));
                }
            });
        }
        set_outcome.set((n, described));
    };
    // Everything sent so far: with resume, "flushed" once the server acknowledged it all.
    let (flushed, set_flushed) = signal(String::new());
    let flush = move |_| {
        set_flushed.set("flushing".to_owned());
        let flush = ws.flush();
        leptos::task::spawn_local(async move {
            set_flushed.set(match flush.await {
                Ok(()) => "flushed".to_owned(),
                Err(error) => format!("not flushed: {error}"),
            });
        });
    };

    view! {
        <section class="bar">
            <span id="status" data-state=move || state_name(&ws.status.get())>
                {move || badge(&ws.status.get())}
            </span>
            <span>"received " <b id="count">{count}</b></span>
            <span id="session">{move || ws.session.with(session_text)}</span>
            <span id="mounted">{mounted}</span>
            <span id="opens" data-opens=move || opens.get().0>
                {move || format!("opens {} ({})", opens.get().0, opens.get().1)}
            </span>
            <span id="retries" data-retries=retries>{move || format!("retries {}", retries.get())}</span>
            <span id="holder" data-holder=holder>{holder}</span>
            <span id="rtt">
                {move || {
                    pongs.track();
                    rtt_text(ws.rtt())
                }}
            </span>
        </section>
        <form id="composer" on:submit=send>
            <input id="message" bind:value=draft placeholder="Say something" autocomplete="off" />
            <button id="send" type="submit">"Send"</button>
            <span id="outcome" data-sends=move || outcome.get().0>{move || outcome.get().1}</span>
            // The socket's send queue, read again after each send and each status change.
            <span id="queued">
                {move || {
                    ws.status.track();
                    outcome.track();
                    format!("queued {} B", ws.queued_bytes())
                }}
            </span>
            <span id="delivery">{delivery}</span>
            <button id="flush" type="button" on:click=flush>"Flush"</button>
            <span id="flushed">{flushed}</span>
        </form>
        <section class="bar">
            <button id="drop" on:click=move |_| drop_all()>"Server: drop all connections"</button>
            <button id="connect" on:click=move |_| ws.connect()>"Connect"</button>
            <button id="switch" on:click=move |_| url.set(format!("{}-2", room_url(resume)))>
                "Switch room"
            </button>
            <button id="reconnect" on:click=move |_| ws.reconnect()>"Reconnect"</button>
            <button id="close" on:click=move |_| ws.close()>"Close"</button>
        </section>
        <ol id="messages">
            <For each=move || shown.get() key=|(n, _)| *n let((n, said))>
                <li value=n data-from=said.from>{said.text}</li>
            </For>
        </ol>
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

/// This member's name: the page's `?id=` (default `leptos-chat`).
fn member_id() -> String {
    let query = window().location().search().unwrap_or_default();
    param(&query, "id").unwrap_or("leptos-chat").to_owned()
}

/// What a shared socket's `Holder` says of this page (`?share=NAME`): it holds the
/// connection, follows the one that does, or connects alone (no Web Locks here).
fn holder_text(holder: &ws_tether_leptos::Holder) -> &'static str {
    match holder {
        h if !h.shared => "alone",
        h if h.this_tab => "holds",
        _ => "follows",
    }
}

/// `?share=NAME`: the chat's socket shares one connection with every page of that name.
fn share_name() -> Option<String> {
    let query = window().location().search().unwrap_or_default();
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
    let query = window().location().search().unwrap_or_default();
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
    let _ = window().fetch_with_str("/control/drop-all");
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
