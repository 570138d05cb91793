//! Section 8, closing: `end` from the client discards the session; any other close keeps
//! it; a server that ends a session sends `end` and closes with 1000.

use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Wire;
use ws_tether::sans_io::resume::Control;
use ws_tether::LostReason;
use ws_tether::Message;

use super::{acknowledged_session, check, echo};
use crate::{describe, ensure, fail, Check, Event, Failure, Peer, Target};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§8", "closing", client_end_discards_the_session),
        check!("§8", "closing", close_without_end_keeps_the_session),
        check!(
            "§8",
            "closing",
            clean_close_after_end_waits_for_the_application
        ),
        check!("§8", "closing", server_end_is_end_then_close_1000, needs "end_after"),
    ]
}

async fn client_end_discards_the_session(target: Target) -> Result<(), Failure> {
    let mut peer = acknowledged_session(&target).await?;
    peer.control(&Control::End).await?;
    peer.close(1000).await?;
    let welcome = peer.resume(&target.url(""), 1).await?;
    ensure!(
        matches!(
            welcome,
            Control::Lost {
                reason: LostReason::Unknown,
                ..
            }
        ),
        "§6, §8: `end` discards the session: a later resume is `welcome lost unknown`, got \
         {welcome:?}"
    );
    Ok(())
}

async fn close_without_end_keeps_the_session(target: Target) -> Result<(), Failure> {
    let mut peer = acknowledged_session(&target).await?;
    peer.close(1000).await?;
    let welcome = peer.resume(&target.url(""), 1).await?;
    ensure!(
        matches!(welcome, Control::Resumed { recv: 1, .. }),
        "§8: a close without `end` is a lost connection; the session resumes: got {welcome:?}"
    );
    echo(&mut peer, "still here").await.map(drop)
}

async fn server_end_is_end_then_close_1000(target: Target) -> Result<(), Failure> {
    let url = target.url("end_after=1");
    let mut peer = Peer::hello(&url).await?;
    peer.send("bye").await?;
    let (_, got) = peer.app().await?;
    ensure!(
        got == Message::from("bye"),
        "expected the echo of \"bye\", got {got:?}"
    );
    loop {
        match peer.next().await? {
            Event::Control(Control::End) => break,
            Event::Control(_) => {}
            other => return Err(fail!("§8: expected `end` from the server, got {other:?}")),
        }
    }
    peer.expect_close(
        1000,
        "§8: a server that ends a session closes with 1000 after `end`",
    )
    .await
}

/// The application takes 1 s over the client's message (`hold_ms`); the client sends
/// `end` and closes at once. The server completes the closing handshake only once its
/// application has finished with the message, so its close comes a second later at the
/// earliest (a lower bound: no load makes a correct server fail it).
async fn clean_close_after_end_waits_for_the_application(target: Target) -> Result<(), Failure> {
    let hold = Duration::from_millis(1000);
    let mut peer = Peer::hello(&target.url("hold_ms=1000")).await?;
    let sent = Instant::now();
    peer.send("last").await?;
    peer.control(&Control::End).await?;
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    peer.write_wire(Wire::Close(Some(close))).await?;
    let close = peer.until_closed().await?;
    let waited = sent.elapsed();
    ensure!(
        matches!(close, Some((1000, _))),
        "§8: after `end` and a close 1000 the server completes the handshake with 1000, got {}",
        describe(&close)
    );
    ensure!(
        waited >= hold,
        "§8: the server completed the closing handshake after {waited:?}, before its \
         application finished with the client's last message ({hold:?}): a clean close after \
         `end` must mean everything was processed"
    );
    Ok(())
}
