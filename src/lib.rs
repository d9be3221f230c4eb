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
//!   registry of live sockets and the connection limit, stop, stats, the OS thread ceiling,
//!   one timer thread for many deadlines (`timer`), the descriptor table grown once at start
//!   (`fd_table`).
//! - [`service`]: the handlers: `echo`, `daytime`, `files` (atomic uploads), `chat` (the hub:
//!   rooms, names, fan-out, flow control; member handles, outboxes, the writer loop every transport
//!   uses; the `nc` transport), `web` (HTTP/1.1 serving, routes, CORS), `engineio` (sessions over
//!   long-polling and WebSocket, the upgrade, heartbeats, the WebSocket's writer threads and the
//!   write-through of a session's own thread) and `socketio` (namespaces, sockets, acks, rooms,
//!   quick handlers on the reading thread; the default chat app; the pages), `cluster` (rooms
//!   across nodes through Redis, as socket.io's Redis adapter shares them: the adapter, a RESP2
//!   connection, a publisher and a subscriber thread that reconnect with backoff, their health).
//! - [`codec`]: pure wire formats over byte slices (lines, HTTP/1.1, WebSocket, Engine.IO,
//!   Socket.IO, JSON, Redis's RESP2, MessagePack as notepack.io writes it, the messages of
//!   socket.io's Redis adapter, SHA-1, base64, CRC-32, RFC 3339 dates).
//! - [`defaults`]: every default value, read by the configs, the parsers and `--help`.
//! - [`client`]: `talk`, `probe`, `udp`, `send` and the load generator `bench`.
//! - [`net`]: the stream (TCP or Unix domain socket) and address types the server and the
//!   clients share.
//! - [`out`] and [`log`](mod@log): stdout that survives a closed pipe, errors and log lines in one style.
//!
//! The path of a chat line: the accept loop ([`server`]) admits the connection and a spawner
//! thread starts its connection thread, which runs the chat's `nc` session
//! ([`service::chat`]); the session splits the bytes into lines ([`codec::lines`]), parses a
//! command, and acts for its [`Member`](service::chat::Member); the member's request goes over
//! one bounded channel to the hub thread, which renders a [`Delivery`](service::chat::Delivery)
//! once per wire format in the room and hands each recipient's outbox one batch per burst; each
//! recipient's writer thread frames the batch and writes it in one call. A Socket.IO user's
//! line takes the HTTP loop ([`service::web`]) to Engine.IO ([`service::engineio`]), whose
//! reader hands the packet to the client's own thread ([`service::socketio`]), where the chat
//! app acts for the same kind of member.

pub mod cli;
pub mod client;
pub mod codec;
pub mod defaults;
#[macro_use]
pub mod log;
pub mod net;
pub mod out;
pub mod serve;
pub mod server;
pub mod service;
