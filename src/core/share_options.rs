//! What a driver of a shared socket configures and carries out: the sharing policy (a value
//! with documented defaults), the share's timers, and the outputs of a [`Tab`].

use crate::core::machine::{Action, ConnectionEvent};
use crate::core::share_post::TabId;
#[cfg(doc)]
use crate::core::{machine::Machine, share::Tab};
use crate::Message;
use std::time::Duration;

/// How tabs share one connection: the sharing policy, a value with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sharing {
    pub(crate) tab_timeout: Duration,
    pub(crate) retain_bytes: usize,
    pub(crate) takeover_delay: Duration,
    pub(crate) receipt_delay: Duration,
    pub(crate) receipt_every: u32,
    pub(crate) hello_timeout: Duration,
}

impl Default for Sharing {
    fn default() -> Self {
        Sharing {
            tab_timeout: Duration::from_secs(5),
            retain_bytes: 1 << 20,
            takeover_delay: Duration::from_millis(200),
            receipt_delay: Duration::from_millis(20),
            receipt_every: 32,
            hello_timeout: Duration::from_millis(100),
        }
    }
}

impl Sharing {
    /// The defaults.
    pub fn new() -> Sharing {
        Sharing::default()
    }

    /// How long a tab may stay behind the holder's stream before the holder stops waiting
    /// for it (default 5 s): until then the server keeps what it lacks (the holder
    /// acknowledges only what every live tab has). A tab that comes back catches up from
    /// the holder's buffer, or is told what it lost.
    pub fn tab_timeout(mut self, timeout: Duration) -> Self {
        self.tab_timeout = timeout;
        self
    }

    /// Bytes of server messages every tab keeps beyond what all tabs have (default 1 MiB):
    /// what the holder replays to a tab that fell behind, and what a new holder gives the
    /// others after a takeover. Past it the oldest go, and tabs that lacked them are told.
    pub fn retain_bytes(mut self, bytes: usize) -> Self {
        self.retain_bytes = bytes;
        self
    }

    /// How long a tab granted the lock waits for the previous holder's last posts before it
    /// dials (default 200 ms): the lock is released as soon as a holder's page goes, and its
    /// posts may arrive later on a loaded machine. A post later than this is ignored: if it
    /// recorded a message the server got, the session is reported lost (`Diverged`).
    pub fn takeover_delay(mut self, delay: Duration) -> Self {
        self.takeover_delay = delay;
        self
    }

    /// How long a new tab waits for the holder's answer before it asks for the lock itself
    /// (default 100 ms). A tab asks for the lock once it knows where the stream stands, so
    /// that a tab knowing nothing takes over only when no other tab is waiting.
    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.hello_timeout = timeout;
        self
    }

    /// A follower confirms what it received within this delay (default 20 ms), and at once
    /// after `receipt_every` messages (default 32).
    pub fn receipt_delay(mut self, delay: Duration, every: u32) -> Self {
        self.receipt_delay = delay;
        self.receipt_every = every.max(1);
        self
    }
}

/// The timers of a [`Tab`] (the holder's [`Machine`] has its own, as [`Output::Socket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShareTimer {
    /// The lock was granted: take over when it fires.
    Takeover,
    /// The holder: a tab has been behind for the tab timeout.
    TabTimeout,
    /// A follower: confirm what it received.
    Receipt,
    /// A new tab's hello went unanswered: no holder runs, ask for the lock.
    Hello,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Post these bytes on the share's BroadcastChannel.
    Post(Vec<u8>),
    /// The holder's machine asks this of the socket (or of its timers); feed what happens
    /// back through [`Tab::socket`].
    Socket(Action),
    /// Hand this server message to this tab's application.
    Deliver(Message),
    /// Report this event to this tab's application.
    Emit(ConnectionEvent),
    /// (Re)start a share timer.
    SetTimer {
        /// Which.
        timer: ShareTimer,
        /// When it fires, from now.
        after: Duration,
    },
    /// Stop a share timer.
    CancelTimer(ShareTimer),
    /// Ask for the share's Web Lock (report the grant with [`Tab::lock_acquired`]).
    RequestLock,
    /// Release the lock, or give up the request for it.
    ReleaseLock,
    /// This tab's application learns which tab holds the connection now.
    Holder(TabId),
}
