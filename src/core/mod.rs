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
// Sharing one connection between tabs (issue #24): for drivers through `sans_io`; nothing in
// the npm package's exports reaches it yet.
#[cfg(any(test, feature = "sans-io"))]
pub(crate) mod share;
#[cfg(any(test, feature = "sans-io"))]
mod share_buffers;
#[cfg(any(test, feature = "sans-io"))]
mod share_follow;
#[cfg(any(test, feature = "sans-io"))]
mod share_hub;
#[cfg(any(test, feature = "sans-io"))]
mod share_members;
#[cfg(any(test, feature = "sans-io"))]
pub(crate) mod share_options;
#[cfg(any(test, feature = "sans-io"))]
pub(crate) mod share_post;
#[cfg(any(test, feature = "sans-io"))]
mod share_pump;
#[cfg(any(test, feature = "sans-io"))]
mod share_wire;
pub(crate) mod status;
pub(crate) mod validate;
