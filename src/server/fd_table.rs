//! Grows the process's file descriptor table once, at start, so that no `accept` waits for it.
//!
//! Linux keeps a process's descriptors in a table that doubles (64, 128, 256, …) when a new
//! descriptor does not fit. In a process with more than one thread each doubling waits for an
//! RCU grace period (`expand_fdtable` calls `synchronize_rcu`), and the `accept` that needed the
//! slot sleeps with it: measured here at 8.7 ms, at the 256th and the 512th connection. A burst
//! of clients fills std's listen queue of 128 in less time than that, and every client the
//! kernel then drops waits a second to send its SYN again. Holding enough descriptors for the
//! connection limit once, before the first client and the first thread, makes each doubling
//! cheap and leaves the table at its full size (it never shrinks).

use std::fs::File;
use std::os::fd::AsRawFd;

/// Descriptors never taken by [`grow`]: room for everything else the process opens meanwhile.
pub const SPARE: usize = 64;

/// Grows the table to hold descriptor numbers up to `want` (at most `nofile - SPARE`, the soft
/// `RLIMIT_NOFILE` minus a margin), by opening `/dev/null` and duplicating it until a
/// descriptor that high exists, then closing them all. Returns the highest descriptor number
/// reached (0 if none could be opened). Costs about one `fcntl` and one `close` per descriptor.
pub fn grow(want: usize, nofile: Option<u64>) -> usize {
    let cap = nofile.map_or(usize::MAX, |n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_sub(SPARE)
    });
    let target = want.min(cap);
    let Ok(first) = File::open("/dev/null") else {
        return 0;
    };
    let mut highest = fd_number(&first);
    let mut held = vec![first];
    while highest < target {
        match held[0].try_clone() {
            Ok(f) => {
                highest = highest.max(fd_number(&f));
                held.push(f);
            }
            Err(_) => break,
        }
    }
    highest
}

fn fd_number(f: &File) -> usize {
    usize::try_from(f.as_raw_fd()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_the_wanted_descriptor_and_closes_them_all() {
        // Within the soft limit of this process, whatever it is.
        let nofile = crate::server::OsLimits::read().nofile;
        let want = nofile.map_or(300, |n| (n as usize).saturating_sub(SPARE).min(300));
        let highest = grow(want, nofile);
        assert!(highest >= want, "reached {highest}, wanted {want}");
        // Everything was closed again: the next descriptor is far below the highest.
        let f = File::open("/dev/null").expect("open");
        assert!(fd_number(&f) < highest, "next descriptor {}", fd_number(&f));
    }

    #[test]
    fn stops_below_the_open_files_limit() {
        // With a soft limit of SPARE + 100 the loop stops near descriptor 100, not 10,000.
        let highest = grow(10_000, Some(SPARE as u64 + 100));
        assert!((100..1_000).contains(&highest), "reached {highest}");
    }

    #[test]
    fn a_target_already_reached_opens_one_descriptor() {
        assert!(grow(0, None) > 0);
    }
}
