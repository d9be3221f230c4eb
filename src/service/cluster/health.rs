//! The shared view of the Redis link: the state of the publisher's and the subscriber's
//! connections (a change of state is logged once, not every retry), the counters of what was
//! published, dropped and received, and a wait for a state.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::RedisUrl;

/// Which of the link's two connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The publisher's connection.
    Publisher,
    /// The subscriber's connection.
    Subscriber,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Publisher => "publisher",
            Role::Subscriber => "subscriber",
        }
    }
}

/// The state of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// The first attempt is under way.
    Connecting,
    /// Connected (the subscriber: and its subscriptions confirmed).
    Up,
    /// Not connected since `since`; retrying with backoff.
    Down {
        /// When the connection was lost, or the first attempt failed.
        since: Instant,
        /// Why the latest attempt failed.
        last_error: String,
    },
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkState::Connecting => f.write_str("connecting"),
            LinkState::Up => f.write_str("up"),
            LinkState::Down { since, last_error } => {
                write!(f, "down {}s ({last_error})", since.elapsed().as_secs())
            }
        }
    }
}

/// One connection's state, and whether it was ever up (so a return counts as a reconnect).
#[derive(Debug)]
struct Slot {
    state: LinkState,
    ever_up: bool,
}

/// The link's state and counters, shared (in an `Arc`) by the publisher, the subscriber and
/// whoever reports on them. One publisher and one subscriber per `Health`.
#[derive(Debug)]
pub struct Health {
    slots: Mutex<[Slot; 2]>,
    changed: Condvar,
    published: AtomicU64,
    rejected: AtomicU64,
    dropped_full: AtomicU64,
    dropped_down: AtomicU64,
    reconnects: AtomicU64,
    received: AtomicU64,
}

/// The counters and states at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSnapshot {
    /// The publisher's connection.
    pub publisher: LinkState,
    /// The subscriber's connection.
    pub subscriber: LinkState,
    /// Messages Redis accepted (`PUBLISH` answered with an integer).
    pub published: u64,
    /// Messages Redis refused (`PUBLISH` answered with an error).
    pub rejected: u64,
    /// Messages refused because the publisher's queue was full.
    pub dropped_full: u64,
    /// Messages dropped because Redis was unreachable (published while down, or lost with the
    /// connection before Redis answered).
    pub dropped_down: u64,
    /// Connections made again after one was lost, both roles.
    pub reconnects: u64,
    /// Messages the subscriber received and handed on.
    pub received: u64,
}

impl fmt::Display for HealthSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redis publisher {}, subscriber {}; published {}, received {}, dropped {} \
             (queue full) {} (down), rejected {}, reconnects {}",
            self.publisher,
            self.subscriber,
            self.published,
            self.received,
            self.dropped_full,
            self.dropped_down,
            self.rejected,
            self.reconnects
        )
    }
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

impl Health {
    /// Both connections [`Connecting`](LinkState::Connecting), every counter 0.
    pub fn new() -> Health {
        let slot = || Slot {
            state: LinkState::Connecting,
            ever_up: false,
        };
        Health {
            slots: Mutex::new([slot(), slot()]),
            changed: Condvar::new(),
            published: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            dropped_down: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    fn slots(&self) -> MutexGuard<'_, [Slot; 2]> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of `role`'s connection.
    pub fn state(&self, role: Role) -> LinkState {
        self.slots()[role as usize].state.clone()
    }

    /// True if `role`'s connection is up.
    pub fn is_up(&self, role: Role) -> bool {
        self.state(role) == LinkState::Up
    }

    /// Waits until `role`'s state satisfies `want`, at most `timeout`; true if it does.
    pub fn wait_for(
        &self,
        role: Role,
        timeout: Duration,
        want: impl Fn(&LinkState) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut slots = self.slots();
        loop {
            if want(&slots[role as usize].state) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            slots = self
                .changed
                .wait_timeout(slots, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Every counter and both states now.
    pub fn snapshot(&self) -> HealthSnapshot {
        let [publisher, subscriber] = {
            let slots = self.slots();
            [slots[0].state.clone(), slots[1].state.clone()]
        };
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        HealthSnapshot {
            publisher,
            subscriber,
            published: get(&self.published),
            rejected: get(&self.rejected),
            dropped_full: get(&self.dropped_full),
            dropped_down: get(&self.dropped_down),
            reconnects: get(&self.reconnects),
            received: get(&self.received),
        }
    }

    /// `role`'s connection to `url` is up; logs if it was not.
    pub(super) fn set_up(&self, role: Role, url: &RedisUrl) {
        let mut slots = self.slots();
        let slot = &mut slots[role as usize];
        match &slot.state {
            LinkState::Up => return,
            LinkState::Down { since, .. } if slot.ever_up => crate::log!(
                "redis {}: connected to {url} again after {:.1}s",
                role.name(),
                since.elapsed().as_secs_f64()
            ),
            LinkState::Down { since, .. } => crate::log!(
                "redis {}: connected to {url} after {:.1}s of trying",
                role.name(),
                since.elapsed().as_secs_f64()
            ),
            LinkState::Connecting => crate::log!("redis {}: connected to {url}", role.name()),
        }
        if slot.ever_up {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        slot.ever_up = true;
        slot.state = LinkState::Up;
        self.changed.notify_all();
    }

    /// `role`'s connection to `url` failed with `error`; logs if it was not down already.
    pub(super) fn set_down(&self, role: Role, url: &RedisUrl, error: &io::Error) {
        // OS errors as the rest of the log says them; Redis's own messages as they are.
        let last_error = match error.raw_os_error() {
            Some(_) => crate::out::why(error),
            None => error.to_string(),
        };
        self.down(role, last_error, |why| {
            crate::log!(
                "redis {}: {url}: {why}; rooms are local to this node until it is back (retrying)",
                role.name()
            )
        });
    }

    /// `role`'s thread ended for `why` and will not try again; logs it.
    pub(super) fn set_stopped(&self, role: Role, why: &str) {
        self.down(role, why.to_string(), |_| {});
        crate::log!("redis {}: {why}", role.name());
    }

    /// Sets `role` down for `last_error`, calling `log` if it was not down already.
    fn down(&self, role: Role, last_error: String, log: impl FnOnce(&str)) {
        let mut slots = self.slots();
        let slot = &mut slots[role as usize];
        let since = match &slot.state {
            LinkState::Down { since, .. } => *since,
            _ => {
                log(&last_error);
                Instant::now()
            }
        };
        slot.state = LinkState::Down { since, last_error };
        self.changed.notify_all();
    }

    pub(super) fn count_published(&self, n: u64) {
        self.published.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn count_rejected(&self, n: u64) {
        self.rejected.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn count_dropped_full(&self, n: u64) {
        self.dropped_full.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn count_dropped_down(&self, n: u64) {
        self.dropped_down.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn count_received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn states_and_reconnects() {
        let h = Health::new();
        let url = RedisUrl::new("127.0.0.1", 1);
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(h.state(Role::Publisher), LinkState::Connecting);
        h.set_down(Role::Publisher, &url, &refused);
        let LinkState::Down { since, .. } = h.state(Role::Publisher) else {
            panic!("not down")
        };
        // A second failure keeps the first one's time and takes the new reason.
        h.set_down(Role::Publisher, &url, &io::Error::other("later"));
        assert_eq!(
            h.state(Role::Publisher),
            LinkState::Down {
                since,
                last_error: "later".into()
            }
        );
        // The first connection is not a reconnect; the next one is.
        h.set_up(Role::Publisher, &url);
        assert_eq!(h.snapshot().reconnects, 0);
        h.set_down(Role::Publisher, &url, &refused);
        h.set_up(Role::Publisher, &url);
        h.set_up(Role::Publisher, &url);
        assert_eq!(h.snapshot().reconnects, 1);
        assert!(h.is_up(Role::Publisher));
        assert_eq!(h.state(Role::Subscriber), LinkState::Connecting);
    }

    #[test]
    fn wait_for_wakes_on_a_change() {
        let h = Arc::new(Health::new());
        assert!(
            !h.wait_for(Role::Subscriber, Duration::from_millis(10), |s| {
                *s == LinkState::Up
            })
        );
        let h2 = Arc::clone(&h);
        let t = std::thread::spawn(move || {
            h2.wait_for(Role::Subscriber, Duration::from_secs(10), |s| {
                *s == LinkState::Up
            })
        });
        h.set_up(Role::Subscriber, &RedisUrl::new("h", 1));
        assert!(t.join().unwrap());
    }

    #[test]
    fn snapshot_display() {
        let h = Health::new();
        h.count_published(3);
        h.count_dropped_full(2);
        h.count_received(1);
        h.set_up(Role::Publisher, &RedisUrl::new("h", 1));
        let text = h.snapshot().to_string();
        assert_eq!(
            text,
            "redis publisher up, subscriber connecting; published 3, received 1, \
             dropped 2 (queue full) 0 (down), rejected 0, reconnects 0"
        );
    }
}
