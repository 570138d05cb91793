//! The framework-independent part of ws-tether's Leptos and Yew hooks, shared by both so
//! that they can't drift apart: the [`Connection`] a component holds (its socket, opened on
//! demand and replaced when the URL changes), the one task that feeds the component every
//! message and event, the [`Session`] of the current socket, and per-send [`Delivery`].
//!
//! Use it through `ws-tether-leptos` or `ws-tether-yew`, which re-export these types.

#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

mod connection;
mod delivery;
mod options;
mod pump;
mod session;

pub use connection::{Connection, Update};
pub use delivery::{Delivery, Sent};
pub use options::Options;
pub use session::Session;
