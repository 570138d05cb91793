//! What the reconnecting driver feeds: one socket's [`Machine`], or (feature `share`) one
//! tab of a connection shared between tabs, whose holder runs the machine. Either way the
//! driver carries out [`Action`]s: a tab's share I/O (channel, lock, share timers) is done
//! in share.rs, and what remains of its outputs is an `Action` of the machine's kind, so
//! the socket's actions are executed by one implementation. Reads answer as the machine
//! would; a follower's come from the events the holder reported.

use crate::core::machine::{Action, ConnId, Machine, Time};
use crate::core::queue::SendOutcome;
use crate::{Error, Message, ReadyState};
use std::time::Duration;

// One per socket, made once and never moved: boxing the machine would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Core {
    Alone(Machine),
    #[cfg(feature = "share")]
    Shared(Box<super::share::Shared>),
}

impl Core {
    /// The next action to carry out (a tab's share I/O is done on the way).
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        match self {
            Core::Alone(m) => m.poll_action(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.poll_action(),
        }
    }

    /// Feeds the machine one input; a tab that doesn't hold has no machine to feed.
    pub(crate) fn machine(&mut self, now: Time, f: impl FnOnce(&mut Machine, Time)) {
        match self {
            Core::Alone(m) => f(m, now),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.socket(now, f),
        }
    }

    /// Feeds the machine an input that reads no clock (as the machine's own methods that
    /// take no time: a tab then passes the time of its last input).
    pub(crate) fn apply(&mut self, f: impl FnOnce(&mut Machine)) {
        match self {
            Core::Alone(m) => f(m),
            #[cfg(feature = "share")]
            Core::Shared(s) => {
                let now = s.tab.now;
                s.tab.socket(now, |m, _| f(m))
            }
        }
    }

    fn read<R>(&self, f: impl FnOnce(&Machine) -> R) -> Option<R> {
        match self {
            Core::Alone(m) => Some(f(m)),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.machine().map(f),
        }
    }

    pub(crate) fn send(&mut self, message: Message) -> Result<SendOutcome, Error> {
        match self {
            Core::Alone(m) => m.send(message),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.send(message),
        }
    }

    pub(crate) fn close(&mut self, code: u16, reason: &str) {
        match self {
            Core::Alone(m) => m.close(code, reason),
            #[cfg(feature = "share")]
            Core::Shared(s) => {
                let now = s.tab.now;
                s.tab.close(code, reason, now)
            }
        }
    }

    pub(crate) fn open_socket(&self) -> Option<ConnId> {
        self.read(Machine::open_socket).flatten()
    }
    pub(crate) fn is_dialing(&self, id: ConnId) -> bool {
        self.read(|m| m.is_dialing(id)).unwrap_or(false)
    }
    pub(crate) fn handshaking(&self) -> Option<ConnId> {
        self.read(Machine::handshaking).flatten()
    }

    pub(crate) fn ready_state(&self) -> ReadyState {
        match self {
            Core::Alone(m) => m.ready_state(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.ready_state(),
        }
    }
    pub(crate) fn attempt(&self) -> u32 {
        match self {
            Core::Alone(m) => m.attempt(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.attempt,
        }
    }
    pub(crate) fn rtt(&self) -> Option<Duration> {
        match self {
            Core::Alone(m) => m.rtt(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.rtt,
        }
    }
    /// A shared socket counts its unconfirmed sends in `buffered_amount` only.
    pub(crate) fn queued_bytes(&self) -> usize {
        match self {
            Core::Alone(m) => m.queued_bytes(),
            #[cfg(feature = "share")]
            Core::Shared(_) => 0,
        }
    }
    pub(crate) fn resumes(&self) -> bool {
        match self {
            Core::Alone(m) => m.resumes(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.config().resume().is_some(),
        }
    }
    /// Messages not confirmed yet: a shared socket's own sends, until the server
    /// acknowledged them (resume) or the holder wrote them.
    pub(crate) fn unacknowledged(&self) -> usize {
        match self {
            Core::Alone(m) => m.unacknowledged(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.unconfirmed().0,
        }
    }
    /// Whether a flush is done: with resume, everything acknowledged; a shared socket's
    /// sends are confirmed one by one, so it waits for them whatever the options.
    pub(crate) fn flushed(&self) -> bool {
        match self {
            Core::Alone(m) => !m.resumes() || (m.unacknowledged() == 0 && m.queued_bytes() == 0),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.unconfirmed().0 == 0,
        }
    }
    pub(crate) fn can_accept(&self, len: usize) -> bool {
        match self {
            Core::Alone(m) => m.can_accept(len),
            #[cfg(feature = "share")]
            Core::Shared(s) => {
                s.tab.unconfirmed().1 + len <= s.tab.config().queue_max_bytes || s.tab.is_stopped()
            }
        }
    }
    pub(crate) fn buffered_amount(&self, holds: usize) -> usize {
        match self {
            Core::Alone(m) => m.buffered_amount(holds),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.unconfirmed().1,
        }
    }
    pub(crate) fn is_stopped(&self) -> bool {
        match self {
            Core::Alone(m) => m.is_stopped(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.tab.is_stopped(),
        }
    }
    /// Stopped, and the final event reported: nothing will follow.
    pub(crate) fn is_finished(&self) -> bool {
        match self {
            Core::Alone(m) => m.is_finished(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.finished,
        }
    }
    pub(crate) fn is_closed_for_good(&self) -> bool {
        match self {
            Core::Alone(m) => m.is_closed_for_good(),
            #[cfg(feature = "share")]
            Core::Shared(s) => s.finished,
        }
    }
}
