//! Chat fan-out: N receivers and one sender. After a sync phase (every receiver has seen a
//! `sync` line, so all are in the room), the sender sends M lines `<seq> <send time µs> <pad>`
//! as fast as the server takes them. Receivers, read in lock-step by a few threads, check the
//! sequence (gaps are lost lines) and record delivery latency from the timestamp. A line
//! counts with or without the `-> ` prefix (the seed's chat prefixes only a chunk's first line).
//! `chat-slow` runs the fan-out twice, the second time with clients that join and never read.

use super::chat_lines::{push_line, take_lines, Seen, Sequence};
use super::echo::connect_all;
use super::{load_threads, progress, BenchOptions, Report};
use crate::net::Stream;
use crate::out::why;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Receivers wait this long per read before checking the deadline.
const READ_SLICE: Duration = Duration::from_millis(200);
/// The sync phase gives up after this long.
const SYNC_LIMIT: Duration = Duration::from_secs(10);
/// The sender writes its lines in pieces of about this size.
const SEND_CHUNK: usize = 64 * 1024;
/// Longest line a receiver accepts before counting an error.
const MAX_LINE: usize = 64 * 1024;

struct Receiver {
    stream: Stream,
    /// A line begun in an earlier read.
    partial: Vec<u8>,
    seq: Sequence,
}

/// Runs the fan-out; `--duration` bounds how long delivery may take after sending starts.
pub fn run(o: &BenchOptions) -> io::Result<Report> {
    let setup = Instant::now();
    let (streams, failed, first) = connect_all(&o.addr, o.conns);
    if streams.is_empty() {
        return Ok(super::echo::no_connections(failed, first));
    }
    // Clients that join and never read: held open, untouched, until the run ends.
    let (stalled, _, _) = connect_all(&o.addr, o.stalled);
    let sender = o
        .sender
        .as_ref()
        .unwrap_or(&o.addr)
        .connect(Some(super::echo::IO_TIMEOUT))?;
    let _ = sender.set_nodelay(true);
    // Whatever the server sends the sender (notices) is read and dropped, so it never backs up.
    let drain = sender.try_clone()?;
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while matches!((&drain).read(&mut buf), Ok(n) if n > 0) {}
    });
    let n = streams.len();
    let m = o.messages as u64;
    let epoch = Instant::now();
    let synced = Arc::new(AtomicUsize::new(0));
    let deadline_holder = Arc::new(std::sync::Mutex::new(epoch + SYNC_LIMIT + o.duration));
    let threads = load_threads(o.threads, n);
    let mut groups: Vec<Vec<Receiver>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, s) in streams.into_iter().enumerate() {
        let _ = s.set_read_timeout(Some(READ_SLICE));
        groups[i % threads].push(Receiver {
            stream: s,
            partial: Vec::new(),
            seq: Sequence::default(),
        });
    }
    let readers: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let synced = Arc::clone(&synced);
            let deadline = Arc::clone(&deadline_holder);
            thread::spawn(move || read_group(group, m, epoch, &synced, &deadline))
        })
        .collect();

    // Sync: send `sync` until every receiver has seen one.
    let sync_start = Instant::now();
    while synced.load(Relaxed) < n && sync_start.elapsed() < SYNC_LIMIT {
        (&sender).write_all(b"sync\n").map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "the server does not relay chat lines (the sender's connection failed: {})",
                    why(&e)
                ),
            )
        })?;
        let wait = Instant::now();
        while synced.load(Relaxed) < n && wait.elapsed() < Duration::from_millis(50) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let all_synced = synced.load(Relaxed);
    if all_synced == 0 {
        stop_readers(&deadline_holder, readers);
        return Ok(Report {
            connect_failures: failed,
            failure: Some(format!(
                "the server does not relay chat lines (no receiver saw `-> sync` within {SYNC_LIMIT:?})"
            )),
            ..Report::default()
        });
    }
    let joined_in = setup.elapsed();
    // Read before the clock starts: with a thread per client, /proc has thousands of tasks to
    // read (tens of milliseconds), which would otherwise count as part of the flood's time.
    let before = o.pid.and_then(super::procfs::read);
    let cpu_before = o.pid.and_then(super::procfs::task_cpu_ns);
    let t0 = Instant::now();
    *deadline_holder.lock().unwrap_or_else(|e| e.into_inner()) = t0 + o.duration;
    let pad = "x".repeat(o.size.saturating_sub(24).max(1));
    let mut out = Vec::with_capacity(SEND_CHUNK + o.size + 64);
    for seq in 0..m {
        let ts = epoch.elapsed().as_micros() as u64;
        push_line(&mut out, seq, ts, pad.as_bytes());
        if out.len() >= SEND_CHUNK || seq + 1 == m {
            (&sender).write_all(&out)?;
            out.clear();
        }
    }
    let mut report = Report {
        connect_failures: failed,
        first_error: first,
        ..Report::default()
    };
    let mut last = t0;
    let mut lost = 0;
    let mut still_open = Vec::new();
    for r in readers {
        let (seen, group) = r.join().unwrap_or_default();
        still_open.push(group);
        lost += seen.add_to(&mut report, &mut last);
    }
    // Read while the receivers are still connected (see `echo::ping_pong`).
    report.server = o.pid.and_then(super::procfs::read);
    let cpu_after = o.pid.and_then(super::procfs::task_cpu_ns);
    drop(still_open);
    let held = stalled.len();
    drop(stalled);
    let expected = n as u64 * m;
    lost += expected.saturating_sub(report.ops + lost);
    report.errors += lost;
    if lost > 0 {
        report.note_error(|| format!("{lost} lines never arrived (lost, or past the deadline)"));
    }
    report.seconds = last.duration_since(t0).as_secs_f64();
    report.bytes = report.ops * (o.size as u64);
    report.notes.push(format!(
        "{n} receivers ({all_synced} synced), {m} lines sent, {} delivered of {expected}, {lost} lost; {threads} reader thread(s)",
        report.ops
    ));
    report.notes.push(format!(
        "connected and joined in {:.2} s (until every receiver saw the sender's line)",
        joined_in.as_secs_f64()
    ));
    if let (Some(a), Some(b)) = (before, report.server) {
        report.notes.push(format!(
            "server context switches during the flood: {} voluntary, {} involuntary",
            b.voluntary.saturating_sub(a.voluntary),
            b.involuntary.saturating_sub(a.involuntary)
        ));
    }
    if let (Some(a), Some(b)) = (&cpu_before, &cpu_after) {
        let cpu_ns = super::procfs::cpu_between(a, b);
        report.notes.push(format!(
            "server CPU during the flood (threads alive at its end): {:.1} ms, {:.0} ns per \
             line delivered",
            cpu_ns as f64 / 1e6,
            cpu_ns as f64 / report.ops.max(1) as f64
        ));
    }
    if held > 0 {
        report
            .notes
            .push(format!("{held} clients in the room that never read"));
    }
    Ok(report)
}

/// Ends the reader threads at once (their deadline is now) and joins them.
fn stop_readers(
    deadline: &std::sync::Mutex<Instant>,
    readers: Vec<thread::JoinHandle<(Seen, Vec<Receiver>)>>,
) {
    *deadline.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    for r in readers {
        let _ = r.join();
    }
}

/// Reads `group` in turn until every receiver has all `m` lines or the deadline passes; what
/// it saw (with when it last read).
fn read_group(
    mut group: Vec<Receiver>,
    m: u64,
    epoch: Instant,
    synced: &AtomicUsize,
    deadline: &std::sync::Mutex<Instant>,
) -> (Seen, Vec<Receiver>) {
    let mut seen = Seen::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let end = *deadline.lock().unwrap_or_else(|e| e.into_inner());
        if Instant::now() >= end || group.iter().all(|r| r.seq.got >= m) {
            break;
        }
        for r in group.iter_mut().filter(|r| r.seq.got < m) {
            let n = match r.stream.read(&mut buf) {
                Ok(0) => {
                    seen.error(|| "the server closed a receiver's connection early".into());
                    r.seq.got = m; // closed early: the rest is counted as lost
                    continue;
                }
                Ok(n) => n,
                Err(e) if crate::server::is_timeout(&e) => continue,
                Err(e) => {
                    seen.error(|| why(&e));
                    r.seq.got = m;
                    continue;
                }
            };
            let before = seen.delivered;
            let now_us = epoch.elapsed().as_micros() as u64;
            // Scanned where it was read; only a line left unfinished is copied aside.
            let newly_synced = if r.partial.is_empty() {
                let (used, newly) = take_lines(&buf[..n], &mut r.seq, &mut seen, now_us);
                r.partial.extend_from_slice(&buf[used..n]);
                newly
            } else {
                r.partial.extend_from_slice(&buf[..n]);
                let (used, newly) = take_lines(&r.partial, &mut r.seq, &mut seen, now_us);
                r.partial.drain(..used);
                newly
            };
            if newly_synced {
                synced.fetch_add(1, Relaxed);
            }
            progress::add(seen.delivered - before);
            if r.partial.len() > MAX_LINE {
                seen.error(|| format!("a line longer than {MAX_LINE} bytes"));
                r.partial.clear();
            }
            seen.last = Some(Instant::now());
        }
    }
    (seen, group)
}

/// `chat-slow`: the fan-out without, then with, `o.stalled` clients that never read; reports
/// the second run, with how much later its last line arrived than the first's.
pub fn slow(o: &BenchOptions) -> io::Result<Report> {
    // Each receiver reads on its own thread, as a real client would: a thread reading many
    // sockets in turn could itself fall behind and be dropped, which is not what is measured.
    let o = &BenchOptions {
        threads: if o.threads == 0 { o.conns } else { o.threads },
        ..o.clone()
    };
    let base = run(&BenchOptions {
        stalled: 0,
        ..o.clone()
    })?;
    if base.failure.is_some() {
        return Ok(base);
    }
    let mut with = run(o)?;
    with.errors += base.errors;
    with.notes.push(format!(
        "last line after {:.3} s without the {} non-readers, {:.3} s with them: delay {:+.3} s",
        base.seconds,
        o.stalled,
        with.seconds,
        with.seconds - base.seconds
    ));
    Ok(with)
}
