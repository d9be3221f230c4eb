//! Per-service counters, process figures from /proc, and the `--stats` line built from them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

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

/// A figure a service adds to the stats line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A level, printed as `name=value`.
    Gauge(&'static str, u64),
    /// A running total, printed as a per-second rate `name_ps=value`.
    Rate(&'static str, u64),
}

/// Everything the stats line is computed from, taken at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSample {
    /// Per-endpoint counters.
    pub services: Vec<ServiceSnapshot>,
    /// Service-specific figures.
    pub metrics: Vec<Metric>,
    /// When it was taken.
    pub at: std::time::Instant,
}

/// The figures of the `--stats` line as name and value, from two samples: `conns`, `threads`,
/// `rss_kb`, `in_Bps`, `out_Bps`, `<service>_conns` (TCP connections now, per service), each
/// gauge by its name and each rate as `<name>_ps`. Absent process figures are left out.
pub fn figures(
    before: &StatsSample,
    now: &StatsSample,
    process: ProcessFigures,
) -> Vec<(String, u64)> {
    let secs = now
        .at
        .saturating_duration_since(before.at)
        .as_secs_f64()
        .max(1e-3);
    let per_sec = |then: u64, now: u64| (now.saturating_sub(then) as f64 / secs).round() as u64;
    let sum = |snaps: &[ServiceSnapshot], f: fn(&ServiceSnapshot) -> u64| -> u64 {
        snaps.iter().map(f).sum()
    };
    let rate =
        |f: fn(&ServiceSnapshot) -> u64| per_sec(sum(&before.services, f), sum(&now.services, f));
    let conns: usize = now.services.iter().map(|s| s.current).sum();
    let mut out = vec![("conns".to_string(), conns as u64)];
    out.extend(process.threads.map(|t| ("threads".to_string(), t)));
    out.extend(process.rss_kb.map(|r| ("rss_kb".to_string(), r)));
    out.push(("in_Bps".into(), rate(|s| s.bytes_in)));
    out.push(("out_Bps".into(), rate(|s| s.bytes_out)));
    for s in now.services.iter().filter(|s| s.proto == "tcp") {
        out.push((format!("{}_conns", s.service), s.current as u64));
    }
    for m in &now.metrics {
        match *m {
            Metric::Gauge(name, v) => out.push((name.to_string(), v)),
            Metric::Rate(name, total) => {
                let then = before
                    .metrics
                    .iter()
                    .find_map(|b| match *b {
                        Metric::Rate(n, t) if n == name => Some(t),
                        _ => None,
                    })
                    .unwrap_or(0);
                out.push((format!("{name}_ps"), per_sec(then, total)));
            }
        }
    }
    out
}

/// Builds one `--stats` line from two samples.
///
/// Example: `stats conns=3 threads=9 rss_kb=2964 in_Bps=1200 out_Bps=1200 echo/tcp=2/17 chat_clients=1`
/// where `svc/proto=current/total`, followed by the services' own metrics.
pub fn stats_line(before: &StatsSample, now: &StatsSample, process: ProcessFigures) -> String {
    let figures = figures(before, now, process);
    let value = |name: &str| {
        figures
            .iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| "?".to_string(), |(_, v)| v.to_string())
    };
    let mut line = format!("stats conns={}", value("conns"));
    for name in ["threads", "rss_kb", "in_Bps", "out_Bps"] {
        let _ = write!(line, " {name}={}", value(name));
    }
    for s in &now.services {
        let _ = write!(line, " {}/{}={}/{}", s.service, s.proto, s.current, s.total);
        if s.refused > 0 {
            let _ = write!(line, " refused={}", s.refused);
        }
    }
    // Then the services' own metrics: every figure not written above.
    let per_service: Vec<String> = now
        .services
        .iter()
        .map(|s| format!("{}_conns", s.service))
        .collect();
    for (name, v) in &figures {
        let written = ["conns", "threads", "rss_kb", "in_Bps", "out_Bps"].contains(&name.as_str())
            || per_service.contains(name);
        if !written {
            let _ = write!(line, " {name}={v}");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        let t0 = std::time::Instant::now();
        let before = StatsSample {
            services: vec![zero],
            metrics: vec![
                Metric::Gauge("chat_clients", 0),
                Metric::Rate("chat_lines_in", 100),
            ],
            at: t0,
        };
        let after = StatsSample {
            services: vec![now],
            metrics: vec![
                Metric::Gauge("chat_clients", 1),
                Metric::Rate("chat_lines_in", 300),
            ],
            at: t0 + Duration::from_secs(2),
        };
        let process = ProcessFigures {
            threads: Some(9),
            rss_kb: None,
        };
        assert_eq!(
            stats_line(&before, &after, process),
            "stats conns=2 threads=9 rss_kb=? in_Bps=1200 out_Bps=600 echo/tcp=2/17 \
             chat_clients=1 chat_lines_in_ps=100"
        );
    }
}
