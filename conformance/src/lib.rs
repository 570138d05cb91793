//! Checks a server implementation of `tether.resume.v1` (`docs/resume-protocol.md`) against
//! the spec, section by section, over a real socket. See `README.md` for what the server's
//! test route must do; the `tether-conformance` binary runs [`checks`] with a test runner.
//!
//! The kit is a client: it frames with the same codec as ws-tether's client and
//! ws-tether-server (`ws_tether::sans_io::resume`), so it checks the server's behaviour,
//! not a second reading of the grammar. It never touches the server's process or store.

#![deny(missing_docs)]

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

mod checks;
mod peer;

pub use peer::{describe, with_query, Event, Peer, WAIT};

/// Why a check failed: what the server did, and what the spec says (with its section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
    timeout: bool,
}

impl Failure {
    /// A failure saying `message`.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            timeout: false,
        }
    }

    /// Nothing came before a deadline (checks that expect silence look for this one).
    pub fn timeout() -> Failure {
        Failure {
            message: "timed out".to_owned(),
            timeout: true,
        }
    }

    /// Whether this is [`Failure::timeout`].
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A [`Failure`] from `format!` arguments.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::Failure::new(format!($($arg)*)) };
}

/// Returns a [`Failure`] from the enclosing function unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err($crate::fail!($($arg)*));
        }
    };
}

/// The server under test: its test route's URL and the optional query parameters it
/// supports (README: `ttl_ms`, `overflow_bytes`, `end_after`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: String,
    supports: BTreeSet<String>,
}

impl Target {
    /// The test route at `url` (`ws://host:port/path`, any query kept), supporting the
    /// optional query parameters in `supports`.
    pub fn new(url: impl Into<String>, supports: impl IntoIterator<Item = String>) -> Target {
        Target {
            url: url.into(),
            supports: supports.into_iter().collect(),
        }
    }

    /// The route's URL with `query` (`k=v&...`, possibly empty) appended.
    pub fn url(&self, query: &str) -> String {
        with_query(&self.url, query)
    }

    /// Whether the route supports the optional query parameter `name`.
    pub fn supports(&self, name: &str) -> bool {
        self.supports.contains(name)
    }
}

/// A check's body: runs against the target, `Err` on a deviation.
pub type Run = fn(Target) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>>;

/// One check of the spec.
#[derive(Clone, Copy)]
pub struct Check {
    /// The spec's section, e.g. `"§5"`.
    pub section: &'static str,
    /// `group::what_it_checks`, unique; the runner's test name.
    pub name: &'static str,
    /// The optional query parameter the check needs the route to support, if any.
    pub needs: Option<&'static str>,
    /// The check itself.
    pub run: Run,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("section", &self.section)
            .field("name", &self.name)
            .field("needs", &self.needs)
            .finish_non_exhaustive()
    }
}

/// Every check, in the spec's order.
pub fn checks() -> Vec<Check> {
    checks::all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_are_unique_and_sections_are_the_specs() {
        let all = checks();
        let names: BTreeSet<_> = all.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), all.len(), "a name is used twice");
        for check in &all {
            assert!(
                ["§1", "§2", "§3", "§4", "§5", "§6", "§8"].contains(&check.section),
                "{check:?}"
            );
            assert!(check
                .needs
                .is_none_or(|p| ["ttl_ms", "overflow_bytes", "end_after"].contains(&p)));
        }
    }

    #[test]
    fn query_parameters_are_appended_to_the_url() {
        let plain = Target::new("ws://h/resume", []);
        assert_eq!(plain.url(""), "ws://h/resume");
        assert_eq!(plain.url("hold_ms=5"), "ws://h/resume?hold_ms=5");
        let with_query = Target::new("ws://h/resume?id=7", ["ttl_ms".to_owned()]);
        assert_eq!(with_query.url("hold_ms=5"), "ws://h/resume?id=7&hold_ms=5");
        assert!(with_query.supports("ttl_ms") && !with_query.supports("end_after"));
    }
}
