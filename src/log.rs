//! Log lines of `serve` on stderr, and a limiter that keeps a flood of one event to one line a second.

use std::time::{Duration, Instant};

/// Writes one log line to stderr, prefixed with `threadsock serve: ` (only the server logs).
pub fn log(args: std::fmt::Arguments<'_>) {
    crate::out::error("serve", args);
}

/// Logs one formatted line to stderr, like `eprintln!` with the `threadsock serve: ` prefix.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => { $crate::log::log(format_args!($($arg)*)) };
}

/// Lets one line through per interval and counts the ones it held back.
#[derive(Debug)]
pub struct RateLimit {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl RateLimit {
    /// A limiter that allows one line per `every`.
    pub const fn new(every: Duration) -> Self {
        RateLimit {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// Returns `Some(n)` when a line may be written now (`n` lines were held back since the last
    /// one), or `None` when this one should be dropped.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.duration_since(t) < self.every => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// What a rate-limited line adds about the lines [`RateLimit::allow`] held back before it:
/// nothing, or ` (N more since the last such line)`.
pub fn held_note(held: u64) -> String {
    if held == 0 {
        String::new()
    } else {
        format!(" ({held} more since the last such line)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval() {
        let mut r = RateLimit::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(r.allow(t0), Some(0));
        assert_eq!(r.allow(t0 + Duration::from_millis(10)), None);
        assert_eq!(r.allow(t0 + Duration::from_millis(20)), None);
        assert_eq!(r.allow(t0 + Duration::from_millis(1_001)), Some(2));
    }
}
