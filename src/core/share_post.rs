//! The posts of the cross-tab protocol (`tether.share.v1`, docs/sharing.md): what tabs
//! sharing one connection say to each other on the share's BroadcastChannel. Their bytes
//! are share_wire.rs's; what each tab does with them, share_follow.rs's and the holder's.

use crate::core::resume::LostReason;
use crate::Message;
use std::time::Duration;

/// The protocol's version, the first byte of every post. Drivers also put it in the lock's
/// and the channel's names ([`SHARE_PROTOCOL`]), so tabs running another version of the
/// library share among themselves, never with this one.
pub const SHARE_VERSION: u8 = 1;

/// The prefix of the Web Lock's and the BroadcastChannel's names: `tether.share.v1/<name>`.
pub const SHARE_PROTOCOL: &str = "tether.share.v1";

/// A tab's identifier, chosen at random by its driver when the socket is made.
pub type TabId = u64;

/// What the holder's connection did, as every tab's socket reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifecycle {
    /// A dial started.
    Connecting {
        /// The retry number (0 = first try).
        attempt: u32,
    },
    /// The connection opened.
    Open {
        /// The subprotocol the server selected.
        protocol: String,
    },
    /// The connection was lost; a retry is scheduled.
    Reconnecting {
        /// The retry number.
        attempt: u32,
        /// How long until it.
        delay: Duration,
        /// The lost connection's close code.
        code: u16,
        /// Its close reason.
        reason: String,
        /// Whether it had opened.
        was_open: bool,
    },
    /// Offline: no dialling until online again.
    WaitingForNetwork,
    /// The connection continues the session.
    Resumed {
        /// The session identifier.
        session: String,
        /// Messages sent again.
        resent: u64,
    },
    /// The connection stopped for good: `ended` when the server ended the session, else
    /// the close policy or the backoff gave up.
    Closed {
        /// The server ended the session.
        ended: bool,
        /// The last close code.
        code: u16,
        /// The last close reason.
        reason: String,
    },
}

/// One post on the channel. Holder posts carry its `term`: tabs ignore the posts of a holder
/// older than the newest they heard.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Post {
    /// A tab opened its socket: the holder answers with [`Post::Joined`].
    Hello {
        /// The new tab.
        tab: TabId,
    },
    /// A tab's send: its `seq`-th message (per tab, from 1). Posted again, same number, to
    /// every new holder until confirmed; a holder takes each number once.
    Send {
        /// The sender.
        tab: TabId,
        /// Its number.
        seq: u64,
        /// The sender's sends `..=done` are settled (confirmed, or reported lost): a holder
        /// that never heard of the tab takes `done + 1` next.
        done: u64,
        /// The payload.
        message: Message,
    },
    /// A tab has every server message up to `mseq`; `want`: it lacks what follows, send it.
    Receipt {
        /// The tab.
        tab: TabId,
        /// The last server message it has (share-wide number).
        mseq: u64,
        /// Send again what follows `mseq`.
        want: bool,
    },
    /// A tab's socket closed: the holder stops waiting for its receipts.
    Bye {
        /// The tab.
        tab: TabId,
    },
    /// `tab` holds the connection from now on, as `term`.
    Holder {
        /// The holder's term.
        term: u64,
        /// The holder.
        tab: TabId,
        /// The session it resumes (`None`: it starts a new one). A tab that followed another
        /// reports its own messages written there, and doesn't send them again.
        session: Option<String>,
    },
    /// The holder's answer to [`Post::Hello`]: where the stream stands.
    Joined {
        /// The holder's term.
        term: u64,
        /// The holder.
        holder: TabId,
        /// The new tab.
        to: TabId,
        /// The last server message sent to the tabs; the new tab starts after it.
        mseq: u64,
        /// The session (`None`: none yet), and the `mseq` before its first message.
        session: Option<String>,
        /// The `mseq` after which the session's numbering starts.
        start: u64,
        /// The session number of message `mseq` (0 if before the session).
        n: u64,
        /// The subprotocol if the connection is open.
        open: Option<String>,
    },
    /// Server message `n` of the session, share-wide number `mseq`.
    Deliver {
        /// The holder's term.
        term: u64,
        /// Share-wide number: contiguous across sessions and holders.
        mseq: u64,
        /// Its number in the session (0 without resume).
        n: u64,
        /// The payload.
        message: Message,
    },
    /// The connection's lifecycle.
    Event {
        /// The holder's term.
        term: u64,
        /// What happened.
        event: Lifecycle,
    },
    /// The session, with its message `n` at `mseq = start + n`. `new`: its numbering
    /// starts afresh (the mirror of the last one is void); otherwise the server renamed it.
    Session {
        /// The holder's term.
        term: u64,
        /// The identifier.
        id: String,
        /// The `mseq` before its first message.
        start: u64,
        /// A new session, numbered from 1.
        new: bool,
    },
    /// Mirror, posted before the frame is written: tab `tab`'s send `seq` is the session's
    /// message `n`.
    Written {
        /// The holder's term.
        term: u64,
        /// Its number in the session.
        n: u64,
        /// The sender.
        tab: TabId,
        /// The sender's number.
        seq: u64,
        /// The payload (a new holder sends it again if the server lacks it).
        message: Message,
    },
    /// Mirror: the server acknowledged the session's messages `..=n`.
    Acked {
        /// The holder's term.
        term: u64,
        /// The count.
        n: u64,
    },
    /// Tab `to`'s sends `..=seq` are confirmed (acknowledged, or written without resume).
    Confirmed {
        /// The holder's term.
        term: u64,
        /// The sender.
        to: TabId,
        /// Its last confirmed number.
        seq: u64,
    },
    /// Every live tab has the server messages `..=mseq` (the holder may acknowledge them).
    Floor {
        /// The holder's term.
        term: u64,
        /// The share-wide number.
        mseq: u64,
        /// The tabs the holder waits for (besides itself).
        live: Vec<TabId>,
        /// The tabs whose sockets are open as far as it knows, live or not: the connection
        /// ends only without them.
        present: Vec<TabId>,
    },
    /// The session was lost: `ranges` are each tab's sends never confirmed (first, last).
    SessionLost {
        /// The holder's term.
        term: u64,
        /// Why.
        reason: LostReason,
        /// Server messages that will never arrive, if known.
        missed: Option<u64>,
        /// Per tab: its unconfirmed sends `first..=last`.
        ranges: Vec<(TabId, u64, u64)>,
    },
    /// Tab `to` asked for messages the holder no longer keeps: `from..=upto` are lost to it
    /// (`n`: the session number of `upto`, 0 if before the session).
    Missed {
        /// The holder's term.
        term: u64,
        /// The tab.
        to: TabId,
        /// First lost.
        from: u64,
        /// Last lost.
        upto: u64,
        /// The session number of `upto`.
        n: u64,
    },
}
