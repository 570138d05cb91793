//! The reconnecting socket's policies as values: which closes are retried, the heartbeat,
//! and the whole configuration with its defaults. Pure data; checked once when built.

use crate::core::backoff::Backoff;
use crate::core::queue::Overflow;
use crate::{CloseInfo, Error};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// How a connection or an attempt ended, as the close policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// The close code, reason and cleanliness. Ours for timeouts: see
    /// [`HEARTBEAT_TIMEOUT_CODE`] and [`Disconnect::is_connect_timeout`].
    pub close: CloseInfo,
    /// Whether the connection had opened. A handshake the server refused (a 401, say) reaches
    /// scripts only as code 1006 with `was_open == false`.
    pub was_open: bool,
}

/// The reason of the close reported when an attempt didn't open within the connect timeout.
pub const CONNECT_TIMEOUT_REASON: &str = "connect timeout";
/// The code ws-tether closes a socket with when the heartbeat finds the peer dead.
pub const HEARTBEAT_TIMEOUT_CODE: u16 = 4000;
/// The reason sent with [`HEARTBEAT_TIMEOUT_CODE`].
pub const HEARTBEAT_TIMEOUT_REASON: &str = "heartbeat timeout";

impl Disconnect {
    /// Whether this is an attempt abandoned by the connect timeout.
    pub fn is_connect_timeout(&self) -> bool {
        !self.was_open && self.close.code == 1006 && self.close.reason == CONNECT_TIMEOUT_REASON
    }

    /// The default classification: `true` (retry) unless the peer said not to come back.
    ///
    /// Stops on 1002 protocol error, 1003 unsupported data, 1007 invalid payload, 1008 policy
    /// violation, 1009 message too big, 1010 missing extension (retrying repeats the same
    /// mistake), 3000 unauthorized and 3003 forbidden (IANA-registered), and 4400–4499 (by
    /// convention here: the application's "client error" class, like HTTP 4xx). Retries
    /// everything else: normal and going-away closes (server restarts), 1006 drops and
    /// refused handshakes (browsers can't tell a 401 from a network failure: use
    /// `max_attempts` or a custom policy for those), 1011–1014, other 3000–4999 codes, and
    /// ws-tether's own timeouts.
    pub fn should_retry_by_default(&self) -> bool {
        !matches!(self.close.code, 1002 | 1003 | 1007..=1010 | 3000 | 3003 | 4400..=4499)
    }
}

type CloseFn = Rc<dyn Fn(&Disconnect) -> bool>;

/// Decides, after each close or failed attempt, whether to reconnect.
#[derive(Clone, Default)]
pub enum ClosePolicy {
    /// [`Disconnect::should_retry_by_default`].
    #[default]
    Default,
    /// The user's predicate: `true` to retry, `false` to stop for good.
    Custom(CloseFn),
}

impl ClosePolicy {
    /// A policy from a predicate (`true` = retry). It runs while the socket updates its
    /// state: decide from the [`Disconnect`] alone and don't call the socket from it.
    pub fn custom(f: impl Fn(&Disconnect) -> bool + 'static) -> ClosePolicy {
        ClosePolicy::Custom(Rc::new(f))
    }

    pub(crate) fn should_retry(&self, d: &Disconnect) -> bool {
        match self {
            ClosePolicy::Default => d.should_retry_by_default(),
            ClosePolicy::Custom(f) => f(d),
        }
    }
}

impl fmt::Debug for ClosePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosePolicy::Default => f.write_str("ClosePolicy::Default"),
            ClosePolicy::Custom(_) => f.write_str("ClosePolicy::Custom(..)"),
        }
    }
}

/// An application-level heartbeat (browsers can't send protocol pings).
///
/// When nothing has arrived for `interval`, the socket sends the text `"\u{1}ping:<n>"`; the
/// server must answer `"\u{1}pong:<n>"` (the test server does). Any inbound message counts
/// as proof of life. If nothing at all arrives within `timeout` of a ping, the socket is
/// closed with [`HEARTBEAT_TIMEOUT_CODE`] and reconnected, so a dead peer is found within
/// `interval + timeout`. Pongs are not delivered as messages; their round-trip time is.
///
/// Deadlines are wall-clock times, and a timer that fires late (a throttled background tab,
/// a frozen page) never declares the peer dead by itself: the socket pings again and gives
/// the peer a full `timeout`. If that fresh ping also goes unanswered, the peer is dead.
///
/// Defaults: `interval` 15 s, `timeout` 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Idle time before a ping.
    pub interval: Duration,
    /// How long to wait for anything after a ping.
    pub timeout: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The default send-queue bound: 1 MiB.
pub const DEFAULT_QUEUE_BYTES: usize = 1 << 20;

/// Everything the reconnect core decides by. Built and checked by the public builder.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) backoff: Backoff,
    pub(crate) connect_timeout: Duration,
    pub(crate) stable_after: Duration,
    pub(crate) close_policy: ClosePolicy,
    pub(crate) heartbeat: Option<Heartbeat>,
    pub(crate) queue_max_bytes: usize,
    pub(crate) overflow: Overflow,
    pub(crate) replay: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            stable_after: Duration::from_secs(5),
            close_policy: ClosePolicy::Default,
            heartbeat: None,
            queue_max_bytes: DEFAULT_QUEUE_BYTES,
            overflow: Overflow::Reject,
            replay: true,
        }
    }
}

impl Config {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.backoff.validate()?;
        if self.connect_timeout.is_zero() {
            return Err(Error::InvalidOption {
                field: "connect_timeout",
                allowed: "a duration above zero",
            });
        }
        if let Some(hb) = self.heartbeat {
            if hb.interval.is_zero() || hb.timeout.is_zero() {
                return Err(Error::InvalidOption {
                    field: "heartbeat",
                    allowed: "an interval and a timeout above zero",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(code: u16, was_open: bool) -> Disconnect {
        Disconnect {
            close: CloseInfo {
                code,
                reason: String::new(),
                was_clean: true,
            },
            was_open,
        }
    }

    #[test]
    fn default_policy_stops_only_on_dont_come_back_codes() {
        for code in [
            1002, 1003, 1007, 1008, 1009, 1010, 3000, 3003, 4400, 4401, 4499,
        ] {
            assert!(!d(code, true).should_retry_by_default(), "{code}");
        }
        for code in [
            1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014, 3001, 4000, 4399, 4500, 4999,
        ] {
            assert!(d(code, true).should_retry_by_default(), "{code}");
        }
        assert!(d(1006, false).should_retry_by_default());
        assert!(d(HEARTBEAT_TIMEOUT_CODE, true).should_retry_by_default());
    }

    #[test]
    fn config_rejects_zero_timeouts_by_field() {
        let cfg = Config {
            connect_timeout: Duration::ZERO,
            ..Config::default()
        };
        assert!(matches!(
            cfg.validate(),
            Err(Error::InvalidOption {
                field: "connect_timeout",
                ..
            })
        ));
        let cfg = Config {
            heartbeat: Some(Heartbeat {
                interval: Duration::ZERO,
                timeout: Duration::from_secs(1),
            }),
            ..Config::default()
        };
        assert!(matches!(
            cfg.validate(),
            Err(Error::InvalidOption {
                field: "heartbeat",
                ..
            })
        ));
    }
}
