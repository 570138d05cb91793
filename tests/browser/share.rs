//! Sharing one connection (`ReconnectingBuilder::share`, docs/sharing.md) between sockets of
//! one page: they find each other as tabs do (BroadcastChannel delivers between the channel
//! objects of one document; Web Lock requests queue), against the test server's `/resume`
//! echo session, which records each dial and the session's end.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use ws_tether::{ConnectionEvent as Ev, Holder, ReconnectingWebSocket, Resume, SendOutcome};

fn shared(id: &str) -> ReconnectingWebSocket {
    shared_to(id, "")
}

/// A socket of the share `id` to the resume echo, with these more query parameters.
fn shared_to(id: &str, query: &str) -> ReconnectingWebSocket {
    ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}{query}")))
        .resume(Resume::default())
        .backoff(fast())
        .share(id)
        .open()
        .unwrap()
}

/// Reads `n` messages from `ws` as text.
async fn receive(ws: &mut ReconnectingWebSocket, n: usize, what: &str) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let m = within(10_000, what, ws.next()).await;
        got.push(m.expect("the socket is open").into_text().unwrap());
    }
    got
}

/// The socket holding the connection, once every socket names it (after a holder left,
/// the others name it until the next one took over).
async fn holder(sockets: &[ReconnectingWebSocket]) -> usize {
    within(5_000, "every socket names the same holder", async {
        loop {
            let holders: Vec<Option<Holder>> = sockets.iter().map(|ws| ws.holder()).collect();
            let tabs: Vec<u64> = holders.iter().flatten().map(|h| h.tab).collect();
            let own: Vec<usize> = (0..sockets.len())
                .filter(|&i| holders[i].is_some_and(|h| h.this_tab))
                .collect();
            assert!(holders.iter().flatten().all(|h| h.shared), "{holders:?}");
            if tabs.len() == sockets.len() && tabs.iter().all(|t| *t == tabs[0]) && own.len() == 1 {
                return own[0];
            }
            sleep(20).await;
        }
    })
    .await
}

/// Each socket sends `n` numbered messages (`{batch}{socket}-{i}`), the sends interleaved.
fn send_all(sockets: &[ReconnectingWebSocket], batch: &str, n: usize) -> Vec<String> {
    let mut sent = Vec::new();
    for i in 1..=n {
        for (s, ws) in sockets.iter().enumerate() {
            let m = format!("{batch}{s}-{i}");
            let outcome = ws.send(text(&m)).unwrap();
            assert!(
                matches!(
                    outcome,
                    SendOutcome::Written | SendOutcome::Queued { dropped: 0 }
                ),
                "{m}: {outcome:?}"
            );
            sent.push(m);
        }
    }
    sent
}

/// Every socket got every message of `sent` once, each sender's in its order, and all of
/// them in the same order.
fn check_stream(got: &[Vec<String>], sent: &[String]) {
    for (s, stream) in got.iter().enumerate() {
        let mut sorted = stream.clone();
        sorted.sort();
        let mut expected = sent.to_vec();
        expected.sort();
        assert_eq!(sorted, expected, "socket {s}: each message once");
        assert_eq!(stream, &got[0], "socket {s}: the same order as socket 0");
    }
    for sender in 0..got.len() {
        let prefix = |m: &&String| {
            m.split('-')
                .next()
                .is_some_and(|p| p.ends_with(&sender.to_string()))
        };
        let mine: Vec<&String> = got[0].iter().filter(prefix).collect();
        let order: Vec<&String> = sent.iter().filter(prefix).collect();
        assert_eq!(mine, order, "socket {sender}'s messages in its order");
    }
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn sockets_with_one_name_share_one_connection_and_hand_it_over() {
    let id = unique_id("share");
    let mut sockets: Vec<ReconnectingWebSocket> = (0..3).map(|_| shared(&id)).collect();
    let h = holder(&sockets).await;
    wait_for_stats(&id, 5_000, "the holder's dial", |s| {
        s["dials"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;

    // Every socket receives every echo once, in order, over one connection.
    let sent = send_all(&sockets, "a", 5);
    let mut got = Vec::new();
    for ws in sockets.iter_mut() {
        got.push(receive(ws, sent.len(), "the first batch's echoes").await);
    }
    check_stream(&got, &sent);
    let s = stats(&id).await;
    assert_eq!(
        s["dials"].as_array().map(Vec::len),
        Some(1),
        "one connection for 3 sockets: {s}"
    );

    // A follower's flush resolves once the server acknowledged its sends: the server's
    // application has them by then.
    let f = (h + 1) % sockets.len();
    for i in 1..=3 {
        sockets[f]
            .feed(text(&format!("flush{f}-{i}")))
            .await
            .unwrap();
    }
    within(10_000, "the follower's flush", sockets[f].flush())
        .await
        .unwrap();
    let s = stats(&id).await;
    let received: Vec<&str> = s["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    for i in 1..=3 {
        let m = format!("flush{f}-{i}");
        assert!(
            received.contains(&m.as_str()),
            "{m} at the server when flush resolved: {s}"
        );
    }
    for ws in sockets.iter_mut() {
        receive(ws, 3, "the flushed messages' echoes").await;
    }

    // The holder leaves: another takes over and resumes the same session; nothing lost.
    let mut events: Vec<_> = sockets.iter().map(|ws| ws.events()).collect();
    sockets.remove(h).close();
    events.remove(h);
    let h2 = holder(&sockets).await;
    let sent = send_all(&sockets, "b", 5);
    let mut got = Vec::new();
    for ws in sockets.iter_mut() {
        got.push(receive(ws, sent.len(), "the second batch's echoes").await);
    }
    check_stream(&got, &sent);
    let s = wait_for_stats(&id, 5_000, "the next holder's dial", |s| {
        s["dials"].as_array().is_some_and(|d| d.len() >= 2)
    })
    .await;
    assert_eq!(
        s["dials"].as_array().map(Vec::len),
        Some(2),
        "one dial per holder: {s}"
    );
    assert_eq!(s["sessions"], 1, "the next holder resumed the session: {s}");
    for (i, e) in events.iter_mut().enumerate() {
        let lost = std::iter::from_fn(|| futures::FutureExt::now_or_never(e.next()).flatten())
            .find(|e| matches!(e, Ev::SessionLost { .. }));
        assert!(lost.is_none(), "socket {i}: {lost:?}");
    }

    // The last socket's close ends the session; the one before it only leaves.
    sockets.remove(1 - h2).close();
    sleep(300).await;
    assert_eq!(stats(&id).await["ended"], 0, "a socket is still open");
    sockets.remove(0).close();
    wait_for_stats(&id, 5_000, "the session's end", |s| s["ended"] == 1).await;
}

/// Where the scope has no Web Locks (a context that isn't secure, an old engine), a shared
/// socket connects by itself, says so, and works as an unshared one.
#[wasm_bindgen_test::wasm_bindgen_test]
async fn without_web_locks_each_socket_connects_by_itself_and_says_so() {
    use wasm_bindgen::JsValue;
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let navigator: js_sys::Object = navigator.into();
    // An own `locks` property, undefined, hides the prototype's getter while the sockets
    // are made; deleting it brings the getter back.
    let hidden = js_sys::Object::new();
    js_sys::Reflect::set(&hidden, &"value".into(), &JsValue::UNDEFINED).unwrap();
    js_sys::Reflect::set(&hidden, &"configurable".into(), &JsValue::TRUE).unwrap();
    js_sys::Object::define_property(&navigator, &"locks".into(), &hidden);
    let id = unique_id("share-alone");
    let mut sockets: Vec<ReconnectingWebSocket> = (0..2).map(|_| shared(&id)).collect();
    js_sys::Reflect::delete_property(&navigator, &"locks".into()).unwrap();
    for ws in &sockets {
        let holder = ws.holder().expect("known at once");
        assert!(holder.this_tab && !holder.shared, "{holder:?}");
    }
    wait_for_stats(&id, 5_000, "a dial per socket", |s| {
        s["dials"].as_array().is_some_and(|d| d.len() == 2)
    })
    .await;
    for (i, ws) in sockets.iter_mut().enumerate() {
        let m = format!("alone{i}");
        let _ = ReconnectingWebSocket::send(ws, text(&m)).unwrap();
        assert_eq!(receive(ws, 1, "its own echo").await, [m]);
    }
    for ws in sockets {
        ws.close();
    }
}

/// The server acknowledges a message once its application has finished with it, here 1 s
/// after the first: a follower's flush resolves only then, with the echo already there.
#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_followers_flush_waits_for_the_servers_acknowledgement() {
    let id = unique_id("share-flush");
    let mut sockets: Vec<ReconnectingWebSocket> =
        (0..2).map(|_| shared_to(&id, "&hold_ms=1000")).collect();
    let f = 1 - holder(&sockets).await;
    let start = now_ms();
    sockets[f].feed(text("held")).await.unwrap();
    within(10_000, "the follower's flush", sockets[f].flush())
        .await
        .unwrap();
    let took = now_ms() - start;
    assert!(
        took >= 900.0,
        "flush resolved after {took} ms, before the server's application"
    );
    let echo = futures::FutureExt::now_or_never(sockets[f].next());
    assert_eq!(
        echo,
        Some(Some(text("held"))),
        "the echo came before the acknowledgement"
    );
    for ws in sockets {
        ws.close();
    }
}
