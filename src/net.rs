//! A byte stream over TCP or a Unix domain socket, and the address of either: what the server
//! core and the clients share so that one handler or one client serves both transports.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The prefix that names a Unix domain socket where an address is expected: `unix:PATH`.
pub const UNIX_PREFIX: &str = "unix:";

/// A connected stream socket of either family. Reads and writes go through `&Stream`, so two
/// threads can share one (a reader and a writer), as with `&TcpStream`.
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix domain stream socket.
    Unix(UnixStream),
}

impl Stream {
    /// Shuts down one or both directions, waking a thread blocked on it.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }

    /// Bounds each blocking read; `None` waits forever.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    /// Bounds each blocking write; `None` waits forever.
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            Stream::Unix(s) => s.set_write_timeout(t),
        }
    }

    /// The read timeout in force.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            Stream::Tcp(s) => s.read_timeout(),
            Stream::Unix(s) => s.read_timeout(),
        }
    }

    /// Disables Nagle's algorithm on TCP; a Unix socket has none, so it does nothing there.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nodelay(on),
            Stream::Unix(_) => Ok(()),
        }
    }

    /// Switches non-blocking mode.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    /// A second handle on the same socket (a `dup`).
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }
}

impl From<TcpStream> for Stream {
    fn from(s: TcpStream) -> Self {
        Stream::Tcp(s)
    }
}

impl From<UnixStream> for Stream {
    fn from(s: UnixStream) -> Self {
        Stream::Unix(s)
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).write(buf),
            Stream::Unix(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match *self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            Stream::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where a stream socket is: an IP address and port, or a Unix socket's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// An IP address and port (TCP, or UDP for a server's datagram endpoint).
    Ip(SocketAddr),
    /// A Unix domain socket's path.
    Unix(PathBuf),
}

impl Addr {
    /// Connects, bounded by `timeout` when given (a Unix connect does not wait: it is
    /// accepted into the backlog or refused at once).
    pub fn connect(&self, timeout: Option<Duration>) -> io::Result<Stream> {
        match (self, timeout) {
            (Addr::Ip(a), Some(t)) => TcpStream::connect_timeout(a, t).map(Stream::Tcp),
            (Addr::Ip(a), None) => TcpStream::connect(a).map(Stream::Tcp),
            (Addr::Unix(p), _) => UnixStream::connect(p).map(Stream::Unix),
        }
    }

    /// The IP address and port, if this is one.
    pub fn ip(&self) -> Option<SocketAddr> {
        match self {
            Addr::Ip(a) => Some(*a),
            Addr::Unix(_) => None,
        }
    }
}

/// `IP:PORT`, or the path alone (as `listening echo/unix DIR/echo.sock` shows it).
impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Ip(a) => a.fmt(f),
            Addr::Unix(p) => p.display().fmt(f),
        }
    }
}

/// Parses `IP:PORT` or `unix:PATH` (the path not empty).
impl FromStr for Addr {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.strip_prefix(UNIX_PREFIX) {
            Some("") => Err(()),
            Some(path) => Ok(Addr::Unix(PathBuf::from(path))),
            None => s.parse().map(Addr::Ip).map_err(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_show() {
        assert_eq!(
            "127.0.0.1:7007".parse(),
            Ok(Addr::Ip("127.0.0.1:7007".parse().unwrap()))
        );
        let unix: Addr = "unix:/tmp/x/echo.sock".parse().unwrap();
        assert_eq!(unix, Addr::Unix("/tmp/x/echo.sock".into()));
        assert_eq!(unix.to_string(), "/tmp/x/echo.sock");
        assert_eq!(unix.ip(), None);
        assert_eq!("unix:".parse::<Addr>(), Err(()));
        assert_eq!("localhost:1".parse::<Addr>(), Err(()));
    }

    #[test]
    fn a_shared_unix_stream_reads_and_writes() {
        let (a, b) = UnixStream::pair().unwrap();
        let (a, b) = (Stream::from(a), Stream::from(b));
        (&a).write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        (&b).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        a.shutdown(Shutdown::Write).unwrap();
        assert_eq!((&b).read(&mut buf).unwrap(), 0);
        assert!(b.set_nodelay(true).is_ok());
    }
}
