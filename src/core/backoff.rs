//! Retry delays as values: an exponential backoff with jitter, or the user's own function.
//! Pure: randomness comes from a seeded generator the caller owns.

use crate::{CloseInfo, Error};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// How much randomness goes into each delay. Without any, every client a server dropped at
/// once comes back at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// Uniform between `min` and the current ceiling (the default): spreads a herd of
    /// reconnecting clients evenly over the whole window.
    #[default]
    Full,
    /// Uniform between half the ceiling and the ceiling (never below `min`).
    Equal,
    /// Exactly the ceiling every time.
    None,
}

/// Exponential backoff: retry `n` (counting from 1) waits a time drawn by the [`Jitter`]
/// from `[min, min(max, min · factor^n)]`.
///
/// Defaults: `min` 500 ms, `max` 30 s, `factor` 2, [`Jitter::Full`], unlimited attempts.
/// The first retry comes within a second (a blip costs users little), a long outage costs
/// the server one attempt per client every 15 s on average, and full jitter keeps a restarted
/// server from being hit by all its clients in the same instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialBackoff {
    min: Duration,
    max: Duration,
    factor: f64,
    jitter: Jitter,
    max_attempts: Option<u32>,
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        ExponentialBackoff {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
            factor: 2.0,
            jitter: Jitter::Full,
            max_attempts: None,
        }
    }
}

impl ExponentialBackoff {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }
    /// The shortest delay and the base of the growth; above zero (a zero base would never
    /// grow: every retry would come at once). Default 500 ms.
    pub fn min(mut self, min: Duration) -> Self {
        self.min = min;
        self
    }
    /// The longest delay. Default 30 s.
    pub fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }
    /// The growth per attempt; at least 1. Default 2.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
    /// The jitter. Default [`Jitter::Full`].
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }
    /// Give up after this many consecutive failed attempts. Default: never.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.min.is_zero() {
            return Err(Error::InvalidOption {
                field: "backoff.min",
                allowed: "a duration above zero",
            });
        }
        if self.max < self.min {
            return Err(Error::InvalidOption {
                field: "backoff.max",
                allowed: "a duration at least as long as backoff.min",
            });
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(Error::InvalidOption {
                field: "backoff.factor",
                allowed: "a finite number of at least 1",
            });
        }
        if self.max_attempts == Some(0) {
            return Err(Error::InvalidOption {
                field: "backoff.max_attempts",
                allowed: "at least 1 (leave it unset for no limit)",
            });
        }
        Ok(())
    }

    /// The delay before retry `attempt` (1-based), or `None` once the attempts are used up.
    pub(crate) fn delay(&self, attempt: u32, rng: &mut Rng) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let min = self.min.as_secs_f64();
        let max = self.max.as_secs_f64();
        let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
        // Not `clamp`: its NaN assertion would link float formatting into every wasm build.
        // `validate` guarantees min <= max; `max`/`min` also tame an infinite power.
        let ceiling = (min * self.factor.powi(exp)).max(min).min(max);
        let low = match self.jitter {
            Jitter::Full => min,
            Jitter::Equal => (ceiling / 2.0).max(min),
            Jitter::None => ceiling,
        };
        // Saturates: a `max` near `Duration::MAX` doesn't survive the trip through f64.
        let secs = low + (ceiling - low) * rng.next_f64();
        Some(Duration::try_from_secs_f64(secs).unwrap_or(self.max))
    }
}

/// What a custom backoff function sees before each retry.
#[derive(Debug, Clone)]
pub struct RetryContext {
    /// The retry about to be scheduled: 1 for the first retry after a connection was lost.
    pub attempt: u32,
    /// Time since the connection was lost (or the first attempt failed).
    pub elapsed: Duration,
    /// How the last connection or attempt ended.
    pub last_close: CloseInfo,
}

type BackoffFn = Rc<dyn Fn(&RetryContext) -> Option<Duration>>;

/// The retry policy: an [`ExponentialBackoff`] (the default) or a function of the attempt,
/// the elapsed time and the last close, returning the next delay or `None` to stop.
///
/// `#[non_exhaustive]`: more built-in policies may come; match with a fallback arm.
#[derive(Clone)]
#[non_exhaustive]
pub enum Backoff {
    /// Exponential growth with jitter.
    Exponential(ExponentialBackoff),
    /// The user's own rule.
    Custom(BackoffFn),
}

impl Backoff {
    /// A backoff from a function; return `None` to stop reconnecting. It runs while the
    /// socket updates its state: decide from the [`RetryContext`] alone and don't call the
    /// socket from it.
    pub fn custom(f: impl Fn(&RetryContext) -> Option<Duration> + 'static) -> Backoff {
        Backoff::Custom(Rc::new(f))
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self {
            Backoff::Exponential(e) => e.validate(),
            Backoff::Custom(_) => Ok(()),
        }
    }

    pub(crate) fn delay(&self, ctx: &RetryContext, rng: &mut Rng) -> Option<Duration> {
        match self {
            Backoff::Exponential(e) => e.delay(ctx.attempt, rng),
            Backoff::Custom(f) => f(ctx),
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::Exponential(ExponentialBackoff::default())
    }
}

impl From<ExponentialBackoff> for Backoff {
    fn from(e: ExponentialBackoff) -> Self {
        Backoff::Exponential(e)
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backoff::Exponential(e) => e.fmt(f),
            Backoff::Custom(_) => f.write_str("Backoff::Custom(..)"),
        }
    }
}

/// A small seeded generator (xorshift64*): the core draws jitter from it so that tests can
/// replay a run exactly. Not for cryptography.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    pub(crate) fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // 53 random bits into [0, 1).
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn without_jitter_the_ceiling_doubles_up_to_max() {
        let b = ExponentialBackoff::new()
            .min(Duration::from_millis(100))
            .max(Duration::from_secs(1))
            .jitter(Jitter::None);
        let mut rng = Rng::new(1);
        let got: Vec<u128> = (1..=6).map(|n| ms(b.delay(n, &mut rng).unwrap())).collect();
        assert_eq!(got, vec![200, 400, 800, 1000, 1000, 1000]);
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_window() {
        let b = ExponentialBackoff::new()
            .min(Duration::from_millis(100))
            .max(Duration::from_secs(10));
        let mut rng = Rng::new(7);
        let delays: Vec<Duration> = (0..2000).map(|_| b.delay(3, &mut rng).unwrap()).collect();
        // Retry 3: window [100 ms, 800 ms].
        assert!(delays.iter().all(|d| ms(*d) >= 100 && ms(*d) <= 800));
        let below_half = delays.iter().filter(|d| ms(**d) < 450).count();
        assert!(
            (800..1200).contains(&below_half),
            "{below_half} of 2000 below the midpoint"
        );
    }

    #[test]
    fn equal_jitter_stays_in_the_upper_half() {
        let b = ExponentialBackoff::new()
            .min(Duration::from_millis(100))
            .jitter(Jitter::Equal);
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let d = ms(b.delay(4, &mut rng).unwrap());
            assert!((800..=1600).contains(&d), "{d}");
        }
    }

    /// Equal jitter still spreads a herd: over the upper half of the window, at any ceiling
    /// (not just at one where every draw lands in the right range by chance).
    #[test]
    fn equal_jitter_spreads_over_the_upper_half_at_every_ceiling() {
        let b = ExponentialBackoff::new()
            .min(Duration::from_millis(100))
            .max(Duration::from_secs(60))
            .jitter(Jitter::Equal);
        let mut rng = Rng::new(11);
        for attempt in 1..=9 {
            let ceiling = 100u128 << attempt;
            let delays: Vec<u128> = (0..400)
                .map(|_| ms(b.delay(attempt, &mut rng).unwrap()))
                .collect();
            assert!(
                delays.iter().all(|d| (ceiling / 2..=ceiling).contains(d)),
                "attempt {attempt}: {delays:?}"
            );
            let lower_half = delays.iter().filter(|d| **d < ceiling * 3 / 4).count();
            assert!(
                (120..280).contains(&lower_half),
                "attempt {attempt}: {lower_half} of 400 in the lower half of the range"
            );
        }
    }

    /// One client retrying for days: its jitter never settles into a short cycle of the
    /// same few delays.
    #[test]
    fn a_long_run_of_retries_does_not_repeat_its_delays() {
        let b = ExponentialBackoff::new();
        for seed in [0, 1, 7, u64::MAX] {
            let mut rng = Rng::new(seed);
            let mut delays: Vec<Duration> =
                (0..1000).map(|_| b.delay(20, &mut rng).unwrap()).collect();
            delays.sort();
            delays.dedup();
            assert!(delays.len() > 990, "seed {seed}: {} distinct", delays.len());
        }
    }

    #[test]
    fn the_debug_output_shows_the_settings() {
        let b = Backoff::from(ExponentialBackoff::new().max_attempts(3));
        let shown = format!("{b:?}");
        for part in ["ExponentialBackoff", "500ms", "30s", "Full", "Some(3)"] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
        let custom = Backoff::custom(|_| None);
        assert_eq!(format!("{custom:?}"), "Backoff::Custom(..)");
    }

    #[test]
    fn max_attempts_stops_after_the_limit() {
        let b = ExponentialBackoff::new().max_attempts(3);
        let mut rng = Rng::new(1);
        assert!(b.delay(3, &mut rng).is_some());
        assert_eq!(b.delay(4, &mut rng), None);
    }

    #[test]
    fn the_longest_durations_saturate_instead_of_panicking() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::None] {
            let b = ExponentialBackoff::new().max(Duration::MAX).jitter(jitter);
            let mut rng = Rng::new(5);
            for attempt in [1, 60, 2000, u32::MAX] {
                let d = b.delay(attempt, &mut rng).expect("no attempt limit");
                assert!(d >= Duration::from_millis(500), "{d:?}");
            }
            let b = b.min(Duration::MAX);
            assert_eq!(b.validate(), Ok(()));
            assert_eq!(b.delay(1, &mut rng), Some(Duration::MAX));
        }
    }

    #[test]
    fn huge_attempt_numbers_stay_at_max() {
        let b = ExponentialBackoff::new().jitter(Jitter::None);
        assert_eq!(
            b.delay(u32::MAX, &mut Rng::new(1)),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn invalid_settings_name_the_field() {
        let bad = [
            (ExponentialBackoff::new().factor(0.5), "backoff.factor"),
            (ExponentialBackoff::new().factor(f64::NAN), "backoff.factor"),
            (
                ExponentialBackoff::new()
                    .min(Duration::from_secs(2))
                    .max(Duration::from_secs(1)),
                "backoff.max",
            ),
            (
                ExponentialBackoff::new().max_attempts(0),
                "backoff.max_attempts",
            ),
            (ExponentialBackoff::new().min(Duration::ZERO), "backoff.min"),
        ];
        for (b, field) in bad {
            match b.validate() {
                Err(Error::InvalidOption { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{b:?}: {other:?}"),
            }
        }
        assert_eq!(ExponentialBackoff::default().validate(), Ok(()));
    }

    #[test]
    fn a_custom_function_sees_attempt_and_last_close() {
        let b = Backoff::custom(|ctx| {
            (ctx.attempt < 3).then(|| Duration::from_secs(ctx.attempt.into()))
        });
        let ctx = |attempt| RetryContext {
            attempt,
            elapsed: Duration::ZERO,
            last_close: CloseInfo {
                code: 1006,
                reason: String::new(),
                was_clean: false,
            },
        };
        let mut rng = Rng::new(1);
        assert_eq!(b.delay(&ctx(2), &mut rng), Some(Duration::from_secs(2)));
        assert_eq!(b.delay(&ctx(3), &mut rng), None);
    }
}
