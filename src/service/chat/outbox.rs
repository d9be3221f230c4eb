//! A member's outbox: the bounded queue of byte chunks between the hub and the member's writer
//! thread, the count of lines waiting in it, and the clock that tells a stalled writer from one
//! that is merely behind.

use crossbeam_channel::{Receiver, Sender};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Chunks (bursts) that may wait in one outbox; the writer takes them all at once.
const OUTBOX_CHUNKS: usize = 16;

/// Bytes for one member, and how many deliveries (lines) they hold.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Encoded deliveries.
    pub bytes: Vec<u8>,
    /// Number of deliveries in `bytes`.
    pub lines: usize,
}

/// The writer's side of a member's outbox.
#[derive(Debug)]
pub struct Outbox {
    /// Chunks to write, in order; disconnected once the hub has dropped the member.
    pub chunks: Receiver<Chunk>,
    /// Lines handed over but not yet written; the writer subtracts what it wrote.
    pub queued: Arc<AtomicUsize>,
    /// Set when the hub dropped the member for being too slow.
    pub kicked: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    gone: Arc<AtomicBool>,
    flow: Arc<Flow>,
}

impl Drop for Outbox {
    /// The writer is gone (done, failed or dropped): tell the hub, so it never waits for it.
    fn drop(&mut self) {
        self.gone.store(true, SeqCst);
        let _ = self.flow.wake.try_send(());
    }
}

impl Outbox {
    /// A handle that tells how long ago this outbox's writer last took or wrote anything.
    pub fn activity(&self) -> Activity {
        Activity {
            progress: Arc::clone(&self.progress),
            flow: Arc::clone(&self.flow),
        }
    }

    /// The writer calls this whenever it takes a chunk or writes bytes: it proves the member is
    /// alive, and wakes the hub if the hub is waiting for a writer to catch up.
    pub fn progressed(&self) {
        self.progress.store(self.flow.now_ms(), Relaxed);
        if self.flow.hub_waiting.load(SeqCst) {
            let _ = self.flow.wake.try_send(());
        }
    }
}

/// When a member last received anything (see [`Outbox::activity`]).
#[derive(Debug, Clone)]
pub struct Activity {
    progress: Arc<AtomicU64>,
    flow: Arc<Flow>,
}

impl Activity {
    /// Time since the writer last took a chunk or wrote bytes.
    pub fn idle_for(&self) -> Duration {
        Duration::from_millis(
            self.flow
                .now_ms()
                .saturating_sub(self.progress.load(Relaxed)),
        )
    }
}

/// What the hub keeps of a member's outbox.
#[derive(Debug)]
pub struct OutboxSender {
    pub(super) chunks: Sender<Chunk>,
    pub(super) queued: Arc<AtomicUsize>,
    pub(super) kicked: Arc<AtomicBool>,
    pub(super) progress: Arc<AtomicU64>,
    /// Set when the writer's end is dropped: nothing handed over will be written any more.
    pub(super) gone: Arc<AtomicBool>,
}

/// Shared between the hub and every writer: the clock and the catch-up wake-up.
#[derive(Debug)]
pub(super) struct Flow {
    epoch: Instant,
    pub(super) hub_waiting: AtomicBool,
    wake: Sender<()>,
}

impl Flow {
    /// A new clock and wake-up channel; the receiver is the hub's.
    pub(super) fn new() -> (Arc<Flow>, Receiver<()>) {
        let (wake, wakeups) = crossbeam_channel::bounded(1);
        let flow = Arc::new(Flow {
            epoch: Instant::now(),
            hub_waiting: AtomicBool::new(false),
            wake,
        });
        (flow, wakeups)
    }

    /// Milliseconds since the clock started.
    pub(super) fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Makes outboxes tied to one hub.
#[derive(Debug, Clone)]
pub struct Outboxes {
    lines: usize,
    flow: Arc<Flow>,
}

impl Outboxes {
    /// A factory of outboxes holding at most `lines` lines, on the clock `flow`.
    pub(super) fn new(lines: usize, flow: Arc<Flow>) -> Self {
        Outboxes { lines, flow }
    }

    /// A new member's outbox: the hub's end and the writer's end.
    pub fn create(&self) -> (OutboxSender, Outbox) {
        // A bounded channel preallocates every slot, so it holds chunks (one per burst), not
        // lines: 16 slots cost 640 bytes where 1,024 cost 40 KB per client. The line count is
        // bounded separately by `queued`.
        let (tx, rx) = crossbeam_channel::bounded(self.lines.clamp(1, OUTBOX_CHUNKS));
        let queued = Arc::new(AtomicUsize::new(0));
        let kicked = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(AtomicU64::new(self.flow.now_ms()));
        let gone = Arc::new(AtomicBool::new(false));
        (
            OutboxSender {
                chunks: tx,
                queued: Arc::clone(&queued),
                kicked: Arc::clone(&kicked),
                progress: Arc::clone(&progress),
                gone: Arc::clone(&gone),
            },
            Outbox {
                chunks: rx,
                queued,
                kicked,
                progress,
                gone,
                flow: Arc::clone(&self.flow),
            },
        )
    }
}
