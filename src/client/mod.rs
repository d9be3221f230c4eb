//! The command-line clients: each connects to a server and moves bytes between it and stdio.

pub mod bench;
pub mod probe;
pub mod send;
pub mod talk;
pub mod udp;

use crate::cli::Target;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Resolves `target` to its addresses, in the resolver's order.
pub fn resolve(target: &Target) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()?
        .collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} has no address", target.host),
        ));
    }
    Ok(addrs)
}

/// Connects to the first address of `target` that accepts, each attempt bounded by `timeout`
/// when given; the error is the last attempt's.
pub fn connect(target: &Target, timeout: Option<Duration>) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in resolve(target)? {
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
