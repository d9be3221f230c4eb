//! The blocking-vs-event-driven comparison, one command:
//!
//! ```sh
//! cargo run --release --example compare -- --quick            # under three minutes on 2 cores
//! cargo run --release --example compare -- --out examples/compare/results   # refresh the README's figures
//! ```
//!
//! It builds threadsock and the tokio variants, then for each target (threadsock, tokio, node)
//! starts a fresh server per scenario, pinned to CPU 0, and runs `threadsock bench` pinned to
//! CPU 1 (where the machine has two CPUs and `taskset`). Every target gets the same scenarios.
//! It writes `results.csv` (one row per run, `threadsock bench --csv` columns), `results.md`
//! (tables with the ratios threadsock/tokio and threadsock/node) and `chart.svg`, and prints
//! the tables. A missing `node` is reported in its column, not as a failure.

mod report;
mod svg;

use report::{chart, human, tables, Results};
use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const TARGETS: [&str; 3] = ["threadsock", "tokio", "node"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    Echo,
    Chat,
    Udp,
}

/// One benchmark run: what to pass to `threadsock bench`.
#[derive(Clone, Debug)]
pub struct Run {
    pub scenario: &'static str,
    family: Family,
    pub conns: usize,
    size: usize,
    inflight: usize,
    messages: usize,
}

impl Run {
    pub fn label(&self) -> String {
        match self.scenario {
            "echo" => format!("echo ping-pong {} B, {} conns", self.size, self.conns),
            "stream" => format!("stream {} KiB, {} conns", self.size / 1024, self.conns),
            "idle" => format!("idle, {} conns", self.conns),
            "chat" => format!("chat fan-out, {} clients", self.conns),
            _ => format!("udp {} B, {} in flight", self.size, self.inflight),
        }
    }

    pub fn metric(&self) -> &'static str {
        match self.scenario {
            "echo" => "round trips/s",
            "stream" => "MB/s",
            "idle" => "server KiB per conn",
            "chat" => "lines/s delivered",
            _ => "datagrams/s",
        }
    }
}

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
}

impl Row {
    pub fn value(&self, run: &Run) -> Option<f64> {
        match run.scenario {
            "stream" => Some(self.mb_per_s),
            "idle" => self.kib_per_conn,
            _ => Some(self.ops_per_s),
        }
    }
}

struct Options {
    quick: bool,
    out: PathBuf,
    targets: Vec<&'static str>,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        out: PathBuf::from("target/compare"),
        targets: TARGETS.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--out" => o.out = PathBuf::from(args.next().ok_or("--out needs a directory")?),
            "--only" => {
                let list = args.next().ok_or("--only needs a list")?;
                o.targets = TARGETS
                    .iter()
                    .copied()
                    .filter(|t| list.split(',').any(|x| x == *t))
                    .collect();
            }
            "-h" | "--help" => {
                return Err(
                    "usage: compare [--quick] [--out DIR] [--only threadsock,tokio,node]".into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn plan(quick: bool) -> Vec<Run> {
    let run = |scenario, family, conns, size| Run {
        scenario,
        family,
        conns,
        size,
        inflight: 1,
        messages: 0,
    };
    let mut runs = Vec::new();
    for conns in [1, 10, 100, 1000, 5000] {
        runs.push(run("echo", Family::Echo, conns, 64));
    }
    for conns in [1, 100] {
        runs.push(run("stream", Family::Echo, conns, 16 * 1024));
    }
    for conns in [1000, 10_000] {
        runs.push(run("idle", Family::Echo, conns, 1));
    }
    let deliveries = if quick { 1_000_000 } else { 3_000_000 };
    for clients in [10, 100, 1000] {
        let mut r = run("chat", Family::Chat, clients, 64);
        r.messages = (deliveries / clients).clamp(1000, 100_000);
        runs.push(r);
    }
    for inflight in [1, 64] {
        let mut r = run("udp", Family::Udp, 1, 64);
        r.inflight = inflight;
        runs.push(r);
    }
    runs
}

/// Paths and pinning, found once.
#[derive(Debug)]
pub struct Env {
    release: PathBuf,
    root: PathBuf,
    pin: bool,
    pub node: bool,
}

impl Env {
    fn pinned(&self, cpu: u32, program: &Path) -> Command {
        if self.pin {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn server(&self, target: &str, family: Family) -> Option<Command> {
        let ts = self.release.join("threadsock");
        let ex = |name: &str| self.release.join("examples").join(name);
        let mut c = match (target, family) {
            ("threadsock", Family::Echo | Family::Udp) => {
                let mut c = self.pinned(0, &ts);
                c.args(["serve", "--only", "echo", "--echo-port", "0"]);
                c.args(["--max-conns", "12000"]);
                c
            }
            ("threadsock", Family::Chat) => {
                let mut c = self.pinned(0, &ts);
                c.args(["serve", "--only", "chat", "--chat-port", "0"]);
                c.args(["--max-conns", "12000"]);
                c
            }
            ("tokio", Family::Echo) => self.pinned(0, &ex("tokio_echo")),
            ("tokio", Family::Chat) => self.pinned(0, &ex("tokio_chat")),
            ("tokio", Family::Udp) => self.pinned(0, &ex("tokio_udp_echo")),
            ("node", _) if self.node => {
                let script = match family {
                    Family::Echo => "echo.js",
                    Family::Chat => "chat.js",
                    Family::Udp => "udp_echo.js",
                };
                let mut c = self.pinned(0, Path::new("node"));
                c.arg(self.root.join("examples/node").join(script));
                c
            }
            _ => return None,
        };
        if target != "threadsock" {
            c.arg("0");
        }
        Some(c)
    }
}

/// A started server: its process and the address for the family.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &Env, target: &str, family: Family) -> Result<Server, String> {
    let mut cmd = env
        .server(target, family)
        .ok_or_else(|| format!("{target}: not available"))?;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{target}: cannot start: {e}"))?;
    let want = match family {
        Family::Echo => "listening echo/tcp ",
        Family::Chat => "listening chat/tcp ",
        Family::Udp => "listening echo/udp ",
    };
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading (and discarding) so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Some(addr) = line.strip_prefix(want) {
            return Ok(Server {
                child,
                addr: addr.trim().to_string(),
            });
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("{target}: no '{want}' line"))
}

fn rss_kb(pid: u32) -> Option<f64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn bench(env: &Env, o: &Options, run: &Run, target: &str, server: &Server) -> Result<Row, String> {
    let (duration, warmup, hold) = if o.quick {
        ("1.5", "0.3", "0.5")
    } else {
        ("5", "1", "3")
    };
    let csv = o.out.join("results.csv");
    let pid = server.child.id();
    let mut cmd = env.pinned(1, &env.release.join("threadsock"));
    cmd.args(["bench", run.scenario, "--addr", &server.addr]);
    cmd.args(["--size", &run.size.to_string(), "--target", target]);
    cmd.args([
        "--pid",
        &pid.to_string(),
        "--csv",
        csv.to_str().unwrap_or("results.csv"),
    ]);
    match run.scenario {
        "chat" => {
            cmd.args(["--clients", &run.conns.to_string()]);
            cmd.args(["--messages", &run.messages.to_string(), "--duration", "30"]);
        }
        "idle" => {
            cmd.args(["--conns", &run.conns.to_string(), "--hold", hold]);
        }
        _ => {
            cmd.args(["--conns", &run.conns.to_string()]);
            cmd.args(["--duration", duration, "--warmup", warmup]);
            cmd.args(["--inflight", &run.inflight.to_string()]);
        }
    }
    let before = rss_kb(pid);
    let out = cmd.output().map_err(|e| format!("bench: {e}"))?;
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(o.out.join("bench.log"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, log.as_bytes()));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = fs::read_to_string(&csv).map_err(|e| e.to_string())?;
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
    };
    if run.scenario == "idle" {
        if let (Some(b), Some(h)) = (before, row.rss_kb) {
            row.kib_per_conn = Some((h - b).max(0.0) / run.conns as f64);
        }
    }
    Ok(row)
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let exe = std::env::current_exe().expect("own path");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/release")
        .to_path_buf();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building threadsock and the tokio variants (release)...");
    let built = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "--bin", "threadsock"])
        .args(["--example", "tokio_echo", "--example", "tokio_chat"])
        .args(["--example", "tokio_udp_echo"])
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("build failed");
        std::process::exit(1);
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let env = Env {
        release,
        root,
        pin: cpus >= 2 && Command::new("taskset").arg("-V").output().is_ok(),
        node: Command::new("node").arg("--version").output().is_ok(),
    };
    fs::create_dir_all(&o.out).expect("output directory");
    let _ = fs::remove_file(o.out.join("results.csv"));
    let _ = fs::remove_file(o.out.join("bench.log"));
    let runs = plan(o.quick);
    let started = Instant::now();
    let mut results: Results = HashMap::new();
    for &target in &o.targets {
        if target == "node" && !env.node {
            eprintln!("node: not found, skipped");
            continue;
        }
        for (i, run) in runs.iter().enumerate() {
            let t = Instant::now();
            let r = start(&env, target, run.family).and_then(|s| bench(&env, &o, run, target, &s));
            eprintln!(
                "{target:>10}  {:<34} {:>12}  ({:.1} s)",
                run.label(),
                match &r {
                    Ok(row) => row.value(run).map_or("?".into(), human),
                    Err(e) => format!("failed: {e}"),
                },
                t.elapsed().as_secs_f64()
            );
            results.insert((i, target), r);
        }
    }
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    let mut md =
        format!(
        "Measured {} with `cargo run --release --example compare{}` on {cpus} CPUs, {mem} RAM; \
         server pinned to CPU 0 and load generator to CPU 1: {}. Took {:.0} s.\n\n",
        rfc3339_date(),
        if o.quick { " -- --quick" } else { "" },
        if env.pin { "yes" } else { "no (fewer than 2 CPUs or no taskset)" },
        started.elapsed().as_secs_f64()
    );
    md.push_str(&tables(&runs, &results, &env));
    fs::write(o.out.join("results.md"), &md).expect("write results.md");
    fs::write(o.out.join("chart.svg"), chart(&runs, &results, &o.targets)).expect("chart");
    println!("{md}");
    println!(
        "wrote {}/results.csv, results.md, chart.svg, bench.log",
        o.out.display()
    );
}

fn rfc3339_date() -> String {
    threadsock::codec::rfc3339::format(std::time::SystemTime::now())[..10].to_string()
}
