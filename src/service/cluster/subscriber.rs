//! The subscriber thread: one connection to Redis in subscribe mode. It subscribes to its
//! patterns and channels on every connection, hands each message to a callback, PINGs an idle
//! connection so a silent Redis is noticed within a few seconds, and reconnects with backoff.
//! Channels may be added and removed while it runs.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::health::{Health, Role};
use super::redis_conn::{no_answer, unexpected};
use super::{Backoff, LinkConfig, PubSub, RedisConn, RedisUrl, SubKind};
use crate::codec::resp::encode_command;

/// The handle of the subscriber thread. Dropping it shuts the connection down (waking the
/// reader) and joins the thread; do not drop it from inside its own callback.
#[derive(Debug)]
pub struct Subscriber {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    health: Arc<Health>,
}

/// What the handle and the thread share.
#[derive(Debug, Default)]
struct Shared {
    stopping: AtomicBool,
    inner: Mutex<Inner>,
    /// Wakes the thread from its backoff when stopping.
    wake: Condvar,
}

#[derive(Debug, Default)]
struct Inner {
    /// A handle on the current connection's socket: every write goes through it (under this
    /// lock, so commands never interleave), and `Drop` shuts it down.
    socket: Option<TcpStream>,
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
}

impl Subscriber {
    /// Starts the thread for `url`, subscribed to `patterns` (PSUBSCRIBE) and `channels`
    /// (SUBSCRIBE), with the default [`LinkConfig`]. `on_message` gets every
    /// [`PubSub::Message`] and [`PubSub::PMessage`], on the subscriber's thread. If it panics
    /// the thread ends and the subscriber stays [`Down`](super::LinkState::Down), saying so.
    pub fn spawn(
        url: RedisUrl,
        patterns: Vec<Vec<u8>>,
        channels: Vec<Vec<u8>>,
        health: Arc<Health>,
        on_message: impl FnMut(PubSub) + Send + 'static,
    ) -> Subscriber {
        Subscriber::spawn_with(
            url,
            patterns,
            channels,
            health,
            LinkConfig::default(),
            on_message,
        )
    }

    /// As [`Subscriber::spawn`], under `config`. If the OS refuses the thread, the failure is
    /// logged and the subscriber stays [`Connecting`](super::LinkState::Connecting).
    pub fn spawn_with(
        url: RedisUrl,
        patterns: Vec<Vec<u8>>,
        channels: Vec<Vec<u8>>,
        health: Arc<Health>,
        config: LinkConfig,
        mut on_message: impl FnMut(PubSub) + Send + 'static,
    ) -> Subscriber {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                socket: None,
                channels,
                patterns,
            }),
            ..Shared::default()
        });
        let (thread_shared, thread_health) = (Arc::clone(&shared), Arc::clone(&health));
        let thread = std::thread::Builder::new()
            .name("redis-subscriber".into())
            .spawn(move || {
                let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    run(
                        &url,
                        &thread_shared,
                        &thread_health,
                        &config,
                        &mut on_message,
                    )
                }));
                if ran.is_err() {
                    let why = "the message handler panicked; the subscriber stopped";
                    thread_health.set_stopped(Role::Subscriber, why);
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                crate::log!("redis subscriber: cannot start its thread: {e}");
                None
            }
        };
        Subscriber {
            shared,
            thread,
            health,
        }
    }

    /// Adds `channel` (no effect if it is there already): subscribed at once if connected,
    /// and after every reconnection.
    pub fn subscribe(&self, channel: Vec<u8>) {
        let mut inner = self.shared.lock();
        if inner.channels.contains(&channel) {
            return;
        }
        let mut command = Vec::new();
        encode_command(&[b"SUBSCRIBE", &channel], &mut command);
        inner.channels.push(channel);
        write_or_shut(&inner, &command);
    }

    /// Removes `channel`: unsubscribed at once if connected, and not subscribed again.
    pub fn unsubscribe(&self, channel: &[u8]) {
        let mut inner = self.shared.lock();
        let Some(i) = inner.channels.iter().position(|c| c == channel) else {
            return;
        };
        inner.channels.remove(i);
        let mut command = Vec::new();
        encode_command(&[b"UNSUBSCRIBE", channel], &mut command);
        write_or_shut(&inner, &command);
    }

    /// The health this subscriber reports to.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        {
            let inner = self.shared.lock();
            if let Some(socket) = &inner.socket {
                let _ = socket.shutdown(Shutdown::Both);
            }
            self.shared.wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sleeps for `delay` unless stopped; false if stopping.
    fn sleep(&self, delay: Duration) -> bool {
        let inner = self.lock();
        let _unused = self
            .wake
            .wait_timeout_while(inner, delay, |_| !self.stopping())
            .unwrap_or_else(PoisonError::into_inner);
        !self.stopping()
    }

    /// Makes `conn` the current connection and sends its subscriptions; the number of
    /// confirmations to expect, or `None` if stopping.
    fn attach(&self, conn: &RedisConn) -> io::Result<Option<usize>> {
        let mut inner = self.lock();
        if self.stopping() {
            return Ok(None);
        }
        let socket = conn.shutdown_handle()?;
        let mut commands = Vec::new();
        for (verb, names) in [
            (&b"SUBSCRIBE"[..], &inner.channels),
            (b"PSUBSCRIBE", &inner.patterns),
        ] {
            if !names.is_empty() {
                let mut args: Vec<&[u8]> = vec![verb];
                args.extend(names.iter().map(Vec::as_slice));
                encode_command(&args, &mut commands);
            }
        }
        (&socket).write_all(&commands)?;
        let expected = inner.channels.len() + inner.patterns.len();
        inner.socket = Some(socket);
        Ok(Some(expected))
    }

    /// Writes `command` on the current connection.
    fn write(&self, command: &[u8]) -> io::Result<()> {
        match &self.lock().socket {
            Some(socket) => (&*socket).write_all(command),
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
        }
    }
}

/// Writes `command` on the current connection, if any; if the write fails, shuts the
/// connection down so the thread reconnects (and subscribes to everything again).
fn write_or_shut(inner: &Inner, command: &[u8]) {
    if let Some(socket) = &inner.socket {
        if (&*socket).write_all(command).is_err() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// The thread: connect, listen until the connection fails, wait, again; until stopped.
fn run(
    url: &RedisUrl,
    shared: &Shared,
    health: &Health,
    config: &LinkConfig,
    on_message: &mut dyn FnMut(PubSub),
) {
    let mut backoff = config.backoff();
    while !shared.stopping() {
        let result = config.connect(url).and_then(|mut conn| {
            listen(
                &mut conn,
                url,
                shared,
                health,
                config,
                &mut backoff,
                on_message,
            )
        });
        shared.lock().socket = None;
        if shared.stopping() {
            return;
        }
        if let Err(e) = result {
            health.set_down(Role::Subscriber, url, &e);
        }
        if !shared.sleep(backoff.next()) {
            return;
        }
    }
}

/// Subscribes on `conn` and hands on messages until the connection fails (`Err`) or the handle
/// is dropped (`Ok`).
fn listen(
    conn: &mut RedisConn,
    url: &RedisUrl,
    shared: &Shared,
    health: &Health,
    config: &LinkConfig,
    backoff: &mut Backoff,
    on_message: &mut dyn FnMut(PubSub),
) -> io::Result<()> {
    // Reads wake often enough to PING on time and to notice a PING left unanswered.
    let tick = (config.ping_every.min(config.io_timeout) / 2).max(Duration::from_millis(10));
    conn.set_read_timeout(Some(tick))?;
    let Some(expected) = shared.attach(conn)? else {
        return Ok(());
    };
    let mut confirmed = 0;
    let mut up = false;
    let mut last_heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    loop {
        if !up && confirmed >= expected {
            health.set_up(Role::Subscriber, url);
            backoff.reset();
            up = true;
        }
        match conn.read_reply() {
            Ok(reply) => {
                last_heard = Instant::now();
                ping_sent = None;
                match PubSub::from_reply(reply) {
                    m @ (PubSub::Message { .. } | PubSub::PMessage { .. }) => {
                        health.count_received(1);
                        on_message(m);
                    }
                    PubSub::Subscribed {
                        kind: SubKind::Subscribe | SubKind::PSubscribe,
                        ..
                    } => confirmed += 1,
                    PubSub::Subscribed { .. } | PubSub::Pong => {}
                    PubSub::Other(reply) => return Err(unexpected(&reply)),
                }
            }
            Err(e) if crate::server::is_timeout(&e) => {}
            Err(e) => return if shared.stopping() { Ok(()) } else { Err(e) },
        }
        if shared.stopping() {
            return Ok(());
        }
        let now = Instant::now();
        match ping_sent {
            Some(sent) if now - sent >= config.io_timeout => {
                return Err(no_answer(io::ErrorKind::TimedOut.into()));
            }
            None if now - last_heard >= config.ping_every => {
                let mut ping = Vec::new();
                encode_command(&[b"PING"], &mut ping);
                shared.write(&ping)?;
                ping_sent = Some(now);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<Subscriber>();
        is::<super::super::Publisher>();
    }

    #[test]
    fn drop_stops_a_thread_that_cannot_connect() {
        // A port nothing listens on: the thread keeps failing and backing off.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let health = Arc::new(Health::new());
        let sub = Subscriber::spawn(
            RedisUrl::new("127.0.0.1", port),
            vec![],
            vec![b"ch".to_vec()],
            Arc::clone(&health),
            |_| {},
        );
        assert!(
            health.wait_for(Role::Subscriber, Duration::from_secs(10), |s| {
                matches!(s, super::super::LinkState::Down { .. })
            })
        );
        let t0 = Instant::now();
        drop(sub);
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    }
}
