//! The reconnecting socket's policies as values: which closes are retried, the heartbeat,
//! and the whole configuration with its defaults. Pure data; checked once when built.
// Without the `heartbeat` feature no heartbeat can be built: its modes go unused.
#![cfg_attr(
    not(any(feature = "heartbeat", test)),
    allow(dead_code, unused_imports)
)]

use crate::core::backoff::Backoff;
use crate::core::queue::Overflow;
use crate::core::resume::{decimal, Resume};
use crate::{CloseInfo, Error, Message};
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
/// With resume, the reason sent with [`HEARTBEAT_TIMEOUT_CODE`] when the server acknowledged
/// nothing (not even a ping) for the heartbeat timeout while messages were in flight: what
/// we send no longer reaches it, though its own messages may still arrive (a one-way
/// partition). See [`Resume`](crate::Resume).
pub const ACK_TIMEOUT_REASON: &str = "acknowledgement timeout";

impl Disconnect {
    /// Whether this attempt failed in the handshake hook (it opened, the hook failed or
    /// timed out; the reason says how).
    pub fn is_handshake_failure(&self) -> bool {
        !self.was_open && self.close.reason.starts_with(HANDSHAKE_FAILED_REASON)
    }

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
///
/// `#[non_exhaustive]`: more built-in policies may come; match with a fallback arm.
#[derive(Clone, Default)]
#[non_exhaustive]
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

/// How a matched pong answers our ping: with its number (for servers that echo it), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pong {
    /// Answers the ping with this number (the `n` the ping function was given).
    Numbered(u64),
    /// Answers the oldest unanswered ping (servers whose pongs carry no number).
    Unnumbered,
}

type PingFn = Rc<dyn Fn(u64) -> Message>;
type PongFn = Rc<dyn Fn(&Message) -> Option<Pong>>;
type AnswerFn = Rc<dyn Fn(&Message) -> Option<Message>>;

/// Who speaks in a heartbeat, and how.
#[derive(Clone)]
pub(crate) enum Liveness {
    /// We ping after `interval` of silence and expect a pong within `timeout`.
    Ping { ping: PingFn, pong: PongFn },
    /// Nobody pings: silence for `timeout` is death.
    Silence,
    /// The server pings; we answer, and silence for `timeout` is death.
    Answer(AnswerFn),
}

/// An application-level heartbeat (browsers can't send protocol pings): how a dead peer is
/// found, in the wire format your server speaks. Pick the constructor for your server:
///
/// - **Your server answers pings** ([`Heartbeat::new`], then [`ping`](Self::ping) and
///   [`pong`](Self::pong) for its format): after `interval` with nothing received we send a
///   ping; if nothing at all arrives within `timeout` of it, the peer is dead. The default
///   format is ws-tether's own (`"\u{1}ping:<n>"` answered by `"\u{1}pong:<n>"`), which the
///   project's test server speaks; a plain echo server's copy of the ping answers it too
///   (and is not delivered). Other servers need theirs.
/// - **Your server pings, you answer** (engine.io, graphql-ws with server pings, ...):
///   [`Heartbeat::answer`]. Its pings are answered with the reply your function makes and
///   are not delivered; silence for `timeout` is death.
/// - **Your server pushes on its own and never answers** (a feed): [`Heartbeat::silence`].
///   Nothing is sent; silence for `timeout` is death.
///
/// The rule for every mode: any inbound message is proof of life, so `timeout` must be
/// longer than the longest gap the server leaves between messages (its push or ping period)
/// plus a network delay, or a healthy connection is declared dead. A peer declared dead is
/// closed with [`HEARTBEAT_TIMEOUT_CODE`] and reconnected. Matched pings and pongs are never
/// delivered as messages; pong round-trip times are reported. With
/// [`Resume`](crate::Resume), `timeout` also bounds how long data may go unacknowledged
/// (a link that works one way only).
///
/// Deadlines are wall-clock times, and a timer that fires late (a throttled background tab,
/// a frozen page) never declares the peer dead by itself: the socket pings again (or, with
/// no pings, waits) and gives the peer a full `timeout` once more.
///
/// Default ([`Heartbeat::default`]): ws-tether's format, `interval` 15 s, `timeout` 10 s.
#[derive(Clone)]
pub struct Heartbeat {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) liveness: Liveness,
    /// Without the `heartbeat` feature there is no `Heartbeat` (see [`Off`](crate::core::Off)).
    #[cfg(not(any(feature = "heartbeat", test)))]
    pub(crate) off: crate::core::Off,
}

impl Heartbeat {
    /// We ping after `interval` of silence; the peer is dead if nothing arrives within
    /// `timeout` of a ping. Both must be at least [`MIN_HEARTBEAT`] (10 ms), or building the
    /// socket fails with [`Error::InvalidOption`] naming `heartbeat.interval` or
    /// `heartbeat.timeout`. In ws-tether's wire format (`"\u{1}ping:<n>"` answered by
    /// `"\u{1}pong:<n>"`, or by the ping itself echoed back) until [`ping`](Self::ping) and
    /// [`pong`](Self::pong) set yours.
    #[cfg(any(feature = "heartbeat", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "heartbeat")))]
    pub fn new(interval: Duration, timeout: Duration) -> Heartbeat {
        Heartbeat {
            interval,
            timeout,
            liveness: Liveness::Ping {
                ping: Rc::new(|n| Message::Text(PING_PREFIX.to_owned() + &decimal(n))),
                // A plain echo server sends the ping itself back: an answer too, so the
                // default works against any echo server and never delivers its copy.
                pong: Rc::new(|m| {
                    let text = m.as_text()?;
                    let n = text
                        .strip_prefix(PONG_PREFIX)
                        .or(text.strip_prefix(PING_PREFIX));
                    Some(Pong::Numbered(n?.parse().ok()?))
                }),
            },
        }
    }

    /// No pings: the peer is dead after `timeout` with nothing received. For servers that
    /// push (or ping) on their own, more often than `timeout`.
    #[cfg(any(feature = "heartbeat", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "heartbeat")))]
    pub fn silence(timeout: Duration) -> Heartbeat {
        Heartbeat {
            interval: timeout,
            timeout,
            liveness: Liveness::Silence,
        }
    }

    /// The server pings and we answer: `answer` returns the reply to a message that is the
    /// server's ping (`None` for anything else, which is delivered). The peer is dead after
    /// `timeout` with nothing received.
    #[cfg(any(feature = "heartbeat", test))]
    #[cfg_attr(docsrs, doc(cfg(feature = "heartbeat")))]
    pub fn answer(
        timeout: Duration,
        answer: impl Fn(&Message) -> Option<Message> + 'static,
    ) -> Heartbeat {
        Heartbeat {
            interval: timeout,
            timeout,
            liveness: Liveness::Answer(Rc::new(answer)),
        }
    }

    /// The ping to send: a function of the ping's number (1, 2, ...). Only with pings.
    pub fn ping(mut self, ping: impl Fn(u64) -> Message + 'static) -> Heartbeat {
        if let Liveness::Ping { ping: p, .. } = &mut self.liveness {
            *p = Rc::new(ping);
        }
        self
    }

    /// Recognises the server's pong: `Some` for a message that answers a ping (it is not
    /// delivered), `None` for anything else. Only a pong while a ping is unanswered is taken;
    /// a look-alike at any other time is the application's. Only with pings.
    pub fn pong(mut self, pong: impl Fn(&Message) -> Option<Pong> + 'static) -> Heartbeat {
        if let Liveness::Ping { pong: p, .. } = &mut self.liveness {
            *p = Rc::new(pong);
        }
        self
    }

    /// Idle time before a ping (with pings; otherwise `timeout`).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long silence may last (after a ping, or at all without pings).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn pings(&self) -> bool {
        matches!(self.liveness, Liveness::Ping { .. })
    }
}

#[cfg(any(feature = "heartbeat", test))]
#[cfg_attr(docsrs, doc(cfg(feature = "heartbeat")))]
impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat::new(Duration::from_secs(15), Duration::from_secs(10))
    }
}

impl fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.liveness {
            Liveness::Ping { .. } => "ping",
            Liveness::Silence => "silence",
            Liveness::Answer(_) => "answer",
        };
        f.debug_struct("Heartbeat")
            .field("mode", &mode)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish()
    }
}

const PING_PREFIX: &str = "\u{1}ping:";
const PONG_PREFIX: &str = "\u{1}pong:";

/// The shortest `interval` and `timeout` a heartbeat that pings accepts: a ping every few
/// milliseconds is a busy loop of timers, and no network answers faster than that.
pub const MIN_HEARTBEAT: Duration = Duration::from_millis(10);

/// The shortest silence a heartbeat without pings accepts.
pub(crate) const MIN_SILENCE: Duration = Duration::from_secs(1);

/// The reason of the close reported when the handshake hook failed or didn't finish in
/// time; the hook's own message follows it.
pub const HANDSHAKE_FAILED_REASON: &str = "handshake failed";

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
    pub(crate) handshake: bool,
    pub(crate) queue_max_bytes: usize,
    pub(crate) overflow: Overflow,
    pub(crate) replay: bool,
    pub(crate) resume: Option<Resume>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            stable_after: Duration::from_secs(5),
            close_policy: ClosePolicy::Default,
            heartbeat: None,
            handshake: false,
            queue_max_bytes: DEFAULT_QUEUE_BYTES,
            overflow: Overflow::Reject,
            replay: true,
            resume: None,
        }
    }
}

impl Config {
    /// The machine reads resume through this: always `None` without the `resume` feature,
    /// which lets the compiler drop everything resume does.
    pub(crate) fn resume(&self) -> Option<Resume> {
        self.resume.filter(|_| cfg!(any(feature = "resume", test)))
    }

    /// As [`resume`](Self::resume), for the `heartbeat` feature.
    pub(crate) fn heartbeat(&self) -> Option<&Heartbeat> {
        self.heartbeat
            .as_ref()
            .filter(|_| cfg!(any(feature = "heartbeat", test)))
    }

    /// As [`resume`](Self::resume), for the handshake phase: the `handshake` feature's hook
    /// or a driver of your own (`sans-io`) asks for it.
    pub(crate) fn handshake(&self) -> bool {
        self.handshake && cfg!(any(feature = "handshake", feature = "sans-io", test))
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.backoff.validate()?;
        if self.connect_timeout.is_zero() {
            return Err(Error::InvalidOption {
                field: "connect_timeout",
                allowed: "a duration above zero",
            });
        }
        if let Some(resume) = &self.resume {
            if resume.ack_delay.is_zero() || resume.ack_every == 0 {
                return Err(Error::InvalidOption {
                    field: "resume",
                    allowed: "an ack delay above zero and ack_every of at least 1",
                });
            }
            if self.handshake {
                return Err(Error::InvalidOption {
                    field: "resume",
                    allowed: "no handshake hook with it (the resume handshake runs instead)",
                });
            }
            if self.heartbeat.as_ref().is_some_and(|hb| !hb.pings()) {
                return Err(Error::InvalidOption {
                    field: "resume",
                    allowed:
                        "a heartbeat that pings with it, or none (the protocol's own ping is sent)",
                });
            }
        }
        if let Some(hb) = &self.heartbeat {
            if hb.pings() && hb.interval < MIN_HEARTBEAT {
                return Err(Error::InvalidOption {
                    field: "heartbeat.interval",
                    allowed: "at least 10 ms",
                });
            }
            if hb.pings() && hb.timeout < MIN_HEARTBEAT {
                return Err(Error::InvalidOption {
                    field: "heartbeat.timeout",
                    allowed: "at least 10 ms",
                });
            }
            // Without pings only the server's own messages prove life, and timers fire up
            // to a second late: a shorter silence would be declared dead by jitter alone.
            if !hb.pings() && hb.timeout < MIN_SILENCE {
                return Err(Error::InvalidOption {
                    field: "heartbeat.timeout",
                    allowed: "at least 1 s without pings (longer than the server's own period)",
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

    fn ended(code: u16, reason: &str, was_open: bool) -> Disconnect {
        Disconnect {
            close: CloseInfo {
                code,
                reason: reason.into(),
                was_clean: false,
            },
            was_open,
        }
    }

    #[test]
    fn a_handshake_failure_is_an_attempt_that_failed_in_the_hook() {
        let failed = format!("{HANDSHAKE_FAILED_REASON}: auth rejected");
        assert!(ended(1006, &failed, false).is_handshake_failure());
        assert!(!ended(1006, &failed, true).is_handshake_failure());
        assert!(!ended(1006, "going away", false).is_handshake_failure());
    }

    #[test]
    fn a_connect_timeout_is_an_attempt_that_never_opened() {
        assert!(ended(1006, CONNECT_TIMEOUT_REASON, false).is_connect_timeout());
        assert!(!ended(1006, CONNECT_TIMEOUT_REASON, true).is_connect_timeout());
        assert!(!ended(1000, CONNECT_TIMEOUT_REASON, false).is_connect_timeout());
        assert!(!ended(1006, "", false).is_connect_timeout());
    }

    #[test]
    fn heartbeats_report_their_timing() {
        let hb = Heartbeat::new(Duration::from_secs(15), Duration::from_secs(10));
        assert_eq!(
            (hb.interval(), hb.timeout()),
            (Duration::from_secs(15), Duration::from_secs(10))
        );
        let hb = Heartbeat::silence(Duration::from_secs(40));
        assert_eq!(
            (hb.interval(), hb.timeout()),
            (Duration::from_secs(40), Duration::from_secs(40))
        );
        let shown = format!("{:?}", Heartbeat::answer(Duration::from_secs(3), |_| None));
        assert!(shown.contains("answer") && shown.contains("3s"), "{shown}");
        assert_eq!(
            format!("{:?}", ClosePolicy::Default),
            "ClosePolicy::Default"
        );
        let custom = ClosePolicy::custom(|_| true);
        assert_eq!(format!("{custom:?}"), "ClosePolicy::Custom(..)");
    }

    fn field(cfg: Config) -> Option<&'static str> {
        match cfg.validate() {
            Ok(()) => None,
            Err(Error::InvalidOption { field, .. }) => Some(field),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn resume_settings_and_what_goes_with_them_are_checked() {
        let with = |resume: Resume| Config {
            resume: Some(resume),
            ..Config::default()
        };
        assert_eq!(field(with(Resume::new())), None);
        assert_eq!(
            field(with(Resume::new().ack_delay(Duration::ZERO))),
            Some("resume")
        );
        assert_eq!(field(with(Resume::new().ack_every(0))), Some("resume"));
        assert_eq!(field(with(Resume::new().ack_every(1))), None);
        let hook = Config {
            handshake: true,
            ..with(Resume::new())
        };
        assert_eq!(field(hook), Some("resume"));
        let pings = Config {
            heartbeat: Some(Heartbeat::default()),
            ..with(Resume::new())
        };
        assert_eq!(field(pings), None);
        let second = Duration::from_secs(1);
        for heartbeat in [
            Heartbeat::silence(second),
            Heartbeat::answer(second, |_| None),
        ] {
            let silent = Config {
                heartbeat: Some(heartbeat),
                ..with(Resume::new())
            };
            assert_eq!(field(silent), Some("resume"));
        }
    }

    #[test]
    fn a_silence_of_exactly_the_minimum_is_accepted() {
        let cfg = |timeout| Config {
            heartbeat: Some(Heartbeat::silence(timeout)),
            ..Config::default()
        };
        assert_eq!(field(cfg(MIN_SILENCE)), None);
        assert_eq!(
            field(cfg(MIN_SILENCE - Duration::from_millis(1))),
            Some("heartbeat.timeout")
        );
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
            heartbeat: Some(Heartbeat::new(Duration::ZERO, Duration::from_secs(1))),
            ..Config::default()
        };
        assert!(matches!(
            cfg.validate(),
            Err(Error::InvalidOption {
                field: "heartbeat.interval",
                ..
            })
        ));
    }

    #[test]
    fn a_heartbeat_below_the_minimum_is_refused_naming_the_field_and_the_range() {
        let cfg = |interval, timeout| Config {
            heartbeat: Some(Heartbeat::new(interval, timeout)),
            ..Config::default()
        };
        let second = Duration::from_secs(1);
        let just_under = MIN_HEARTBEAT - Duration::from_nanos(1);
        assert_eq!(
            field(cfg(Duration::from_nanos(1), second)),
            Some("heartbeat.interval")
        );
        assert_eq!(field(cfg(just_under, second)), Some("heartbeat.interval"));
        assert_eq!(field(cfg(second, just_under)), Some("heartbeat.timeout"));
        assert_eq!(field(cfg(MIN_HEARTBEAT, MIN_HEARTBEAT)), None);
        let err = cfg(Duration::from_nanos(1), second).validate().unwrap_err();
        assert!(err.to_string().contains("at least 10 ms"), "{err}");
    }

    #[test]
    fn the_default_pong_matcher_takes_a_pong_or_the_ping_itself_echoed() {
        let Liveness::Ping { ping, pong } = Heartbeat::default().liveness else {
            panic!("the default heartbeat pings")
        };
        let sent = ping(7);
        assert_eq!(sent, Message::Text("\u{1}ping:7".into()));
        assert_eq!(pong(&sent), Some(Pong::Numbered(7)));
        assert_eq!(
            pong(&Message::Text("\u{1}pong:7".into())),
            Some(Pong::Numbered(7))
        );
        for other in ["ping:7", "\u{1}ping:", "\u{1}ping:x", "\u{1}pang:7"] {
            assert_eq!(pong(&Message::Text(other.into())), None, "{other:?}");
        }
        assert_eq!(pong(&Message::Binary(sent.as_text().unwrap().into())), None);
    }
}
