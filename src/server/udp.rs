//! The UDP loop: one dedicated thread per socket runs the service's datagram handler.

use super::stats::ServiceStats;
use super::Shared;
use crate::log::RateLimit;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A service's datagram handler: given one datagram and its sender, it may write a reply into
/// the buffer (cleared before each call) and return true to have it sent.
pub type UdpHandler = Box<dyn FnMut(&[u8], SocketAddr, &mut Vec<u8>) -> bool + Send>;

/// Largest UDP payload (IPv6 without jumbograms); a larger buffer would never fill.
const MAX_DATAGRAM: usize = 65_535;
/// Replies never go to source ports below this: a datagram from a privileged port may come from
/// another UDP service (echo, chargen) spoofed to bounce between the two forever.
pub const MIN_REPLY_PORT: u16 = 1024;
/// The loop rechecks the stop flag at least this often, should the wake-up datagram be lost.
const STOP_POLL: Duration = Duration::from_millis(500);

/// Receives until the server stops; no receive or send error ends the loop.
pub(crate) fn datagram_loop(
    socket: UdpSocket,
    stats: Arc<ServiceStats>,
    mut handler: UdpHandler,
    shared: Arc<Shared>,
) {
    let _ = socket.set_read_timeout(Some(STOP_POLL));
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut reply = Vec::new();
    let mut error_log = RateLimit::new(Duration::from_secs(1));
    while !shared.is_stopping() {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) => {
                // Timeouts just recheck the flag; ECONNREFUSED is an ICMP echo of an earlier
                // reply to a closed port, which says nothing about this socket.
                let quiet = super::is_timeout(&e)
                    || matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::Interrupted
                    );
                if !quiet && error_log.allow(Instant::now()).is_some() {
                    crate::log!("{}/udp: receive: {e}", stats.service);
                }
                continue;
            }
        };
        if shared.is_stopping() {
            break;
        }
        stats.total.fetch_add(1, Relaxed);
        stats.bytes_in.fetch_add(n as u64, Relaxed);
        reply.clear();
        if !handler(&buf[..n], from, &mut reply) {
            continue;
        }
        if from.port() < MIN_REPLY_PORT {
            stats.reflection_dropped.fetch_add(1, Relaxed);
            continue;
        }
        if let Ok(sent) = socket.send_to(&reply, from) {
            stats.bytes_out.fetch_add(sent as u64, Relaxed);
        }
    }
}
