//! The services: each a blocking function over a byte stream, plus its datagram form where the
//! protocol has one. They know nothing of threads, listeners or shutdown.

pub mod chat;
pub mod daytime;
pub mod echo;
pub mod files;

/// Every service `serve` can run, in the order their sockets are bound and listed.
pub const NAMES: &[&str] = &["echo", "daytime", "chat", "files"];
