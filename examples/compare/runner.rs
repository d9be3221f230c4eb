//! One measurement: `threadsock bench` pinned to CPU 1 against a started server, its summary
//! appended to `bench.log`, its CSV row parsed into a [`Row`], its progress relayed.

use super::plan::Run;
use super::progress;
use super::servers::{Env, Server};
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A parsed CSV row plus what the harness measured itself.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub ops_per_s: f64,
    pub mb_per_s: f64,
    pub p99_us: Option<f64>,
    pub errors: u64,
    pub rss_kb: Option<f64>,
    pub threads: Option<f64>,
    pub kib_per_conn: Option<f64>,
    /// Chat runs: seconds from the first connect until every receiver had joined and seen the
    /// sender's line.
    pub joined_s: Option<f64>,
}

impl Row {
    /// The figure the tables and charts compare.
    pub fn value(&self, run: &Run) -> Option<f64> {
        match run.scenario {
            "stream" => Some(self.mb_per_s),
            _ if run.holds() => self.kib_per_conn,
            _ => Some(self.ops_per_s),
        }
    }
}

/// Per-run times: (measured, warm-up, hold), in seconds as `bench` takes them.
fn times(quick: bool) -> (&'static str, &'static str, &'static str) {
    if quick {
        ("1", "0.3", "0.5")
    } else {
        ("5", "1", "3")
    }
}

/// Where this run stands among all of them, for the progress line.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub k: usize,
    pub n: usize,
    pub round: usize,
}

/// The server's resident set, from `/proc`.
fn rss_kb(pid: u32) -> Option<f64> {
    threadsock::client::bench::procfs::read(pid)?
        .rss_kb
        .map(|kb| kb as f64)
}

/// The `threadsock bench` command for `run` against `server`.
fn command(
    env: &Env,
    quick: bool,
    out: &Path,
    run: &Run,
    target: &str,
    server: &Server,
) -> Command {
    let (duration, warmup, hold) = times(quick);
    let csv = out.join("results.csv");
    let mut cmd = env.pinned(1, &env.release.join("threadsock"));
    cmd.args(["bench", run.scenario, "--addr", &server.addr]);
    cmd.args(["--size", &run.size.to_string(), "--target", target]);
    cmd.arg("--pid").arg(server.pid().to_string());
    cmd.arg("--csv").arg(&csv);
    let n = run.conns.to_string();
    match run.scenario {
        "chat" | "sio-fanout" => {
            cmd.args(["--clients", &n, "--messages", &run.messages.to_string()]);
            cmd.args(["--duration", "30"]);
        }
        "idle" | "sio-idle" => {
            cmd.args(["--conns", &n, "--hold", hold]);
        }
        _ => {
            cmd.args(["--conns", &n, "--duration", duration, "--warmup", warmup]);
            if run.scenario == "udp" {
                cmd.args(["--inflight", &run.inflight.to_string()]);
            }
        }
    }
    cmd
}

/// Longest one `bench` run may take (the longest measures 30 s, and 10,000 connections take a
/// while to open): past it the run is stopped and reported as failed, so a hung run cannot
/// stall the comparison.
const BENCH_LIMIT: Duration = Duration::from_secs(180);

/// Runs `threadsock bench` for `run` against `server`, relaying its progress while it lasts.
pub fn bench(
    env: &Env,
    quick: bool,
    out: &Path,
    (run, target, place): (&Run, &str, Place),
    server: &mut Server,
) -> Result<Row, String> {
    let mut cmd = command(env, quick, out, run, target, server);
    let relay = progress::wanted();
    if relay {
        cmd.env(threadsock::client::bench::progress::FORCE_ENV, "1");
    }
    let before = rss_kb(server.pid());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("bench: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let summary = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let errors: Arc<Mutex<Vec<u8>>> = Arc::default();
    let sink = Arc::clone(&errors);
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut buf) {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    });
    let started = Instant::now();
    let mut drawn = Instant::now() - Duration::from_secs(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > BENCH_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "bench: not finished within {} s, stopped",
                    BENCH_LIMIT.as_secs()
                ));
            }
            Ok(None) => {}
            Err(e) => break Err(format!("bench: {e}")),
        }
        if relay && drawn.elapsed() >= Duration::from_millis(500) {
            drawn = Instant::now();
            let raw = errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let figures = progress::split(&raw)
                .0
                .unwrap_or_else(|| format!("-  {:.1} s", started.elapsed().as_secs_f64()));
            let label = run.label();
            progress::draw(&progress::line(
                place.k,
                place.n,
                place.round,
                target,
                &label,
                &figures,
            ));
        }
        thread::sleep(Duration::from_millis(50));
    };
    if relay {
        progress::clear();
    }
    let log = summary.join().unwrap_or_default();
    let _ = reader.join();
    let status = status?;
    let raw = errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let _ = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("bench.log"))
        .and_then(|mut f| {
            let head = format!("== round {}, {target}: {}\n", place.round, run.label());
            std::io::Write::write_all(&mut f, format!("{head}{log}").as_bytes())
        });
    let crashed = server
        .exited()
        .map(|how| format!("the server exited ({how}) during the run"));
    if !status.success() {
        // `threadsock bench: SCENARIO against ADDR: why`: the why.
        let text = progress::split(&raw).1;
        let prefix = format!("against {}: ", server.addr);
        let why = text
            .split_once(&prefix)
            .map_or(text.as_str(), |(_, w)| w)
            .trim();
        return Err(crashed.map_or(why.to_string(), |c| format!("{c}; bench: {why}")));
    }
    if let Some(c) = crashed {
        return Err(c);
    }
    let mut row = parse_last_row(&out.join("results.csv"), run, before)?;
    row.joined_s = joined_seconds(&log);
    Ok(row)
}

/// From a chat run's summary: `connected and joined in 1.23 s`.
fn joined_seconds(summary: &str) -> Option<f64> {
    summary
        .split_once("connected and joined in ")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The row `bench` just appended; for idle runs, the server's growth per connection from
/// `before` (its RSS before the run).
fn parse_last_row(csv: &Path, run: &Run, before: Option<f64>) -> Result<Row, String> {
    let text = fs::read_to_string(csv).map_err(|e| e.to_string())?;
    let last = text.lines().last().unwrap_or_default();
    let f: Vec<&str> = last.split(',').collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    let mut row = Row {
        ops_per_s: num(6).unwrap_or(0.0),
        mb_per_s: num(7).unwrap_or(0.0),
        p99_us: num(10),
        errors: num(13).unwrap_or(0.0) as u64,
        rss_kb: num(14),
        threads: num(15),
        kib_per_conn: None,
        joined_s: None,
    };
    if run.holds() {
        if let (Some(b), Some(h)) = (before, row.rss_kb) {
            row.kib_per_conn = Some((h - b).max(0.0) / run.conns as f64);
        }
    }
    Ok(row)
}
