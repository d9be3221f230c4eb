//! threadsock: a blocking, thread-per-connection socket server and its clients.
//!
//! The [`server`] core accepts on listeners the caller bound and runs each client's blocking
//! handler on its own OS thread (one thread per UDP socket); the [`service`]s are those
//! handlers; the [`client`]s are the command-line tools that talk to them.

pub mod cli;
pub mod client;
pub mod codec;
pub mod defaults;
#[macro_use]
pub mod log;
pub mod out;
pub mod serve;
pub mod server;
pub mod service;
