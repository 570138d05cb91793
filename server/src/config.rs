//! Session configuration: bounds and timers, with their defaults.

use std::time::Duration;

use crate::Error;

/// How sessions behave. `#[non_exhaustive]`: build it from [`Config::default`] and the
/// setters; [`Config::validate`] (called by [`Sessions`](crate::Sessions)) rejects values
/// out of range, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Bytes of payload a session keeps for replay: sent and not acknowledged, plus accepted
    /// and not yet recorded. Default 1 MiB (spec section 6). While connected a full buffer
    /// makes the sink wait; while disconnected it ends the session with
    /// [`Error::Overflow`].
    pub max_buffer_bytes: usize,
    /// How long a session is kept without an open connection. Default 5 minutes (spec
    /// section 6). A resume after that gets `welcome lost expired`, and after twice that,
    /// once forgotten, `welcome lost unknown`.
    pub ttl: Duration,
    /// The longest an ack waits after the first unacknowledged message. Default 100 ms
    /// (spec section 5).
    pub ack_delay: Duration,
    /// After this many unacknowledged messages the ack goes out at once. Default 64 (spec
    /// section 5).
    pub ack_every: u64,
    /// A connection without any frame from the client for this long is closed (the session
    /// stays). Default 30 s: twice ws-tether's default heartbeat interval (spec section 5).
    pub idle_timeout: Duration,
    /// After this long without a frame from the client, the server sends `ping` (spec
    /// section 5), which the client answers with an `ack`: a quiet session is not cut as
    /// idle whether or not the client runs a heartbeat. Default `None`: half of
    /// `idle_timeout` (15 s); must be less than `idle_timeout`.
    pub ping_interval: Option<Duration>,
    /// How long the client has to send its first frame (`hello` or `resume`), and how long
    /// a connection may take nothing the server writes (a client that stopped reading):
    /// then it is dropped and the session waits for a resume. Nothing else waits on a
    /// connection: a resume takes over a stalled one at once. Default 10 s.
    pub handshake_timeout: Duration,
    /// The session's receive window, announced in every `welcome` (spec section 5): payload
    /// bytes of the client's messages the server holds unacknowledged (waiting for the
    /// application, or finished and not yet acknowledged). The socket is read at all times;
    /// a client past the window (more than one message in flight beyond it) is closed with
    /// 1002. Default 1 MiB, ws-tether's default send queue bound. At least
    /// `max_message_bytes`, so any message fits alone.
    pub max_incoming_bytes: usize,
    /// The largest message (and WebSocket frame) a client may send, in bytes; a larger one
    /// closes the connection with 1009 (set on the upgrade by
    /// [`Sessions::upgrade`](crate::Sessions::upgrade)). Default 1 MiB.
    pub max_message_bytes: usize,
    /// The read buffer of each connection, in bytes (set on the upgrade by
    /// [`Sessions::upgrade`](crate::Sessions::upgrade)). Default 4 KiB: the WebSocket
    /// layer's own default, 128 KiB, is zero-filled before every socket read and is most
    /// of an idle session's memory; messages larger than the buffer are still read whole.
    pub read_buffer_bytes: usize,
    /// Sessions this process runs at most (connected or waiting for a resume). A `hello`
    /// (or a resume that would start a session) beyond it is closed with 1013 (try again
    /// later); the client retries with its backoff. Default 10,000.
    pub max_sessions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_buffer_bytes: 1 << 20,
            ttl: Duration::from_secs(300),
            ack_delay: Duration::from_millis(100),
            ack_every: 64,
            idle_timeout: Duration::from_secs(30),
            ping_interval: None,
            handshake_timeout: Duration::from_secs(10),
            max_incoming_bytes: 1 << 20,
            max_message_bytes: 1 << 20,
            max_sessions: 10_000,
            read_buffer_bytes: 4 * 1024,
        }
    }
}

impl Config {
    /// Sets [`Config::max_buffer_bytes`].
    pub fn max_buffer_bytes(mut self, bytes: usize) -> Self {
        self.max_buffer_bytes = bytes;
        self
    }

    /// Sets [`Config::ttl`].
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets [`Config::ack_delay`].
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.ack_delay = delay;
        self
    }

    /// Sets [`Config::ack_every`].
    pub fn ack_every(mut self, messages: u64) -> Self {
        self.ack_every = messages;
        self
    }

    /// Sets [`Config::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`Config::ping_interval`].
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = Some(interval);
        self
    }

    /// The interval in effect: [`Config::ping_interval`] or half of the idle timeout.
    pub(crate) fn ping_every(&self) -> Duration {
        self.ping_interval.unwrap_or(self.idle_timeout / 2)
    }

    /// Sets [`Config::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Config::max_incoming_bytes`].
    pub fn max_incoming_bytes(mut self, bytes: usize) -> Self {
        self.max_incoming_bytes = bytes;
        self
    }

    /// Sets [`Config::max_message_bytes`].
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Sets [`Config::read_buffer_bytes`].
    pub fn read_buffer_bytes(mut self, bytes: usize) -> Self {
        self.read_buffer_bytes = bytes;
        self
    }

    /// Sets [`Config::max_sessions`].
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = sessions;
        self
    }

    /// Checks every field; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let positive = |field, duration: Duration| {
            if duration.is_zero() {
                Err(Error::Config {
                    field,
                    problem: "must be more than zero",
                })
            } else {
                Ok(())
            }
        };
        if self.max_buffer_bytes == 0 {
            return Err(Error::Config {
                field: "max_buffer_bytes",
                problem: "must be more than zero",
            });
        }
        // Redis keeps expiries in milliseconds; a day-long session is already unusual.
        if self.ttl < Duration::from_millis(10) || self.ttl > Duration::from_secs(30 * 86_400) {
            return Err(Error::Config {
                field: "ttl",
                problem: "must be between 10 ms and 30 days",
            });
        }
        positive("ack_delay", self.ack_delay)?;
        if self.ack_every == 0 {
            return Err(Error::Config {
                field: "ack_every",
                problem: "must be more than zero",
            });
        }
        positive("idle_timeout", self.idle_timeout)?;
        positive("ping_interval", self.ping_every())?;
        if self.ping_every() >= self.idle_timeout {
            return Err(Error::Config {
                field: "ping_interval",
                problem: "must be less than idle_timeout",
            });
        }
        positive("handshake_timeout", self.handshake_timeout)?;
        if self.max_message_bytes < 256 {
            return Err(Error::Config {
                field: "max_message_bytes",
                problem: "must be at least 256 (a control message's bound)",
            });
        }
        if self.max_incoming_bytes < self.max_message_bytes {
            return Err(Error::Config {
                field: "max_incoming_bytes",
                problem: "must be at least max_message_bytes",
            });
        }
        if self.read_buffer_bytes < 256 {
            return Err(Error::Config {
                field: "read_buffer_bytes",
                problem: "must be at least 256",
            });
        }
        if self.max_sessions == 0 {
            return Err(Error::Config {
                field: "max_sessions",
                problem: "must be more than zero",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_values_and_valid() {
        let config = Config::default();
        assert_eq!(config.max_buffer_bytes, 1024 * 1024);
        assert_eq!(config.ttl, Duration::from_secs(300));
        assert_eq!(config.ack_delay, Duration::from_millis(100));
        assert_eq!(config.ack_every, 64);
        assert_eq!(config.max_incoming_bytes, 1024 * 1024);
        assert_eq!(config.max_message_bytes, 1024 * 1024);
        assert_eq!(config.max_sessions, 10_000);
        assert_eq!(config.read_buffer_bytes, 4096);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let field = |c: Config| match c.validate() {
            Err(Error::Config { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(Config::default().max_buffer_bytes(0)),
            "max_buffer_bytes"
        );
        assert_eq!(field(Config::default().ttl(Duration::ZERO)), "ttl");
        assert_eq!(field(Config::default().ack_every(0)), "ack_every");
        assert_eq!(
            field(Config::default().ack_delay(Duration::ZERO)),
            "ack_delay"
        );
        assert_eq!(
            field(Config::default().idle_timeout(Duration::ZERO)),
            "idle_timeout"
        );
        assert_eq!(
            field(Config::default().handshake_timeout(Duration::ZERO)),
            "handshake_timeout"
        );
        assert_eq!(
            field(Config::default().max_message_bytes(255)),
            "max_message_bytes"
        );
        assert_eq!(
            field(Config::default().max_incoming_bytes((1 << 20) - 1)),
            "max_incoming_bytes"
        );
        assert_eq!(field(Config::default().max_sessions(0)), "max_sessions");
        assert_eq!(
            field(Config::default().read_buffer_bytes(100)),
            "read_buffer_bytes"
        );
        assert_eq!(
            field(Config::default().ping_interval(Duration::from_secs(30))),
            "ping_interval"
        );
    }
}
