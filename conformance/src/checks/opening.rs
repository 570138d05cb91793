//! Section 4, opening a connection: every welcome form, replay in both directions after a
//! resume (exactly what the other side lacks, the `<next>` rule), and takeover.
//!
//! The replay checks lean on what `Peer` checks of any resume: `<next>` at most the
//! claimed count + 1, a welcome's `<recv>` neither above what the client sent nor below an
//! ack the server gave, replayed messages equal to the originals.

use std::time::Duration;

use ws_tether::sans_io::resume::Control;
use ws_tether::LostReason;
use ws_tether::Message;

use super::{acknowledged_session, check, echo};
use crate::{describe, ensure, fail, Check, Event, Failure, Peer, Target, WAIT};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!(
            "§4",
            "opening",
            resume_after_a_lost_connection_is_welcome_resumed
        ),
        check!(
            "§4",
            "opening",
            server_replays_exactly_what_the_client_lacks
        ),
        check!("§4", "opening", client_replay_is_processed_once_in_order),
        check!("§4", "opening", unknown_session_is_welcome_lost_unknown),
        check!(
            "§4",
            "opening",
            resume_beyond_what_was_sent_is_welcome_lost_diverged
        ),
        check!("§4", "opening", second_resume_takes_over_with_4000),
        check!("§4", "opening", session_ended_while_away_is_welcome_ended, needs "end_after"),
    ]
}

async fn resume_after_a_lost_connection_is_welcome_resumed(target: Target) -> Result<(), Failure> {
    let mut peer = acknowledged_session(&target).await?;
    let id = peer.id();
    peer.drop_connection();
    let welcome = peer.resume(&target.url(""), 1).await?;
    ensure!(
        matches!(&welcome, Control::Resumed { session, recv: 1, next: 2, .. } if !session.is_empty()),
        "§4.3: resuming {id} after the server recorded and echoed one message: expected \
         `welcome resumed <session> 1 2 <window>`, got {welcome:?}"
    );
    let seq = echo(&mut peer, "again").await?;
    ensure!(
        seq == 2,
        "§2: numbering goes on across connections: got {seq}, expected 2"
    );
    Ok(())
}

/// Three echoes, none acknowledged; the resume claims only the first: the server sends
/// again its messages from `<next>` (≤ 2) on, and they equal the first ones.
async fn server_replays_exactly_what_the_client_lacks(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    for text in ["a", "b", "c"] {
        echo(&mut peer, text).await?;
    }
    peer.until_acked(3, WAIT).await?;
    peer.drop_connection();
    let welcome = peer.resume(&target.url(""), 1).await?;
    let Control::Resumed { recv: 3, next, .. } = welcome else {
        return Err(fail!(
            "§4.3: expected `welcome resumed <session> 3 <next> <window>` (the server \
             acknowledged 3), got {welcome:?}"
        ));
    };
    // Messages next..=3 again (`Peer` checks they equal the originals), then nothing else.
    for expected in next..=3 {
        let (seq, _) = peer.app().await?;
        ensure!(
            seq == expected,
            "§4.3: expected the replay of message {expected}, got {seq}"
        );
    }
    let seq = echo(&mut peer, "d").await?;
    ensure!(
        seq == 4,
        "§4.3: after replaying 2 and 3 the server's next message is 4, got {seq} (a replay \
         must be exactly what the client lacks)"
    );
    Ok(())
}

/// Three messages sent at once and the connection dropped at once: whatever the server
/// got, the resume's `<recv>` says it, the kit sends the rest again, and the echoes are
/// a, b, c exactly once, in order.
async fn client_replay_is_processed_once_in_order(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    for text in ["a", "b", "c"] {
        peer.send(text).await?;
    }
    peer.drop_connection();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let welcome = peer.resume(&target.url(""), 0).await?;
    ensure!(
        matches!(welcome, Control::Resumed { .. }),
        "§4.3: expected `welcome resumed`, got {welcome:?}"
    );
    // Echoes already sent before the drop come again (the resume claimed none).
    while peer.recv() < 3 {
        peer.app().await?;
    }
    let echoed: Vec<Message> = peer.received.clone();
    let expected: Vec<Message> = ["a", "b", "c"].map(Message::from).into();
    ensure!(
        echoed == expected,
        "§4.3, §7: each client message must be processed once, in order: the echoes were \
         {echoed:?}"
    );
    let seq = echo(&mut peer, "d").await?;
    ensure!(
        seq == 4,
        "§4.3: a fourth echo is message 4, got {seq} (a message processed twice?)"
    );
    Ok(())
}

async fn unknown_session_is_welcome_lost_unknown(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::default();
    let welcome = peer
        .resume_with(&target.url(""), "conformance-never-issued", 7)
        .await?;
    ensure!(
        matches!(
            welcome,
            Control::Lost {
                reason: LostReason::Unknown,
                ..
            }
        ),
        "§3: a session never issued is `welcome lost unknown <new> <missed> <window>`, got \
         {welcome:?}"
    );
    // The new session numbers from 1 both ways.
    let seq = echo(&mut peer, "new").await?;
    ensure!(
        seq == 1,
        "§4.4: after `welcome lost` numbering restarts at 1, got {seq}"
    );
    peer.until_acked(1, WAIT).await.map(drop)
}

async fn resume_beyond_what_was_sent_is_welcome_lost_diverged(
    target: Target,
) -> Result<(), Failure> {
    let mut peer = acknowledged_session(&target).await?;
    peer.drop_connection();
    // The server sent one message; the client claims five.
    let welcome = peer.resume(&target.url(""), 5).await?;
    ensure!(
        matches!(
            welcome,
            Control::Lost {
                reason: LostReason::Diverged,
                missed: None,
                ..
            }
        ),
        "§3: a resume whose <recv> is beyond what the server sent is `welcome lost diverged \
         <new> ? <window>`, got {welcome:?}"
    );
    let seq = echo(&mut peer, "new").await?;
    ensure!(
        seq == 1,
        "§4.4: after `welcome lost` numbering restarts at 1, got {seq}"
    );
    Ok(())
}

async fn second_resume_takes_over_with_4000(target: Target) -> Result<(), Failure> {
    let mut first = acknowledged_session(&target).await?;
    let mut second = first.fork();
    let welcome = second.resume(&target.url(""), 1).await?;
    ensure!(
        matches!(welcome, Control::Resumed { recv: 1, .. }),
        "§4.3: a resume while the session has another connection takes it over: expected \
         `welcome resumed`, got {welcome:?}"
    );
    match first.until_closed().await? {
        Some((4000, reason)) if reason == "taken over" => {}
        close => {
            return Err(fail!(
                "§4.3: the old connection must be closed with 4000 and the reason `taken \
                 over`, got {}",
                describe(&close)
            ))
        }
    }
    let seq = echo(&mut second, "mine").await?;
    ensure!(
        seq == 2,
        "§4.3: the session continues on the new connection: got {seq}"
    );
    Ok(())
}

/// The application holds the first message (`hold_ms`), then echoes it and ends the
/// session (`end_after=1`) while the client is away. The resume gets `welcome ended`, the
/// last message from `<next>` on, `end`, and a close with 1000.
async fn session_ended_while_away_is_welcome_ended(target: Target) -> Result<(), Failure> {
    let url = target.url("end_after=1&hold_ms=500");
    let mut peer = Peer::hello(&url).await?;
    peer.send("last").await?;
    peer.drop_connection();
    // Well past the hold: the application has echoed and ended by then.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let welcome = peer.resume(&url, 0).await?;
    let Control::Ended { next: 1, .. } = welcome else {
        return Err(fail!(
            "§3: a session the server ended while the client was away is resumed with \
             `welcome ended <session> <recv> 1` (the client has none of its messages), got \
             {welcome:?}"
        ));
    };
    let (seq, last) = peer.app().await?;
    ensure!(
        seq == 1 && last == Message::from("last"),
        "§4.5: expected the final message 1 (\"last\"), got {last:?} as {seq}"
    );
    match peer.next().await? {
        Event::Control(Control::End) => {}
        other => {
            return Err(fail!(
                "§4.5: expected `end` after the last message, got {other:?}"
            ))
        }
    }
    peer.expect_close(1000, "§8: after `end` the server closes")
        .await
}
