//! One accepted client as a handler sees it: a [`Connection`] that reads and writes the socket
//! and counts bytes, the [`CountingWriter`] a second thread can own to write the same socket,
//! and the [`StopSignal`] that tells a handler the server is stopping.

use super::stats::ServiceStats;
use super::Shared;
use crate::net::{Addr, Stream};
use std::io::{self, Read, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// One accepted client: a `Read + Write` byte stream that counts bytes both ways.
#[derive(Debug)]
pub struct Connection {
    /// Writes go through the same type a second writer thread gets from [`Connection::writer`].
    out: CountingWriter,
    peer: Addr,
    shared: Arc<Shared>,
    id: u64,
    saw_eof: bool,
}

impl Connection {
    pub(super) fn new(
        stream: Arc<Stream>,
        peer: Addr,
        stats: Arc<ServiceStats>,
        shared: Arc<Shared>,
        id: u64,
    ) -> Connection {
        Connection {
            out: CountingWriter { stream, stats },
            peer,
            shared,
            id,
            saw_eof: false,
        }
    }

    /// The client's address; for a Unix client, the path of the socket it connected to (its
    /// own end has no name).
    pub fn peer_addr(&self) -> &Addr {
        &self.peer
    }

    /// The server-wide connection id (the thread is named `<service>#<id>`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// True once a read has returned 0: the client has shut down its sending side, or the
    /// server has shut the socket down because it is stopping (see [`Connection::stop_signal`]).
    pub fn saw_eof(&self) -> bool {
        self.saw_eof
    }

    /// A handle that tells whether the server has begun to stop. A read that returns 0 after
    /// that may be the server's own `shutdown`, not the client's FIN: a service that commits
    /// work on end of stream must check it first.
    pub fn stop_signal(&self) -> StopSignal {
        StopSignal(Arc::clone(&self.shared))
    }

    /// The shared socket, for a service that needs a second thread on it (a chat writer).
    /// Bytes written through it directly are not counted; use [`Connection::writer`] for that.
    pub fn stream(&self) -> &Arc<Stream> {
        &self.out.stream
    }

    /// A second, independently owned writer on the same socket that counts bytes out.
    pub fn writer(&self) -> CountingWriter {
        CountingWriter {
            stream: Arc::clone(&self.out.stream),
            stats: Arc::clone(&self.out.stats),
        }
    }

    /// The service's counters.
    pub(super) fn stats(&self) -> &Arc<ServiceStats> {
        &self.out.stats
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.out.stream).read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.saw_eof = true;
        }
        self.out.stats.bytes_in.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.out.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Whether the server is stopping; see [`Connection::stop_signal`].
#[derive(Debug, Clone)]
pub struct StopSignal(Arc<Shared>);

impl StopSignal {
    /// True once [`Server::stop`](super::Server::stop) has begun.
    pub fn is_stopping(&self) -> bool {
        self.0.is_stopping()
    }
}

/// A writer on a connection's socket, owned by the connection or by another thread; counts
/// bytes out. Clones write the same socket.
#[derive(Debug, Clone)]
pub struct CountingWriter {
    stream: Arc<Stream>,
    stats: Arc<ServiceStats>,
}

impl CountingWriter {
    /// The shared socket (to shut it down when the writer gives up).
    pub fn stream(&self) -> &Stream {
        &self.stream
    }
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = (&*self.stream).write(buf)?;
        self.stats.bytes_out.fetch_add(n as u64, Relaxed);
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = (&*self.stream).write_vectored(bufs)?;
        self.stats.bytes_out.fetch_add(n as u64, Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// True for the errors a socket timeout produces (the idle timeout fired).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
