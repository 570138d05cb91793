//! The framework-independent part of ws-tether's Leptos and Yew hooks, shared by both so
//! that they can't drift apart. Use it through `ws-tether-leptos` or `ws-tether-yew`.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod pump;

pub use pump::pump;
