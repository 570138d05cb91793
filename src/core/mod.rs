//! The pure core: values, validation and policy. No web-sys, no timers, no clock reads;
//! everything here is tested natively.
// Off wasm32 nothing drives the machine but the tests.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub(crate) mod backoff;
pub(crate) mod clock;
pub(crate) mod close;
#[cfg(test)]
mod herd;
pub(crate) mod machine;
pub(crate) mod message;
pub(crate) mod policy;
pub(crate) mod queue;
pub(crate) mod resume;
// Sharing one connection between tabs (issue #24): the `share` feature (and the native
// tests). Off, the machine has none of its inputs either: the npm package doesn't pay for it.
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
pub(crate) mod share;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
mod share_buffers;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
mod share_follow;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
mod share_hub;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
mod share_members;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
pub(crate) mod share_options;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
pub(crate) mod share_post;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
mod share_pump;
#[cfg(any(feature = "share", all(test, not(target_arch = "wasm32"))))]
mod share_wire;
pub(crate) mod status;
pub(crate) mod text;
pub(crate) mod validate;

/// A type with no values. A policy whose cargo feature is off holds one, so that no code
/// can build it. What compiles its code out is elsewhere: the machine reads the policies
/// through `Config::resume` and `Config::heartbeat`, which are constant `None` without the
/// feature, and the driver filters the handshake hook the same way, so the compiler drops
/// what handles `Some`. The crate's own unit tests build every policy, whatever the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
pub(crate) enum Off {}
