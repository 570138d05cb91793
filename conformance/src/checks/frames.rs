//! Section 2, frames: text frames are application text unchanged, binary frames carry a
//! tag (0x00 data, 0x01 control, anything else an error), control frames are at most 256
//! bytes, and application messages are numbered from 1 per direction and session.

use ws_tether::sans_io::resume::{Control, MAX_CONTROL_BYTES};
use ws_tether::Message;

use super::negotiation::control_bytes;
use super::{check, survives_protocol_error};
use crate::{ensure, Check, Failure, Peer, Target, WAIT};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§2", "frames", text_messages_come_back_as_text_unchanged),
        check!("§2", "frames", binary_messages_come_back_behind_tag_0),
        check!("§2", "frames", numbering_starts_at_1_in_both_directions),
        check!("§2", "frames", unknown_tag_is_closed_1002),
        check!("§2", "frames", empty_binary_frame_is_closed_1002),
        check!("§2", "frames", control_frame_over_256_bytes_is_closed_1002),
        check!("§2", "frames", control_frame_of_64_kib_is_closed_1002),
    ]
}

async fn text_messages_come_back_as_text_unchanged(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    for text in ["hi", "", "héllo wörld ✓", "\u{1}ack 1"] {
        peer.send(text).await?;
        let (_, got) = peer.app().await?;
        ensure!(
            got == Message::from(text),
            "§2: a text frame is an application message unchanged: sent {text:?}, echoed {got:?}"
        );
    }
    Ok(())
}

async fn binary_messages_come_back_behind_tag_0(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    // Payloads that look like tags and controls must stay data.
    for bytes in [
        vec![],
        vec![0],
        vec![1, b'e', b'n', b'd'],
        vec![2, 255, 0, 7],
    ] {
        peer.send(bytes.clone()).await?;
        let (_, got) = peer.app().await?;
        ensure!(
            got == Message::Binary(bytes.clone()),
            "§2: a binary message travels behind tag 0x00, payload unchanged: sent {bytes:?}, \
             echoed {got:?}"
        );
    }
    Ok(())
}

/// The echoes are the server's messages 1, 2, 3 (the kit numbers them as they come: a
/// server that numbered otherwise would fail the acks below), the server's acks cover the
/// client's 1..=3, and the server accepts `ack 3` for its own.
async fn numbering_starts_at_1_in_both_directions(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::hello(&target.url("")).await?;
    for text in ["one", "two", "three"] {
        peer.send(text).await?;
    }
    for (expected, text) in (1..).zip(["one", "two", "three"]) {
        let (seq, got) = peer.app().await?;
        ensure!(
            seq == expected && got == Message::from(text),
            "§2: expected the echo of {text:?} as message {expected}, got {got:?}"
        );
    }
    peer.until_acked(3, WAIT).await?;
    peer.ack().await?;
    // Still open and counting: a ping with the same count gets `ack 3`.
    peer.control(&Control::Ping(3)).await?;
    loop {
        match peer.next().await? {
            crate::Event::Control(Control::Ack(3)) => return Ok(()),
            crate::Event::Closed(close) => {
                return Err(crate::fail!(
                    "§2: `ack 3` for the server's messages 1..=3 was refused ({})",
                    crate::describe(&close)
                ))
            }
            _ => {}
        }
    }
}

async fn unknown_tag_is_closed_1002(target: Target) -> Result<(), Failure> {
    let frame = Message::from(b"\x07data".to_vec());
    survives_protocol_error(target, frame, "a frame tagged 0x07").await
}

async fn empty_binary_frame_is_closed_1002(target: Target) -> Result<(), Failure> {
    survives_protocol_error(target, Message::Binary(vec![]), "an empty binary frame").await
}

/// 257 bytes. No valid control message is longer than 208, so a server that checks only
/// the grammar passes this too; the 64 KiB one below is where reading the whole frame first
/// would show (the spec's limit exists so a receiver needn't).
async fn control_frame_over_256_bytes_is_closed_1002(target: Target) -> Result<(), Failure> {
    let mut body = b"ping 1".to_vec();
    body.resize(MAX_CONTROL_BYTES, b' ');
    let frame = control_bytes(&body);
    ensure!(
        frame.len() == MAX_CONTROL_BYTES + 1,
        "the kit built a wrong frame"
    );
    survives_protocol_error(target, frame, "a 257-byte control frame").await
}

async fn control_frame_of_64_kib_is_closed_1002(target: Target) -> Result<(), Failure> {
    let frame = control_bytes(&vec![b'a'; 64 * 1024]);
    survives_protocol_error(target, frame, "a 64 KiB control frame").await
}
