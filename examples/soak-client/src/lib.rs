//! The Rust API's client in the chaos soak (`scripts/soak`, `npm run soak`): a
//! `ws_tether::ReconnectingWebSocket`, resume on or off, that sends "1", "2", ... every
//! 10 ms and checks the numbers the soak server pushes back (lost, duplicated, reordered).
//! The soak page (`www/soak.js`) runs it next to the npm package's twin, which counts the
//! same way in JavaScript.

use std::collections::BTreeSet;

/// The largest jump forward taken as a number: anything further is counted as garbage, so
/// a corrupt message can't make the gap set huge.
const MAX_JUMP: u64 = 10_000_000;

/// Checks a stream of numbers that should be 1, 2, 3, ...: which are missing so far, which
/// came twice, which came after a higher one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// Messages taken (numbers and garbage).
    pub received: u64,
    /// The highest number seen.
    pub highest: u64,
    /// Numbers below `highest` not seen (yet).
    missing: BTreeSet<u64>,
    /// A number seen again.
    pub duplicates: u64,
    /// A number that arrived after a higher one (it filled a gap).
    pub reordered: u64,
    /// Messages that were not a number in range.
    pub garbage: u64,
}

impl Sequence {
    /// Takes one message's text.
    pub fn record_text(&mut self, text: &str) {
        match text.parse::<u64>() {
            Ok(n) => self.record(n),
            Err(_) => {
                self.received += 1;
                self.garbage += 1;
            }
        }
    }

    /// Takes one number.
    pub fn record(&mut self, n: u64) {
        self.received += 1;
        if n == 0 || n > self.highest.saturating_add(MAX_JUMP) {
            self.garbage += 1;
        } else if n > self.highest {
            self.missing.extend(self.highest + 1..n);
            self.highest = n;
        } else if self.missing.remove(&n) {
            self.reordered += 1;
        } else {
            self.duplicates += 1;
        }
    }

    /// How many of `1..=upto` never arrived.
    pub fn lost_up_to(&self, upto: u64) -> u64 {
        self.missing.range(..=upto).count() as u64 + upto.saturating_sub(self.highest)
    }

    /// Numbers missing below the highest so far.
    pub fn gaps(&self) -> u64 {
        self.missing.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::Sequence;

    fn run(numbers: &[u64]) -> Sequence {
        let mut s = Sequence::default();
        numbers.iter().for_each(|&n| s.record(n));
        s
    }

    #[test]
    fn in_order_is_clean() {
        let s = run(&[1, 2, 3, 4]);
        assert_eq!(
            (s.received, s.highest, s.gaps(), s.duplicates, s.reordered),
            (4, 4, 0, 0, 0)
        );
        assert_eq!(s.lost_up_to(4), 0);
        assert_eq!(s.lost_up_to(6), 2);
    }

    #[test]
    fn gaps_duplicates_and_reorders() {
        let s = run(&[1, 2, 5, 3, 3, 5, 7]);
        assert_eq!(s.highest, 7);
        assert_eq!(s.reordered, 1); // 3 after 5
        assert_eq!(s.duplicates, 2); // the second 3, the second 5
        assert_eq!(s.gaps(), 2); // 4 and 6
        assert_eq!(s.lost_up_to(5), 1);
        assert_eq!(s.lost_up_to(9), 4);
    }

    #[test]
    fn garbage_is_counted_apart() {
        let mut s = Sequence::default();
        s.record_text("1");
        s.record_text("hello");
        s.record_text("0");
        s.record_text("99999999999");
        s.record_text("2");
        assert_eq!((s.received, s.garbage, s.highest, s.gaps()), (5, 3, 2, 0));
    }
}

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
pub use client::SoakClient;
