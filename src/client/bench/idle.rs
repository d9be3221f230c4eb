//! Idle connections: open N, prove each is served with a one-byte round trip, hold them, and
//! read the server's memory, threads and context switches while they are held.

use super::echo::{connect_all, Connected};
use super::{not_an_echo, procfs, progress, BenchOptions, Report};
use crate::net::Addr;
use crate::out::why;
use std::io::{self, Read, Write};
use std::thread;

/// Opens and verifies the connections, holds them for `--hold`, and reports.
pub fn run(o: &BenchOptions) -> io::Result<Report> {
    let before = o.pid.and_then(procfs::read);
    let (mut conns, failed, first) = connect_counted(&o.addr, o.conns);
    if conns.is_empty() {
        return Ok(super::echo::no_connections(failed, first));
    }
    let mut first_error = first;
    let mut not_echo: Option<Vec<u8>> = None;
    let mut ok = vec![true; conns.len()];
    for (i, c) in conns.iter_mut().enumerate() {
        if let Err(e) = c.write_all(b".") {
            ok[i] = false;
            first_error.get_or_insert_with(|| why(&e));
        }
    }
    let mut got = [0u8; 64];
    for (i, c) in conns.iter_mut().enumerate() {
        if !ok[i] {
            continue;
        }
        // One byte was sent, so at most one byte comes back from an echo server; whatever
        // else the server sends first shows what it speaks.
        match c.read(&mut got) {
            Ok(1) if got[0] == b'.' => {}
            Ok(0) => {
                ok[i] = false;
                first_error.get_or_insert_with(|| "the server closed the connection".into());
            }
            Ok(n) => {
                ok[i] = false;
                not_echo.get_or_insert_with(|| got[..n].to_vec());
            }
            Err(e) => {
                ok[i] = false;
                first_error.get_or_insert_with(|| why(&e));
            }
        }
    }
    let verified = ok.iter().filter(|&&v| v).count() as u64;
    let at_start = o.pid.and_then(procfs::read);
    if verified > 0 && not_echo.is_none() {
        thread::sleep(o.hold);
    }
    let held = o.pid.and_then(procfs::read);
    let mut report = Report {
        ops: verified,
        seconds: o.hold.as_secs_f64(),
        connect_failures: failed,
        errors: conns.len() as u64 - verified,
        server: held,
        failure: not_echo.as_deref().map(not_an_echo),
        first_error,
        ..Report::default()
    };
    if let (Some(b), Some(h)) = (before, held) {
        if let (Some(rb), Some(rh)) = (b.rss_kb, h.rss_kb) {
            let per = (rh.saturating_sub(rb)) as f64 * 1024.0 / verified.max(1) as f64;
            report.notes.push(format!(
                "server rss {rb} KiB before, {rh} KiB holding {verified}: {per:.0} B per connection"
            ));
        }
    }
    if let (Some(s), Some(h)) = (at_start, held) {
        report.notes.push(format!(
            "server context switches while held: {} voluntary, {} involuntary",
            h.voluntary.saturating_sub(s.voluntary),
            h.involuntary.saturating_sub(s.involuntary)
        ));
    }
    drop(conns);
    Ok(report)
}

/// [`connect_all`] a hundred at a time, each hundred counted for the progress line.
fn connect_counted(addr: &Addr, n: usize) -> Connected {
    let mut all: Connected = (Vec::with_capacity(n), 0, None);
    let mut left = n;
    while left > 0 {
        let k = left.min(100);
        let (conns, failed, first) = connect_all(addr, k);
        progress::add(conns.len() as u64);
        all.0.extend(conns);
        all.1 += failed;
        if all.2.is_none() {
            all.2 = first;
        }
        left -= k;
    }
    all
}
