//! UDP echo: keep K datagrams in flight, each carrying its sequence number; count replies,
//! their latency, and datagrams that never come back.

use super::{not_an_echo, progress, BenchOptions, Report};
use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

/// A datagram not answered within this long is lost (and replaced, keeping K in flight).
const LOSS_TIMEOUT: Duration = Duration::from_millis(200);

/// Runs the UDP scenario.
pub fn run(o: &BenchOptions) -> io::Result<Report> {
    let server = o.addr.ip().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "udp needs an IP:PORT address")
    })?;
    let socket = crate::client::udp::open(server)?;
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    let size = o.size.max(8);
    let k = o.inflight.max(1);
    let mut packet = vec![b'u'; size];
    let mut reply = vec![0u8; 65_536];
    let mut outstanding: HashMap<u64, Instant> = HashMap::with_capacity(k * 2);
    let mut next = 0u64;
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let mut report = Report::default();
    let send = |seq: u64, packet: &mut Vec<u8>, outstanding: &mut HashMap<u64, Instant>| {
        packet[..8].copy_from_slice(&seq.to_le_bytes());
        outstanding.insert(seq, Instant::now());
        // An ICMP error of an earlier datagram may surface here instead of in recv.
        socket.send(packet).err().map(|e| crate::out::why(&e))
    };
    for _ in 0..k {
        if let Some(e) = send(next, &mut packet, &mut outstanding) {
            report.note_error(|| e);
        }
        next += 1;
    }
    let mut last_sweep = Instant::now();
    while Instant::now() < end {
        match socket.recv(&mut reply) {
            Ok(n) if n != size || !echoes(&reply[..n], next) => {
                report.errors += 1;
                if report.failure.is_none() {
                    report.failure = Some(not_an_echo(&reply[..n]));
                }
            }
            Ok(_) => {
                let seq = u64::from_le_bytes(reply[..8].try_into().unwrap_or([0; 8]));
                // A reply not outstanding is a late one, already counted as lost.
                if let Some(sent) = outstanding.remove(&seq) {
                    progress::add(1);
                    let now = Instant::now();
                    if sent >= measure_from {
                        report.ops += 1;
                        report
                            .latency
                            .record(now.duration_since(sent).as_micros() as u64);
                    }
                    if let Some(e) = send(next, &mut packet, &mut outstanding) {
                        report.note_error(|| e);
                    }
                    next += 1;
                }
            }
            Err(e) if crate::server::is_timeout(&e) => {}
            Err(e) => {
                // ICMP port unreachable: no server there (yet); count and keep going.
                report.errors += 1;
                report.note_error(|| crate::out::why(&e));
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if last_sweep.elapsed() >= LOSS_TIMEOUT / 4 {
            last_sweep = Instant::now();
            let now = Instant::now();
            let lost: Vec<u64> = outstanding
                .iter()
                .filter(|(_, &t)| now.duration_since(t) >= LOSS_TIMEOUT)
                .map(|(&s, _)| s)
                .collect();
            for seq in lost {
                let sent = outstanding.remove(&seq);
                if sent.is_some_and(|t| t >= measure_from) {
                    report.errors += 1;
                }
                if let Some(e) = send(next, &mut packet, &mut outstanding) {
                    report.note_error(|| e);
                }
                next += 1;
            }
        }
    }
    report.seconds = o.duration.as_secs_f64();
    if report.ops == 0 && report.first_error.is_none() && report.errors > 0 {
        report.first_error = Some("no datagram came back".into());
    }
    report.bytes = report.ops * size as u64;
    report
        .notes
        .push(format!("{k} in flight; errors count lost datagrams"));
    Ok(report)
}

/// True if `reply` is the echo of a datagram this run sent: a sequence number below `next`
/// followed by the padding.
fn echoes(reply: &[u8], next: u64) -> bool {
    reply.len() >= 8
        && u64::from_le_bytes(reply[..8].try_into().unwrap_or([0xff; 8])) < next
        && reply[8..].iter().all(|&b| b == b'u')
}
