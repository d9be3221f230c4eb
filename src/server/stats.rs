//! Per-service counters, process figures from /proc, and the `--stats` line built from them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Live counters of one service on one transport, shared by its accept loop and connection threads.
#[derive(Debug)]
pub struct ServiceStats {
    /// Service name, e.g. `echo`.
    pub service: &'static str,
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// Connections open right now (TCP only).
    pub current: AtomicUsize,
    /// Connections accepted, or datagrams received, since start.
    pub total: AtomicU64,
    /// Connections refused with `ERR server busy` (limit reached or thread spawn failed).
    pub refused: AtomicU64,
    /// Connections closed by the idle timeout.
    pub idle_closed: AtomicU64,
    /// Datagrams not answered because their source port is privileged (reflection guard).
    pub reflection_dropped: AtomicU64,
    /// Payload bytes received.
    pub bytes_in: AtomicU64,
    /// Payload bytes sent.
    pub bytes_out: AtomicU64,
}

impl ServiceStats {
    pub(crate) fn new(service: &'static str, proto: &'static str) -> Self {
        ServiceStats {
            service,
            proto,
            current: AtomicUsize::new(0),
            total: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            idle_closed: AtomicU64::new(0),
            reflection_dropped: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }

    /// A consistent-enough copy of the counters (each is read once, relaxed).
    pub fn snapshot(&self) -> ServiceSnapshot {
        ServiceSnapshot {
            service: self.service,
            proto: self.proto,
            current: self.current.load(Relaxed),
            total: self.total.load(Relaxed),
            refused: self.refused.load(Relaxed),
            idle_closed: self.idle_closed.load(Relaxed),
            reflection_dropped: self.reflection_dropped.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
        }
    }
}

/// Plain copy of [`ServiceStats`] at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ServiceSnapshot {
    pub service: &'static str,
    pub proto: &'static str,
    pub current: usize,
    pub total: u64,
    pub refused: u64,
    pub idle_closed: u64,
    pub reflection_dropped: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Figures of this process read from `/proc/self/status`; `None` where unavailable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessFigures {
    /// OS threads in the process.
    pub threads: Option<u64>,
    /// Resident set size in KiB.
    pub rss_kb: Option<u64>,
}

impl ProcessFigures {
    /// Reads the current process's figures (Linux); all `None` elsewhere.
    pub fn read() -> Self {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| Self::parse(&s))
            .unwrap_or_default()
    }

    /// Parses the text of a `/proc/<pid>/status` file.
    pub fn parse(status: &str) -> Self {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        };
        ProcessFigures {
            threads: field("Threads:"),
            rss_kb: field("VmRSS:"),
        }
    }
}

/// Builds one `--stats` line from the previous and current snapshots taken `elapsed` apart.
///
/// Example: `stats conns=3 threads=9 rss_kb=2964 in_Bps=1200 out_Bps=1200 echo/tcp=2/17 daytime/tcp=1/4`
/// where `svc/proto=current/total`; `extra` is appended verbatim (services add their own fields).
pub fn stats_line(
    before: &[ServiceSnapshot],
    now: &[ServiceSnapshot],
    elapsed: Duration,
    process: ProcessFigures,
    extra: &str,
) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let sum = |snaps: &[ServiceSnapshot], f: fn(&ServiceSnapshot) -> u64| -> u64 {
        snaps.iter().map(f).sum()
    };
    let rate = |f: fn(&ServiceSnapshot) -> u64| {
        (sum(now, f).saturating_sub(sum(before, f)) as f64 / secs).round() as u64
    };
    let conns: usize = now.iter().map(|s| s.current).sum();
    let mut line = format!("stats conns={conns}");
    let opt = |v: Option<u64>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
    let _ = write!(
        line,
        " threads={} rss_kb={} in_Bps={} out_Bps={}",
        opt(process.threads),
        opt(process.rss_kb),
        rate(|s| s.bytes_in),
        rate(|s| s.bytes_out)
    );
    for s in now {
        let _ = write!(line, " {}/{}={}/{}", s.service, s.proto, s.current, s.total);
        if s.refused > 0 {
            let _ = write!(line, " refused={}", s.refused);
        }
    }
    if !extra.is_empty() {
        line.push(' ');
        line.push_str(extra);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text = "Name:\tthreadsock\nVmRSS:\t    2964 kB\nThreads:\t9\n";
        let p = ProcessFigures::parse(text);
        assert_eq!(p.threads, Some(9));
        assert_eq!(p.rss_kb, Some(2964));
        assert_eq!(ProcessFigures::parse("junk"), ProcessFigures::default());
    }

    #[test]
    fn line_reports_rates_and_counts() {
        let zero = ServiceStats::new("echo", "tcp").snapshot();
        let mut now = zero;
        now.current = 2;
        now.total = 17;
        now.bytes_in = 2400;
        now.bytes_out = 1200;
        let process = ProcessFigures {
            threads: Some(9),
            rss_kb: None,
        };
        let line = stats_line(&[zero], &[now], Duration::from_secs(2), process, "chat=1");
        assert_eq!(
            line,
            "stats conns=2 threads=9 rss_kb=? in_Bps=1200 out_Bps=600 echo/tcp=2/17 chat=1"
        );
    }
}
