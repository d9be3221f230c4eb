//! The publisher thread: one connection to Redis fed by a bounded queue. `publish` never
//! blocks (a full queue drops and counts); the thread writes what is queued in one go and then
//! reads the replies; while Redis is unreachable it drops what is published (so nothing stale
//! goes out after a reconnection) and retries with backoff.

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::health::{Health, Role};
use super::redis_conn::{no_answer, unexpected};
use super::{LinkConfig, RedisConn, RedisUrl};
use crate::codec::resp::Reply;

/// Messages written in one go at most.
const MAX_BATCH: usize = 1024;
/// Bytes of payload written in one go at most (one message may exceed it alone).
const MAX_BATCH_BYTES: usize = 1 << 20;

/// A message on its way: channel and payload.
type Message = (Vec<u8>, Vec<u8>);

/// The handle of the publisher thread. Dropping it lets the thread send what is queued (within
/// its timeouts) and joins it.
#[derive(Debug)]
pub struct Publisher {
    queue: Option<Sender<Message>>,
    thread: Option<JoinHandle<()>>,
    health: Arc<Health>,
}

impl Publisher {
    /// Starts the thread for `url` with a queue of `queue` messages and the default
    /// [`LinkConfig`].
    pub fn spawn(url: RedisUrl, queue: usize, health: Arc<Health>) -> Publisher {
        Publisher::spawn_with(url, queue, health, LinkConfig::default())
    }

    /// Starts the thread for `url` with a queue of `queue` messages (at least 1) under
    /// `config`. If the OS refuses the thread, the failure is logged and every message is
    /// dropped as if Redis were down.
    pub fn spawn_with(
        url: RedisUrl,
        queue: usize,
        health: Arc<Health>,
        config: LinkConfig,
    ) -> Publisher {
        let (tx, rx) = crossbeam_channel::bounded(queue.max(1));
        let thread_health = Arc::clone(&health);
        let thread = std::thread::Builder::new()
            .name("redis-publisher".into())
            .spawn(move || run(&url, &rx, &thread_health, &config));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                crate::log!("redis publisher: cannot start its thread: {e}");
                None
            }
        };
        Publisher {
            queue: Some(tx),
            thread,
            health,
        }
    }

    /// Queues `payload` for `channel` without blocking. False if it was dropped: the queue was
    /// full (counted as `dropped_full`) or the thread is gone (`dropped_down`).
    pub fn publish(&self, channel: Vec<u8>, payload: Vec<u8>) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        match queue.try_send((channel, payload)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.health.count_dropped_full(1);
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                self.health.count_dropped_down(1);
                false
            }
        }
    }

    /// The health this publisher reports to.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: connect, publish until the connection fails, wait, again; until the handle is
/// dropped and the queue is empty.
fn run(url: &RedisUrl, queue: &Receiver<Message>, health: &Health, config: &LinkConfig) {
    let mut backoff = config.backoff();
    loop {
        match config.connect(url) {
            Ok(mut conn) => {
                backoff.reset();
                health.set_up(Role::Publisher, url);
                match publish_until_error(&mut conn, queue, health, config) {
                    Ok(()) => return,
                    Err(e) => health.set_down(Role::Publisher, url, &e),
                }
            }
            Err(e) => health.set_down(Role::Publisher, url, &e),
        }
        if !drop_until(queue, Instant::now() + backoff.next(), health) {
            return;
        }
    }
}

/// Publishes what arrives, PINGs when nothing does; `Ok` once the handle is gone and the queue
/// empty, `Err` when the connection fails (messages written and not answered are counted as
/// `dropped_down`).
fn publish_until_error(
    conn: &mut RedisConn,
    queue: &Receiver<Message>,
    health: &Health,
    config: &LinkConfig,
) -> io::Result<()> {
    let mut batch: Vec<Message> = Vec::new();
    loop {
        match queue.recv_timeout(config.ping_every) {
            Ok(first) => batch.push(first),
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {
                let reply = conn.command(&[b"PING"]).map_err(no_answer)?;
                if !matches!(&reply, Reply::Simple(s) if s == "PONG") {
                    return Err(unexpected(&reply));
                }
                continue;
            }
        }
        let mut bytes = batch[0].1.len();
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match queue.try_recv() {
                Ok(m) => {
                    bytes += m.1.len();
                    batch.push(m);
                }
                Err(_) => break,
            }
        }
        for (channel, payload) in &batch {
            conn.queue(&[b"PUBLISH", channel, payload]);
        }
        let sent = batch.len() as u64;
        batch.clear();
        if let Err(e) = conn.flush() {
            health.count_dropped_down(sent);
            return Err(e);
        }
        let (mut published, mut rejected) = (0, 0);
        let mut answered = 0;
        let result = loop {
            if answered == sent {
                break Ok(());
            }
            match conn.read_reply() {
                Ok(Reply::Integer(_)) => published += 1,
                Ok(Reply::Error(_)) => rejected += 1,
                Ok(other) => break Err(unexpected(&other)),
                Err(e) => break Err(no_answer(e)),
            }
            answered += 1;
        };
        health.count_published(published);
        health.count_rejected(rejected);
        if let Err(e) = result {
            health.count_dropped_down(sent - answered);
            return Err(e);
        }
    }
}

/// Drops (and counts) what is published until `deadline`; false if the handle is gone.
fn drop_until(queue: &Receiver<Message>, deadline: Instant, health: &Health) -> bool {
    loop {
        match queue.recv_deadline(deadline) {
            Ok(_) => health.count_dropped_down(1),
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}
