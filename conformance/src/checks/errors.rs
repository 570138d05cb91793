//! Section 3, protocol errors after the welcome: an unknown word, a malformed number, a
//! control message in the wrong place, an ack of a message never sent or going backwards.
//! Each closes the connection with 1002, and the session survives: a resume continues it.

use ws_tether::sans_io::resume::Control;

use super::negotiation::control_bytes;
use super::{acknowledged_session, check, resumes_after, survives_protocol_error};
use crate::{Check, Failure, Target};

pub(super) fn checks() -> Vec<Check> {
    vec![
        check!("§3", "errors", unknown_control_word_is_closed_1002),
        check!("§3", "errors", number_with_leading_zero_is_closed_1002),
        check!("§3", "errors", negative_number_is_closed_1002),
        check!("§3", "errors", number_beyond_u64_is_closed_1002),
        check!("§3", "errors", missing_number_is_closed_1002),
        check!("§3", "errors", extra_word_is_closed_1002),
        check!("§3", "errors", double_space_is_closed_1002),
        check!("§3", "errors", hello_after_the_welcome_is_closed_1002),
        check!("§3", "errors", resume_after_the_welcome_is_closed_1002),
        check!("§3", "errors", welcome_from_the_client_is_closed_1002),
        check!("§3", "errors", ack_of_a_message_never_sent_is_closed_1002),
        check!("§3", "errors", ping_of_a_message_never_sent_is_closed_1002),
        check!("§3", "errors", ack_going_backwards_is_closed_1002),
    ]
}

async fn bad(target: Target, body: &[u8]) -> Result<(), Failure> {
    let what = format!("`{}`", String::from_utf8_lossy(body));
    survives_protocol_error(target, control_bytes(body), &what).await
}

async fn unknown_control_word_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"frobnicate 1").await
}

async fn number_with_leading_zero_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"ack 00").await
}

async fn negative_number_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"ack -1").await
}

async fn number_beyond_u64_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"ack 18446744073709551616").await
}

async fn missing_number_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"ack").await
}

async fn extra_word_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"ack 0 0").await
}

async fn double_space_is_closed_1002(target: Target) -> Result<(), Failure> {
    bad(target, b"ack  0").await
}

async fn hello_after_the_welcome_is_closed_1002(target: Target) -> Result<(), Failure> {
    survives_protocol_error(target, Control::Hello.encode(), "`hello` after the welcome").await
}

async fn resume_after_the_welcome_is_closed_1002(target: Target) -> Result<(), Failure> {
    let resume = Control::Resume {
        session: "conformance".into(),
        recv: 0,
    };
    survives_protocol_error(target, resume.encode(), "`resume` after the welcome").await
}

async fn welcome_from_the_client_is_closed_1002(target: Target) -> Result<(), Failure> {
    let welcome = Control::New {
        session: "conformance".into(),
        window: 1024,
    };
    survives_protocol_error(target, welcome.encode(), "a welcome from the client").await
}

/// The server sent one message (the echo); `ack 2` acknowledges one it never sent.
async fn ack_of_a_message_never_sent_is_closed_1002(target: Target) -> Result<(), Failure> {
    let frame = Control::Ack(2).encode();
    survives_protocol_error(target, frame, "`ack 2` when the server sent 1").await
}

async fn ping_of_a_message_never_sent_is_closed_1002(target: Target) -> Result<(), Failure> {
    let frame = Control::Ping(5).encode();
    survives_protocol_error(target, frame, "`ping 5` when the server sent 1").await
}

/// `ack 1` then `ack 0`: acks are cumulative, never smaller than an earlier one.
async fn ack_going_backwards_is_closed_1002(target: Target) -> Result<(), Failure> {
    let mut peer = acknowledged_session(&target).await?;
    peer.ack().await?;
    peer.write(Control::Ack(0).encode()).await?;
    let what = "`ack 0` after `ack 1`";
    peer.expect_close(1002, &format!("§3: {what} is a protocol error"))
        .await?;
    resumes_after(&target, &mut peer, what).await
}
