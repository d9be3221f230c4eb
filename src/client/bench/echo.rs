//! Echo scenarios. Ping-pong: a few threads each drive many connections in lock-step (write
//! to every connection, then read every answer), so thousands of connections cost the
//! generator a handful of threads. Stream: each connection pipelines chunks from a writer
//! thread while a reader thread counts what comes back.

use super::{load_threads, not_an_echo, procfs, progress, BenchOptions, Histogram, Report};
use crate::net::{Addr, Stream};
use crate::out::why;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A read or write that takes longer than this counts as an error, not a hang.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections opened by [`connect_all`], how many attempts failed, and why the first did.
pub type Connected = (Vec<Stream>, u64, Option<String>);

/// Opens up to `n` connections; returns them, how many failed and the first failure's reason.
pub fn connect_all(addr: &Addr, n: usize) -> Connected {
    let mut conns = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first = None;
    for _ in 0..n {
        match addr.connect(Some(IO_TIMEOUT)) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                let _ = s.set_read_timeout(Some(IO_TIMEOUT));
                let _ = s.set_write_timeout(Some(IO_TIMEOUT));
                conns.push(s);
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert_with(|| why(&e));
            }
        }
    }
    (conns, failed, first)
}

/// Splits `items` into `k` groups, round-robin.
fn groups<T>(items: Vec<T>, k: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..k).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        out[i % k].push(item);
    }
    out
}

/// The report of a run in which no connection could be opened, `first` saying why.
pub fn no_connections(failed: u64, first: Option<String>) -> Report {
    let why = first.unwrap_or_else(|| "no attempt made".into());
    Report {
        connect_failures: failed,
        notes: vec![format!(
            "no connection could be opened ({failed} attempts failed)"
        )],
        failure: Some(format!("no connection succeeded: {why}")),
        first_error: Some(why),
        ..Report::default()
    }
}

/// What went wrong with one connection's answer.
enum Wrong {
    /// Bytes that are not the echo of what was sent: the target does not speak echo.
    NotEcho(Vec<u8>),
    /// A close or an I/O error.
    Failed(String),
}

/// Reads the echo of `payload` into `answer`, telling a wrong answer from a failed one.
fn read_echo(c: &mut Stream, payload: &[u8], answer: &mut [u8]) -> Result<(), Wrong> {
    let mut filled = 0;
    while filled < answer.len() {
        let failure = match c.read(&mut answer[filled..]) {
            Ok(0) => "the server closed the connection".to_string(),
            Ok(n) => {
                filled += n;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => why(&e),
        };
        return Err(if answer[..filled] == payload[..filled] {
            Wrong::Failed(failure)
        } else {
            Wrong::NotEcho(answer[..filled].to_vec())
        });
    }
    if answer == payload {
        Ok(())
    } else {
        Err(Wrong::NotEcho(answer.to_vec()))
    }
}

/// Closed-loop ping-pong; latency is from a connection's write to the last byte of its answer.
pub fn ping_pong(o: &BenchOptions) -> io::Result<Report> {
    let (conns, failed, first) = connect_all(&o.addr, o.conns);
    if conns.is_empty() {
        return Ok(no_connections(failed, first));
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
        first_error: first,
        ..Report::default()
    };
    let mut still_open = Vec::new();
    for w in workers {
        let done = w.join().unwrap_or_default();
        report.ops += done.ops;
        report.errors += done.errors;
        report.latency.merge(&done.hist);
        if report.failure.is_none() {
            report.failure = done.not_echo.as_deref().map(not_an_echo);
        }
        if let Some(e) = done.first_error {
            report.note_error(|| e);
        }
        still_open.push(done.conns);
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
#[derive(Default)]
struct LockStepResult {
    ops: u64,
    hist: Histogram,
    errors: u64,
    /// The first answer that was not an echo.
    not_echo: Option<Vec<u8>>,
    /// The first failure's reason.
    first_error: Option<String>,
    conns: Vec<Stream>,
}

fn lock_step(
    mut conns: Vec<Stream>,
    size: usize,
    measure_from: Instant,
    end: Instant,
) -> LockStepResult {
    let payload: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    let mut answer = vec![0u8; size];
    let mut sent_at = vec![Instant::now(); conns.len()];
    let mut r = LockStepResult::default();
    while Instant::now() < end && !conns.is_empty() {
        let mut failed = vec![false; conns.len()];
        let mut answered = 0;
        for (i, c) in conns.iter_mut().enumerate() {
            sent_at[i] = Instant::now();
            if let Err(e) = c.write_all(&payload) {
                failed[i] = true;
                r.first_error.get_or_insert_with(|| why(&e));
                // What the server sent before it went away tells whether it echoes at all.
                let mut early = [0u8; 64];
                if let Ok(n @ 1..) = c.read(&mut early) {
                    r.not_echo.get_or_insert_with(|| early[..n].to_vec());
                }
            }
        }
        for (i, c) in conns.iter_mut().enumerate() {
            if failed[i] {
                continue;
            }
            match read_echo(c, &payload, &mut answer) {
                Ok(()) => {}
                Err(Wrong::NotEcho(got)) => {
                    failed[i] = true;
                    r.not_echo.get_or_insert(got);
                    continue;
                }
                Err(Wrong::Failed(why)) => {
                    failed[i] = true;
                    r.first_error.get_or_insert(why);
                    continue;
                }
            }
            answered += 1;
            let now = Instant::now();
            count_in_window(
                &mut r.ops,
                &mut r.hist,
                sent_at[i],
                now,
                (measure_from, end),
            );
        }
        progress::add(answered);
        // A connection that failed once is dropped from the rotation: it counts one error.
        r.errors += drop_failed(&mut conns, &failed);
    }
    r.conns = conns;
    r
}

/// Pipelined throughput: every connection writes `size`-byte chunks as fast as the server
/// takes them while its reader counts the bytes that come back.
pub fn stream(o: &BenchOptions) -> io::Result<Report> {
    let (conns, failed, first) = connect_all(&o.addr, o.conns);
    if conns.is_empty() {
        return Ok(no_connections(failed, first));
    }
    let stop = Arc::new(AtomicBool::new(false));
    // The first bytes that came back other than sent, and the first failure's reason.
    let not_echo: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(first));
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
        let first_w = Arc::clone(&first_error);
        handles.push(thread::spawn(move || {
            let chunk = vec![b'x'; size];
            while !stop_w.load(Relaxed) {
                if let Err(e) = (&c).write_all(&chunk) {
                    errors_w.fetch_add(1, Relaxed);
                    keep_first(&first_w, || why(&e));
                    break;
                }
            }
            let _ = c.shutdown(Shutdown::Write);
        }));
        let (received_r, errors_r) = (Arc::clone(&received), Arc::clone(&errors));
        let (first_r, not_echo_r) = (Arc::clone(&first_error), Arc::clone(&not_echo));
        handles.push(thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match (&reader).read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) if buf[..n].iter().any(|&b| b != b'x') => {
                        errors_r.fetch_add(1, Relaxed);
                        keep_first(&not_echo_r, || buf[..n].to_vec());
                        break;
                    }
                    Ok(n) => {
                        received_r.fetch_add(n as u64, Relaxed);
                        progress::add(n as u64);
                    }
                    Err(e) => {
                        errors_r.fetch_add(1, Relaxed);
                        keep_first(&first_r, || why(&e));
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
    let not_echo = taken(&not_echo);
    Ok(Report {
        ops: bytes / size as u64,
        seconds,
        bytes,
        connect_failures: failed,
        errors: errors.load(Relaxed),
        notes: vec![format!("pipelined, {size} B per write")],
        server,
        failure: not_echo.as_deref().map(not_an_echo),
        first_error: taken(&first_error),
        ..Report::default()
    })
}

/// Takes what `slot` holds.
fn taken<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Stores `value()` in `slot` unless it already holds one.
fn keep_first<T>(slot: &Mutex<Option<T>>, value: impl FnOnce() -> T) {
    slot.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(value);
}

/// Counts one round trip, sent at `sent` and answered at `now`, if it began within the
/// measured window `(from, end)` and ended before its end: one op and its latency.
pub(super) fn count_in_window(
    ops: &mut u64,
    hist: &mut Histogram,
    sent: Instant,
    now: Instant,
    (from, end): (Instant, Instant),
) {
    if sent >= from && now <= end {
        *ops += 1;
        hist.record(now.duration_since(sent).as_micros() as u64);
    }
}

/// Takes the connections that failed out of the rotation (each counts one error); returns
/// how many there were.
pub(super) fn drop_failed<T>(items: &mut Vec<T>, failed: &[bool]) -> u64 {
    let mut keep = failed.iter().map(|f| !f);
    let dropped = failed.iter().filter(|&&f| f).count() as u64;
    items.retain(|_| keep.next().unwrap_or(false));
    dropped
}
