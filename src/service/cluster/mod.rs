//! The Redis link that shares chat rooms across nodes: `redis://` URLs, a blocking RESP2
//! connection, pub/sub pushes, and the two long-lived threads a cluster adapter uses: a
//! [`Publisher`] whose `publish` never blocks, and a [`Subscriber`] that hands every message to
//! a callback. Both reconnect with jittered backoff and report to a shared [`Health`].
//!
//! Every wait of these threads is bounded (connect, read and write timeouts, PINGs on idle
//! connections), so dropping either handle stops and joins its thread within a few seconds.

mod adapter;
mod backoff;
mod health;
mod peers;
mod publisher;
mod pubsub;
mod redis_conn;
mod redis_url;
mod shared;
mod subscriber;

pub use adapter::Cluster;
pub use backoff::Backoff;
pub use health::{Health, HealthSnapshot, LinkState, Role};
pub use publisher::Publisher;
pub use pubsub::{PubSub, SubKind};
pub use redis_conn::{check, RedisConn, MAX_REPLY};
pub use redis_url::{RedisUrl, UrlError};
pub use shared::ClusterStats;
pub use subscriber::Subscriber;

use crate::codec::resp::Limits;
use crate::defaults;
use std::time::Duration;

/// Timeouts, PING interval, backoff and reply limits of a [`Publisher`] or [`Subscriber`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// How long opening a connection (with `AUTH` and `SELECT`) may take.
    pub connect_timeout: Duration,
    /// How long one read or write may block, and a PING may go unanswered.
    pub io_timeout: Duration,
    /// Time without traffic after which a connection is PINGed.
    pub ping_every: Duration,
    /// First reconnection delay, before jitter.
    pub backoff_base: Duration,
    /// Longest reconnection delay.
    pub backoff_cap: Duration,
    /// Bounds on each reply.
    pub limits: Limits,
    /// Largest reply, in bytes, all its parts together.
    pub max_reply: usize,
}

impl Default for LinkConfig {
    /// The `REDIS_*` values of [`defaults`] and the parser's default limits.
    fn default() -> Self {
        LinkConfig {
            connect_timeout: defaults::REDIS_CONNECT_TIMEOUT,
            io_timeout: defaults::REDIS_IO_TIMEOUT,
            ping_every: defaults::REDIS_PING_EVERY,
            backoff_base: defaults::REDIS_BACKOFF_BASE,
            backoff_cap: defaults::REDIS_BACKOFF_CAP,
            limits: Limits::default(),
            max_reply: MAX_REPLY,
        }
    }
}

impl LinkConfig {
    /// Connects to `url` under this configuration and checks that Redis answers a PING (a
    /// server that accepts connections but does not answer is not up); then its limits, and
    /// reads and writes bounded by `io_timeout`.
    pub(crate) fn connect(&self, url: &RedisUrl) -> std::io::Result<RedisConn> {
        let mut conn = RedisConn::connect(url, self.connect_timeout)?;
        check(
            conn.command(&[b"PING"]).map_err(redis_conn::no_answer)?,
            "PING",
        )?;
        conn.set_limits(self.limits, self.max_reply);
        let io = Some(self.io_timeout.max(Duration::from_millis(1)));
        conn.set_read_timeout(io)?;
        conn.set_write_timeout(io)?;
        Ok(conn)
    }

    /// A backoff with this configuration's base and cap.
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.backoff_base, self.backoff_cap)
    }
}
