//! `sio-fanout`: the chat fan-out over Socket.IO, against the chat app (`serve --only
//! socketio`). N receivers and one sender `join` the room `bench` (acked); after a sync phase
//! (every receiver has seen the text `sync`), the sender emits M `message` events with the text
//! `<seq> <send time µs> <pad>`. Receivers, swept by a few threads over non-blocking sockets,
//! take `message` events of room `bench`, check the sequence (gaps are lost messages) and
//! record delivery latency from the timestamp, answering pings on the way.

use super::chat_lines::{Seen, Sequence};
use super::echo::{no_connections, IO_TIMEOUT};
use super::sio::{connect_all, groups};
use super::{load_threads, procfs, progress, BenchOptions, Report};
use crate::client::sio::{protocol, SioClient};
use crate::codec::json::Value;
use crate::codec::socketio::PacketType;
use crate::out::why;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The room every client joins.
pub const ROOM: &str = "bench";
/// The sync phase gives up after this long.
const SYNC_LIMIT: Duration = Duration::from_secs(10);

struct Receiver {
    client: SioClient,
    seq: Sequence,
}

/// Joins `c` to [`ROOM`], waiting for the ack; an ack `{"error":..}` is a refusal.
fn join(c: &mut SioClient) -> io::Result<()> {
    c.emit("join", vec![Value::from(ROOM)], Some(1))?;
    let args = c.wait_ack(1).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            protocol(format!(
                "the server does not acknowledge 'join' (no ack within {IO_TIMEOUT:?}): not the chat app"
            ))
        } else {
            e
        }
    })?;
    match args
        .first()
        .and_then(|a| a.get("error"))
        .and_then(Value::as_str)
    {
        Some(e) => Err(protocol(format!("join {ROOM} refused: {e}"))),
        None => Ok(()),
    }
}

/// The text of a chat `message` event of room [`ROOM`].
fn message_text(data: &Option<Value>) -> Option<&str> {
    let items = data.as_ref()?.as_array()?;
    if items.first()?.as_str()? != "message" {
        return None;
    }
    let body = items.get(1)?;
    if body.get("room")?.as_str()? != ROOM {
        return None;
    }
    body.get("text")?.as_str()
}

/// Runs the fan-out; `--duration` bounds how long delivery may take after sending starts.
pub fn run(o: &BenchOptions) -> io::Result<Report> {
    let threads = load_threads(o.threads, o.conns);
    let (mut clients, failed, first) = connect_all(super::sio::ip(o)?, o.conns, threads);
    if clients.is_empty() {
        return Ok(no_connections(failed, first));
    }
    let at = match &o.sender {
        Some(other) => other.ip().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "--sender-addr: need IP:PORT")
        })?,
        None => super::sio::ip(o)?,
    };
    let mut sender = SioClient::connect(at, None, IO_TIMEOUT)?;
    join(&mut sender)?;
    // Joins in lock-step: all emitted, then each ack awaited (events before it are skipped).
    let mut refused = None;
    let mut join_errors = 0;
    for c in &clients {
        c.emit("join", vec![Value::from(ROOM)], Some(1))?;
    }
    clients.retain_mut(|c| match c.wait_ack(1) {
        Ok(args) if args.first().and_then(|a| a.get("error")).is_none() => true,
        Ok(args) => {
            join_errors += 1;
            refused.get_or_insert_with(|| Value::Array(args).to_json());
            false
        }
        Err(e) => {
            join_errors += 1;
            refused.get_or_insert_with(|| why(&e));
            false
        }
    });
    if clients.is_empty() {
        return Ok(Report {
            connect_failures: failed,
            failure: Some(format!(
                "no receiver could join {ROOM}: {}",
                refused.unwrap_or_default()
            )),
            ..Report::default()
        });
    }
    // The sender's own traffic is read and dropped (pings answered) on its own thread.
    let writer = sender.writer();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_d = Arc::clone(&stop);
    let drain = thread::spawn(move || {
        let _ = sender.set_read_timeout(Some(Duration::from_millis(100)));
        while !stop_d.load(Relaxed) {
            let alive = (|| {
                sender.fill()?;
                while sender.buffered()?.is_some() {}
                Ok::<_, io::Error>(())
            })();
            if alive.is_err() {
                break;
            }
        }
        sender
    });
    let n = clients.len();
    let m = o.messages as u64;
    let epoch = Instant::now();
    let synced = Arc::new(AtomicUsize::new(0));
    let deadline = Arc::new(Mutex::new(epoch + SYNC_LIMIT + o.duration));
    let readers: Vec<_> = groups(clients, threads)
        .into_iter()
        .map(|group| {
            let group = group
                .into_iter()
                .map(|client| Receiver {
                    client,
                    seq: Sequence::default(),
                })
                .collect();
            let (synced, deadline) = (Arc::clone(&synced), Arc::clone(&deadline));
            thread::spawn(move || read_group(group, m, epoch, &synced, &deadline))
        })
        .collect();
    let set_deadline = |t: Instant| *deadline.lock().unwrap_or_else(|e| e.into_inner()) = t;
    let sync_start = Instant::now();
    while synced.load(Relaxed) < n && sync_start.elapsed() < SYNC_LIMIT {
        writer.emit("message", vec![Value::from("sync")], None)?;
        let wait = Instant::now();
        while synced.load(Relaxed) < n && wait.elapsed() < Duration::from_millis(50) {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let all_synced = synced.load(Relaxed);
    let t0 = Instant::now();
    if all_synced == 0 {
        set_deadline(t0);
    } else {
        set_deadline(t0 + o.duration);
        let pad = "x".repeat(o.size.saturating_sub(24).max(1));
        for seq in 0..m {
            let ts = epoch.elapsed().as_micros() as u64;
            writer.emit(
                "message",
                vec![Value::from(format!("{seq} {ts} {pad}"))],
                None,
            )?;
        }
    }
    let mut report = Report {
        connect_failures: failed,
        first_error: first,
        errors: join_errors,
        ..Report::default()
    };
    let mut last = t0;
    let mut lost = 0;
    let mut still_open = Vec::new();
    for r in readers {
        let Ok((seen, group)) = r.join() else {
            continue;
        };
        still_open.push(group);
        lost += seen.add_to(&mut report, &mut last);
    }
    report.server = o.pid.and_then(procfs::read);
    stop.store(true, Relaxed);
    let _ = drain.join();
    drop(still_open);
    if all_synced == 0 {
        report.failure = Some(format!(
            "the server does not relay 'message' to room {ROOM} (no receiver saw the text 'sync' within {SYNC_LIMIT:?})"
        ));
        return Ok(report);
    }
    let expected = n as u64 * m;
    lost += expected.saturating_sub(report.ops + lost);
    report.errors += lost;
    report.seconds = last.duration_since(t0).as_secs_f64();
    report.bytes = report.ops * (o.size as u64);
    report.notes.push(format!(
        "{n} receivers in room {ROOM} ({all_synced} synced), {m} messages sent, {} delivered of {expected}, {lost} lost; {threads} reader thread(s)",
        report.ops
    ));
    Ok(report)
}

fn read_group(
    mut group: Vec<Receiver>,
    m: u64,
    epoch: Instant,
    synced: &AtomicUsize,
    deadline: &Mutex<Instant>,
) -> (Seen, Vec<Receiver>) {
    let mut seen = Seen::default();
    group.retain(|r| r.client.set_nonblocking(true).is_ok());
    loop {
        let end = *deadline.lock().unwrap_or_else(|e| e.into_inner());
        if Instant::now() >= end || group.iter().all(|r| r.seq.got >= m) {
            break;
        }
        let mut idle = true;
        let before = seen.delivered;
        for r in group.iter_mut().filter(|r| r.seq.got < m) {
            match receive(r, m, epoch, synced, &mut seen) {
                Ok(true) => idle = false,
                Ok(false) => {}
                Err(e) => {
                    seen.error(|| why(&e));
                    r.seq.got = m; // closed early: the rest is counted as lost
                }
            }
        }
        progress::add(seen.delivered - before);
        if idle {
            thread::sleep(Duration::from_micros(500));
        }
    }
    (seen, group)
}

/// Takes what one receiver has; `Ok(true)` if anything arrived.
fn receive(
    r: &mut Receiver,
    m: u64,
    epoch: Instant,
    synced: &AtomicUsize,
    seen: &mut Seen,
) -> io::Result<bool> {
    let mut any = false;
    while r.seq.got < m && r.client.fill()? {
        any = true;
        let now_us = epoch.elapsed().as_micros() as u64;
        while let Some(p) = r.client.buffered()? {
            if p.kind != PacketType::Event {
                continue;
            }
            let Some(text) = message_text(&p.data) else {
                continue; // joined, left, notices
            };
            if text == "sync" {
                if !r.seq.synced {
                    r.seq.synced = true;
                    synced.fetch_add(1, Relaxed);
                }
                continue;
            }
            let mut fields = text.split(' ').map(|f| f.parse::<u64>().ok());
            let (Some(Some(seq)), Some(Some(ts))) = (fields.next(), fields.next()) else {
                seen.errors += 1;
                continue;
            };
            let Some(lost) = r.seq.arrive(seq) else {
                seen.errors += 1; // duplicate or out of order
                continue;
            };
            seen.lost += lost;
            seen.delivered += 1;
            seen.hist.record(now_us.saturating_sub(ts));
        }
        seen.last = Some(Instant::now());
    }
    Ok(any)
}
