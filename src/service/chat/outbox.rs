//! A member's outbox: the queue of packet batches from the hub to the member's writer thread,
//! the count of packets in flight, the writer's progress clock, and the chat-wide gate that
//! holds senders back while some member is behind. The policy is the hub's (see its docs);
//! this module keeps the counters and the hand-over rule.

use super::delivery::Packet;
use super::queue::{NoItem, Queue};
use crossbeam_channel::Sender;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Packets handed to a writer in one go: everything one burst of the hub produced for it.
pub type Batch = Vec<Packet>;

/// Bytes in flight to one member before it is dropped, unless [`Marks::hard_bytes`] is set
/// otherwise: far above what any reader holds behind a flood of lines.
pub const DEFAULT_HARD_BYTES: usize = 32 << 20;

/// While senders wait at the gate they recheck at least this often.
const GATE_POLL: Duration = Duration::from_millis(50);

/// How many packets may be in flight to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// Past this the member is behind: senders wait at the gate until it is back under half.
    pub high: usize,
    /// Past this the member is dropped as too slow, whatever its writer is doing.
    pub hard: usize,
    /// Past this many bytes in flight, likewise (packets vary in size: a Socket.IO message may
    /// be a megabyte).
    pub hard_bytes: usize,
}

impl Marks {
    /// The marks for an outbox of `lines` packets, given `slack`: how many packets may still
    /// reach a member after it falls behind (one burst of the hub, plus the requests already
    /// past the gate). Behind past `lines`; dropped past `lines + slack`.
    pub fn for_outbox(lines: usize, slack: usize) -> Marks {
        let high = lines.max(1);
        Marks {
            high,
            hard: high.saturating_add(slack),
            hard_bytes: DEFAULT_HARD_BYTES,
        }
    }
}

/// What a hand-over to an empty outbox calls (see [`OutboxSender::on_first`]).
type Waker = Box<dyn Fn() + Send + Sync>;

/// The counters an outbox's two ends share.
struct Shared {
    /// Packets handed over and not yet written.
    queued: AtomicUsize,
    /// Their bytes.
    queued_bytes: AtomicUsize,
    /// The flow clock when the writer last made progress (or was handed work while idle).
    progress: AtomicU64,
    /// Set when the hub dropped the member as too slow.
    kicked: AtomicBool,
    /// Set when the writer's end is dropped: nothing handed over will be written any more.
    gone: AtomicBool,
    /// Set while the member counts in [`Flow`]'s congestion.
    behind: AtomicBool,
    /// Called after a hand-over found nothing in flight.
    waker: OnceLock<Waker>,
    /// The batches handed over and not yet taken.
    batches: Queue<Batch>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("queued", &self.queued)
            .field("queued_bytes", &self.queued_bytes)
            .field("kicked", &self.kicked)
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

/// Lines that may be on their way to the hub at once, in requests sent and not yet applied
/// (see [`Flow::reserve`]). With the hub's burst, this bounds what can reach a member after it
/// falls behind, however many lines one request carries.
pub const LINES_IN_TRANSIT: usize = 2048;
/// The most lines one request may carry (a session splits longer runs).
pub const LINES_PER_REQUEST: usize = 512;

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

    /// Members behind now.
    pub fn congested(&self) -> usize {
        self.congested.load(SeqCst)
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
    fn set_behind(&self, s: &Shared) -> bool {
        let newly = !s.behind.swap(true, SeqCst);
        if newly {
            self.congested.fetch_add(1, SeqCst);
        }
        newly
    }

    /// Stops counting the member as behind, and opens the gate if it was the last.
    fn clear_behind(&self, s: &Shared) {
        if s.behind.swap(false, SeqCst) && self.congested.fetch_sub(1, SeqCst) == 1 {
            let _guard = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            self.opened.notify_all();
        }
    }
}

/// What became of a batch the hub handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandOver {
    /// Queued.
    Sent,
    /// Queued, and the member has just fallen behind.
    Behind,
    /// Not queued: it would pass the hard mark.
    Overflow,
    /// Not queued: the writer is gone.
    Gone,
}

/// The sending end of a member's outbox: the hub's, and a transport's for what it sends
/// itself (a Socket.IO session's own emits). Clones queue into the same outbox; once every one
/// is dropped, the writer learns it after the last batch.
#[derive(Debug)]
pub struct OutboxSender {
    shared: Arc<Shared>,
}

impl Clone for OutboxSender {
    fn clone(&self) -> Self {
        self.shared.batches.add_sender();
        OutboxSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        self.shared.batches.drop_sender();
    }
}

impl OutboxSender {
    /// Queues `batch` unless that would pass `marks.hard` or the writer is gone. Never blocks.
    /// Past `marks.high` the member counts as behind (senders wait at the gate).
    pub fn hand_over(&self, batch: Batch, flow: &Flow, marks: Marks) -> HandOver {
        self.queue(batch, flow, marks, true)
    }

    /// As [`OutboxSender::hand_over`], but never marks the member behind: for what a transport
    /// sends on its own (heartbeats, a server's emits), which must not hold other senders at the
    /// gate. Only the hard mark applies.
    pub fn hand_over_ungated(&self, batch: Batch, flow: &Flow, marks: Marks) -> HandOver {
        self.queue(batch, flow, marks, false)
    }

    fn queue(&self, batch: Batch, flow: &Flow, marks: Marks, gated: bool) -> HandOver {
        let s = &self.shared;
        if s.gone.load(SeqCst) {
            return HandOver::Gone;
        }
        let n = batch.len();
        let bytes: usize = batch.iter().map(|p| p.len()).sum();
        if s.queued.load(SeqCst) + n > marks.hard
            || s.queued_bytes.load(SeqCst) + bytes > marks.hard_bytes
        {
            return HandOver::Overflow;
        }
        s.queued_bytes.fetch_add(bytes, SeqCst);
        let before = s.queued.fetch_add(n, SeqCst);
        if before == 0 {
            // The stall clock runs only while the writer has something to write.
            s.progress.store(flow.now_ms(), SeqCst);
        }
        // Marked behind before the batch is sent: the writer may write it and look at the mark
        // at once, and only the writer clears it.
        let newly_behind = gated && before + n > marks.high && flow.set_behind(s);
        if s.batches.push(batch).is_err() {
            s.queued.fetch_sub(n, SeqCst);
            s.queued_bytes.fetch_sub(bytes, SeqCst);
            if newly_behind {
                flow.clear_behind(s);
            }
            return HandOver::Gone;
        }
        if before == 0 {
            if let Some(wake) = s.waker.get() {
                wake();
            }
        }
        if newly_behind {
            HandOver::Behind
        } else {
            HandOver::Sent
        }
    }

    /// Has `wake` called (on the sender's thread, after the batch is queued) whenever a
    /// hand-over finds nothing in flight: a transport whose writer thread comes and goes
    /// starts one there. Set once; later calls are ignored.
    pub fn on_first(&self, wake: impl Fn() + Send + Sync + 'static) {
        let _ = self.shared.waker.set(Box::new(wake));
    }

    /// Makes the writer's current or next wait return [`NoItem::Interrupted`] (a long-poll GET
    /// woken for an upgrade or a close).
    pub fn interrupt(&self) {
        self.shared.batches.interrupt();
    }

    /// True while the member counts as behind.
    pub fn is_behind(&self) -> bool {
        self.shared.behind.load(SeqCst)
    }

    /// True once the writer's end is dropped.
    pub fn is_gone(&self) -> bool {
        self.shared.gone.load(SeqCst)
    }

    /// Milliseconds on the flow clock since the writer last made progress.
    pub fn idle_ms(&self, flow: &Flow) -> u64 {
        flow.now_ms()
            .saturating_sub(self.shared.progress.load(SeqCst))
    }

    /// Marks the member dropped as too slow (its writer says so and closes) and no longer
    /// behind, so the gate does not wait for it.
    pub fn kick(&self, flow: &Flow) {
        self.shared.kicked.store(true, SeqCst);
        flow.clear_behind(&self.shared);
    }

    /// The member is leaving: it no longer holds the gate.
    pub fn release(&self, flow: &Flow) {
        flow.clear_behind(&self.shared);
    }
}

/// The writer's end of a member's outbox.
#[derive(Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
    flow: Arc<Flow>,
    low: usize,
    /// Held while the writer runs; the chat's shutdown waits for every one to be dropped.
    _alive: Sender<()>,
}

impl Outbox {
    /// The next batch to write, waiting at most `timeout`; [`NoItem::Disconnected`] once every
    /// sender is gone (the hub has dropped the member) and everything was taken.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Batch, NoItem> {
        self.shared.batches.recv_timeout(timeout)
    }

    /// The next batch, if one waits.
    pub fn try_recv(&self) -> Option<Batch> {
        self.shared.batches.try_recv()
    }

    /// True if a batch waits.
    pub fn has_waiting(&self) -> bool {
        !self.shared.batches.is_empty()
    }

    /// Forgets an [`OutboxSender::interrupt`] no wait has seen.
    pub fn clear_interrupt(&self) {
        self.shared.batches.clear_interrupt();
    }

    /// Gives the queue's memory back while it is empty (an idle member's outbox).
    pub fn shrink(&self) {
        self.shared.batches.shrink();
    }

    /// Appends every batch already waiting to `batch`, so one write carries them all.
    pub fn take_waiting(&self, batch: &mut Batch) {
        self.shared.batches.drain(|more| batch.extend(more));
        self.progressed();
    }

    /// The writer wrote (or gave up on) `batch`.
    pub fn written(&self, batch: &[Packet]) {
        let packets = batch.len();
        let bytes: usize = batch.iter().map(|p| p.len()).sum();
        self.shared.queued_bytes.fetch_sub(bytes, SeqCst);
        let left = self.shared.queued.fetch_sub(packets, SeqCst) - packets;
        self.progressed();
        if left <= self.low && self.shared.behind.load(SeqCst) {
            self.flow.clear_behind(&self.shared);
        }
    }

    /// The writer moved bytes: the member is alive.
    pub fn progressed(&self) {
        self.shared.progress.store(self.flow.now_ms(), SeqCst);
    }

    /// True when nothing is in flight: every packet handed over has been written, and no
    /// sender is between counting a batch and queueing it.
    pub fn is_drained(&self) -> bool {
        self.shared.queued.load(SeqCst) == 0 && self.shared.batches.is_empty()
    }

    /// True once the hub has dropped the member as too slow.
    pub fn is_kicked(&self) -> bool {
        self.shared.kicked.load(SeqCst)
    }

    /// A handle that tells how long ago this outbox's writer last took or wrote anything.
    pub fn activity(&self) -> Activity {
        Activity {
            shared: Arc::clone(&self.shared),
            flow: Arc::clone(&self.flow),
        }
    }
}

impl Drop for Outbox {
    /// The writer is gone (done, failed or dropped): the hub removes the member when it next
    /// looks, and the gate no longer waits for it.
    fn drop(&mut self) {
        self.shared.gone.store(true, SeqCst);
        self.shared.batches.drop_receiver();
        self.flow.clear_behind(&self.shared);
    }
}

/// When a member last received anything (see [`Outbox::activity`]).
#[derive(Debug, Clone)]
pub struct Activity {
    shared: Arc<Shared>,
    flow: Arc<Flow>,
}

impl Activity {
    /// Time since the writer last took a batch or wrote bytes.
    pub fn idle_for(&self) -> Duration {
        Duration::from_millis(
            self.flow
                .now_ms()
                .saturating_sub(self.shared.progress.load(SeqCst)),
        )
    }
}

/// A new member's outbox: the hub's end and the writer's end. `alive` is held by the writer's
/// end for as long as it exists.
pub fn outbox(flow: &Arc<Flow>, marks: Marks, alive: Sender<()>) -> (OutboxSender, Outbox) {
    // Unbounded as a queue, bounded by `queued` against `marks.hard`: the hub checks before
    // every hand-over.
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        queued_bytes: AtomicUsize::new(0),
        progress: AtomicU64::new(flow.now_ms()),
        kicked: AtomicBool::new(false),
        gone: AtomicBool::new(false),
        behind: AtomicBool::new(false),
        waker: OnceLock::new(),
        batches: Queue::new(),
    });
    (
        OutboxSender {
            shared: Arc::clone(&shared),
        },
        Outbox {
            shared,
            flow: Arc::clone(flow),
            low: marks.high / 2,
            _alive: alive,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hard_marks_bound_packets_and_bytes() {
        let flow = Flow::new();
        let marks = Marks {
            hard_bytes: 1000,
            ..Marks::for_outbox(4, 4)
        };
        let (alive, _done) = crossbeam_channel::bounded(0);
        let (sender, outbox) = outbox(&flow, marks, alive);
        let packet = |n: usize| -> Packet { vec![b'x'; n].into() };
        assert_eq!(
            sender.hand_over_ungated(vec![packet(600)], &flow, marks),
            HandOver::Sent
        );
        // 600 + 500 bytes is over the byte bound, though far under the packet bound.
        assert_eq!(
            sender.hand_over_ungated(vec![packet(500)], &flow, marks),
            HandOver::Overflow
        );
        // Once written, there is room again.
        let batch = outbox.try_recv().unwrap();
        outbox.written(&batch);
        assert_eq!(
            sender.hand_over_ungated(vec![packet(500)], &flow, marks),
            HandOver::Sent
        );
        // Eight packets is the packet bound: a ninth overflows.
        let small: Vec<Packet> = (0..7).map(|_| packet(1)).collect();
        assert_eq!(
            sender.hand_over_ungated(small, &flow, marks),
            HandOver::Sent
        );
        assert_eq!(
            sender.hand_over_ungated(vec![packet(1)], &flow, marks),
            HandOver::Overflow
        );
        // Once the writer is gone, nothing is queued.
        drop(outbox);
        assert_eq!(
            sender.hand_over(vec![packet(1)], &flow, marks),
            HandOver::Gone
        );
    }
}
