//! The connection status an app shows, folded from the reconnecting socket's events. Pure:
//! no framework and no browser in here; the Leptos and Yew integrations re-export it.

use crate::core::machine::{ConnectionEvent, StopReason};
use crate::core::policy::Disconnect;
use crate::{CloseInfo, Error, ReadyState};
use std::time::Duration;

/// Where the connection is, as a component should show it.
///
/// It starts as `Connecting { attempt: 0 }`, also during server-side rendering, so the
/// server's HTML and the browser's first render agree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Dialling. `attempt` is 0 for the first connection and counts retries since the
    /// last stable connection.
    Connecting {
        /// The retry number (0 = first try).
        attempt: u32,
    },
    /// Connected; what is sent now is written at once.
    Open,
    /// The connection was lost (or an attempt failed) and retry `attempt` runs after
    /// `delay`. Sends are queued meanwhile.
    Reconnecting {
        /// The retry number that runs after `delay`.
        attempt: u32,
        /// How long until that retry.
        delay: Duration,
        /// How the connection or attempt ended.
        last_close: Disconnect,
    },
    /// The browser is offline; nothing is dialled until it is online again.
    WaitingForNetwork,
    /// `close()` was called and the closing handshake is under way.
    Closing,
    /// Closed for good: by `close()`, or because the close policy or the backoff stopped
    /// retrying (`reconnect()` starts again in every case).
    Closed {
        /// Why it stopped.
        reason: StopReason,
        /// Queued messages that were discarded unsent.
        unsent: usize,
        /// How the last socket closed; `None` if none was connected.
        close: Option<CloseInfo>,
    },
    /// The options were rejected, so nothing was dialled. Fix them; the error says how.
    Failed(Error),
}

impl ConnectionStatus {
    /// The status after `event`, or `None` if the event doesn't change it (a message, a
    /// heartbeat round trip).
    pub fn after(event: ConnectionEvent) -> Option<ConnectionStatus> {
        Some(match event {
            ConnectionEvent::Connecting { attempt } => ConnectionStatus::Connecting { attempt },
            ConnectionEvent::Open { .. } => ConnectionStatus::Open,
            ConnectionEvent::Reconnecting {
                attempt,
                delay,
                last_close,
            } => ConnectionStatus::Reconnecting {
                attempt,
                delay,
                last_close,
            },
            ConnectionEvent::WaitingForNetwork { .. } => ConnectionStatus::WaitingForNetwork,
            ConnectionEvent::Closed {
                reason,
                unsent,
                close,
            } => ConnectionStatus::Closed {
                reason,
                unsent,
                close,
            },
            _ => return None,
        })
    }

    /// Whether a message sent now is written at once (rather than queued).
    pub fn is_open(&self) -> bool {
        matches!(self, ConnectionStatus::Open)
    }

    /// The status as a browser `readyState`: `Connecting` while dialling, waiting to retry
    /// or offline; `Closed` once closed for good or failed.
    pub fn ready_state(&self) -> ReadyState {
        match self {
            ConnectionStatus::Open => ReadyState::Open,
            ConnectionStatus::Closing => ReadyState::Closing,
            ConnectionStatus::Closed { .. } | ConnectionStatus::Failed(_) => ReadyState::Closed,
            _ => ReadyState::Connecting,
        }
    }

    /// The retry number while connecting or waiting to retry; 0 otherwise.
    pub fn attempt(&self) -> u32 {
        match self {
            ConnectionStatus::Connecting { attempt }
            | ConnectionStatus::Reconnecting { attempt, .. } => *attempt,
            _ => 0,
        }
    }
}

impl Default for ConnectionStatus {
    fn default() -> Self {
        ConnectionStatus::Connecting { attempt: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    fn dropped() -> Disconnect {
        Disconnect {
            close: CloseInfo {
                code: 1006,
                reason: String::new(),
                was_clean: false,
            },
            was_open: true,
        }
    }

    #[test]
    fn every_connection_event_but_rtt_sets_the_status() {
        let reconnecting = ConnectionStatus::after(ConnectionEvent::Reconnecting {
            attempt: 2,
            delay: Duration::from_millis(750),
            last_close: dropped(),
        });
        assert_eq!(
            reconnecting,
            Some(ConnectionStatus::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(750),
                last_close: dropped(),
            })
        );
        let open = ConnectionStatus::after(ConnectionEvent::Open {
            protocol: String::new(),
        });
        assert_eq!(open, Some(ConnectionStatus::Open));
        assert_eq!(
            ConnectionStatus::after(ConnectionEvent::Connecting { attempt: 3 }),
            Some(ConnectionStatus::Connecting { attempt: 3 })
        );
        assert_eq!(
            ConnectionStatus::after(ConnectionEvent::WaitingForNetwork { last_close: None }),
            Some(ConnectionStatus::WaitingForNetwork)
        );
        let normal = CloseInfo {
            code: 1000,
            reason: String::new(),
            was_clean: true,
        };
        assert_eq!(
            ConnectionStatus::after(ConnectionEvent::Closed {
                reason: StopReason::UserClosed,
                unsent: 1,
                close: Some(normal.clone()),
            }),
            Some(ConnectionStatus::Closed {
                reason: StopReason::UserClosed,
                unsent: 1,
                close: Some(normal),
            })
        );
        assert_eq!(
            ConnectionStatus::after(ConnectionEvent::Rtt(Duration::from_millis(3))),
            None
        );
        assert_eq!(
            ConnectionStatus::after(ConnectionEvent::Message(Message::from("hi"))),
            None
        );
    }

    #[test]
    fn ready_state_and_attempt_follow_the_status() {
        assert_eq!(
            ConnectionStatus::default().ready_state(),
            ReadyState::Connecting
        );
        assert!(ConnectionStatus::Open.is_open());
        assert!(!ConnectionStatus::default().is_open() && !ConnectionStatus::Closing.is_open());
        assert_eq!(ConnectionStatus::Open.ready_state(), ReadyState::Open);
        assert_eq!(ConnectionStatus::Closing.ready_state(), ReadyState::Closing);
        assert_eq!(
            ConnectionStatus::Failed(Error::Unsupported).ready_state(),
            ReadyState::Closed
        );
        assert_eq!(
            ConnectionStatus::WaitingForNetwork.ready_state(),
            ReadyState::Connecting
        );
        let retry = ConnectionStatus::Reconnecting {
            attempt: 4,
            delay: Duration::ZERO,
            last_close: dropped(),
        };
        assert_eq!(retry.attempt(), 4);
        assert_eq!(ConnectionStatus::Open.attempt(), 0);
    }
}
