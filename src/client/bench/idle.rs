//! Idle connections: open N, prove each is served with a one-byte round trip, hold them, and
//! read the server's memory, threads and context switches while they are held.

use super::echo::connect_all;
use super::{procfs, BenchOptions, Report};
use std::io::{self, Read, Write};
use std::thread;

/// Opens and verifies the connections, holds them for `--hold`, and reports.
pub fn run(o: &BenchOptions) -> io::Result<Report> {
    let before = o.pid.and_then(procfs::read);
    let (mut conns, failed) = connect_all(o.addr, o.conns);
    let mut ok = vec![true; conns.len()];
    for (i, c) in conns.iter_mut().enumerate() {
        ok[i] = c.write_all(b".").is_ok();
    }
    let mut byte = [0u8; 1];
    for (i, c) in conns.iter_mut().enumerate() {
        if ok[i] {
            ok[i] = c.read_exact(&mut byte).is_ok() && byte == *b".";
        }
    }
    let verified = ok.iter().filter(|&&v| v).count() as u64;
    let at_start = o.pid.and_then(procfs::read);
    thread::sleep(o.hold);
    let held = o.pid.and_then(procfs::read);
    let mut report = Report {
        ops: verified,
        seconds: o.hold.as_secs_f64(),
        connect_failures: failed,
        errors: conns.len() as u64 - verified,
        server: held,
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
