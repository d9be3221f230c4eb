//! One timer thread for many deadlines: a heap ordered by time, tasks run on the timer thread
//! when due, to the millisecond. For heartbeats and timeouts of thousands of sessions without a
//! sleeping thread each. Tasks must be short and must not block: they queue a packet or close a
//! session, and return.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

type Task = Box<dyn FnOnce() + Send>;

/// Deadlines the heap holds before it first grows.
const INITIAL_ROOM: usize = 256;

struct Entry {
    at: Instant,
    seq: u64,
    task: Task,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so the max-heap yields the earliest deadline first (ties in schedule order).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Entry>,
    seq: u64,
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// A handle on the timer thread; clones share it. The thread ends when [`Timer::stop`] is
/// called or the last handle is dropped; tasks still pending then are dropped, not run.
#[derive(Clone)]
pub struct Timer {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

/// Stops the thread when the last handle goes.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        stop(&self.0);
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("pending", &self.pending())
            .finish()
    }
}

impl Timer {
    /// Starts the timer thread, named `name`.
    pub fn start(name: &str) -> std::io::Result<Timer> {
        let shared = Arc::new(Shared {
            // Room for a few hundred deadlines from the start: a push that grows the heap is
            // deep (a reallocation), and the connection thread that happens to make it keeps
            // that much more stack for its life.
            state: Mutex::new(State {
                heap: BinaryHeap::with_capacity(INITIAL_ROOM),
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        thread::Builder::new()
            .name(name.into())
            .stack_size(64 * 1024)
            .spawn(move || run(&for_thread))?;
        Ok(Timer {
            _owner: Arc::new(Owner(Arc::clone(&shared))),
            shared,
        })
    }

    /// Runs `task` on the timer thread at `at` (at once if `at` has passed).
    pub fn at(&self, at: Instant, task: impl FnOnce() + Send + 'static) {
        let mut state = lock(&self.shared);
        if state.stopped {
            return;
        }
        state.seq += 1;
        let seq = state.seq;
        let earliest = state.heap.peek().is_none_or(|e| at < e.at);
        state.heap.push(Entry {
            at,
            seq,
            task: Box::new(task),
        });
        drop(state);
        if earliest {
            self.shared.changed.notify_one();
        }
    }

    /// Runs `task` after `delay`.
    pub fn after(&self, delay: Duration, task: impl FnOnce() + Send + 'static) {
        self.at(Instant::now() + delay, task);
    }

    /// Starts a thread from `builder` running `f`, from the timer thread, at once: the caller's
    /// stack never holds thread creation, which is deep (a connection thread that starts
    /// helpers keeps a page less of stack for its whole life). If the thread cannot be started,
    /// or the timer stops first, `f` is dropped without running: what must happen then belongs
    /// in the `Drop` of something it captures.
    pub fn spawn(&self, builder: thread::Builder, f: impl FnOnce() + Send + 'static) {
        self.at(Instant::now(), move || {
            let _ = builder.spawn(f);
        });
    }

    /// Tasks waiting.
    pub fn pending(&self) -> usize {
        lock(&self.shared).heap.len()
    }

    /// Stops the thread; pending tasks are dropped.
    pub fn stop(&self) {
        stop(&self.shared);
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn stop(shared: &Shared) {
    let mut state = lock(shared);
    state.stopped = true;
    let pending = std::mem::take(&mut state.heap);
    drop(state);
    shared.changed.notify_one();
    // Dropped unlocked: a task's captures may schedule (in vain) as they drop.
    drop(pending);
}

fn run(shared: &Shared) {
    let mut state = lock(shared);
    loop {
        if state.stopped {
            return;
        }
        let now = Instant::now();
        match state.heap.peek().map(|e| e.at) {
            Some(at) if at <= now => {
                let entry = state.heap.pop().expect("peeked");
                drop(state);
                (entry.task)();
                state = lock(shared);
            }
            Some(at) => {
                state = shared
                    .changed
                    .wait_timeout(state, at - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            None => {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_in_deadline_order_and_on_time() {
        let timer = Timer::start("test-timer").unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let start = Instant::now();
        for (i, ms) in [(3, 60u64), (1, 20), (2, 40), (0, 0)] {
            let tx = tx.clone();
            timer.after(Duration::from_millis(ms), move || {
                let _ = tx.send((i, start.elapsed()));
            });
        }
        let got: Vec<(i32, Duration)> = (0..4)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        // Never early.
        assert!(got[3].1 >= Duration::from_millis(60));
    }

    #[test]
    fn spawn_starts_a_thread_or_drops_the_closure() {
        let timer = Timer::start("test-timer").unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let builder = thread::Builder::new().name("spawned".into());
        timer.spawn(builder, move || {
            let _ = tx.send(thread::current().name().map(str::to_string));
        });
        let name = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(name.as_deref(), Some("spawned"));
        timer.stop();
        let (tx, rx) = crossbeam_channel::unbounded::<()>();
        timer.spawn(thread::Builder::new(), move || {
            let _ = tx.send(());
        });
        // Stopped: the closure, and with it the sender, was dropped unrun.
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_err());
    }

    #[test]
    fn stop_drops_pending_tasks() {
        let timer = Timer::start("test-timer").unwrap();
        let (tx, rx) = crossbeam_channel::unbounded::<()>();
        timer.after(Duration::from_secs(60), move || {
            let _ = tx.send(());
        });
        assert_eq!(timer.pending(), 1);
        timer.stop();
        assert_eq!(timer.pending(), 0);
        // The task, and with it the sender, was dropped.
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_err());
    }
}
