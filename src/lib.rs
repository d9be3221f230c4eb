//! threadsock: a blocking, thread-per-connection socket server and its clients.
//!
//! The [`server`] core accepts on listeners the caller bound and runs each client's blocking
//! handler on its own OS thread (one thread per UDP socket); the [`service`]s are those
//! handlers; the [`client`]s are the command-line tools that talk to them.
//!
//! # Layout
//!
//! - [`cli`]: option tables and parsing into a command; pure, no I/O.
//! - [`serve`]: `threadsock serve`: binds the selected services and starts them on a server.
//! - [`server`]: the core: accept loop and spawner (`tcp`), one thread per UDP socket (`udp`),
//!   the [`Connection`](server::Connection) a handler reads and writes (`connection`), the
//!   registry of live sockets and the connection limit, stop, stats, the OS thread ceiling.
//! - [`service`]: the handlers: `echo`, `daytime`, `files` (atomic uploads), and `chat`: the hub
//!   (rooms, names, fan-out, flow control), member handles, outboxes, the writer loop every
//!   transport uses, and the `nc` transport (session, commands, its wording).
//! - [`codec`]: pure wire formats over byte slices (lines, CRC-32, RFC 3339 dates, SHA-1,
//!   base64, WebSocket frames and messages).
//! - [`client`]: `talk`, `probe`, `udp`, `send` and the load generator `bench`.
//! - [`out`] and [`log`](mod@log): stdout that survives a closed pipe, errors and log lines in one style.
//!
//! The path of a chat line: the accept loop ([`server`]) admits the connection and a spawner
//! thread starts its connection thread, which runs the chat's `nc` session
//! ([`service::chat`]); the session splits the bytes into lines ([`codec::lines`]), parses a
//! command, and acts for its [`Member`](service::chat::Member); the member's request goes over
//! one bounded channel to the hub thread, which renders a [`Delivery`](service::chat::Delivery)
//! once per wire format in the room and hands each recipient's outbox one batch per burst; each
//! recipient's writer thread frames the batch and writes it in one call.

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
