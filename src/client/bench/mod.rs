//! `threadsock bench`: a load generator for echo, chat, UDP echo and Socket.IO servers,
//! std-only and blocking like the rest. Few threads drive many connections in lock-step, so the generator
//! is not the thing being measured; where it might be, the summary says so.

mod chat;
mod chat_lines;
mod echo;
pub mod histogram;
mod idle;
pub mod procfs;
pub mod progress;
mod sio;
mod sio_fanout;
mod udp;

use crate::net::Addr;
use histogram::Histogram;
use procfs::ServerFigures;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

/// The CSV header; one row per run follows it.
pub const CSV_HEADER: &str = "scenario,target,conns,size,duration_s,ops,ops_per_s,mb_per_s,\
p50_us,p90_us,p99_us,p999_us,max_us,errors,server_rss_kb,server_threads";

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Closed-loop ping-pong: each connection writes `size` bytes and waits for all of them.
    Echo,
    /// Pipelined echo throughput.
    Stream,
    /// Open connections, verify each, hold them.
    Idle,
    /// Chat fan-out: one sender, many receivers.
    Chat,
    /// Chat fan-out twice, the second time with clients in the room that never read: how much
    /// they delay the others.
    ChatSlow,
    /// UDP echo with a number of datagrams in flight.
    Udp,
    /// Socket.IO emit-with-ack round trips over WebSocket.
    SioAck,
    /// Socket.IO room fan-out: one sender, many receivers (the chat app).
    SioFanout,
    /// Socket.IO clients over WebSocket held, answering pings.
    SioIdle,
    /// Socket.IO sessions through the polling handshake and the upgrade, opened and closed.
    SioConnect,
}

impl Scenario {
    /// Its name on the command line and in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Stream => "stream",
            Scenario::Idle => "idle",
            Scenario::Chat => "chat",
            Scenario::ChatSlow => "chat-slow",
            Scenario::Udp => "udp",
            Scenario::SioAck => "sio-ack",
            Scenario::SioFanout => "sio-fanout",
            Scenario::SioIdle => "sio-idle",
            Scenario::SioConnect => "sio-connect",
        }
    }

    /// Parses a scenario name.
    pub fn parse(name: &str) -> Option<Scenario> {
        [
            Scenario::Echo,
            Scenario::Stream,
            Scenario::Idle,
            Scenario::Chat,
            Scenario::ChatSlow,
            Scenario::Udp,
            Scenario::SioAck,
            Scenario::SioFanout,
            Scenario::SioIdle,
            Scenario::SioConnect,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }

    /// Whether the scenario holds connections rather than timing operations.
    pub fn holds(self) -> bool {
        matches!(self, Scenario::Idle | Scenario::SioIdle)
    }
}

/// Options of `threadsock bench`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Which scenario.
    pub scenario: Scenario,
    /// The server.
    pub addr: Addr,
    /// Connections (echo, stream, idle) or receiving clients (chat).
    pub conns: usize,
    /// Bytes per message, chunk or datagram.
    pub size: usize,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before it.
    pub warmup: Duration,
    /// How long idle connections are held.
    pub hold: Duration,
    /// Lines the chat sender sends.
    pub messages: usize,
    /// Chat clients that join and never read (`chat-slow`).
    pub stalled: usize,
    /// UDP datagrams in flight.
    pub inflight: usize,
    /// The event `sio-ack` emits.
    pub event: String,
    /// Load threads (0: choose).
    pub threads: usize,
    /// Where the chat or sio-fanout sender connects, if not to `addr` (another node).
    pub sender: Option<Addr>,
    /// The server's pid, to report its memory, threads and context switches.
    pub pid: Option<u32>,
    /// Label for the CSV `target` column.
    pub target: String,
    /// Append a CSV row here.
    pub csv: Option<String>,
}

/// The outcome of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Completed operations: round trips, chunks, connections held, lines delivered, datagrams.
    pub ops: u64,
    /// Measured seconds.
    pub seconds: f64,
    /// Payload bytes per operation (for MB/s).
    pub bytes: u64,
    /// Latencies, microseconds.
    pub latency: Histogram,
    /// Connections that could not be opened.
    pub connect_failures: u64,
    /// Errors during the run: failed reads or writes, wrong bytes, early closes, lost lines or
    /// datagrams.
    pub errors: u64,
    /// Scenario-specific lines for the summary.
    pub notes: Vec<String>,
    /// The server's figures at the end (with `--pid`).
    pub server: Option<ServerFigures>,
    /// The generator's own CPU use over the whole run, as a fraction of one core.
    pub own_cpu: Option<f64>,
    /// Why the run is no result whatever the counts say: no connection could be opened, or
    /// the target does not speak the scenario (replies that are not echoes, no chat relay).
    pub failure: Option<String>,
    /// The first error the run met (a refused connection, an early close, a line out of
    /// order): it explains a run in which no operation completed, and a summary with errors.
    pub first_error: Option<String>,
}

impl Report {
    /// Operations per second.
    pub fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-9)
    }

    /// Payload megabytes (10^6) per second.
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.seconds.max(1e-9) / 1e6
    }

    /// `Ok` if the run measured something; else why not, for
    /// `threadsock bench: <scenario> against ADDR: <why>`.
    pub fn verdict(&self) -> Result<(), String> {
        if let Some(f) = &self.failure {
            return Err(f.clone());
        }
        if self.ops == 0 {
            return Err(match &self.first_error {
                Some(e) => format!("no operation completed: {e}"),
                None => "no operation completed".into(),
            });
        }
        Ok(())
    }

    /// Keeps `why` as the first error unless one is already kept.
    pub fn note_error(&mut self, why: impl FnOnce() -> String) {
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }
}

/// The failure of a reply that is not the echo of what was sent.
pub fn not_an_echo(got: &[u8]) -> String {
    const SHOWN: usize = 40;
    let more = if got.len() > SHOWN { "..." } else { "" };
    format!(
        "the server does not echo (got \"{}\"{more})",
        got[..got.len().min(SHOWN)].escape_ascii()
    )
}

/// Runs the scenario and prints the summary; appends to the CSV if asked. A run that measured
/// nothing (no connection, a target that does not speak the scenario, no operation) exits 1
/// with the reason on stderr, and writes no summary and no CSV row. While it runs, a progress
/// line is shown on stderr if that is a terminal ([`progress`]).
pub fn main(opts: &BenchOptions) -> ExitCode {
    let fail = |why: &str| {
        crate::out::error(
            "bench",
            format_args!("{} against {}: {why}", opts.scenario.name(), opts.addr),
        );
        ExitCode::from(1)
    };
    let line = progress::start(
        format!("{} {}", opts.scenario.name(), opts.target),
        progress::unit(opts.scenario),
    );
    let report = run(opts);
    drop(line);
    let report = match report {
        Ok(r) => r,
        Err(e) => return fail(&crate::out::why(&e)),
    };
    if let Err(why) = report.verdict() {
        return fail(&why);
    }
    let printed = crate::out::print(format_args!("{}", summary(opts, &report)));
    if let Some(path) = &opts.csv {
        if let Err(e) = append_csv(path, opts, &report) {
            crate::out::error(
                "bench",
                format_args!("cannot write {path}: {}", crate::out::why(&e)),
            );
            return ExitCode::from(1);
        }
    }
    match printed {
        Err(e) if !crate::out::reader_gone(&e) => {
            crate::out::error(
                "bench",
                format_args!("cannot write to stdout: {}", crate::out::why(&e)),
            );
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Runs one scenario.
pub fn run(opts: &BenchOptions) -> io::Result<Report> {
    let cpu_before = procfs::own_cpu_seconds();
    let wall = std::time::Instant::now();
    let mut report = match opts.scenario {
        Scenario::Echo => echo::ping_pong(opts)?,
        Scenario::Stream => echo::stream(opts)?,
        Scenario::Idle => idle::run(opts)?,
        Scenario::Chat => chat::run(opts)?,
        Scenario::ChatSlow => chat::slow(opts)?,
        Scenario::Udp => udp::run(opts)?,
        Scenario::SioAck => sio::ack(opts)?,
        Scenario::SioFanout => sio_fanout::run(opts)?,
        Scenario::SioIdle => sio::idle(opts)?,
        Scenario::SioConnect => sio::connect(opts)?,
    };
    if report.server.is_none() {
        report.server = opts.pid.and_then(procfs::read);
    }
    // CPU time over the whole run (connecting and warm-up included) against the wall time
    // of the same span, not against the measured seconds alone.
    if let (Some(a), Some(b)) = (cpu_before, procfs::own_cpu_seconds()) {
        report.own_cpu = Some((b - a) / wall.elapsed().as_secs_f64().max(1e-3));
    }
    Ok(report)
}

/// Threads to drive `conns` connections: one per connection up to the CPUs this process may
/// use, never more than 8, unless `--threads` says otherwise.
pub fn load_threads(requested: usize, conns: usize) -> usize {
    if requested > 0 {
        return requested.min(conns.max(1));
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    conns.clamp(1, cpus.clamp(1, 8))
}

/// The human-readable summary.
pub fn summary(opts: &BenchOptions, r: &Report) -> String {
    let mut s = format!(
        "{} {} against {} ({}): {} conns, {} B\n",
        opts.scenario.name(),
        if opts.scenario.holds() { "held" } else { "ran" },
        opts.addr,
        opts.target,
        opts.conns,
        opts.size
    );
    let _ = writeln!(
        s,
        "  ops {}  in {:.2} s  = {:.0} ops/s  {:.2} MB/s",
        r.ops,
        r.seconds,
        r.ops_per_s(),
        r.mb_per_s()
    );
    if r.latency.count() > 0 {
        let h = &r.latency;
        let _ = writeln!(
            s,
            "  latency us  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            h.quantile(0.5),
            h.quantile(0.9),
            h.quantile(0.99),
            h.quantile(0.999),
            h.max()
        );
    }
    let _ = writeln!(
        s,
        "  connection failures {}  errors {}",
        r.connect_failures, r.errors
    );
    if r.connect_failures + r.errors > 0 {
        if let Some(e) = &r.first_error {
            let _ = writeln!(s, "  first error: {e}");
        }
    }
    if let Some(f) = r.server {
        let opt = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
        let _ = writeln!(
            s,
            "  server: rss {} KiB  threads {}  context switches {} voluntary, {} involuntary",
            opt(f.rss_kb),
            opt(f.threads),
            f.voluntary,
            f.involuntary
        );
    }
    for n in &r.notes {
        let _ = writeln!(s, "  {n}");
    }
    if let Some(cpu) = r.own_cpu {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let _ = write!(
            s,
            "  load generator CPU: {:.0}% of its {cpus} CPU(s)",
            cpu * 100.0
        );
        if cpu >= 0.9 * cpus {
            let _ = write!(s, ": it may be the bottleneck");
        }
        s.push('\n');
    }
    s
}

/// One CSV row (no newline), columns as [`CSV_HEADER`]; empty where a field does not apply.
pub fn csv_row(opts: &BenchOptions, r: &Report) -> String {
    let lat = |q: f64| {
        if r.latency.count() == 0 {
            String::new()
        } else {
            r.latency.quantile(q).to_string()
        }
    };
    let max = if r.latency.count() == 0 {
        String::new()
    } else {
        r.latency.max().to_string()
    };
    let (rss, threads) = match r.server {
        Some(f) => (
            f.rss_kb.map(|v| v.to_string()).unwrap_or_default(),
            f.threads.map(|v| v.to_string()).unwrap_or_default(),
        ),
        None => (String::new(), String::new()),
    };
    let size = if opts.scenario.holds() {
        String::new()
    } else {
        opts.size.to_string()
    };
    let (ops_per_s, mb_per_s) = if opts.scenario.holds() {
        (String::new(), String::new())
    } else {
        (
            format!("{:.1}", r.ops_per_s()),
            format!("{:.3}", r.mb_per_s()),
        )
    };
    let target = opts.target.replace([',', '\n'], " ");
    format!(
        "{},{target},{},{size},{:.3},{},{ops_per_s},{mb_per_s},{},{},{},{},{max},{},{rss},{threads}",
        opts.scenario.name(),
        opts.conns,
        r.seconds,
        r.ops,
        lat(0.5),
        lat(0.9),
        lat(0.99),
        lat(0.999),
        r.errors + r.connect_failures
    )
}

/// Appends a row to `path`, writing the header first if the file is new or empty.
pub fn append_csv(path: &str, opts: &BenchOptions, r: &Report) -> io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    let mut text = String::new();
    if f.metadata()?.len() == 0 {
        text.push_str(CSV_HEADER);
        text.push('\n');
    }
    text.push_str(&csv_row(opts, r));
    text.push('\n');
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(scenario: Scenario) -> BenchOptions {
        BenchOptions {
            scenario,
            addr: Addr::Ip("127.0.0.1:7".parse().unwrap()),
            conns: 10,
            size: 64,
            duration: Duration::from_secs(2),
            warmup: Duration::ZERO,
            hold: Duration::from_secs(1),
            messages: 100,
            stalled: 0,
            inflight: 1,
            event: "message-with-ack".into(),
            threads: 0,
            sender: None,
            pid: None,
            target: "threadsock".into(),
            csv: None,
        }
    }

    #[test]
    fn csv_columns_are_exactly_the_documented_ones() {
        assert_eq!(
            CSV_HEADER,
            "scenario,target,conns,size,duration_s,ops,ops_per_s,mb_per_s,p50_us,p90_us,p99_us,p999_us,max_us,errors,server_rss_kb,server_threads"
        );
        let mut r = Report {
            ops: 200,
            seconds: 2.0,
            bytes: 200 * 64,
            errors: 1,
            connect_failures: 2,
            ..Report::default()
        };
        for v in [100, 200, 300, 400] {
            r.latency.record(v);
        }
        r.server = Some(ServerFigures {
            rss_kb: Some(5000),
            threads: Some(12),
            ..ServerFigures::default()
        });
        let row = csv_row(&opts(Scenario::Echo), &r);
        assert_eq!(row.split(',').count(), CSV_HEADER.split(',').count());
        assert_eq!(
            row,
            "echo,threadsock,10,64,2.000,200,100.0,0.006,200,400,400,400,400,3,5000,12"
        );
        // Fields that do not apply are empty.
        let idle = csv_row(&opts(Scenario::Idle), &Report::default());
        assert_eq!(idle, "idle,threadsock,10,,0.000,0,,,,,,,,0,,");
    }

    #[test]
    fn scenario_names_round_trip() {
        for s in [
            "echo",
            "stream",
            "idle",
            "chat",
            "chat-slow",
            "udp",
            "sio-ack",
            "sio-fanout",
            "sio-idle",
            "sio-connect",
        ] {
            assert_eq!(Scenario::parse(s).unwrap().name(), s);
        }
        assert_eq!(Scenario::parse("http"), None);
    }
}
