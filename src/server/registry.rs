//! Registry of live connections (TCP and Unix): admits up to the limit, and can shut every one down.

use super::stats::ServiceStats;
use crate::net::Stream;
use std::collections::HashMap;
use std::net::Shutdown;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// All live connections of one [`Server`](super::Server), across its services.
///
/// Each entry shares the connection's [`Stream`] (no `dup`), so `shutdown_all` can wake a
/// thread blocked in `read` or `write` on it without costing a second file descriptor.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each live stream, and how [`Registry::close_all`] shuts it down.
    live: HashMap<u64, (Arc<Stream>, Shutdown)>,
    next_id: u64,
    /// Connections whose thread has finished, since start.
    finished: u64,
    /// Services whose connections [`Registry::close_all`] shuts down for reading only.
    stop_reads_only: Vec<&'static str>,
    closed: bool,
}

/// Proof that a connection holds a slot; dropping it frees the slot and wakes waiters.
#[derive(Debug)]
pub struct Slot {
    registry: Arc<Registry>,
    stats: Arc<ServiceStats>,
    id: u64,
}

impl Slot {
    /// The connection's id, unique within the server (thread names use it: `echo#17`).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.stats.current.fetch_sub(1, Relaxed);
        let mut inner = self.registry.lock();
        inner.live.remove(&self.id);
        inner.finished += 1;
        drop(inner);
        self.registry.changed.notify_all();
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map inconsistent, so poison is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits `stream` if fewer than `max` connections are live and the server is not stopping.
    pub fn try_admit(
        self: &Arc<Self>,
        stream: &Arc<Stream>,
        stats: &Arc<ServiceStats>,
        max: usize,
    ) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.closed || inner.live.len() >= max {
            return None;
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let how = if inner.stop_reads_only.contains(&stats.service) {
            Shutdown::Read
        } else {
            Shutdown::Both
        };
        inner.live.insert(id, (Arc::clone(stream), how));
        drop(inner);
        self.changed.notify_all();
        stats.current.fetch_add(1, Relaxed);
        stats.total.fetch_add(1, Relaxed);
        Some(Slot {
            registry: Arc::clone(self),
            stats: Arc::clone(stats),
            id,
        })
    }

    /// Number of live connections.
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// Makes [`Registry::close_all`] shut down only the reading side of `service`'s
    /// connections admitted from now on.
    pub fn stop_reads_only(&self, service: &'static str) {
        self.lock().stop_reads_only.push(service);
    }

    /// Refuses all later admissions and shuts down every live stream, so that each connection
    /// thread's blocked `read` returns 0 and (unless it asked for [`Registry::stop_reads_only`])
    /// its `write` fails.
    pub fn close_all(&self) {
        let streams: Vec<(Arc<Stream>, Shutdown)> = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.live.values().cloned().collect()
        };
        for (s, how) in streams {
            let _ = s.shutdown(how);
        }
    }

    /// Waits until at most `n` connections are live; false if `timeout` passed first.
    pub fn wait_at_most(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |i| i.live.len() <= n)
    }

    /// Waits until at least `n` connections are live; false if `timeout` passed first.
    pub fn wait_at_least(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |i| i.live.len() >= n)
    }

    /// Waits until at least `n` connections have finished since start; false on timeout.
    pub fn wait_finished(&self, n: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, |i| i.finished >= n)
    }

    fn wait_until(&self, timeout: Duration, done: impl Fn(&Inner) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = self.lock();
        while !done(&inner) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            inner = self
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}
