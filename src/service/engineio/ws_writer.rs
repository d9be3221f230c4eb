//! The writing side of a session on WebSocket: a writer thread that exists only while there is
//! something to write. A hand-over to an empty outbox starts one; it frames and writes every
//! batch (one frame per packet, a batch per write), and once the outbox has stayed empty for
//! [`LINGER`] it parks the outbox back in the session and ends. So an idle client costs its
//! connection's reading thread alone, and a heartbeat costs a short-lived thread.
//!
//! While the session has an own thread (see `write_through`), which writes what it sends
//! itself, a writer parks the outbox as soon as it is empty and waits up to [`LINGER`] without
//! it, to be handed it again by the next sender from elsewhere: the own thread finds the outbox
//! parked, and other senders still find a writer ready.
//!
//! Frames the transport sends of its own (a pong to a WebSocket ping, the close frame) travel
//! in the outbox too, tagged, so they keep their place after the packets queued before them:
//! the close frame is the last thing written, then the socket is shut down.

use super::session::{lock, CloseReason, Handed, Pending, Session};
use crate::codec::websocket::{self as ws, Opcode};
use crate::net::Stream;
use crate::server::CountingWriter;
use crate::service::chat::outbox::{HandOver, Marks, Outbox};
use crate::service::chat::queue::NoItem;
use crate::service::chat::writer::{write_patiently, KEEP_BUFFER, WRITE_SLICE, WRITE_STALL};
use crate::service::chat::Packet;
use std::net::Shutdown;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a writer waits for more before it parks the outbox and ends.
pub(super) const LINGER: Duration = Duration::from_millis(250);
/// Stack of a writer thread: it only frames and writes. Larger than it needs (only touched
/// pages cost memory) so that glibc's cache of the stacks of ended threads, which it bounds in
/// bytes of address space, holds few of them.
const WRITER_STACK: usize = 1024 * 1024;
/// How long the reading thread, when its connection ends, waits for a writer to finish the
/// last frames: past a write stall the writer gives up by itself.
const WRITER_WAIT: Duration = Duration::from_secs(WRITE_STALL.as_secs() + 5);
/// First byte of an outbox packet that is a ready WebSocket frame.
const FRAME: u8 = 0xFF;
/// First byte of an outbox packet that is the last frame: the connection closes after it.
const LAST_FRAME: u8 = 0xFE;
/// Marks for the transport's own frames: a close frame must pass even a full outbox.
const UNBOUNDED: Marks = Marks {
    high: usize::MAX,
    hard: usize::MAX,
    hard_bytes: usize::MAX,
};

impl Session {
    /// The WebSocket `stream` now carries the session (`out` is its writing end), or, with
    /// `out` `None`, probes to.
    pub(super) fn attach_websocket(&self, stream: &Arc<Stream>, out: Option<CountingWriter>) {
        let mut link = lock(&self.ws);
        link.stream = Some(Arc::clone(stream));
        link.out = out;
    }

    /// The probe failed: the WebSocket no longer concerns the session.
    pub(super) fn detach_websocket(&self) {
        let mut link = lock(&self.ws);
        link.stream = None;
        link.out = None;
    }

    /// True once the session is on WebSocket for good: its frames go through the outbox.
    pub(super) fn on_websocket(&self) -> bool {
        lock(&self.ws).out.is_some()
    }

    /// Queues a ready frame to follow what is already queued; `last` closes the connection
    /// after it. False if no writer will ever take it (the last one has finished for good).
    /// On the session's own thread it is written through, as its packets are (the reader
    /// answering a close is marked so: no writer thread is started for the last frame).
    pub(super) fn send_frame(&self, frame: &[u8], last: bool) -> bool {
        let mut bytes = Vec::with_capacity(frame.len() + 1);
        bytes.push(if last { LAST_FRAME } else { FRAME });
        bytes.extend_from_slice(frame);
        let sent = self.hand_over(vec![bytes.into()], UNBOUNDED);
        matches!(sent, HandOver::Sent | HandOver::Behind)
    }

    /// The WebSocket part of a close: the client gets a close frame after what is queued, or,
    /// if no writer can send one, the socket is shut down so its reader wakes.
    pub(super) fn close_websocket(&self, reason: CloseReason) {
        let (stream, linked) = {
            let link = lock(&self.ws);
            (link.stream.clone(), link.out.is_some())
        };
        if linked {
            let code = if reason == CloseReason::Shutdown {
                1001
            } else {
                1000
            };
            let mut frame = Vec::new();
            ws::encode_close(code, reason.as_str(), &mut frame);
            if self.send_frame(&frame, true) {
                return;
            }
        }
        if let Some(stream) = stream {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Starts a writer thread (from the timer thread) if the session is on WebSocket and its
    /// outbox is parked here with something in it. If none can be started, the session is
    /// closed.
    pub(super) fn ensure_writer(&self) {
        if let Some((outbox, out, _)) = self.take_outbox(false) {
            self.start_writer(outbox, out, None);
        }
    }

    /// Takes the outbox for a writer (counted in `writers`) if the session is on WebSocket and
    /// the outbox is parked here with something in it; with the socket's writing end, and
    /// whether its write timeout is already the write-through's brief one. `through` says the
    /// taker is the session's own thread writing through (it leaves the timeout brief), not a
    /// writer thread (it sets its own).
    pub(super) fn take_outbox(&self, through: bool) -> Option<(Outbox, CountingWriter, bool)> {
        let mut slot = lock(&self.outbox);
        if slot.as_ref().is_none_or(|o| !o.has_waiting()) {
            // A writer (or a GET) holds it and will see the packets, or nothing waits.
            return None;
        }
        let mut link = lock(&self.ws);
        let out = link.out.clone()?;
        link.writers += 1;
        let brief = std::mem::replace(&mut link.brief_timeout, through);
        Some((slot.take().expect("checked above"), out, brief))
    }

    /// Hands the outbox a writer took (counted in `writers`) to a writer thread: one waiting
    /// idle for it if there is one, else a new one (started from the timer thread). It first
    /// writes `pending`, the rest of a write begun by the own thread.
    pub(super) fn start_writer(
        &self,
        outbox: Outbox,
        out: CountingWriter,
        pending: Option<Pending>,
    ) {
        {
            let mut link = lock(&self.ws);
            link.brief_timeout = false;
            if link.idle_writers > 0 && link.handed.is_none() {
                link.handed = Some(Handed { outbox, pending });
                drop(link);
                self.ws_handed.notify_one();
                return;
            }
        }
        let Some(me) = self.me.upgrade() else {
            self.writer_ended();
            return;
        };
        let job = Job {
            session: me,
            outbox: Some(outbox),
            out,
            pending,
        };
        let Some(engine) = self.engine.upgrade() else {
            return; // The engine is gone: dropping the job closes the session.
        };
        let builder = thread::Builder::new()
            .name(self.thread_name("eio-ws#"))
            .stack_size(WRITER_STACK);
        engine.timer.spawn(builder, move || {
            let mut job = job;
            if let Some(outbox) = job.outbox.take() {
                run(&job.session, outbox, job.out.clone(), job.pending.take());
            }
        });
    }

    /// Parks the outbox here unless something has come in; gives it back if so. With `idle`,
    /// the writer thread parking it counts as idle (see [`Session::wait_handed`]) from the
    /// moment it is parked, so the next sender hands it back rather than start another.
    pub(super) fn park(&self, outbox: Outbox, idle: bool) -> Option<Outbox> {
        let mut slot = lock(&self.outbox);
        if !outbox.is_drained() || outbox.is_kicked() {
            return Some(outbox);
        }
        outbox.shrink();
        if idle {
            lock(&self.ws).idle_writers += 1;
        }
        *slot = Some(outbox);
        None
    }

    /// A writer (a thread, or the own thread writing through) is done with the outbox.
    pub(super) fn writer_ended(&self) {
        let wake = {
            let mut link = lock(&self.ws);
            link.writers -= 1;
            link.writers == 0 && link.writer_waiters > 0
        };
        // Only `wait_writers` waits, and only for none; std's condition variable makes a
        // futex call per notify, waiter or not, so none is made for nobody.
        if wake {
            self.ws_idle.notify_all();
        }
    }

    /// A writer thread that parked the outbox as idle waits, at most [`LINGER`], to be handed
    /// it again.
    fn wait_handed(&self) -> Option<Handed> {
        let deadline = Instant::now() + LINGER;
        let mut link = lock(&self.ws);
        let handed = loop {
            if let Some(handed) = link.handed.take() {
                break Some(handed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            link = self
                .ws_handed
                .wait_timeout(link, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        link.idle_writers -= 1;
        handed
    }

    /// Waits, at most [`WRITER_WAIT`], until no writer runs: the reading thread's last act
    /// before the socket is shut down, so that the close frame is not lost.
    pub(super) fn wait_writers(&self) {
        let deadline = Instant::now() + WRITER_WAIT;
        let mut link = lock(&self.ws);
        link.writer_waiters += 1;
        while link.writers > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            link = self
                .ws_idle
                .wait_timeout(link, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        link.writer_waiters -= 1;
    }
}

/// A writer thread to be: if it never runs (no thread to be had, or the engine stopping), the
/// outbox goes with it, so nothing more can be sent: the session is closed and its socket
/// shut down.
struct Job {
    session: Arc<Session>,
    outbox: Option<Outbox>,
    out: CountingWriter,
    pending: Option<Pending>,
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.outbox.take().is_none() {
            return;
        }
        let session = &self.session;
        session.writer_ended();
        session.close(CloseReason::TransportClose);
        if let Some(stream) = lock(&session.ws).stream.clone() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Counts the writer out however its thread ends.
struct Running<'a>(&'a Session);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.writer_ended();
    }
}

/// A writer thread: writes what it was handed until the outbox is parked again, the last
/// frame is written, the connection fails or stalls, or the client is dropped as too slow.
/// Once it has parked the outbox of a session with an own thread, it waits up to [`LINGER`] to
/// be handed it again (see [`Session::start_writer`]) before it ends.
fn run(session: &Session, outbox: Outbox, mut out: CountingWriter, pending: Option<Pending>) {
    let mut handed = Some(Handed { outbox, pending });
    while let Some(Handed { outbox, pending }) = handed.take() {
        let _ = out.stream().set_write_timeout(Some(WRITE_SLICE));
        if !write(session, outbox, &mut out, pending) {
            return;
        }
        handed = session.wait_handed();
    }
}

/// Writes `pending` first, then until the outbox stays empty for [`linger`] (it is parked;
/// true if as idle, with an own thread), the last frame is written, the connection fails or
/// stalls, or the client is dropped as too slow (false). On any failure the socket is shut
/// down so the reader wakes too.
fn write(
    session: &Session,
    outbox: Outbox,
    out: &mut CountingWriter,
    pending: Option<Pending>,
) -> bool {
    let _running = Running(session);
    let mut outbox = outbox;
    let mut buf = Vec::new();
    let mut pending = pending;
    loop {
        let (batch, last) = match pending.take() {
            Some(p) => {
                buf = p.bytes;
                (p.batch, p.last)
            }
            None => {
                let own = session.has_own_thread();
                let mut batch = match outbox.recv_timeout(linger(own)) {
                    Ok(batch) => batch,
                    Err(NoItem::Timeout | NoItem::Interrupted) => match session.park(outbox, own) {
                        None => return own,
                        Some(back) => {
                            outbox = back;
                            if outbox.is_kicked() {
                                break;
                            }
                            continue;
                        }
                    },
                    Err(NoItem::Disconnected) => break,
                };
                if outbox.is_kicked() {
                    break;
                }
                outbox.take_waiting(&mut batch);
                let last = frame(&batch, &mut buf);
                (batch, last)
            }
        };
        let written = write_patiently(out, &buf, &outbox);
        outbox.written(&batch);
        buf.clear();
        if buf.capacity() > KEEP_BUFFER {
            buf = Vec::new();
        }
        if written.is_err() {
            break;
        }
        if last {
            let _ = out.stream().shutdown(Shutdown::Both);
            break;
        }
    }
    if outbox.is_kicked() {
        // Best effort: if the client reads again it learns why it was dropped.
        buf.clear();
        ws::encode_close(1008, "too slow", &mut buf);
        let _ = std::io::Write::write(out, &buf);
        let _ = out.stream().shutdown(Shutdown::Both);
    }
    false
}

/// How long a writer holding the outbox waits for more before it parks it: [`LINGER`], unless
/// the session has an own thread, which writes what it sends itself: a writer holding the
/// outbox would take that from it (the writer then waits without it, see [`run`]).
fn linger(own_thread: bool) -> Duration {
    if own_thread {
        Duration::ZERO
    } else {
        LINGER
    }
}

/// Appends the frames of `packets` to `out`: text packets as text frames, `b`-tagged ones as
/// binary frames, the transport's own as they are. True if the last frame was among them
/// (anything after it is dropped).
pub(super) fn frame(packets: &[Packet], out: &mut Vec<u8>) -> bool {
    for p in packets {
        match p.split_first() {
            Some((&b'b', data)) => ws::encode_frame(Opcode::Binary, data, out),
            Some((&FRAME, frame)) => out.extend_from_slice(frame),
            Some((&LAST_FRAME, frame)) => {
                out.extend_from_slice(frame);
                return true;
            }
            _ => ws::encode_frame(Opcode::Text, p, out),
        }
    }
    false
}
