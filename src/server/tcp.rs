//! The accept loop of a stream listener, TCP or Unix: one named OS thread per admitted client,
//! running the service's handler.

use super::connection::{is_timeout, Connection};
use super::registry::Slot;
use super::stats::ServiceStats;
use super::{Limits, Shared};
use crate::log::{held_note, RateLimit};
use crate::net::{Addr, Stream};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A service's blocking handler: runs on the connection's own thread until the client is done.
///
/// Returning `Ok` closes gracefully (FIN after everything written); returning an error resets the
/// connection. A timeout error from the idle timeout is counted as an idle close.
pub type TcpHandler = Arc<dyn Fn(&mut Connection) -> io::Result<()> + Send + Sync>;

/// The line a client gets when it cannot be served (connection limit or no thread available).
pub const BUSY_LINE: &[u8] = b"ERR server busy\n";

/// How long a graceful close waits for the client to finish sending before closing anyway.
const LINGER: Duration = Duration::from_secs(1);
/// How much unread input a graceful close discards before giving up on a clean FIN.
const LINGER_BYTES: usize = 64 * 1024;
/// Clients accepted in one go before the spawner is woken.
const ACCEPT_BATCH: usize = 256;
/// Longest pause after an accept error that is not about one connection (EMFILE, ENOBUFS...).
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// A listening stream socket the accept loop can take clients from.
pub(crate) trait Listener: Send + 'static {
    /// The next client and its address.
    fn accept_stream(&self) -> io::Result<(Stream, Addr)>;
    /// Makes [`Listener::accept_stream`] return `WouldBlock` instead of waiting, or wait again.
    fn set_nonblocking(&self, on: bool) -> io::Result<()>;
}

impl Listener for TcpListener {
    fn accept_stream(&self) -> io::Result<(Stream, Addr)> {
        self.accept().map(|(s, a)| (Stream::Tcp(s), Addr::Ip(a)))
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        TcpListener::set_nonblocking(self, on)
    }
}

/// A Unix listener and the path it is bound to: a client's own end has no name, so the path
/// of the socket it came through stands for its address.
impl Listener for (UnixListener, PathBuf) {
    fn accept_stream(&self) -> io::Result<(Stream, Addr)> {
        self.0
            .accept()
            .map(|(s, _)| (Stream::Unix(s), Addr::Unix(self.1.clone())))
    }
    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.0.set_nonblocking(on)
    }
}

/// Starts the spawner and accept threads of one listener. Each holds a clone of `alive`, so the
/// server knows both have ended when every clone is gone.
pub(crate) fn start(
    listener: impl Listener,
    stats: Arc<ServiceStats>,
    handler: TcpHandler,
    shared: Arc<Shared>,
    alive: &crossbeam_channel::Sender<()>,
) -> io::Result<JoinHandle<()>> {
    // Thread creation is slow next to accept(), and std listens with a backlog of only 128: a
    // second thread creates the connection threads so the accept thread goes straight back to
    // accept. Dropping the queue's sender (the accept thread ending) ends the spawner. (One
    // thread doing both was tried: the threads it makes, two per chat client, preempt it for
    // milliseconds and the queue of 128 overflows; a thread that only accepts keeps up.) The
    // other stall of `accept`, growing the descriptor table, is paid once at start: see
    // [`super::fd_table`].
    // Unbounded as a queue, bounded by the registry: every client in it holds a slot, and no
    // more than `--max-conns` slots exist. (A bound of its own, 4,096, refused clients of a
    // burst of 10,000 that the connection limit allowed.)
    let (to_spawner, spawn_queue) = crossbeam_channel::unbounded::<Admitted>();
    {
        let (handler, shared, alive) = (Arc::clone(&handler), Arc::clone(&shared), alive.clone());
        thread::Builder::new()
            .name(format!("{}-spawn", stats.service))
            .spawn(move || {
                let _alive = alive;
                spawn_loop(&spawn_queue, &handler, &shared);
            })?;
    }
    let alive = alive.clone();
    thread::Builder::new()
        .name(format!("{}-accept", stats.service))
        .spawn(move || {
            let _alive = alive;
            accept_loop(&listener, &stats, &to_spawner, &shared);
        })
}

/// Accepts until the server stops. Never returns early on an error: per-connection errors are
/// skipped, and resource errors (out of file descriptors, buffers) are logged and backed off.
fn accept_loop(
    listener: &impl Listener,
    stats: &Arc<ServiceStats>,
    to_spawner: &crossbeam_channel::Sender<Admitted>,
    shared: &Arc<Shared>,
) {
    let mut backoff = Duration::ZERO;
    let mut error_log = RateLimit::new(Duration::from_secs(1));
    let mut refusal_log = RateLimit::new(Duration::from_secs(1));
    // A spare descriptor: when the process runs out, closing it lets us accept and refuse one
    // client cleanly instead of leaving the backlog to time out (libuv and nginx do the same).
    let mut reserve = File::open("/dev/null").ok();
    let mut batch = Vec::new();
    loop {
        let accepted = listener.accept_stream();
        if shared.is_stopping() {
            break;
        }
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                let mut take = |stream: Stream, peer: Addr, batch: &mut Vec<Admitted>| match admit(
                    stream, &peer, stats, shared,
                ) {
                    Ok(admitted) => batch.push(admitted),
                    Err(why) => {
                        if let Some(held) = refusal_log.allow(Instant::now()) {
                            crate::log!(
                                "{}/{}: refused {peer}: {why}{}",
                                stats.service,
                                stats.proto,
                                held_note(held)
                            );
                        }
                    }
                };
                take(stream, peer, &mut batch);
                // Empty the kernel's queue (std listens with a backlog of 128) before waking
                // the spawner: woken, it would take the core from this thread while clients
                // keep arriving, and each one the full queue drops waits a second to retry.
                if listener.set_nonblocking(true).is_ok() {
                    while batch.len() < ACCEPT_BATCH && !shared.is_stopping() {
                        match listener.accept_stream() {
                            Ok((stream, peer)) => {
                                if stream.set_nonblocking(false).is_ok() {
                                    take(stream, peer, &mut batch);
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => break,
                        }
                    }
                    let _ = listener.set_nonblocking(false);
                }
                for admitted in batch.drain(..) {
                    hand_to_spawner(admitted, stats, to_spawner);
                }
            }
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                if let Some(held) = error_log.allow(Instant::now()) {
                    let (service, proto) = (stats.service, stats.proto);
                    crate::log!("{service}/{proto}: accept: {e}{}", held_note(held));
                }
                if is_out_of_descriptors(&e) && reserve.take().is_some() {
                    if let Ok((stream, _)) = listener.accept_stream() {
                        refuse(&stream, stats);
                    }
                    reserve = File::open("/dev/null").ok();
                    if reserve.is_some() {
                        continue;
                    }
                }
                backoff = (backoff * 2).clamp(Duration::from_millis(5), MAX_BACKOFF);
                thread::sleep(backoff);
            }
        }
    }
}

/// A client that holds a slot and waits for its thread.
struct Admitted {
    conn: Connection,
    slot: Slot,
}

/// Creates one thread per admitted client; a client whose thread cannot be created gets
/// [`BUSY_LINE`].
fn spawn_loop(
    queue: &crossbeam_channel::Receiver<Admitted>,
    handler: &TcpHandler,
    shared: &Arc<Shared>,
) {
    // Clients still queued when the server stops get their thread too: each tells its client
    // why it is closing (`ERR server shutting down` for files) and ends at once.
    for Admitted { conn, slot } in queue {
        let stream = Arc::clone(conn.stream());
        let stats = Arc::clone(conn.stats());
        let handler = Arc::clone(handler);
        let thread_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("{}#{}", stats.service, slot.id()))
            .stack_size(shared.limits.stack_size)
            .spawn(move || serve_connection(conn, &handler, slot, &thread_shared));
        // Let the accept thread, if clients woke it meanwhile, empty the kernel's short queue
        // before the next thread is made: on a busy core it would otherwise wait for this
        // thread's time slice, and a client that finds the queue full waits a second.
        thread::yield_now();
        if let Err(e) = spawned {
            // The closure (and with it the slot) was dropped, so the registry is already clean.
            refuse(&stream, &stats);
            crate::log!(
                "{}/{}: cannot start a thread: {e}",
                stats.service,
                stats.proto
            );
        }
    }
}

/// Errors about one connection only (it went away before we accepted it): just accept the next.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// EMFILE (24) or ENFILE (23): the process or the system is out of file descriptors.
fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Registers the client and queues it for its thread; on failure the client gets
/// [`BUSY_LINE`] and the error says why.
fn admit(
    stream: Stream,
    peer: &Addr,
    stats: &Arc<ServiceStats>,
    shared: &Arc<Shared>,
) -> Result<Admitted, String> {
    let stream = Arc::new(stream);
    let limits = &shared.limits;
    let Some(slot) = shared.registry.try_admit(&stream, stats, limits.max_conns) else {
        refuse(&stream, stats);
        return Err(format!(
            "{} connections live (--max-conns)",
            limits.max_conns
        ));
    };
    let conn = Connection::new(
        Arc::clone(&stream),
        peer.clone(),
        Arc::clone(stats),
        Arc::clone(shared),
        slot.id(),
    );
    Ok(Admitted { conn, slot })
}

/// Queues an admitted client for its thread; refuses it if the spawner is gone (the server
/// is stopping).
fn hand_to_spawner(
    admitted: Admitted,
    stats: &ServiceStats,
    spawner: &crossbeam_channel::Sender<Admitted>,
) {
    if let Err(crossbeam_channel::SendError(admitted)) = spawner.send(admitted) {
        // Its slot goes back when it is dropped, after the refusal.
        refuse(admitted.conn.stream(), stats);
    }
}

/// Counts the refusal, then sends [`BUSY_LINE`] without ever blocking the accept loop, and
/// closes. Counting first means a client that has read the line sees the counter too.
fn refuse(stream: &Stream, stats: &ServiceStats) {
    stats.refused.fetch_add(1, Relaxed);
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write(BUSY_LINE);
    let _ = stream.shutdown(Shutdown::Write);
}

/// The body of a connection thread: set up the socket, run the handler, close properly.
fn serve_connection(mut conn: Connection, handler: &TcpHandler, slot: Slot, shared: &Shared) {
    let limits: &Limits = &shared.limits;
    let _ = conn.stream().set_nodelay(true);
    if limits.idle_timeout.is_some() {
        let _ = conn.stream().set_read_timeout(limits.idle_timeout);
        let _ = conn.stream().set_write_timeout(limits.idle_timeout);
    }
    match handler(&mut conn) {
        Ok(()) => close_gracefully(&mut conn, shared),
        Err(e) => {
            if is_timeout(&e) {
                conn.stats().idle_closed.fetch_add(1, Relaxed);
            }
            let _ = conn.stream().shutdown(Shutdown::Both);
        }
    }
    drop(slot);
}

/// Sends FIN, then reads and discards what the client still sends (bounded in time and bytes),
/// so that closing with unread input does not turn into a reset that destroys our last reply.
///
/// Never inlined: its scratch buffer would otherwise enlarge the frame of every connection
/// thread for its whole life, pushing the handler's stack onto one more page of memory.
#[inline(never)]
fn close_gracefully(conn: &mut Connection, shared: &Shared) {
    let _ = conn.stream().shutdown(Shutdown::Write);
    if conn.saw_eof() || shared.is_stopping() {
        return;
    }
    let _ = conn.stream().set_read_timeout(Some(LINGER));
    let deadline = Instant::now() + LINGER;
    let mut scratch = [0u8; 512];
    let mut discarded = 0;
    while discarded < LINGER_BYTES && Instant::now() < deadline {
        match (&**conn.stream()).read(&mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(n) => discarded += n,
        }
    }
}
