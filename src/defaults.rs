//! Every default of threadsock in one place: the server's address, ports, limits and service
//! settings, and the clients' timeouts and load shapes. The config types' `Default` impls, the
//! command-line parsers and the `--help` texts all read these constants, so a default changes
//! here and nowhere else.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

// `threadsock serve`.

/// Address every socket binds to (`--bind`).
pub const BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Port of the echo service, TCP and UDP (RFC 862's port 7, moved above 1024).
pub const ECHO_PORT: u16 = 7007;
/// Port of the daytime service, TCP and UDP (RFC 867's port 13, moved above 1024).
pub const DAYTIME_PORT: u16 = 7013;
/// Port of the chat service, TCP (the seed's chat server's port).
pub const CHAT_PORT: u16 = 9000;
/// Port of the files service, TCP and UDP (the seed's upload servers' port).
pub const FILES_PORT: u16 = 8124;
/// Where uploads are stored (`--files-dir`).
pub const FILES_DIR: &str = "./server_files";
/// Largest upload, in bytes (`--max-file`).
pub const MAX_FILE: u64 = 1 << 30;
/// [`MAX_FILE`] as `--max-file` would be given it.
pub const MAX_FILE_TEXT: &str = "1G";
/// Longest chat line, in bytes (`--max-line`).
pub const MAX_LINE: usize = 4096;
/// Chat lines that may wait for one client (`--outbox`).
pub const OUTBOX_LINES: usize = 1024;
/// A chat client that is behind and accepts no bytes this many milliseconds is dropped
/// (`--chat-stall`).
pub const CHAT_STALL_MS: u64 = 300;
/// [`CHAT_STALL_MS`] as a duration.
pub const CHAT_STALL: Duration = Duration::from_millis(CHAT_STALL_MS);
/// Port of the Socket.IO service (HTTP long-polling and WebSocket; `--socketio-port`).
pub const SOCKETIO_PORT: u16 = 3000;
/// Where Engine.IO and Socket.IO are served (`--socketio-path`).
pub const SOCKETIO_PATH: &str = "/socket.io/";
/// Time between the server's pings to a Socket.IO client (engine.io's default).
pub const PING_INTERVAL: Duration = Duration::from_millis(25_000);
/// How long a Socket.IO client may take to answer a ping (engine.io's default).
pub const PING_TIMEOUT: Duration = Duration::from_millis(20_000);
/// Largest Socket.IO message or HTTP body, in bytes (engine.io's `maxHttpBufferSize`).
pub const MAX_PAYLOAD: usize = 1_000_000;
/// How long a Socket.IO client has to connect to a namespace (socket.io's default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(45_000);
/// Packets that may wait for one Socket.IO client before it is dropped as too slow.
pub const SOCKETIO_OUTBOX: usize = 4096;
/// Permission bits of the Unix socket files (`--unix-mode`): only the server's user.
pub const UNIX_MODE: u32 = 0o600;
/// Connections served at once, TCP and Unix, across services (`--max-conns`).
pub const MAX_CONNS: usize = 4096;
/// A client idle this many seconds is closed (`--idle-timeout`; 0 means never).
pub const IDLE_TIMEOUT_SECS: u64 = 300;
/// [`IDLE_TIMEOUT_SECS`] as a duration.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(IDLE_TIMEOUT_SECS);
/// Stack of each connection thread, in KiB (`--stack-size`).
pub const STACK_SIZE_KIB: usize = 128;
/// [`STACK_SIZE_KIB`] in bytes.
pub const STACK_SIZE: usize = STACK_SIZE_KIB * 1024;

// The clients.

/// How long `probe` waits for a connection, and `udp` for late replies, in milliseconds.
pub const PROBE_TIMEOUT_MS: u64 = 1000;
/// How long `send` waits for the server's answer, in milliseconds.
pub const SEND_TIMEOUT_MS: u64 = 10_000;
/// `bench`: connections of the echo, stream and idle scenarios (`--conns`).
pub const BENCH_CONNS: usize = 1;
/// `bench`: chat receivers (`--clients`).
pub const BENCH_CLIENTS: usize = 10;
/// `bench`: chat lines the sender sends (`--messages`).
pub const BENCH_MESSAGES: usize = 10_000;
/// `bench`: message, chunk or datagram size in bytes (`--size`), except for `stream`.
pub const BENCH_SIZE: usize = 64;
/// `bench stream`: chunk size in bytes (`--size`).
pub const BENCH_STREAM_SIZE: usize = 16_384;
/// `bench`: measured seconds (`--duration`).
pub const BENCH_DURATION_SECS: u64 = 5;
/// `bench`: unmeasured seconds first (`--warmup`).
pub const BENCH_WARMUP_SECS: u64 = 1;
/// `bench idle`: seconds the connections are held (`--hold`).
pub const BENCH_HOLD_SECS: u64 = 5;
/// `bench udp`: datagrams in flight (`--inflight`).
pub const BENCH_INFLIGHT: usize = 1;
/// `bench sio-ack`: the event emitted with an ack (`--event`); the conformance example acks
/// it with its args.
pub const BENCH_SIO_EVENT: &str = "message-with-ack";

// The Redis link that shares rooms across nodes (`service::cluster`).

/// Port of a `redis://` URL that names none.
pub const REDIS_PORT: u16 = 6379;
/// How long a connection to Redis may take to open, authentication included.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one read or write on a Redis connection may block; also the bound on a PING's
/// answer.
pub const REDIS_IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Time between the subscriber's PINGs on an idle connection (and the publisher's when it has
/// nothing to send), so a Redis that stopped answering is noticed within a few seconds.
pub const REDIS_PING_EVERY: Duration = Duration::from_secs(1);
/// First delay before reconnecting to Redis, before jitter.
pub const REDIS_BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest delay between reconnection attempts.
pub const REDIS_BACKOFF_CAP: Duration = Duration::from_secs(5);
/// Messages that may wait for the publisher thread before `publish` refuses more.
pub const REDIS_PUBLISH_QUEUE: usize = 4096;
/// How long a request to the other nodes (who is in a room, which rooms there are) waits for
/// their answers before it makes do with those that came, in milliseconds: the
/// `requestsTimeout` of `@socket.io/redis-adapter`.
pub const REDIS_REQUEST_TIMEOUT_MS: u64 = 5000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_numbers_agree() {
        // MAX_FILE_TEXT is checked against MAX_FILE where sizes are parsed, in `cli`.
        assert_eq!(CHAT_STALL.as_millis(), u128::from(CHAT_STALL_MS));
        assert_eq!(IDLE_TIMEOUT.as_secs(), IDLE_TIMEOUT_SECS);
        assert_eq!(STACK_SIZE / 1024, STACK_SIZE_KIB);
    }
}
