//! The Rust API in a shared Worker: tests/worker/mod.rs.

#![cfg(target_arch = "wasm32")]

#[path = "common/mod.rs"]
mod common;
#[path = "worker/mod.rs"]
mod worker;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_shared_worker);
