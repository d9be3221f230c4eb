//! Socket.IO scenarios over the minimal client of [`crate::client::sio`]: `sio-ack` (emit with
//! ack round trips in lock-step, like `echo`), `sio-idle` (connected WebSocket clients held,
//! answering pings, like `idle`) and `sio-connect` (sessions opened through the polling
//! handshake and the upgrade, then closed, as fast as the server takes them).

use super::echo::{no_connections, IO_TIMEOUT};
use super::{load_threads, procfs, progress, BenchOptions, Histogram, Report};
use crate::client::sio::{event_packet, SioClient};
use crate::codec::json::Value;
use crate::out::why;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often held clients are swept for pings.
const SWEEP: Duration = Duration::from_millis(20);

/// Clients opened by [`connect_all`], how many attempts failed, and why the first did.
pub type Connected = (Vec<SioClient>, u64, Option<String>);

/// Opens `n` Socket.IO clients over WebSocket (CONNECT to `/` answered), from `threads`
/// threads at once.
pub fn connect_all(addr: SocketAddr, n: usize, threads: usize) -> Connected {
    let threads = threads.clamp(1, n.max(1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let count = n / threads + usize::from(t < n % threads);
            thread::spawn(move || {
                let mut out: Connected = (Vec::with_capacity(count), 0, None);
                for _ in 0..count {
                    match SioClient::connect(addr, None, IO_TIMEOUT) {
                        Ok(c) => out.0.push(c),
                        Err(e) => {
                            out.1 += 1;
                            out.2.get_or_insert_with(|| why(&e));
                        }
                    }
                }
                out
            })
        })
        .collect();
    let mut all: Connected = (Vec::with_capacity(n), 0, None);
    for w in workers {
        if let Ok((c, f, e)) = w.join() {
            all.0.extend(c);
            all.1 += f;
            if all.2.is_none() {
                all.2 = e;
            }
        }
    }
    all
}

/// Splits `items` into `k` groups, round-robin.
pub fn groups<T>(items: Vec<T>, k: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..k.max(1)).map(|_| Vec::new()).collect();
    let k = out.len();
    for (i, item) in items.into_iter().enumerate() {
        out[i % k].push(item);
    }
    out
}

/// What one thread of a scenario did.
#[derive(Default)]
struct Done {
    ops: u64,
    errors: u64,
    hist: Histogram,
    pings: u64,
    first_error: Option<String>,
    /// Clients that could not be connected, and why the first could not.
    connect_failures: u64,
    connect_error: Option<String>,
    /// Clients connected.
    connected: usize,
    /// The event was never acknowledged: the server does not handle it.
    unacked: bool,
    clients: Vec<SioClient>,
}

/// `sio-ack`: every client emits `--event` with a `--size` string and waits for its ack;
/// latency is from the emit to the ack.
pub fn ack(o: &BenchOptions) -> io::Result<Report> {
    let threads = load_threads(o.threads, o.conns);
    let (clients, failed, first) = connect_all(ip(o)?, o.conns, threads);
    if clients.is_empty() {
        return Ok(no_connections(failed, first));
    }
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let payload = "x".repeat(o.size.max(1));
    let workers: Vec<_> = groups(clients, threads)
        .into_iter()
        .map(|group| {
            let (event, payload) = (o.event.clone(), payload.clone());
            thread::spawn(move || ack_lock_step(group, &event, &payload, measure_from, end))
        })
        .collect();
    let mut report = Report {
        connect_failures: failed,
        first_error: first,
        ..Report::default()
    };
    let mut unacked = false;
    let mut still_open = Vec::new();
    for w in workers {
        let done = w.join().unwrap_or_default();
        report.ops += done.ops;
        report.errors += done.errors;
        report.latency.merge(&done.hist);
        unacked |= done.unacked;
        if let Some(e) = done.first_error {
            report.note_error(|| e);
        }
        still_open.push(done.clients);
    }
    // Read while the clients are still connected (see `echo::ping_pong`).
    report.server = o.pid.and_then(procfs::read);
    drop(still_open);
    if report.ops == 0 && unacked {
        report.failure = Some(format!(
            "the server does not acknowledge '{}' (no ack within {IO_TIMEOUT:?}; choose another with --event)",
            o.event
        ));
    }
    report.seconds = o.duration.as_secs_f64();
    report.bytes = report.ops * payload.len() as u64;
    report.notes.push(format!(
        "event '{}' with ack over WebSocket; {threads} load thread(s), lock-step",
        o.event
    ));
    Ok(report)
}

fn ack_lock_step(
    mut clients: Vec<SioClient>,
    event: &str,
    payload: &str,
    measure_from: Instant,
    end: Instant,
) -> Done {
    let mut d = Done::default();
    let mut id = 0u64;
    let mut sent_at = vec![Instant::now(); clients.len()];
    while Instant::now() < end && !clients.is_empty() {
        id += 1;
        let mut failed = vec![false; clients.len()];
        let mut acked = 0;
        // Every client sends the same packet in a round: encoded once.
        let packet = event_packet(event, vec![Value::from(payload)], Some(id));
        for (i, c) in clients.iter().enumerate() {
            sent_at[i] = Instant::now();
            if let Err(e) = c.send_eio(&packet) {
                failed[i] = true;
                d.first_error.get_or_insert_with(|| why(&e));
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            if failed[i] {
                continue;
            }
            if let Err(e) = c.wait_ack(id) {
                failed[i] = true;
                d.unacked |= e.kind() == io::ErrorKind::TimedOut;
                d.first_error.get_or_insert_with(|| why(&e));
                continue;
            }
            acked += 1;
            let now = Instant::now();
            super::echo::count_in_window(
                &mut d.ops,
                &mut d.hist,
                sent_at[i],
                now,
                (measure_from, end),
            );
        }
        progress::add(acked);
        // A client that failed once leaves the rotation: it counts one error.
        d.errors += super::echo::drop_failed(&mut clients, &failed);
    }
    d.clients = clients;
    d
}

/// Reads whatever each client has, answering pings; drops (and counts) clients that failed.
fn sweep(clients: &mut Vec<SioClient>, d: &mut Done) {
    clients.retain_mut(|c| {
        let ok = (|| {
            while c.fill()? {
                while c.buffered()?.is_some() {}
            }
            while c.buffered()?.is_some() {}
            Ok::<_, io::Error>(())
        })();
        if let Err(e) = ok {
            d.errors += 1;
            d.first_error.get_or_insert_with(|| why(&e));
            return false;
        }
        true
    });
}

/// `sio-idle`: opens the clients, holds them for `--hold` answering pings, and reports the
/// server's memory and threads while they are held.
pub fn idle(o: &BenchOptions) -> io::Result<Report> {
    let before = o.pid.and_then(procfs::read);
    let threads = load_threads(o.threads, o.conns);
    // Each thread connects its share and keeps answering the pings of those already
    // connected, so a setup longer than the ping timeout loses no client; the hold starts
    // once every thread is done connecting.
    let ready = Arc::new(AtomicUsize::new(0));
    let end: Arc<Mutex<Option<Instant>>> = Arc::default();
    let addr = ip(o)?;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let count = o.conns / threads + usize::from(t < o.conns % threads);
            let (ready, end) = (Arc::clone(&ready), Arc::clone(&end));
            thread::spawn(move || {
                let mut d = Done::default();
                let mut group = Vec::with_capacity(count);
                let mut swept = Instant::now();
                for _ in 0..count {
                    match SioClient::connect(addr, None, IO_TIMEOUT) {
                        Ok(c) if c.set_nonblocking(true).is_ok() => {
                            progress::add(1);
                            group.push(c);
                        }
                        Ok(_) => d.connect_failures += 1,
                        Err(e) => {
                            d.connect_failures += 1;
                            d.connect_error.get_or_insert_with(|| why(&e));
                        }
                    }
                    if swept.elapsed() >= Duration::from_secs(1) {
                        sweep(&mut group, &mut d);
                        swept = Instant::now();
                    }
                }
                d.connected = group.len();
                ready.fetch_add(1, Relaxed);
                loop {
                    let until = *end.lock().unwrap_or_else(|e| e.into_inner());
                    if until.is_some_and(|u| Instant::now() >= u) || group.is_empty() {
                        break;
                    }
                    sweep(&mut group, &mut d);
                    thread::sleep(SWEEP);
                }
                sweep(&mut group, &mut d);
                d.pings = group.iter().map(|c| c.pings).sum();
                d.ops = group.len() as u64;
                d.clients = group;
                d
            })
        })
        .collect();
    while ready.load(Relaxed) < threads {
        thread::sleep(Duration::from_millis(5));
    }
    let at_start = o.pid.and_then(procfs::read);
    *end.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + o.hold);
    let mut report = Report {
        seconds: o.hold.as_secs_f64(),
        ..Report::default()
    };
    let mut connected = 0;
    let mut connect_error = None;
    let mut pings = 0;
    let mut held = Vec::new();
    for w in workers {
        let d = w.join().unwrap_or_default();
        report.ops += d.ops;
        report.errors += d.errors;
        report.connect_failures += d.connect_failures;
        connected += d.connected;
        pings += d.pings;
        if connect_error.is_none() {
            connect_error = d.connect_error;
        }
        if let Some(e) = d.first_error {
            report.note_error(|| e);
        }
        held.push(d.clients);
    }
    if connected == 0 {
        return Ok(no_connections(report.connect_failures, connect_error));
    }
    if let Some(e) = connect_error {
        report.note_error(|| e);
    }
    let server = o.pid.and_then(procfs::read);
    report.server = server;
    report.notes.push(format!(
        "{connected} Socket.IO clients connected over WebSocket, {} still connected after the hold; {pings} pings answered",
        report.ops
    ));
    if let (Some(b), Some(h)) = (before, server) {
        if let (Some(rb), Some(rh)) = (b.rss_kb, h.rss_kb) {
            let per = rh.saturating_sub(rb) as f64 * 1024.0 / report.ops.max(1) as f64;
            report.notes.push(format!(
                "server rss {rb} KiB before, {rh} KiB holding {}: {per:.0} B per client",
                report.ops
            ));
        }
        if let (Some(tb), Some(th)) = (b.threads, h.threads) {
            report.notes.push(format!(
                "server threads {tb} before, {th} holding: {:.2} per client",
                th.saturating_sub(tb) as f64 / report.ops.max(1) as f64
            ));
        }
    }
    if let (Some(s), Some(h)) = (at_start, server) {
        report.notes.push(format!(
            "server context switches while held: {} voluntary, {} involuntary",
            h.voluntary.saturating_sub(s.voluntary),
            h.involuntary.saturating_sub(s.involuntary)
        ));
    }
    drop(held);
    Ok(report)
}

/// `sio-connect`: `--conns` workers each open a session through the polling handshake, the
/// upgrade and CONNECT, then close it, again and again; latency is from the first connect to
/// the CONNECT answer.
pub fn connect(o: &BenchOptions) -> io::Result<Report> {
    let start = Instant::now();
    let measure_from = start + o.warmup;
    let end = measure_from + o.duration;
    let addr = ip(o)?;
    let workers: Vec<_> = (0..o.conns.max(1))
        .map(|_| {
            thread::spawn(move || {
                let mut d = Done::default();
                let mut attempts = 0u64;
                while Instant::now() < end {
                    let t = Instant::now();
                    attempts += 1;
                    match SioClient::connect_upgrade(addr, IO_TIMEOUT) {
                        Ok(c) => {
                            let now = Instant::now();
                            progress::add(1);
                            c.close();
                            let window = (measure_from, end);
                            super::echo::count_in_window(&mut d.ops, &mut d.hist, t, now, window);
                        }
                        Err(e) => {
                            if t >= measure_from {
                                d.errors += 1;
                            }
                            d.first_error.get_or_insert_with(|| why(&e));
                            // Not a tight loop against a server that refuses.
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                d.pings = attempts;
                d
            })
        })
        .collect();
    thread::sleep(end.saturating_duration_since(Instant::now()) / 2);
    // Mid-run, while sessions come and go.
    let server = o.pid.and_then(procfs::read);
    let mut report = Report {
        seconds: o.duration.as_secs_f64(),
        server,
        ..Report::default()
    };
    let mut attempts = 0;
    for w in workers {
        let d = w.join().unwrap_or_default();
        report.ops += d.ops;
        report.errors += d.errors;
        report.latency.merge(&d.hist);
        attempts += d.pings;
        if let Some(e) = d.first_error {
            report.note_error(|| e);
        }
    }
    report.notes.push(format!(
        "{} worker(s); {attempts} sessions attempted: polling handshake, WebSocket upgrade (2probe/3probe/5), CONNECT, close",
        o.conns.max(1)
    ));
    Ok(report)
}

/// The server's IP address: the Socket.IO scenarios speak HTTP over TCP, not a Unix socket.
pub fn ip(o: &BenchOptions) -> io::Result<std::net::SocketAddr> {
    o.addr.ip().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the Socket.IO scenarios need IP:PORT, not a Unix socket",
        )
    })
}
