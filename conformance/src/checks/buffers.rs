//! Section 6, replay buffers, bounds and expiry: a session kept past its time to live is
//! lost `expired` (or `unknown` once forgotten); a server whose replay buffer overflows
//! while the client is away answers `welcome lost overflow`. Both need the test route to
//! shorten the server's bounds (`ttl_ms`, `overflow_bytes`).

use std::time::Duration;

use ws_tether::sans_io::resume::Control;
use ws_tether::LostReason;

use super::{acknowledged_session, check, echo};
use crate::{ensure, fail, Check, Failure, Peer, Target};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§6", "buffers", session_past_its_ttl_is_lost_expired, needs "ttl_ms"),
        check!("§6", "buffers", overflow_while_away_is_lost_overflow, needs "overflow_bytes"),
    ]
}

/// A 1 s time to live, a resume after 1.5 s without a connection.
async fn session_past_its_ttl_is_lost_expired(target: Target) -> Result<(), Failure> {
    let url = target.url("ttl_ms=1000");
    let mut peer = acknowledged_session(&Target::new(url.clone(), [])).await?;
    peer.drop_connection();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let welcome = peer.resume(&url, 1).await?;
    ensure!(
        matches!(
            welcome,
            Control::Lost {
                reason: LostReason::Expired | LostReason::Unknown,
                ..
            }
        ),
        "§6: a session kept past its time to live without a connection is `welcome lost \
         expired` (or `unknown` once forgotten), got {welcome:?}"
    );
    let seq = echo(&mut peer, "new").await?;
    ensure!(
        seq == 1,
        "§4.4: after `welcome lost` numbering restarts at 1, got {seq}"
    );
    Ok(())
}

/// A 16-byte replay bound whose sends don't wait (`overflow_bytes=16`); the application
/// holds the first message 500 ms (`hold_ms`), so it echoes three 10-byte messages while
/// the client is away: they can't all fit.
async fn overflow_while_away_is_lost_overflow(target: Target) -> Result<(), Failure> {
    let url = target.url("overflow_bytes=16&hold_ms=500");
    let mut peer = Peer::hello(&url).await?;
    for text in ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"] {
        peer.send(text).await?;
    }
    peer.drop_connection();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let welcome = peer.resume(&url, 0).await?;
    match welcome {
        Control::Lost {
            reason: LostReason::Overflow,
            missed,
            ..
        } => {
            ensure!(
                missed != Some(0),
                "§3, §6: `welcome lost overflow` with <missed> 0, though the client received \
                 none of the echoes"
            );
            Ok(())
        }
        other => Err(fail!(
            "§6: a replay buffer that overflowed while the client was away is answered \
             with `welcome lost overflow <new> <missed> <window>`, got {other:?}"
        )),
    }
}
