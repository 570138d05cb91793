//! What the current socket's resume session is: one enum, so a `match` needs no arm for
//! events that can't be there.

use ws_tether::{LostReason, Message};

/// The resume session of the hook's current socket. A new socket (a URL change, a
/// reconnect after `close`) starts at [`Session::New`] again.
///
/// ```
/// use ws_tether_hooks::Session;
///
/// fn badge(session: &Session) -> String {
///     match session {
///         Session::New => "new session".into(),
///         Session::Resumed { resent, .. } => format!("resumed ({resent} resent)"),
///         Session::Lost { reason, .. } => format!("lost ({}): resync", reason.as_str()),
///     }
/// }
/// assert_eq!(badge(&Session::default()), "new session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Session {
    /// The socket's session is the one it started (always, without
    /// [`resume`](ws_tether::ReconnectingBuilder::resume)).
    #[default]
    New,
    /// The latest connection continued the session
    /// ([`ConnectionEvent::Resumed`](ws_tether::ConnectionEvent::Resumed)).
    Resumed {
        /// The session's identifier, as the server issued it.
        id: String,
        /// Messages sent again because the server hadn't received them.
        resent: usize,
    },
    /// The session could not continue
    /// ([`ConnectionEvent::SessionLost`](ws_tether::ConnectionEvent::SessionLost)):
    /// resynchronise your state. It stays `Lost` until a later connection resumes the new
    /// session.
    Lost {
        /// Why.
        reason: LostReason,
        /// How many of the server's messages will never arrive (`None`: unknown).
        missed: Option<u64>,
        /// Messages sent but never acknowledged: the server may or may not have them.
        unconfirmed: Vec<Message>,
    },
}
