//! Figures of another process from /proc: memory, threads, and context switches summed over
//! all its threads.

use crate::server::ProcessFigures;
use std::collections::BTreeMap;
use std::fs;

/// What `--pid` reports about the server under load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerFigures {
    /// Resident set size, KiB.
    pub rss_kb: Option<u64>,
    /// OS threads.
    pub threads: Option<u64>,
    /// Voluntary context switches, all threads (blocking waits).
    pub voluntary: u64,
    /// Involuntary context switches, all threads (preemptions).
    pub involuntary: u64,
}

/// Reads `pid`'s figures; `None` if the process is gone or /proc is unavailable.
pub fn read(pid: u32) -> Option<ServerFigures> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let p = ProcessFigures::parse(&status);
    let mut f = ServerFigures {
        rss_kb: p.rss_kb,
        threads: p.threads,
        ..ServerFigures::default()
    };
    // /proc/PID/status counts the main thread's switches only; sum the tasks.
    if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(s) = fs::read_to_string(task.path().join("status")) {
                let (v, i) = switches(&s);
                f.voluntary += v;
                f.involuntary += i;
            }
        }
    }
    Some(f)
}

/// (voluntary, involuntary) context switches from a status file.
pub fn switches(status: &str) -> (u64, u64) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// Time on CPU (ns) of each live thread of `pid`, by thread id, from
/// `/proc/PID/task/*/schedstat`; `None` if none can be read.
pub fn task_cpu_ns(pid: u32) -> Option<BTreeMap<String, u64>> {
    let mut by_task = BTreeMap::new();
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        if let Ok(s) = fs::read_to_string(task.path().join("schedstat")) {
            by_task.insert(task.file_name().to_string_lossy().into_owned(), run_ns(&s));
        }
    }
    (!by_task.is_empty()).then_some(by_task)
}

/// CPU time (ns) the threads alive at `after` spent since `before`: a thread that started in
/// between counts whole. A thread that ended in between is not counted: its time is gone
/// from /proc with it.
pub fn cpu_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(task, &ns)| ns.saturating_sub(before.get(task).copied().unwrap_or(0)))
        .sum()
}

/// The time on CPU (ns) from a task's `schedstat` line: its first field.
pub fn run_ns(schedstat: &str) -> u64 {
    schedstat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used, in seconds, from /proc/self/stat.
pub fn own_cpu_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_switches() {
        let s = "Name:\tx\nvoluntary_ctxt_switches:\t15\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(switches(s), (15, 3));
        assert_eq!(switches(""), (0, 0));
    }

    #[test]
    fn reads_run_time() {
        assert_eq!(run_ns("659995800 75018283 1537\n"), 659_995_800);
        assert_eq!(run_ns(""), 0);
    }

    #[test]
    fn cpu_between_counts_each_thread_once_and_new_threads_whole() {
        let map = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|&(t, ns)| (t.to_owned(), ns)).collect()
        };
        let before = map(&[("1", 100), ("2", 500), ("3", 900)]);
        // Thread 3 ended (its time is gone), thread 4 started.
        let after = map(&[("1", 150), ("2", 700), ("4", 40)]);
        assert_eq!(cpu_between(&before, &after), 50 + 200 + 40);
        assert!(task_cpu_ns(std::process::id()).is_some());
    }

    #[test]
    fn reads_this_process() {
        let me = read(std::process::id()).unwrap();
        assert!(me.threads.unwrap() >= 1);
        assert!(me.rss_kb.unwrap() > 0);
        assert!(own_cpu_seconds().unwrap() >= 0.0);
    }
}
