//! The blocking-vs-event-driven comparison, one command:
//!
//! ```sh
//! cargo run --release --example compare -- --quick            # about 6 minutes on 2 cores
//! cargo run --release --example compare -- --out examples/compare/results   # refresh the README's figures
//! ```
//!
//! It builds threadsock and the Rust comparators (tokio echo, UDP echo and batched chat,
//! socketioxide, threadsock's Socket.IO conformance app), installs the Node socket.io app's
//! packages if missing, and runs every scenario of [`plan`] against every server of its group,
//! in rounds (A B C, A B C), each time a fresh server pinned to CPU 0 with `threadsock bench`
//! pinned to CPU 1 (where the machine has two CPUs and `taskset`). It writes `results.csv`
//! (one row per run, `threadsock bench --csv` columns), `bench.log`, `results.md` (per group,
//! each cell's median over the rounds with its min–max, and ratios of medians) and four
//! charts, and prints the tables. A missing Node is reported in its columns, not as a failure.

mod charts;
mod plan;
mod progress;
mod report;
mod runner;
mod servers;
mod svg;

use plan::{Group, Run};
use report::{human, Results, ABSENT};
use runner::Place;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const USAGE: &str = "usage: compare [--quick] [--out DIR] [--rounds N] \
[--only threadsock,tokio,node,socketioxide] [--groups tcp,unix,chat,socketio]";

struct Options {
    quick: bool,
    out: PathBuf,
    rounds: usize,
    /// Targets to run: a target runs if its name, or its name up to the first `-`, is listed.
    only: Option<Vec<String>>,
    groups: Vec<Group>,
}

impl Options {
    fn runs_target(&self, target: &str) -> bool {
        let base = target.split('-').next().unwrap_or(target);
        self.only
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == target || x == base))
    }
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        out: PathBuf::from("target/compare"),
        rounds: 2,
        only: None,
        groups: Group::ALL.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--quick" => o.quick = true,
            "--out" => o.out = PathBuf::from(value()?),
            "--rounds" => {
                o.rounds = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or("--rounds needs a number of at least 1")?
            }
            "--only" => o.only = Some(value()?.split(',').map(String::from).collect()),
            "--groups" => {
                let list = value()?;
                o.groups = Group::ALL
                    .into_iter()
                    .filter(|g| list.split(',').any(|x| x == g.name()))
                    .collect();
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// Builds the release binaries the comparison starts.
fn build(root: &Path) -> bool {
    eprintln!("building threadsock and the Rust comparators (release)...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "--bin", "threadsock"]);
    for example in [
        "tokio_echo",
        "tokio_udp_echo",
        "tokio_chat_batched",
        "socketioxide_chat",
        "socketioxide_idle",
        "socketio_conformance",
        "socketio_idle",
    ] {
        cmd.args(["--example", example]);
    }
    cmd.status().is_ok_and(|s| s.success())
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let exe = std::env::current_exe().expect("own path");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/release")
        .to_path_buf();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if !build(&root) {
        eprintln!("build failed");
        std::process::exit(1);
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let node = match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("node not found".to_string()),
    };
    let node_socketio = servers::node_socketio(&root, &node);
    let env = servers::Env {
        release,
        root,
        pin: cpus >= 2 && Command::new("taskset").arg("-V").output().is_ok(),
        node,
        node_socketio,
    };
    fs::create_dir_all(&o.out).expect("output directory");
    let _ = fs::remove_file(o.out.join("results.csv"));
    let _ = fs::remove_file(o.out.join("bench.log"));
    let runs: Vec<Run> = plan::plan(o.quick)
        .into_iter()
        .filter(|r| o.groups.contains(&r.group))
        .collect();
    let results = run_all(&env, &o, &runs);
    let mut md = format!(
        "Measured {} with `cargo run --release --example compare{}` on {}; server pinned to \
         CPU 0 and load generator to CPU 1: {}. {} round(s) per scenario, servers alternating \
         within each (A B C, A B C); each cell is the median over the rounds, with the range \
         (min–max) when they differ, and errors summed over the rounds. Ratios are of medians; \
         above 1 favours threadsock, except for memory (idle runs), where lower is better. \
         Took {:.0} s in all, build included.\n\n",
        now(),
        if o.quick { " -- --quick" } else { "" },
        describe(cpus),
        if env.pin {
            "yes"
        } else {
            "no (fewer than 2 CPUs or no taskset)"
        },
        o.rounds,
        started.elapsed().as_secs_f64()
    );
    let targets: Vec<&'static str> = Group::ALL
        .iter()
        .flat_map(|g| g.targets())
        .copied()
        .filter(|t| o.runs_target(t))
        .collect();
    for group in &o.groups {
        let mine: Vec<&'static str> = group
            .targets()
            .iter()
            .copied()
            .filter(|t| o.runs_target(t))
            .collect();
        md.push_str(&report::group_tables(*group, &runs, &results, &mine));
        md.push_str(notes(*group));
        md.push('\n');
    }
    fs::write(o.out.join("results.md"), &md).expect("write results.md");
    let mut written = vec!["results.csv", "results.md", "bench.log"];
    for (name, text) in charts::charts(&runs, &results, &targets) {
        fs::write(o.out.join(name), text).expect("write a chart");
        written.push(name);
    }
    println!("{md}");
    println!("wrote {}: {}", o.out.display(), written.join(", "));
}

/// Every run, round after round, every available target of its group in turn.
fn run_all(env: &servers::Env, o: &Options, runs: &[Run]) -> Results {
    let mut results = Results::new();
    let todo: Vec<(usize, &'static str)> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.group.targets().iter().map(move |&t| (i, t)))
        .filter(|&(_, t)| o.runs_target(t))
        .collect();
    let n = o.rounds
        * todo
            .iter()
            .filter(|&&(i, t)| env.available(t, runs[i].service).is_ok())
            .count();
    let mut k = 0;
    for (i, run) in runs.iter().enumerate() {
        for round in 1..=o.rounds {
            for &(_, target) in todo.iter().filter(|(j, _)| *j == i) {
                let outcome = match env.available(target, run.service) {
                    Err(why) => Err(format!("{ABSENT}{why}")),
                    Ok(()) => {
                        k += 1;
                        let t = Instant::now();
                        let place = Place { k, n, round };
                        let r = servers::start(env, target, run.service).and_then(|mut s| {
                            runner::bench(env, o.quick, &o.out, (run, target, place), &mut s)
                        });
                        eprintln!(
                            "{target:>15} r{round}  {:<32} {:>12}  ({:.1} s)",
                            run.label(),
                            match &r {
                                Ok(row) => row.value(run).map_or("?".into(), human),
                                Err(e) => format!("failed: {e}"),
                            },
                            t.elapsed().as_secs_f64()
                        );
                        r
                    }
                };
                results.entry((i, target)).or_default().push(outcome);
            }
        }
    }
    results
}

/// What each group's table needs said about its servers.
fn notes(group: Group) -> &'static str {
    match group {
        Group::Tcp => {
            "\nServers: `serve --only echo` (threadsock), `examples/tokio_echo.rs` and \
             `tokio_udp_echo.rs`, `examples/node/echo.js` and `udp_echo.js`.\n"
        }
        Group::Unix => {
            "\nBoth columns are `serve --only echo --unix-dir DIR`, loaded over TCP \
             127.0.0.1 and over `unix:DIR/echo.sock`.\n"
        }
        Group::Chat => {
            "\nServers: `serve --only chat` (threadsock), `examples/tokio_chat_batched.rs` \
             (tokio), `examples/node/chat.js` (node: the seed's chat, one write per received \
             chunk, not line-correct) and `examples/node/chat_lines.js` (node-lines: \
             line-correct, one write per chunk's lines). The ratio is against the faster Node \
             variant of each row, named in the last column. Errors are lines lost, malformed \
             or out of order.\n"
        }
        Group::SocketIo => {
            "\nServers: for sio-fanout the chat apps: `serve --only socketio` (threadsock), \
             `examples/node/socketio/chat.js` (node, socket.io 4.8) and \
             `examples/socketioxide_chat.rs`; for sio-ack threadsock runs \
             `examples/socketio_conformance.rs` (pings 25 s / 20 s, as the others), which \
             acks `message-with-ack` and tells nobody of a join, while Node and socketioxide \
             run their chat apps, which ack it too; for sio-connect and sio-idle each runs its \
             idle app (`examples/socketio_idle.rs`, `examples/node/socketio/idle.js`, \
             `examples/socketioxide_idle.rs`: accept, send nothing). Node and socketioxide run with \
             `CHAT_ANNOUNCE=0` throughout (no `joined`/`left` events; N joins would otherwise \
             cost N²/2 events); threadsock's chat app always announces joins, which lengthens \
             its sio-fanout setup but not the measured delivery. Errors in sio-fanout are \
             messages lost or out of order; a message that arrives after a later one counts \
             as an error and the gap it leaves as lost. socketioxide runs each event handler \
             as a task of its own, so it can relay one sender's messages out of order.\n"
        }
    }
}

/// `2 CPUs (AMD EPYC ...), 24 GiB RAM, Linux 6.8.0-...`, from `/proc`; unknown parts as `?`.
pub fn describe(cpus: usize) -> String {
    let model = fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        c.lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|v| v.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
    });
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or("?".into(), |k| k.trim().to_string());
    let model = model.map_or(String::new(), |m| format!(" ({m})"));
    format!("{cpus} CPUs{model}, {mem} RAM, Linux {kernel}")
}

/// Today, `YYYY-MM-DD HH:MM UTC`.
pub fn now() -> String {
    let t = threadsock::codec::rfc3339::format(std::time::SystemTime::now());
    format!("{} {} UTC", &t[..10], t.get(11..16).unwrap_or("?"))
}
