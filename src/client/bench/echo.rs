//! Echo scenarios. Ping-pong: a few threads each drive many connections in lock-step (write
//! to every connection, then read every answer), so thousands of connections cost the
//! generator a handful of threads. Stream: each connection pipelines chunks from a writer
//! thread while a reader thread counts what comes back.

use super::{load_threads, procfs, BenchOptions, Histogram, Report};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A read or write that takes longer than this counts as an error, not a hang.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens up to `n` connections; returns them and how many failed.
pub fn connect_all(addr: SocketAddr, n: usize) -> (Vec<TcpStream>, u64) {
    let mut conns = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(IO_TIMEOUT));
                let _ = s.set_write_timeout(Some(IO_TIMEOUT));
                conns.push(s);
            }
            Err(_) => failed += 1,
        }
    }
    (conns, failed)
}

/// Splits `items` into `k` groups, round-robin.
fn groups<T>(items: Vec<T>, k: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..k).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        out[i % k].push(item);
    }
    out
}

/// The report of a run in which no connection could be opened.
pub fn no_connections(failed: u64) -> Report {
    Report {
        connect_failures: failed,
        notes: vec![format!(
            "no connection could be opened ({failed} attempts failed)"
        )],
        ..Report::default()
    }
}

/// Closed-loop ping-pong; latency is from a connection's write to the last byte of its answer.
pub fn ping_pong(o: &BenchOptions) -> io::Result<Report> {
    let (conns, failed) = connect_all(o.addr, o.conns);
    if conns.is_empty() {
        return Ok(no_connections(failed));
    }
    let threads = load_threads(o.threads, conns.len());
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let size = o.size.max(1);
    let workers: Vec<_> = groups(conns, threads)
        .into_iter()
        .map(|group| thread::spawn(move || lock_step(group, size, measure_from, end)))
        .collect();
    // The server's figures are read while every connection is still open: once they close,
    // the server's connection threads exit and take their counters with them.
    thread::sleep(measure_from.saturating_duration_since(Instant::now()));
    let at_start = o.pid.and_then(procfs::read);
    let mut report = Report {
        connect_failures: failed,
        ..Report::default()
    };
    let mut still_open = Vec::new();
    for w in workers {
        let (ops, hist, errors, conns) = w.join().unwrap_or_default();
        report.ops += ops;
        report.errors += errors;
        report.latency.merge(&hist);
        still_open.push(conns);
    }
    report.server = o.pid.and_then(procfs::read);
    drop(still_open);
    report.seconds = o.duration.as_secs_f64();
    report.bytes = report.ops * size as u64;
    report
        .notes
        .push(format!("{threads} load thread(s), lock-step"));
    if let (Some(a), Some(b)) = (at_start, report.server) {
        let switches = (b.voluntary + b.involuntary).saturating_sub(a.voluntary + a.involuntary);
        report.notes.push(format!(
            "server context switches while measured: {switches} ({:.2} per round trip)",
            switches as f64 / report.ops.max(1) as f64
        ));
    }
    Ok(report)
}

/// What one lock-step thread did, and its connections, still open.
type LockStepResult = (u64, Histogram, u64, Vec<TcpStream>);

fn lock_step(
    mut conns: Vec<TcpStream>,
    size: usize,
    measure_from: Instant,
    end: Instant,
) -> LockStepResult {
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut answer = vec![0u8; size];
    let mut sent_at = vec![Instant::now(); conns.len()];
    let mut hist = Histogram::new();
    let (mut ops, mut errors) = (0u64, 0u64);
    while Instant::now() < end && !conns.is_empty() {
        let mut failed = vec![false; conns.len()];
        for (i, c) in conns.iter_mut().enumerate() {
            sent_at[i] = Instant::now();
            if c.write_all(&payload).is_err() {
                failed[i] = true;
            }
        }
        for (i, c) in conns.iter_mut().enumerate() {
            if failed[i] {
                continue;
            }
            if c.read_exact(&mut answer).is_err() || answer != payload {
                failed[i] = true;
                continue;
            }
            let now = Instant::now();
            if sent_at[i] >= measure_from && now <= end {
                ops += 1;
                hist.record(now.duration_since(sent_at[i]).as_micros() as u64);
            }
        }
        // A connection that failed once is dropped from the rotation: it counts one error.
        let mut keep = failed.iter().map(|f| !f);
        errors += failed.iter().filter(|&&f| f).count() as u64;
        conns.retain(|_| keep.next().unwrap_or(false));
    }
    (ops, hist, errors, conns)
}

/// Pipelined throughput: every connection writes `size`-byte chunks as fast as the server
/// takes them while its reader counts the bytes that come back.
pub fn stream(o: &BenchOptions) -> io::Result<Report> {
    let (conns, failed) = connect_all(o.addr, o.conns);
    if conns.is_empty() {
        return Ok(no_connections(failed));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let size = o.size.max(1);
    let mut handles = Vec::new();
    for c in conns {
        let Ok(reader) = c.try_clone() else {
            errors.fetch_add(1, Relaxed);
            continue;
        };
        let (stop_w, errors_w) = (Arc::clone(&stop), Arc::clone(&errors));
        handles.push(thread::spawn(move || {
            let chunk = vec![b'x'; size];
            while !stop_w.load(Relaxed) {
                if (&c).write_all(&chunk).is_err() {
                    errors_w.fetch_add(1, Relaxed);
                    break;
                }
            }
            let _ = c.shutdown(Shutdown::Write);
        }));
        let (received_r, errors_r) = (Arc::clone(&received), Arc::clone(&errors));
        handles.push(thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match (&reader).read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        received_r.fetch_add(n as u64, Relaxed);
                    }
                    Err(_) => {
                        errors_r.fetch_add(1, Relaxed);
                        break;
                    }
                }
            }
        }));
    }
    thread::sleep(o.warmup);
    let before = received.load(Relaxed);
    let t0 = Instant::now();
    thread::sleep(o.duration);
    let bytes = received.load(Relaxed) - before;
    let seconds = t0.elapsed().as_secs_f64();
    // Read while the connections are still open (see `ping_pong`).
    let server = o.pid.and_then(procfs::read);
    stop.store(true, Relaxed);
    for h in handles {
        let _ = h.join();
    }
    Ok(Report {
        ops: bytes / size as u64,
        seconds,
        bytes,
        connect_failures: failed,
        errors: errors.load(Relaxed),
        notes: vec![format!("pipelined, {size} B per write")],
        server,
        ..Report::default()
    })
}
