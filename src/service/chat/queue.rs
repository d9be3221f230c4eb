//! The queue under an outbox: items from any number of senders to one receiver, in order,
//! under a mutex. Unlike a channel it holds no memory while empty and idle (an idle member
//! costs a few words), its receiver can be interrupted (a long-poll GET woken for an upgrade),
//! and a sender wakes the receiver only if it is waiting.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why [`Queue::recv_timeout`] returned nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoItem {
    /// Nothing came in time.
    Timeout,
    /// [`Queue::interrupt`] was called (since the last [`Queue::clear_interrupt`]).
    Interrupted,
    /// Every sender is gone and nothing is left: nothing more will come.
    Disconnected,
}

/// A queue with one sender counted at first (see [`Queue::add_sender`]) and its receiver.
#[derive(Debug)]
pub struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
    interrupted: bool,
    /// The receiver is waiting: a sender must wake it.
    waiting: bool,
}

impl<T> Queue<T> {
    /// An empty queue, with one sender and the receiver.
    pub fn new() -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                senders: 1,
                receiver: true,
                interrupted: false,
                waiting: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `item`; gives it back if the receiver is gone.
    pub fn push(&self, item: T) -> Result<(), T> {
        let wake = {
            let mut s = self.lock();
            if !s.receiver {
                return Err(item);
            }
            s.items.push_back(item);
            s.waiting
        };
        // Woken after the lock is let go: on a busy core the receiver runs at once, and would
        // otherwise find the lock still held and sleep again (two switches instead of one).
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// One more sender (a clone of one).
    pub fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// One sender fewer; when none is left, a waiting receiver learns it.
    pub fn drop_sender(&self) {
        let last = {
            let mut s = self.lock();
            s.senders -= 1;
            s.senders == 0
        };
        if last {
            self.ready.notify_one();
        }
    }

    /// The receiver is gone: pushes fail from now on, and what waits is dropped.
    pub fn drop_receiver(&self) {
        let items = {
            let mut s = self.lock();
            s.receiver = false;
            std::mem::take(&mut s.items)
        };
        drop(items);
    }

    /// The first item, waiting at most `timeout` for one.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, NoItem> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if let Some(item) = s.items.pop_front() {
                return Ok(item);
            }
            if s.interrupted {
                s.interrupted = false;
                return Err(NoItem::Interrupted);
            }
            if s.senders == 0 {
                return Err(NoItem::Disconnected);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NoItem::Timeout);
            }
            s.waiting = true;
            s = self
                .ready
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            s.waiting = false;
        }
    }

    /// The first item, if one waits.
    pub fn try_recv(&self) -> Option<T> {
        self.lock().items.pop_front()
    }

    /// Hands every waiting item to `f`, in order.
    pub fn drain(&self, f: impl FnMut(T)) {
        let items = std::mem::take(&mut self.lock().items);
        items.into_iter().for_each(f);
    }

    /// True if no item waits.
    pub fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// Makes the receiver's current or next wait return [`NoItem::Interrupted`].
    pub fn interrupt(&self) {
        let wake = {
            let mut s = self.lock();
            s.interrupted = true;
            s.waiting
        };
        if wake {
            self.ready.notify_one();
        }
    }

    /// Forgets an interruption no wait has seen.
    pub fn clear_interrupt(&self) {
        self.lock().interrupted = false;
    }

    /// Gives the memory of an empty queue back (it grows again when used).
    pub fn shrink(&self) {
        let mut s = self.lock();
        if s.items.is_empty() {
            s.items = VecDeque::new();
        }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    const SHORT: Duration = Duration::from_millis(20);
    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn items_come_in_order_and_the_end_is_told() {
        let q = Queue::new();
        q.push(1).unwrap();
        q.push(2).unwrap();
        assert_eq!(q.recv_timeout(SHORT), Ok(1));
        assert_eq!(q.try_recv(), Some(2));
        assert_eq!(q.recv_timeout(SHORT), Err(NoItem::Timeout));
        q.push(3).unwrap();
        q.drop_sender();
        // What was sent before the last sender left still comes.
        assert_eq!(q.recv_timeout(SHORT), Ok(3));
        assert_eq!(q.recv_timeout(LONG), Err(NoItem::Disconnected));
    }

    #[test]
    fn a_waiting_receiver_wakes_for_an_item_an_interrupt_or_the_end() {
        let q = Arc::new(Queue::new());
        for wake in 0..3 {
            let sender = Arc::clone(&q);
            let t = thread::spawn(move || {
                thread::sleep(SHORT);
                match wake {
                    0 => sender.push(7).unwrap(),
                    1 => sender.interrupt(),
                    _ => sender.drop_sender(),
                }
            });
            let got = q.recv_timeout(LONG);
            t.join().unwrap();
            assert_eq!(
                got,
                [Ok(7), Err(NoItem::Interrupted), Err(NoItem::Disconnected)][wake]
            );
        }
    }

    #[test]
    fn interrupts_can_be_cleared_and_a_gone_receiver_refuses() {
        let q = Queue::new();
        q.interrupt();
        q.clear_interrupt();
        assert_eq!(q.recv_timeout(SHORT), Err(NoItem::Timeout));
        q.add_sender();
        q.drop_sender();
        q.push(1).unwrap();
        q.push(2).unwrap();
        let mut all = Vec::new();
        q.drain(|i| all.push(i));
        assert_eq!(all, [1, 2]);
        assert!(q.is_empty());
        q.shrink();
        q.drop_receiver();
        assert_eq!(q.push(3), Err(3));
    }
}
