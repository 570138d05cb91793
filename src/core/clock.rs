//! Time and randomness as both drivers read them: a wall clock made monotonic, a seed from
//! the platform's random number, and the longest timer a browser keeps. Pure arithmetic;
//! the drivers pass in the raw readings.

use std::time::Duration;

/// The longest delay `setTimeout` honours (2^31 - 1 ms); a longer one fires at once. The
/// machine never asks for a longer timer: it re-arms a long wait when the clamped one fires.
pub const MAX_TIMER: Duration = Duration::from_millis(i32::MAX as u64);

/// Wall-clock milliseconds since the clock was made (they keep counting while the page or
/// its timers sleep, unlike timers), never going backwards when the system clock does.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: f64,
    last: f64,
}

impl Clock {
    /// A clock whose zero is the wall-clock reading `wall_ms` (e.g. `Date.now()`).
    pub fn new(wall_ms: f64) -> Clock {
        Clock {
            origin: wall_ms,
            last: 0.0,
        }
    }

    /// The time at wall-clock reading `wall_ms`: never less than the previous reading.
    pub fn now(&mut self, wall_ms: f64) -> Duration {
        let elapsed = wall_ms - self.origin;
        // A NaN or negative reading keeps the last time.
        if elapsed > self.last {
            self.last = elapsed;
        }
        from_millis(self.last)
    }
}

/// A finite, non-negative number of milliseconds as a `Duration` (saturating; anything else
/// is zero). Microseconds are finer than any browser timer.
pub fn from_millis(ms: f64) -> Duration {
    if ms > 0.0 {
        // `as` saturates at u64::MAX.
        Duration::from_micros((ms * 1000.0) as u64)
    } else {
        Duration::ZERO
    }
}

/// A jitter seed from a random number in [0, 1) (e.g. `Math.random()`).
pub fn seed(random: f64) -> u64 {
    (random * (1u64 << 53) as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_never_goes_backwards() {
        let mut clock = Clock::new(1_000.0);
        assert_eq!(clock.now(1_250.0), Duration::from_millis(250));
        // The system clock was set back, or gave nonsense.
        assert_eq!(clock.now(900.0), Duration::from_millis(250));
        assert_eq!(clock.now(f64::NAN), Duration::from_millis(250));
        assert_eq!(clock.now(1_300.0), Duration::from_millis(300));
    }

    #[test]
    fn millis_saturate_and_reject_nonsense() {
        assert_eq!(from_millis(1.5), Duration::from_micros(1500));
        assert_eq!(from_millis(-1.0), Duration::ZERO);
        assert_eq!(from_millis(f64::NAN), Duration::ZERO);
        assert_eq!(from_millis(f64::INFINITY), Duration::from_micros(u64::MAX));
    }

    #[test]
    fn seeds_spread_over_53_bits() {
        assert_eq!(seed(0.0), 0);
        assert_eq!(seed(0.5), 1 << 52);
        assert!(seed(0.999_999) < 1 << 53);
    }
}
