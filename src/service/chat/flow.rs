//! The chat-wide flow control every sender, writer and the hub share: the clock that stall
//! times are read on, the gate that holds senders back while some member is behind, and the
//! budget of lines in transit to the hub. The policy is the hub's (see its docs).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// While senders wait at the gate they recheck at least this often.
const GATE_POLL: Duration = Duration::from_millis(50);

/// Lines that may be on their way to the hub at once, in requests sent and not yet applied
/// (see [`Flow::reserve`]). With the hub's burst, this bounds what can reach a member after it
/// falls behind, however many lines one request carries.
pub const LINES_IN_TRANSIT: usize = 2048;
/// The most lines one request may carry (a session splits longer runs).
pub const LINES_PER_REQUEST: usize = 512;
/// The most text one request may carry, unless it is a single line (a session splits longer
/// runs): with the hub's [`MAX_BURST_BYTES`](super::hub::MAX_BURST_BYTES), this bounds what one
/// burst gives each recipient.
pub const BYTES_PER_REQUEST: usize = 8 * 1024;

/// Shared by the hub, every writer and every sender: the clock, the gate, and the count of
/// lines in transit to the hub.
#[derive(Debug)]
pub struct Flow {
    epoch: Instant,
    /// Members now behind.
    congested: AtomicUsize,
    /// Lines reserved by senders and not yet released by the hub.
    in_transit: AtomicUsize,
    stopping: AtomicBool,
    gate: Mutex<()>,
    opened: Condvar,
}

impl Flow {
    /// A new clock with an open gate.
    pub fn new() -> Arc<Flow> {
        Arc::new(Flow {
            epoch: Instant::now(),
            congested: AtomicUsize::new(0),
            in_transit: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            gate: Mutex::new(()),
            opened: Condvar::new(),
        })
    }

    /// Milliseconds since the clock started.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Waits while some member is behind, at most `max`; returns at once when none is. This is
    /// the only wait a sender makes, and it slows only the sender's own connection.
    pub fn wait_clear(&self, max: Duration) {
        if self.congested.load(SeqCst) == 0 {
            return;
        }
        self.wait_gate(max, || self.congested.load(SeqCst) == 0);
    }

    /// Reserves `lines` of the [`LINES_IN_TRANSIT`] budget before a request carrying them goes
    /// to the hub, waiting (at most `max`) while the budget is spent; a request larger than
    /// the whole budget goes when nothing else is in transit. After `max`, or once the chat is
    /// stopping, it reserves anyway: the hub never waits, so the budget only runs out for as
    /// long as the hub is busy.
    pub fn reserve(&self, lines: usize, max: Duration) {
        if !self.try_reserve(lines) && !self.wait_gate(max, || self.try_reserve(lines)) {
            self.in_transit.fetch_add(lines, SeqCst);
        }
    }

    /// Waits at the gate until `done` (checked under the gate's lock, on every wake-up and at
    /// least every [`GATE_POLL`]), the chat stops, or `max` passes; true if `done` held.
    fn wait_gate(&self, max: Duration, mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + max;
        let mut guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if done() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stopping.load(SeqCst) {
                return false;
            }
            guard = self
                .opened
                .wait_timeout(guard, left.min(GATE_POLL))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn try_reserve(&self, lines: usize) -> bool {
        self.in_transit
            .fetch_update(SeqCst, SeqCst, |now| {
                (now == 0 || now + lines <= LINES_IN_TRANSIT).then_some(now + lines)
            })
            .is_ok()
    }

    /// Gives back `lines` reserved with [`Flow::reserve`]: the hub has applied their request
    /// (or it was never sent). Wakes senders waiting for the budget.
    pub fn release(&self, lines: usize) {
        let before = self
            .in_transit
            .fetch_update(SeqCst, SeqCst, |now| Some(now.saturating_sub(lines)))
            .unwrap_or(0);
        // A sender waits only if its request (at most LINES_PER_REQUEST) did not fit.
        if before + LINES_PER_REQUEST > LINES_IN_TRANSIT {
            let _guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            self.opened.notify_all();
        }
    }

    /// Lines reserved and not yet released.
    pub fn in_transit(&self) -> usize {
        self.in_transit.load(SeqCst)
    }

    /// Opens the gate for good: the chat is stopping.
    pub fn stop(&self) {
        self.stopping.store(true, SeqCst);
        let _guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        self.opened.notify_all();
    }

    /// Counts the member as behind; true if it was not already.
    pub(super) fn set_behind(&self, behind: &AtomicBool) -> bool {
        let newly = !behind.swap(true, SeqCst);
        if newly {
            self.congested.fetch_add(1, SeqCst);
        }
        newly
    }

    /// Stops counting the member as behind, and opens the gate if it was the last.
    pub(super) fn clear_behind(&self, behind: &AtomicBool) {
        if behind.swap(false, SeqCst) && self.congested.fetch_sub(1, SeqCst) == 1 {
            let _guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            self.opened.notify_all();
        }
    }
}
