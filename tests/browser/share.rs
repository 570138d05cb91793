//! Sharing one connection (`ReconnectingBuilder::share`, docs/sharing.md) between sockets of
//! one page: they find each other as tabs do (BroadcastChannel delivers between the channel
//! objects of one document; Web Lock requests queue), against the test server's `/resume`
//! echo session, which records each dial and the session's end.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use ws_tether::{ConnectionEvent as Ev, Holder, ReconnectingWebSocket, Resume, SendOutcome};

fn shared(id: &str) -> ReconnectingWebSocket {
    ReconnectingWebSocket::builder(ws_url(&format!("/resume?id={id}")))
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
