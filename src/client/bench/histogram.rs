//! Latency histogram: log-linear buckets with 512 sub-buckets per power of two (under 0.2%
//! error), fixed memory whatever the number of samples, mergeable across threads.

/// Values below this are kept exactly.
const LINEAR: u64 = 1024;
/// Sub-buckets per power of two above [`LINEAR`].
const SUB: u64 = 512;
/// Powers of two covered above [`LINEAR`]: up to 2^50 µs, far beyond any run.
const OCTAVES: u64 = 40;

/// Counts of microsecond latencies.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram (about 160 KB).
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; (LINEAR + OCTAVES * SUB) as usize],
            total: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < LINEAR {
            return v as usize;
        }
        let octave = u64::from(63 - v.leading_zeros()) - 10; // 2^(10+octave) <= v
        let sub = (v >> (octave + 1)) - SUB; // top bits below the leading one
        ((LINEAR + octave * SUB + sub) as usize).min((LINEAR + OCTAVES * SUB - 1) as usize)
    }

    /// The smallest value that falls in bucket `i` (what percentiles report).
    fn lower_bound(i: usize) -> u64 {
        let i = i as u64;
        if i < LINEAR {
            return i;
        }
        let octave = (i - LINEAR) / SUB;
        let sub = (i - LINEAR) % SUB;
        (SUB + sub) << (octave + 1)
    }

    /// Adds one sample in microseconds.
    pub fn record(&mut self, micros: u64) {
        self.counts[Self::index(micros)] += 1;
        self.total += 1;
        self.max = self.max.max(micros);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Largest sample (exact).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0.0 to 1.0): the smallest recorded bucket value such that at
    /// least `q` of the samples are at or below it. 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::lower_bound(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_1024() {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record(v);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.9), 900);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.quantile(0.999), 999);
        assert_eq!(h.quantile(1.0), 1000);
        assert_eq!(h.max(), 1000);
    }

    #[test]
    fn large_values_within_a_fifth_of_a_percent() {
        let mut h = Histogram::new();
        // A known distribution: 90% at 2 ms, 9% at 20 ms, 1% at 1 s.
        for _ in 0..900 {
            h.record(2_000);
        }
        for _ in 0..90 {
            h.record(20_000);
        }
        for _ in 0..10 {
            h.record(1_000_000);
        }
        let near = |got: u64, want: u64| got <= want && got * 1000 >= want * 998;
        assert!(near(h.quantile(0.5), 2_000), "{}", h.quantile(0.5));
        assert!(near(h.quantile(0.9), 2_000));
        assert!(near(h.quantile(0.95), 20_000), "{}", h.quantile(0.95));
        assert!(near(h.quantile(0.99), 20_000));
        assert!(near(h.quantile(0.999), 1_000_000), "{}", h.quantile(0.999));
        assert_eq!(h.max(), 1_000_000);
    }

    #[test]
    fn buckets_are_monotonic_and_bounds_contain_values() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            1023,
            1024,
            1025,
            2047,
            2048,
            4095,
            4096,
            1 << 20,
            (1 << 20) + 7,
            1 << 45,
        ] {
            let i = Histogram::index(v);
            assert!(i >= last, "{v}");
            last = i;
            assert!(Histogram::lower_bound(i) <= v, "{v}");
        }
    }

    #[test]
    fn merge_and_empty() {
        let mut a = Histogram::new();
        assert_eq!(a.quantile(0.5), 0);
        let mut b = Histogram::new();
        a.record(10);
        b.record(30);
        b.record(20);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(0.5), 20);
        assert_eq!(a.max(), 30);
    }
}
