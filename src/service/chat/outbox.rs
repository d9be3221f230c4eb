//! A member's outbox: the queue of packet batches from the hub to the member's writer thread,
//! the count of packets in flight and the writer's progress clock, and the hand-over rule
//! against the marks. The chat-wide gate and budget are [`flow`](super::flow)'s.

use super::delivery::Packet;
pub use super::flow::{Flow, BYTES_PER_REQUEST, LINES_IN_TRANSIT, LINES_PER_REQUEST};
use super::queue::{NoItem, Queue};
use crossbeam_channel::Sender;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Packets handed to a writer in one go: everything one burst of the hub produced for it.
pub type Batch = Vec<Packet>;

/// Bytes in flight to one member before it is dropped, unless [`Marks::hard_bytes`] is set
/// otherwise: far above what any reader holds behind a flood of lines.
pub const DEFAULT_HARD_BYTES: usize = 32 << 20;

/// How many packets may be in flight to one member, each counted as its
/// [`Packet::lines`] (an `nc` run of lines joined into one packet counts as its lines).
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
    /// Packets handed over and not yet written, each counted as its [`Packet::lines`].
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
        self.queue(batch, flow, marks, true, true)
    }

    /// As [`OutboxSender::hand_over`], but never marks the member behind: for what a transport
    /// sends on its own (heartbeats, a server's emits), which must not hold other senders at the
    /// gate. Only the hard mark applies.
    pub fn hand_over_ungated(&self, batch: Batch, flow: &Flow, marks: Marks) -> HandOver {
        self.queue(batch, flow, marks, false, true)
    }

    /// As [`OutboxSender::hand_over_ungated`], but never calls the waker (see
    /// [`OutboxSender::on_first`]): for a sender that writes what it queued itself when it can
    /// (a Socket.IO session's own thread), so no writer is started for it meanwhile.
    pub fn hand_over_quietly(&self, batch: Batch, flow: &Flow, marks: Marks) -> HandOver {
        self.queue(batch, flow, marks, false, false)
    }

    fn queue(&self, batch: Batch, flow: &Flow, marks: Marks, gated: bool, wake: bool) -> HandOver {
        let s = &self.shared;
        if s.gone.load(SeqCst) {
            return HandOver::Gone;
        }
        let n: usize = batch.iter().map(Packet::lines).sum();
        let bytes: usize = batch.iter().map(|p| p.len()).sum();
        // Checked, then added: senders handing over at the same moment (the hub, a Socket.IO
        // client's own thread, the heartbeat) may each pass the check, so the marks hold up to
        // one batch per concurrent sender.
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
        let newly_behind = gated && before + n > marks.high && flow.set_behind(&s.behind);
        if s.batches.push(batch).is_err() {
            s.queued.fetch_sub(n, SeqCst);
            s.queued_bytes.fetch_sub(bytes, SeqCst);
            if newly_behind {
                flow.clear_behind(&s.behind);
            }
            return HandOver::Gone;
        }
        if before == 0 && wake {
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
        flow.clear_behind(&self.shared.behind);
    }

    /// The member is leaving: it no longer holds the gate.
    pub fn release(&self, flow: &Flow) {
        flow.clear_behind(&self.shared.behind);
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
        let lines: usize = batch.iter().map(Packet::lines).sum();
        let bytes: usize = batch.iter().map(|p| p.len()).sum();
        self.shared.queued_bytes.fetch_sub(bytes, SeqCst);
        let left = self.shared.queued.fetch_sub(lines, SeqCst) - lines;
        self.progressed();
        if left <= self.low && self.shared.behind.load(SeqCst) {
            self.flow.clear_behind(&self.shared.behind);
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
        self.flow.clear_behind(&self.shared.behind);
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
