//! The command-line clients: each connects to a server and moves bytes between it and stdio.

pub mod bench;
pub mod probe;
pub mod send;
pub mod sio;
pub mod talk;
pub mod udp;

use crate::net::{Stream, UNIX_PREFIX};
use crate::out;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// A host and port to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address, as given.
    pub host: String,
    /// Port number.
    pub port: u16,
}

/// Where a stream client connects: a host and port, or a Unix socket's path (`unix:PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// TCP to a host and port.
    Host(Target),
    /// A Unix domain stream socket.
    Unix(PathBuf),
}

/// `HOST:PORT`, or `unix:PATH`.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Host(t) => write!(f, "{}:{}", t.host, t.port),
            Address::Unix(p) => write!(f, "{UNIX_PREFIX}{}", p.display()),
        }
    }
}

/// Connects a stream client to `address`; for `command`'s error lines, a host that cannot be
/// resolved is an `Err` with the exit status 2 already reported, and a connect that fails is
/// `Ok(Err(_))` for the caller to word.
pub fn connect_address(
    command: &str,
    address: &Address,
    timeout: Option<Duration>,
) -> Result<io::Result<Stream>, ExitCode> {
    Ok(match address {
        Address::Host(target) => {
            let addrs = resolve_for(command, target)?;
            connect_to(&addrs, timeout).map(Stream::Tcp)
        }
        Address::Unix(path) => UnixStream::connect(path).map(Stream::Unix),
    })
}

/// Resolves `target` to its addresses, in the resolver's order.
pub fn resolve(target: &Target) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()?
        .collect();
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no address found"));
    }
    Ok(addrs)
}

/// Resolves `target` for `command`; if it cannot be resolved, prints
/// `threadsock <command>: cannot resolve HOST: <why>` and gives the exit status 2 (unusable
/// input) to return. A name that does not resolve is never reported as "no server".
pub fn resolve_for(command: &str, target: &Target) -> Result<Vec<SocketAddr>, ExitCode> {
    resolve(target).map_err(|e| {
        out::error(
            command,
            format_args!("cannot resolve {}: {}", target.host, out::why(&e)),
        );
        ExitCode::from(2)
    })
}

/// Connects to the first address of `target` that accepts, each attempt bounded by `timeout`
/// when given; the error is the last attempt's.
pub fn connect(target: &Target, timeout: Option<Duration>) -> io::Result<TcpStream> {
    connect_to(&resolve(target)?, timeout)
}

/// Connects to the first of `addrs` that accepts, each attempt bounded by `timeout` when
/// given; the error is the last attempt's.
pub fn connect_to(addrs: &[SocketAddr], timeout: Option<Duration>) -> io::Result<TcpStream> {
    let mut last = None;
    for &addr in addrs {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::NotFound)))
}
