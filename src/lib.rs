#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod codec;
mod core;
mod error;
mod handle;
mod handshake;
mod reconnecting;
mod socket;

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
use web as sys;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
use native as sys;

#[cfg(all(feature = "tungstenite", not(target_arch = "wasm32")))]
mod tungstenite;

#[cfg(feature = "serde")]
pub use crate::codec::Json;
pub use crate::codec::{Decoder, Encoder};
pub use crate::core::backoff::{Backoff, ExponentialBackoff, Jitter, RetryContext};
pub use crate::core::close::{CloseCode, CloseInfo, MAX_CLOSE_REASON_BYTES};
#[cfg(feature = "share")]
#[cfg_attr(docsrs, doc(cfg(feature = "share")))]
pub use crate::core::machine::Holder;
pub use crate::core::machine::{ConnectionEvent, StopReason};
pub use crate::core::message::{Event, Message, ReadyState};
pub use crate::core::policy::{
    ClosePolicy, Disconnect, Heartbeat, Pong, ACK_TIMEOUT_REASON, CONNECT_TIMEOUT_REASON,
    DEFAULT_QUEUE_BYTES, HANDSHAKE_FAILED_REASON, HEARTBEAT_TIMEOUT_CODE, HEARTBEAT_TIMEOUT_REASON,
    MIN_HEARTBEAT,
};
pub use crate::core::queue::{Overflow, SendOutcome};
pub use crate::core::resume::{LostReason, Resume, RESUME_UNSUPPORTED_REASON};
pub use crate::core::status::ConnectionStatus;
pub use crate::error::Error;
pub use crate::handle::{ReconnectingHandle, ReconnectingReceiver};
pub use crate::handshake::Handshake;
pub use crate::reconnecting::{
    ConnectionEvents, Endpoint, ReconnectingBuilder, ReconnectingWebSocket,
};
pub use crate::socket::{
    CloseHandle, Events, StateChanges, WebSocket, WebSocketBuilder, WsReceiver, WsSender,
    DEFAULT_HIGH_WATER_MARK,
};

/// The reconnect core without I/O, for drivers of your own (another runtime, another
/// language's socket). Enabled by the `sans-io` feature; the npm package drives it from
/// JavaScript. [`ReconnectingBuilder::into_machine`] builds one with checked options.
///
/// ```
/// use std::time::Duration;
/// use ws_tether::sans_io::Action;
/// use ws_tether::{Message, ReconnectingWebSocket};
///
/// let mut machine = ReconnectingWebSocket::builder("wss://chat.example/room")
///     .into_machine(42, Duration::ZERO)?;
/// // It asks for socket 1 (and a timer bounding the attempt).
/// let dial = std::iter::from_fn(|| machine.poll_action()).find_map(|action| match action {
///     Action::Dial { id } => Some(id),
///     _ => None,
/// });
/// let id = dial.expect("the first action dials");
/// // Sent before open: queued, then written first thing once socket 1 opens.
/// let _ = machine.send(Message::from("hi"))?;
/// machine.on_open(id, String::new(), Duration::from_millis(30));
/// let hi = Action::Write { id, message: Message::from("hi") };
/// assert!(std::iter::from_fn(|| machine.poll_action()).any(|action| action == hi));
/// # Ok::<(), ws_tether::Error>(())
/// ```
#[cfg(feature = "sans-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "sans-io")))]
pub mod sans_io {
    pub use crate::core::clock::{from_millis, seed, Clock, MAX_TIMER};
    pub use crate::core::machine::{Action, ConnId, Machine, Time, Timer};
    pub use crate::core::validate::check_protocol;

    /// The wire format of the resume protocol (`docs/resume-protocol.md`), both directions:
    /// the one codec the client's machine and `ws-tether-server` share.
    ///
    /// ```
    /// use ws_tether::sans_io::resume::{Control, Frame};
    ///
    /// let welcome = Control::New { session: "k9Qx".into(), window: 1 << 20 };
    /// assert_eq!(Frame::parse(welcome.encode()), Frame::Control(welcome));
    /// ```
    pub mod resume {
        #[cfg(feature = "share")]
        pub use crate::core::resume::ResumeState;
        pub use crate::core::resume::{wrap, Control, Frame, MAX_CONTROL_BYTES};
    }

    /// One connection for every tab of an origin (`docs/sharing.md`): the cross-tab
    /// protocol, without I/O. A driver gives each tab's socket a [`Tab`](share::Tab) and
    /// moves bytes between it, the share's BroadcastChannel and its Web Lock. Feature
    /// `share`.
    #[cfg(feature = "share")]
    #[cfg_attr(docsrs, doc(cfg(feature = "share")))]
    pub mod share {
        pub use crate::core::share::{Output, ShareTimer, Sharing, Tab};
        pub use crate::core::share_post::{Lifecycle, Post, TabId, SHARE_PROTOCOL, SHARE_VERSION};
    }
}

/// Counts of live browser resources, for leak tests. Not part of the stable API.
#[doc(hidden)]
pub mod diagnostics {
    /// `(listeners, sockets, timers)` alive now in this thread. Always zeros off wasm32.
    pub fn live_counts() -> (usize, usize, usize) {
        #[cfg(target_arch = "wasm32")]
        {
            use crate::web::live::{LISTENERS, SOCKETS, TIMERS};
            (
                LISTENERS.with(|c| c.get()),
                SOCKETS.with(|c| c.get()),
                TIMERS.with(|c| c.get()),
            )
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            (0, 0, 0)
        }
    }
}

/// The web-sys crate, whose `WebSocket` [`WebSocket::as_web_sys`] returns (wasm32 only).
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use web_sys;

/// Re-exported so the `Stream`/`Sink` in our signatures need no extra dependency.
pub use futures_core::Stream;
pub use futures_sink::Sink;

/// The public types' auto traits, checked when the crate compiles, on every target: the
/// native stand-ins (server-side rendering) must not promise what the browser types can't
/// keep. Values are `Send + Sync`; everything that holds a socket, a subscription to one, or
/// a user function is neither, because the browser's socket and our callbacks live on one
/// thread. The README's "Versioning" counts a change here as breaking.
///
/// What users see (these fail to compile on every target):
///
/// ```compile_fail
/// fn needs_send<T: Send>() {}
/// needs_send::<ws_tether::WebSocket>();
/// ```
///
/// ```compile_fail
/// fn needs_sync<T: Sync>() {}
/// needs_sync::<ws_tether::ReconnectingWebSocket>();
/// ```
///
/// ```compile_fail
/// fn needs_send<T: Send>() {}
/// needs_send::<ws_tether::ConnectionEvents>();
/// ```
///
/// The enums that will grow are `#[non_exhaustive]`: a `match` needs a fallback arm, so a
/// new variant doesn't break you. This compiles:
///
/// ```
/// use ws_tether::{Backoff, ClosePolicy, Event};
/// fn names(b: &Backoff, p: &ClosePolicy, e: &Event) -> [&'static str; 3] {
///     let b = match b { Backoff::Exponential(_) => "exponential", _ => "other" };
///     let p = match p { ClosePolicy::Default => "default", _ => "other" };
///     let e = match e { Event::Message(_) => "message", _ => "other" };
///     [b, p, e]
/// }
/// ```
///
/// and each of these doesn't:
///
/// ```compile_fail
/// fn name(b: &ws_tether::Backoff) -> &'static str {
///     match b { ws_tether::Backoff::Exponential(_) => "exponential", ws_tether::Backoff::Custom(_) => "custom" }
/// }
/// ```
///
/// ```compile_fail
/// fn name(p: &ws_tether::ClosePolicy) -> &'static str {
///     match p { ws_tether::ClosePolicy::Default => "default", ws_tether::ClosePolicy::Custom(_) => "custom" }
/// }
/// ```
///
/// ```compile_fail
/// use ws_tether::Event;
/// fn name(e: &Event) -> &'static str {
///     match e { Event::Open { .. } => "open", Event::Message(_) => "message", Event::Error => "error", Event::Close(_) => "close" }
/// }
/// ```
///
/// A send's outcome must be looked at: `?` alone would let `Ok(Dropped)` pass.
///
/// ```
/// #![deny(unused_must_use)]
/// fn send(ws: &ws_tether::ReconnectingWebSocket) -> Result<(), ws_tether::Error> {
///     let _ = ws.send("any outcome will do".into())?;
///     if ws.send("hi".into())? == ws_tether::SendOutcome::Dropped { /* tell the user */ }
///     Ok(())
/// }
/// ```
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// fn send(ws: &ws_tether::ReconnectingWebSocket) -> Result<(), ws_tether::Error> {
///     ws.send("hi".into())?;
///     Ok(())
/// }
/// ```
mod assert_impls {
    use crate::*;

    fn send_sync<T: Send + Sync>() {}
    fn unpin<T: Unpin>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}

    // A negative check without a dependency: for a `T` that is `Send`, both impls apply
    // and `<T as MaybeSend<_>>::CHECK` is ambiguous, which fails the build.
    trait MaybeSend<A> {
        const CHECK: () = ();
    }
    impl<T: ?Sized> MaybeSend<()> for T {}
    impl<T: ?Sized + Send> MaybeSend<u8> for T {}
    trait MaybeSync<A> {
        const CHECK: () = ();
    }
    impl<T: ?Sized> MaybeSync<()> for T {}
    impl<T: ?Sized + Sync> MaybeSync<u8> for T {}

    macro_rules! neither_send_nor_sync {
        ($($t:ty),* $(,)?) => {
            $( let () = <$t as MaybeSend<_>>::CHECK; let () = <$t as MaybeSync<_>>::CHECK; )*
        };
    }

    const _: fn() = || {
        send_sync::<Message>();
        send_sync::<Error>();
        send_sync::<CloseCode>();
        send_sync::<CloseInfo>();
        send_sync::<ReadyState>();
        send_sync::<Event>();
        send_sync::<ConnectionEvent>();
        send_sync::<ConnectionStatus>();
        send_sync::<StopReason>();
        send_sync::<SendOutcome>();
        send_sync::<Overflow>();
        send_sync::<Jitter>();
        send_sync::<ExponentialBackoff>();
        send_sync::<Disconnect>();
        send_sync::<RetryContext>();
        send_sync::<Endpoint>();
        send_sync::<Pong>();
        send_sync::<WebSocketBuilder>();
        #[cfg(feature = "serde")]
        send_sync::<Json>();
        error::<Error>();

        neither_send_nor_sync!(
            WebSocket,
            WsSender,
            WsReceiver,
            CloseHandle,
            Events,
            StateChanges,
            ReconnectingWebSocket,
            ReconnectingHandle,
            ReconnectingReceiver,
            ReconnectingBuilder,
            ConnectionEvents,
            Handshake,
            Backoff,
            ClosePolicy,
            Heartbeat,
        );

        unpin::<WebSocket>();
        unpin::<WsSender>();
        unpin::<WsReceiver>();
        unpin::<Events>();
        unpin::<StateChanges>();
        unpin::<ReconnectingWebSocket>();
        unpin::<ReconnectingHandle>();
        unpin::<ReconnectingReceiver>();
        unpin::<ConnectionEvents>();
    };
}
