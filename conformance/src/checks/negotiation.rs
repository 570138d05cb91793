//! Section 1, negotiation: the client's first frame is `hello` or `resume`, the server's is
//! a welcome, and a server closes with 1002 a connection whose first frame is anything
//! else, without answering it.

use ws_tether::sans_io::resume::Control;
use ws_tether::Message;

use super::check;
use crate::{describe, ensure, fail, Check, Failure, Peer, Target};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§1", "negotiation", hello_is_answered_with_welcome_new),
        check!("§1", "negotiation", resume_is_answered_with_a_welcome),
        check!(
            "§3",
            "negotiation",
            session_ids_are_distinct_and_hold_128_bits
        ),
        check!(
            "§1",
            "negotiation",
            first_frame_text_message_is_refused_1002
        ),
        check!(
            "§1",
            "negotiation",
            first_frame_binary_message_is_refused_1002
        ),
        check!("§1", "negotiation", first_frame_ack_is_refused_1002),
        check!("§1", "negotiation", first_frame_welcome_is_refused_1002),
        check!(
            "§1",
            "negotiation",
            first_frame_malformed_control_is_refused_1002
        ),
        check!("§1", "negotiation", first_frame_unknown_tag_is_refused_1002),
    ]
}

async fn hello_is_answered_with_welcome_new(target: Target) -> Result<(), Failure> {
    // `Peer::hello` checks that the first frame is a `welcome new` and nothing before it.
    Peer::hello(&target.url("")).await.map(drop)
}

async fn resume_is_answered_with_a_welcome(target: Target) -> Result<(), Failure> {
    let mut peer = Peer::default();
    let welcome = peer
        .resume_with(&target.url(""), "conformance-never-issued", 0)
        .await?;
    ensure!(
        matches!(welcome, Control::Lost { .. }),
        "§4: a resume of a session never issued must be answered with `welcome lost`, got \
         {welcome:?}"
    );
    Ok(())
}

/// Session identifiers are the only credential of a resume: at least 128 bits of
/// randomness, so at least 22 characters of the 64-symbol alphabet.
async fn session_ids_are_distinct_and_hold_128_bits(target: Target) -> Result<(), Failure> {
    let a = Peer::hello(&target.url("")).await?.id();
    let b = Peer::hello(&target.url("")).await?.id();
    ensure!(a != b, "§3: two sessions got the same identifier {a}");
    for id in [a, b] {
        ensure!(
            id.len() >= 22,
            "§3: identifier {id:?} has {} characters: 128 bits of randomness need at least 22 \
             from `A-Z a-z 0-9 _ -`",
            id.len()
        );
    }
    Ok(())
}

/// Opens a connection, writes `first` and expects the server to close it with 1002
/// without sending anything (no welcome, no echo).
async fn refused(target: Target, first: Message, what: &str) -> Result<(), Failure> {
    let mut peer = Peer::open(&target.url("")).await?;
    peer.write(first).await?;
    match peer.next().await {
        Ok(crate::Event::Closed(Some((1002, _)))) => Ok(()),
        Ok(crate::Event::Closed(close)) => Err(fail!(
            "§1: a first frame that is {what} must be closed with 1002, got {}",
            describe(&close)
        )),
        Ok(event) => Err(fail!(
            "§1: a first frame that is {what} must be closed with 1002; the server answered \
             {event:?}"
        )),
        Err(e) if e.is_timeout() => Err(fail!(
            "§1: a first frame that is {what} must be closed with 1002; the connection stayed \
             open for {:?}",
            crate::WAIT
        )),
        Err(e) => Err(fail!(
            "§1: a first frame that is {what} must be closed with 1002 and nothing else: {e}"
        )),
    }
}

async fn first_frame_text_message_is_refused_1002(target: Target) -> Result<(), Failure> {
    refused(target, Message::from("hello"), "a text message").await
}

async fn first_frame_binary_message_is_refused_1002(target: Target) -> Result<(), Failure> {
    refused(
        target,
        Message::from(vec![0, 1, 2]),
        "a binary data message",
    )
    .await
}

async fn first_frame_ack_is_refused_1002(target: Target) -> Result<(), Failure> {
    refused(target, Control::Ack(0).encode(), "`ack 0`").await
}

async fn first_frame_welcome_is_refused_1002(target: Target) -> Result<(), Failure> {
    let welcome = Control::New {
        session: "conformance".into(),
        window: 1024,
    };
    refused(target, welcome.encode(), "a welcome").await
}

async fn first_frame_malformed_control_is_refused_1002(target: Target) -> Result<(), Failure> {
    refused(target, control_bytes(b"hello again"), "`hello again`").await
}

async fn first_frame_unknown_tag_is_refused_1002(target: Target) -> Result<(), Failure> {
    refused(
        target,
        Message::from(b"\x02hello".to_vec()),
        "a frame tagged 0x02",
    )
    .await
}

/// A control frame with any body (tag `0x01` then `body`).
pub(super) fn control_bytes(body: &[u8]) -> Message {
    let mut bytes = vec![1];
    bytes.extend_from_slice(body);
    Message::Binary(bytes)
}
