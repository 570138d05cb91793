#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod actor;
mod config;
mod connection;
mod error;
mod registry;
mod session;
mod store;

pub use config::Config;
pub use error::Error;
pub use registry::Sessions;
pub use session::{Incoming, Session, SessionSink, SessionStream};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use store::RedisStore;
pub use store::{Changes, Claim, LostReason, MemoryStore, Snapshot, Store, StoreFuture};
/// The message type, shared with the browser client (`ws-tether`).
pub use ws_tether::Message;

#[allow(dead_code)]
fn _assert_impls() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Sessions>();
    send_sync::<Error>();
    send::<Session>();
    send::<SessionSink>();
    send::<SessionStream>();
}
