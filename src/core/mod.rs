//! The pure core: values, validation and policy. No web-sys, no timers, no clock reads;
//! everything here is tested natively.

pub(crate) mod close;
pub(crate) mod message;
pub(crate) mod validate;
pub(crate) mod backoff;
pub(crate) mod queue;
pub(crate) mod policy;
pub(crate) mod machine;
