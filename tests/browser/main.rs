//! The browser tests of both sockets against the test server, in one test binary so that
//! each engine starts once for all of them (scripts/test-browsers). wasm-bindgen-test runs
//! them one at a time. The resource-accounting tests (tests/leaks*.rs) and the interop
//! scenarios (tests/interop.rs, other servers) have binaries of their own.

#![cfg(target_arch = "wasm32")]

#[path = "../common/mod.rs"]
mod common;

mod backpressure;
mod edges;
mod input;
mod outage;
mod reconnect;
mod resume;
mod routes;
// Built with `--features share` (scripts/test-browsers).
#[cfg(feature = "share")]
mod share;
mod socket;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
