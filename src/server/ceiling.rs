//! The OS ceiling on threads and sockets, derived at start so that `--max-conns` never exceeds it.
//!
//! A thread-per-connection server that spawns past what the OS allows does not fail gracefully:
//! glibc's `pthread_create` may still succeed while a later allocation or a Rust signal stack
//! mapping fails, and the process aborts with every connection it held. Linux gives each thread
//! about four memory mappings (stack, its guard page, the signal stack and its guard), and
//! `vm.max_map_count` (65,530 by default) caps the whole process, so the practical ceiling is
//! near 16,000 threads. The pid limits and `RLIMIT_NOFILE` (one socket per connection) cap it too.

use std::fs;

/// Mappings a connection thread costs: stack + guard, signal stack + guard.
pub const MAPS_PER_THREAD: u64 = 4;
/// Mappings kept for the rest of the process: binary, libraries, heap arenas, other threads.
pub const RESERVED_MAPS: u64 = 2_000;
/// Threads and file descriptors kept for the rest of the process (accept loops, hubs, files).
pub const RESERVED_THREADS: u64 = 64;

/// The tightest limit found, and which one it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceiling {
    /// How many connections (one thread and one socket each) the process can hold safely.
    pub conns: usize,
    /// Human-readable source, e.g. `vm.max_map_count=65530`.
    pub source: String,
}

/// The raw limits as read from the OS; `None` where a limit is absent or unreadable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsLimits {
    /// `/proc/sys/vm/max_map_count`.
    pub max_map_count: Option<u64>,
    /// `/proc/sys/kernel/threads-max`.
    pub threads_max: Option<u64>,
    /// `/proc/sys/kernel/pid_max`.
    pub pid_max: Option<u64>,
    /// Soft `Max processes` from `/proc/self/limits` (per user; `None` when unlimited).
    pub nproc: Option<u64>,
    /// cgroup v2 `pids.max` minus `pids.current` (`None` when `max`).
    pub cgroup_pids_free: Option<u64>,
    /// Soft `Max open files` from `/proc/self/limits`.
    pub nofile: Option<u64>,
}

impl OsLimits {
    /// Reads the limits of this process from /proc and /sys (Linux); all `None` elsewhere.
    pub fn read() -> Self {
        let num = |path: &str| {
            fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
        };
        let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let cgroup_pids_free = match (
            num("/sys/fs/cgroup/pids.max"),
            num("/sys/fs/cgroup/pids.current"),
        ) {
            (Some(max), Some(cur)) => Some(max.saturating_sub(cur)),
            (Some(max), None) => Some(max),
            _ => None,
        };
        OsLimits {
            max_map_count: num("/proc/sys/vm/max_map_count"),
            threads_max: num("/proc/sys/kernel/threads-max"),
            pid_max: num("/proc/sys/kernel/pid_max"),
            nproc: soft_limit(&limits, "Max processes"),
            cgroup_pids_free,
            nofile: soft_limit(&limits, "Max open files"),
        }
    }

    /// The safe number of concurrent connections these limits allow, or `None` if nothing limits it.
    pub fn ceiling(&self) -> Option<Ceiling> {
        let candidates = [
            self.max_map_count.map(|m| {
                (
                    m.saturating_sub(RESERVED_MAPS) / MAPS_PER_THREAD,
                    format!("vm.max_map_count={m}"),
                )
            }),
            self.threads_max
                .map(|t| (t / 2, format!("kernel.threads-max={t}"))),
            self.pid_max.map(|p| {
                (
                    p.saturating_sub(RESERVED_THREADS) / 2,
                    format!("kernel.pid_max={p}"),
                )
            }),
            self.nproc.map(|n| (n, format!("RLIMIT_NPROC={n}"))),
            self.cgroup_pids_free
                .map(|p| (p, format!("cgroup pids free={p}"))),
            self.nofile.map(|n| (n, format!("RLIMIT_NOFILE={n}"))),
        ];
        candidates
            .into_iter()
            .flatten()
            .map(|(n, source)| (n.saturating_sub(RESERVED_THREADS), source))
            .min_by_key(|(n, _)| *n)
            .map(|(n, source)| Ceiling {
                conns: usize::try_from(n).unwrap_or(usize::MAX).max(1),
                source,
            })
    }
}

/// Reads the soft column of one row of a `/proc/<pid>/limits` table; `None` for `unlimited`.
fn soft_limit(table: &str, row: &str) -> Option<u64> {
    let line = table.lines().find(|l| l.starts_with(row))?;
    line[row.len()..].split_whitespace().next()?.parse().ok()
}

/// Caps a requested `--max-conns` at the ceiling, for connections that each need
/// `threads_per_conn` threads; returns the value to use and, when it was lowered, why.
pub fn cap_max_conns(
    requested: usize,
    ceiling: Option<&Ceiling>,
    threads_per_conn: usize,
) -> (usize, Option<String>) {
    let Some(c) = ceiling else {
        return (requested, None);
    };
    let safe = (c.conns / threads_per_conn.max(1)).max(1);
    if requested <= safe {
        return (requested, None);
    }
    let per = if threads_per_conn > 1 {
        format!(", {threads_per_conn} threads per connection")
    } else {
        String::new()
    };
    (
        safe,
        Some(format!(
            "--max-conns {requested} lowered to {safe} (the OS ceiling here: {}{per})",
            c.source
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units
Max processes             96365                96365                processes
Max open files            20000                1048576              files
";

    #[test]
    fn reads_soft_limits() {
        assert_eq!(soft_limit(LIMITS, "Max processes"), Some(96_365));
        assert_eq!(soft_limit(LIMITS, "Max open files"), Some(20_000));
        let unlimited =
            "Max processes             unlimited            unlimited            processes";
        assert_eq!(soft_limit(unlimited, "Max processes"), None);
    }

    #[test]
    fn map_count_dominates_on_default_linux() {
        let limits = OsLimits {
            max_map_count: Some(65_530),
            threads_max: Some(192_730),
            pid_max: Some(4_194_304),
            nproc: Some(96_365),
            cgroup_pids_free: None,
            nofile: Some(1_048_576),
        };
        let c = limits.ceiling().unwrap();
        assert_eq!(c.conns, (65_530 - 2_000) / 4 - 64);
        assert_eq!(c.source, "vm.max_map_count=65530");
    }

    #[test]
    fn open_files_can_be_tightest() {
        let limits = OsLimits {
            max_map_count: Some(65_530),
            nofile: Some(1_024),
            ..OsLimits::default()
        };
        assert_eq!(limits.ceiling().unwrap().conns, 960);
    }

    #[test]
    fn nothing_known_means_no_ceiling() {
        assert_eq!(OsLimits::default().ceiling(), None);
    }

    #[test]
    fn caps_only_when_above() {
        let c = Ceiling {
            conns: 100,
            source: "x".into(),
        };
        assert_eq!(cap_max_conns(50, Some(&c), 1), (50, None));
        let (n, msg) = cap_max_conns(4096, Some(&c), 1);
        assert_eq!(n, 100);
        assert!(msg.unwrap().contains("lowered to 100"));
        assert_eq!(cap_max_conns(4096, None, 1), (4096, None));
        let (n, msg) = cap_max_conns(4096, Some(&c), 2);
        assert_eq!(n, 50);
        assert!(msg.unwrap().contains("2 threads per connection"));
    }
}
