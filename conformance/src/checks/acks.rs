//! Section 5, acknowledgements, flow control and proof of life: acks within the ack delay
//! and at once every 64 messages, cumulative; `ping` answered with `ack` whatever the
//! application is doing; the receive window honoured up to its last byte and enforced
//! past it.
//!
//! Timing: the spec's bounds are 100 ms (ack delay, "promptly"). The kit allows
//! [`SLACK`] instead, so that a loaded machine doesn't fail a correct server: these checks
//! catch an ack that never comes or waits on the application, not one that is 150 ms late.

use std::time::Duration;

use ws_tether::sans_io::resume::Control;
use ws_tether::Message;

use super::{check, echo};
use crate::{describe, ensure, fail, Check, Event, Failure, Peer, Target, WAIT};

/// What the kit accepts for the spec's 100 ms (ack delay, a prompt answer to `ping`).
pub const SLACK: Duration = Duration::from_secs(2);

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§5", "acks", one_message_is_acked_within_the_ack_delay),
        check!("§5", "acks", burst_of_64_is_acked),
        check!("§5", "acks", acks_of_a_200_message_burst_are_cumulative),
        check!("§5", "acks", ping_is_answered_with_ack),
        check!("§5", "acks", ping_is_answered_while_the_application_is_busy),
        check!("§5", "window", window_is_accepted_up_to_its_last_byte),
        check!(
            "§5",
            "window",
            more_than_the_window_in_flight_is_closed_1002
        ),
    ]
}

async fn one_message_is_acked_within_the_ack_delay(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    echo(&mut peer, "one").await?;
    peer.until_acked(1, SLACK)
        .await
        .map_err(|e| fail!("§5: an ack comes at the latest 100 ms after the message (the kit allows {SLACK:?}): {e}"))
        .map(drop)
}

/// 64 messages written at once: an ack covering all of them. (The kit can't tell "at
/// once after 64" from "within the ack delay" on a loaded machine; it checks that the
/// ack comes and covers them.)
async fn burst_of_64_is_acked(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    for i in 0..64 {
        peer.send(format!("m{i}")).await?;
    }
    peer.until_acked(64, SLACK)
        .await
        .map_err(|e| fail!("§5: 64 unacknowledged messages are acked at once: {e}"))?;
    Ok(())
}

/// 200 messages: every ack on the way is checked (never back, never beyond what was sent)
/// and the last covers all 200; all echoes come in order.
async fn acks_of_a_200_message_burst_are_cumulative(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    for i in 0..200 {
        peer.send(format!("m{i}")).await?;
    }
    peer.until_acked(200, WAIT).await?;
    while peer.recv() < 200 {
        peer.app().await?;
    }
    for (i, got) in peer.received.iter().enumerate() {
        ensure!(
            *got == Message::from(format!("m{i}")),
            "§2: echo {} is {got:?}, expected \"m{i}\" (order)",
            i + 1
        );
    }
    Ok(())
}

/// Waits for an `ack`, answering nothing else; fails if it is not `ack expected`.
async fn answer_to_ping(peer: &mut Peer, expected: u64, why: &str) -> Result<Duration, Failure> {
    let start = tokio::time::Instant::now();
    loop {
        match peer.next_until(start + SLACK).await {
            Ok(Event::Control(Control::Ack(n))) if n == expected => return Ok(start.elapsed()),
            Ok(Event::Control(Control::Ack(n))) => {
                return Err(fail!("{why}: expected `ack {expected}`, got `ack {n}`"))
            }
            Ok(Event::Closed(close)) => {
                return Err(fail!("{why}: the connection closed ({})", describe(&close)))
            }
            Ok(_) => {}
            Err(e) if e.is_timeout() => {
                return Err(fail!(
                    "{why}: no `ack` within {SLACK:?} (the spec says 100 ms; the kit allows more)"
                ))
            }
            Err(e) => return Err(e),
        }
    }
}

async fn ping_is_answered_with_ack(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    peer.control(&Control::Ping(0)).await?;
    answer_to_ping(&mut peer, 0, "§5: `ping` is answered with `ack <recv>`")
        .await
        .map(drop)
}

/// The application takes 10 s over the first message (`hold_ms`): a `ping` behind it is
/// answered at once, and with `ack 0`, since the server acknowledges only what its
/// application finished with.
async fn ping_is_answered_while_the_application_is_busy(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("hold_ms=10000")).await?;
    peer.send("slow").await?;
    peer.control(&Control::Ping(0)).await?;
    answer_to_ping(
        &mut peer,
        0,
        "§5: `ping` is answered promptly whatever the application is doing, and the ack \
         covers only what the application finished with",
    )
    .await
    .map(drop)
}

/// Messages of at most 64 KiB filling exactly `window` bytes.
fn fill(window: u64) -> Vec<usize> {
    let chunk = 64 * 1024;
    let mut left = window as usize;
    let mut sizes = Vec::new();
    while left > 0 {
        let size = left.min(chunk);
        sizes.push(size);
        left -= size;
    }
    sizes
}

/// The most the kit sends to test a window (a larger window is checked up to this).
const MAX_WINDOW_TESTED: u64 = 64 << 20;

/// A session whose application holds the first message for 20 s (`hold_ms`), so nothing
/// is acknowledged; the kit fills the announced window exactly.
async fn full_window(target: &Target) -> Result<Peer, Failure> {
    let mut peer = Peer::hello(&target.url("hold_ms=20000")).await?;
    let window = peer.window;
    ensure!(
        window <= MAX_WINDOW_TESTED,
        "the server announced a {window}-byte window; the kit tests windows up to \
         {MAX_WINDOW_TESTED} bytes"
    );
    for size in fill(window) {
        peer.send(vec![b'w'; size]).await?;
    }
    Ok(peer)
}

async fn window_is_accepted_up_to_its_last_byte(target: Target) -> Result<(), Failure> {
    let mut peer = full_window(&target).await?;
    peer.control(&Control::Ping(0)).await?;
    answer_to_ping(
        &mut peer,
        0,
        "§5: a client may have its whole window in flight; the server answers its `ping`",
    )
    .await
    .map(drop)
}

async fn more_than_the_window_in_flight_is_closed_1002(target: Target) -> Result<(), Failure> {
    let mut peer = full_window(&target).await?;
    let window = peer.window;
    if window == 0 {
        // "Except one message alone": with a zero window that one is allowed.
        peer.send("alone").await?;
    }
    peer.send("x").await?;
    match peer.until_closed().await? {
        Some((1002, _)) => Ok(()),
        close => Err(fail!(
            "§5: a client with more than the {window}-byte window in flight is closed with \
             1002, got {}",
            describe(&close)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fill_makes_exactly_the_window_in_pieces_of_at_most_64_kib() {
        for window in [0, 1, 65_535, 65_536, 65_537, 1 << 20, (1 << 20) + 3] {
            let pieces = fill(window);
            assert_eq!(pieces.iter().sum::<usize>() as u64, window);
            assert!(pieces.iter().all(|&p| (1..=65_536).contains(&p)));
        }
    }
}
