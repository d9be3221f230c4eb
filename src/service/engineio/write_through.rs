//! Write-through: what a session's own thread (the application's thread for that client,
//! marked with [`Session::own_thread`]) sends with [`Session::send_packets`] it writes to the
//! WebSocket itself when no writer thread holds the outbox, instead of waking one.
//!
//! The own thread then counts as the session's writer: it takes the outbox from where it is
//! parked, frames everything waiting in it (in order, as a writer thread would), writes it in
//! one call, and parks the outbox again. It never waits on a slow client: the socket's write
//! timeout is a tick while it writes, and what the socket does not take at once (a partial
//! write), what came in meanwhile (the outbox cannot be parked), or a client dropped as too
//! slow, goes on in a writer thread. Any other thread (a broadcast, the heartbeat, the chat's
//! hub) still hands over to a writer thread and never writes to the socket itself.
//! `send_packets` and `Session::send_frame` (the transport's own frames) both queue through
//! [`Session::hand_over`], which writes through on an own thread: the WebSocket reader marks
//! itself own while it answers a client's close and when its reading ends, so the closing frame
//! needs no writer thread. What goes into the outbox by another way (a chat member's
//! `OutboxSender`) wakes a writer thread as before, whichever thread queues it.

use super::session::{Pending, Session};
use super::ws_writer::frame;
use crate::server::{is_timeout, CountingWriter};
use crate::service::chat::outbox::{Batch, HandOver, Marks, Outbox};
use crate::service::chat::writer::fail;
use std::cell::Cell;
use std::io::{self, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

/// The write timeout while the own thread writes: the kernel rounds it up to one tick, so a
/// full socket buffer delays the own thread by a few milliseconds at most.
const BRIEF: Duration = Duration::from_millis(1);

thread_local! {
    /// The session this thread is the own thread of (its address), or 0.
    static OWN: Cell<usize> = const { Cell::new(0) };
}

fn address(session: &Session) -> usize {
    std::ptr::from_ref(session) as usize
}

/// While it lives, the thread that took it is its session's own (see [`Session::own_thread`]).
#[must_use = "the thread is the session's own only while the guard lives"]
#[derive(Debug)]
pub struct OwnThread<'a> {
    session: &'a Session,
    previous: usize,
}

impl Drop for OwnThread<'_> {
    fn drop(&mut self) {
        OWN.with(|own| own.set(self.previous));
        self.session.own_threads.fetch_sub(1, SeqCst);
    }
}

impl Session {
    /// Marks the calling thread as this session's own while the guard lives: the thread the
    /// application handles this client on, one at a time (or the WebSocket reader, while it
    /// closes). What it sends through [`Session::send_packets`] (and the transport's frames it
    /// queues) goes straight onto the WebSocket when no writer thread is busy with the session,
    /// without waking one. Never mark a thread that serves other sessions' senders (a hub, a
    /// timer): a write may delay it by a tick.
    pub fn own_thread(&self) -> OwnThread<'_> {
        self.own_threads.fetch_add(1, SeqCst);
        let previous = OWN.with(|own| own.replace(address(self)));
        OwnThread {
            session: self,
            previous,
        }
    }

    /// True on this session's own thread.
    fn is_own_thread(&self) -> bool {
        OWN.with(Cell::get) == address(self)
    }

    /// True while some thread is marked as this session's own: a writer thread need not wait
    /// for more (that thread writes its own packets through).
    pub(super) fn has_own_thread(&self) -> bool {
        self.own_threads.load(SeqCst) > 0
    }

    /// Queues `batch` in the outbox within `marks`, never gated. Off the own thread the
    /// outbox's waker starts a writer if none runs; on it, nothing is woken and what waits is
    /// written through here and now.
    pub(super) fn hand_over(&self, batch: Batch, marks: Marks) -> HandOver {
        if !self.is_own_thread() {
            return self.sender.hand_over_ungated(batch, &self.flow, marks);
        }
        let handed = self.sender.hand_over_quietly(batch, &self.flow, marks);
        if matches!(handed, HandOver::Sent | HandOver::Behind) {
            self.write_through();
        }
        handed
    }

    /// The own thread has handed packets over (see [`Session::hand_over`]): if the outbox is
    /// parked (no writer holds it) and the session is on WebSocket, writes what waits in it
    /// now. What cannot be finished at once goes on in a writer thread.
    fn write_through(&self) {
        let Some((outbox, mut out, brief)) = self.take_outbox(true) else {
            return;
        };
        if !brief {
            let _ = out.stream().set_write_timeout(Some(BRIEF));
        }
        if outbox.is_kicked() {
            // A writer thread says why and closes.
            self.start_writer(outbox, out, None);
            return;
        }
        let mut batch = Vec::new();
        outbox.take_waiting(&mut batch);
        let mut buf = Vec::new();
        let last = frame(&batch, &mut buf);
        match write_once(&mut out, &buf, &outbox) {
            Ok(n) if n == buf.len() => {
                outbox.written(&batch);
                if last {
                    let _ = out.stream().shutdown(Shutdown::Both);
                    drop(outbox);
                    self.writer_ended();
                    return;
                }
                match self.park(outbox, false) {
                    None => self.writer_ended(),
                    // More came while it wrote: a writer thread takes it from here.
                    Some(back) => self.start_writer(back, out, None),
                }
            }
            Ok(n) => {
                // The socket is full: a writer thread writes the rest, patiently.
                buf.drain(..n);
                let pending = Pending {
                    bytes: buf,
                    batch,
                    last,
                };
                self.start_writer(outbox, out, Some(pending));
            }
            Err(_) => {
                // The socket is shut down: the reader ends the session.
                outbox.written(&batch);
                drop(outbox);
                self.writer_ended();
            }
        }
    }
}

/// One write of `bytes` under the brief timeout: how many the socket took (0 if it was
/// full). On failure the socket is shut down so the reader ends too.
fn write_once(out: &mut CountingWriter, bytes: &[u8], outbox: &Outbox) -> io::Result<usize> {
    if bytes.is_empty() {
        return Ok(0);
    }
    loop {
        match out.write(bytes) {
            Ok(0) => return fail(out, io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                outbox.progressed();
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => return Ok(0),
            Err(e) => return fail(out, e),
        }
    }
}
