//! Delays between reconnection attempts: capped exponential backoff with full jitter (each
//! delay uniform between zero and a ceiling that doubles up to a cap), drawn from a small
//! xorshift generator seeded per thread, so nodes that lost Redis together do not return in
//! step.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::time::{Duration, SystemTime};

/// Capped exponential backoff with full jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    /// Doublings of `base` so far (stops growing once the cap is reached).
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// Delays of at most `base`, then `2 * base`, `4 * base`, ... up to `cap`; seeded from the
    /// clock, the thread and the process's hash keys.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        let mut h = RandomState::new().build_hasher();
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .hash(&mut h);
        std::thread::current().id().hash(&mut h);
        Backoff::with_seed(base, cap, h.finish())
    }

    /// As [`Backoff::new`] with a fixed seed, for repeatable tests.
    pub fn with_seed(base: Duration, cap: Duration, seed: u64) -> Backoff {
        Backoff {
            base,
            cap: cap.max(base),
            attempt: 0,
            // xorshift never leaves zero.
            rng: seed | 1,
        }
    }

    /// The bound of the next delay: `base * 2^attempt`, at most the cap.
    pub fn ceiling(&self) -> Duration {
        self.base
            .checked_mul(1u32.checked_shl(self.attempt).unwrap_or(u32::MAX))
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The next delay, uniform in `[0, ceiling]`; the ceiling then doubles (up to the cap).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Duration {
        let ceiling = self.ceiling();
        if ceiling < self.cap {
            self.attempt += 1;
        }
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.random() % nanos.saturating_add(1))
    }

    /// Back to the first delay, after a connection succeeded.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(5);

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let mut b = Backoff::with_seed(BASE, CAP, 7);
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            ceilings.push(b.ceiling().as_millis());
            b.next();
        }
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]
        );
        // Thousands of failures later it still holds at the cap without overflowing.
        for _ in 0..10_000 {
            assert!(b.next() <= CAP);
        }
        assert_eq!(b.ceiling(), CAP);
    }

    #[test]
    fn every_delay_is_within_its_ceiling_and_they_spread() {
        let mut b = Backoff::new(BASE, CAP);
        for _ in 0..1000 {
            let ceiling = b.ceiling();
            assert!(b.next() <= ceiling);
            b.reset();
        }
        // At the cap, delays cover the range rather than repeat one value.
        let mut b = Backoff::with_seed(BASE, CAP, 42);
        for _ in 0..10 {
            b.next();
        }
        let delays: Vec<Duration> = (0..200).map(|_| b.next()).collect();
        assert!(delays.iter().any(|d| *d < CAP / 4));
        assert!(delays.iter().any(|d| *d > CAP * 3 / 4));
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::with_seed(BASE, CAP, 3);
        for _ in 0..5 {
            b.next();
        }
        assert_eq!(b.ceiling(), BASE * 32);
        b.reset();
        assert_eq!(b.ceiling(), BASE);
        assert!(b.next() <= BASE);
    }

    #[test]
    fn two_generators_differ() {
        let a: Vec<Duration> = {
            let mut b = Backoff::new(CAP, CAP);
            (0..8).map(|_| b.next()).collect()
        };
        let b: Vec<Duration> = {
            let mut b = Backoff::new(CAP, CAP);
            (0..8).map(|_| b.next()).collect()
        };
        assert_ne!(a, b);
    }

    #[test]
    fn a_cap_below_the_base_is_the_base() {
        let mut b = Backoff::with_seed(BASE, Duration::ZERO, 1);
        assert_eq!(b.ceiling(), BASE);
        assert!(b.next() <= BASE);
    }
}
