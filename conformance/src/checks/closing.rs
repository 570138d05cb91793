//! Section 8, closing: `end` from the client discards the session; any other close keeps
//! it; a server that ends a session sends `end` and closes with 1000.

use ws_tether::sans_io::resume::Control;
use ws_tether::LostReason;
use ws_tether::Message;

use super::{acknowledged_session, check, echo};
use crate::{ensure, fail, Check, Event, Failure, Peer, Target};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§8", "closing", client_end_discards_the_session),
        check!("§8", "closing", close_without_end_keeps_the_session),
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
