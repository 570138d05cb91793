//! The checks, one module per part of the spec, each a list of [`Check`]s in the spec's
//! order. Helpers every part uses (a session the server has acknowledged, a protocol
//! error the session must survive) live here.

use ws_tether::sans_io::resume::Control;
use ws_tether::Message;

use crate::{ensure, Check, Failure, Peer, Target};

mod acks;
mod buffers;
mod closing;
mod errors;
mod frames;
mod negotiation;
mod opening;

/// A [`Check`] of `$section` named `$group::$f`, running `$f(Target)`; `needs` names the
/// optional query parameter it needs.
macro_rules! check {
    ($section:literal, $group:literal, $f:ident) => {
        check!($section, $group, $f, None)
    };
    ($section:literal, $group:literal, $f:ident, needs $needs:literal) => {
        check!($section, $group, $f, Some($needs))
    };
    ($section:literal, $group:literal, $f:ident, $needs:expr) => {
        $crate::Check {
            section: $section,
            name: concat!($group, "::", stringify!($f)),
            needs: $needs,
            run: |target| Box::pin($f(target)),
        }
    };
}
pub(crate) use check;

pub(crate) fn all() -> Vec<Check> {
    [
        negotiation::checks(),
        frames::checks(),
        errors::checks(),
        opening::checks(),
        acks::checks(),
        buffers::checks(),
        closing::checks(),
    ]
    .concat()
}

/// A new session in which the server has echoed and acknowledged one message: a session
/// with something to lose.
async fn acknowledged_session(target: &Target) -> Result<Peer, Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    echo(&mut peer, "before").await?;
    peer.until_acked(1, crate::WAIT).await?;
    Ok(peer)
}

/// Sends `text` and checks that the next application message is its echo.
async fn echo(peer: &mut Peer, text: &str) -> Result<u64, Failure> {
    peer.send(text).await?;
    let (seq, got) = peer.app().await?;
    ensure!(
        got == Message::from(text),
        "the test route must echo each message: sent {text:?}, got {got:?} (message {seq})"
    );
    Ok(seq)
}

/// §3: `frame` is a protocol error: the server closes with 1002, and the session survives
/// (a resume continues it, with the message the server had recorded, and the numbering
/// goes on).
async fn survives_protocol_error(
    target: Target,
    frame: Message,
    what: &str,
) -> Result<(), Failure> {
    let mut peer = acknowledged_session(&target).await?;
    peer.write(frame).await?;
    peer.expect_close(1002, &format!("§3: {what} is a protocol error"))
        .await?;
    resumes_after(&target, &mut peer, what).await
}

/// The session resumes after a protocol error: `welcome resumed` with the client's
/// message, and the next message echoes as number 2.
async fn resumes_after(target: &Target, peer: &mut Peer, what: &str) -> Result<(), Failure> {
    let recv = peer.recv();
    let welcome = peer.resume(&target.url(""), recv).await?;
    ensure!(
        matches!(welcome, Control::Resumed { recv: 1, .. }),
        "§3: after closing 1002 for {what} the session must survive a resume; got {welcome:?}"
    );
    let seq = echo(peer, "after").await?;
    ensure!(
        seq == recv + 1,
        "§2: numbering continues across connections: expected message {}, got {seq}",
        recv + 1
    );
    Ok(())
}
