//! The chat receivers' line scanner: finds each line of `<seq> <send time µs> <pad>` in what a
//! receiver read, checks its sequence and records its latency (the Socket.IO fan-out shares the
//! sequence check and the tally, [`Seen`]). It is the load generator's inner loop (one call per line delivered), so it looks
//! for newlines a word at a time and reads the two numbers digit by digit: a slower scanner
//! would bound the rate measured, not the server.

use super::{Histogram, Report};
use std::time::Instant;

/// What one reader thread saw.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) delivered: u64,
    pub(super) lost: u64,
    pub(super) errors: u64,
    pub(super) hist: Histogram,
    /// When the thread last read anything.
    pub(super) last: Option<Instant>,
    /// What the first error was.
    pub(super) first_error: Option<String>,
}

impl Seen {
    /// Counts an error, keeping the first one's reason.
    pub(super) fn error(&mut self, why: impl FnOnce() -> String) {
        self.errors += 1;
        self.first_error.get_or_insert_with(why);
    }

    /// Adds what one reader thread saw to `report`, moves `last` on to its last read, and
    /// returns how many it counted as lost.
    pub(super) fn add_to(self, report: &mut Report, last: &mut Instant) -> u64 {
        report.ops += self.delivered;
        report.errors += self.errors;
        if let Some(e) = self.first_error {
            report.note_error(|| e);
        }
        report.latency.merge(&self.hist);
        if let Some(t) = self.last {
            *last = (*last).max(t);
        }
        self.lost
    }
}

/// Where one receiver's sequence stands (a chat's lines, a Socket.IO room's messages).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Sequence {
    /// It has seen a `sync` line.
    pub(super) synced: bool,
    /// The sequence number expected next.
    pub(super) next_seq: u64,
    /// Lines counted (delivered or lost) so far.
    pub(super) got: u64,
}

impl Sequence {
    /// Message `seq` arrived: how many were lost before it, or `None` if it is a duplicate or
    /// came out of order (an error; the sequence stays where it was).
    pub(super) fn arrive(&mut self, seq: u64) -> Option<u64> {
        let lost = seq.checked_sub(self.next_seq)?;
        // A number past any run (a corrupt line) is out of order, not a wrap to 0.
        self.next_seq = seq.checked_add(1)?;
        self.got = self.next_seq;
        Some(lost)
    }
}

/// Takes every whole line of `data`, returns how many bytes they used (the rest is a partial
/// line). `newly_synced` is true if a `sync` line was this receiver's first.
pub(super) fn take_lines(
    data: &[u8],
    seq_state: &mut Sequence,
    seen: &mut Seen,
    now_us: u64,
) -> (usize, bool) {
    let mut consumed = 0;
    let mut newly_synced = false;
    while let Some(pos) = find_newline(&data[consumed..]) {
        let line = &data[consumed..consumed + pos];
        consumed += pos + 1;
        // The seed's chat forwards each received chunk once as `-> ` + chunk, so a chunk of
        // several lines arrives with the prefix on its first line only.
        let (body, prefixed) = match line.strip_prefix(b"-> ") {
            Some(body) => (body, true),
            None => (line, false),
        };
        if body.starts_with(b"sync") {
            if !seq_state.synced {
                seq_state.synced = true;
                newly_synced = true;
            }
            continue;
        }
        let parsed = leading_number(body).and_then(|(seq, rest)| {
            let (ts, _) = leading_number(rest)?;
            Some((seq, ts))
        });
        let Some((seq, ts)) = parsed else {
            if prefixed {
                seen.error(|| {
                    let shown = &line[..line.len().min(40)];
                    format!("a relayed line is not `<seq> <time> ...`: {shown:?}")
                });
            }
            continue; // unprefixed: a notice or anything else the server adds
        };
        let Some(lost) = seq_state.arrive(seq) else {
            let expected = seq_state.next_seq;
            seen.error(|| {
                format!("line {seq} came when {expected} was due (a duplicate or out of order)")
            });
            continue;
        };
        seen.lost += lost;
        seen.delivered += 1;
        seen.hist.record(now_us.saturating_sub(ts));
    }
    (consumed, newly_synced)
}

/// Appends the line `<seq> <ts> <pad>\n`, the sender's side of the format [`take_lines`]
/// reads: digits written by hand, as `write!` costs more than the rest of a short line.
pub(super) fn push_line(out: &mut Vec<u8>, seq: u64, ts: u64, pad: &[u8]) {
    push_decimal(out, seq);
    out.push(b' ');
    push_decimal(out, ts);
    out.push(b' ');
    out.extend_from_slice(pad);
    out.push(b'\n');
}

fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The decimal number that starts `s`, ended by a space or the end of `s`, and what follows
/// the space. `None` if `s` does not start with one (or it has more than [`MAX_DIGITS`]).
fn leading_number(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut n: u64 = 0;
    let mut digits = 0;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // Past MAX_DIGITS the sum may wrap; it is thrown away below.
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        digits += 1;
    }
    if digits == 0 || digits > MAX_DIGITS {
        return None;
    }
    match s.get(digits) {
        None => Some((n, &[])),
        Some(b' ') => Some((n, &s[digits + 1..])),
        Some(_) => None,
    }
}

/// Most digits a number may have: any 19 fit in a `u64`, so they are summed unchecked.
const MAX_DIGITS: usize = 19;

/// The index of the first `\n` in `s`, eight bytes at a time.
fn find_newline(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let x = word ^ NEWLINES;
        // A byte of `x` is zero where `word` has a newline; the lowest such byte is exact.
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_newline_agrees_with_a_plain_search_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                // Bytes one off from a newline must not count as one.
                s.iter_mut().step_by(3).for_each(|b| *b = b'\n' + 1);
                s.iter_mut().skip(1).step_by(5).for_each(|b| *b = b'\n' - 1);
                s.iter_mut().skip(2).step_by(7).for_each(|b| *b = 0x8a);
                if at < len {
                    s[at] = b'\n';
                    s.iter_mut()
                        .skip(at + 1)
                        .step_by(2)
                        .for_each(|b| *b = b'\n');
                }
                let plain = s.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&s), plain, "len {len} at {at}: {s:?}");
            }
        }
    }

    #[test]
    fn pushed_lines_are_formatted_as_write_does_and_read_back() {
        let most = 9_999_999_999_999_999_999; // MAX_DIGITS nines
        for (seq, ts) in [(0, 0), (7, 10), (99, 100), (123_456, most), (u64::MAX, 1)] {
            let mut out = Vec::new();
            push_line(&mut out, seq, ts, b"xx");
            assert_eq!(out, format!("{seq} {ts} xx\n").into_bytes());
            if seq == u64::MAX {
                continue; // twenty digits: written, but more than a reader takes
            }
            let body = &out[..out.len() - 1];
            let (got_seq, rest) = leading_number(body).unwrap();
            assert_eq!(
                (got_seq, leading_number(rest).map(|(n, _)| n)),
                (seq, Some(ts))
            );
        }
    }

    #[test]
    fn leading_numbers() {
        assert_eq!(leading_number(b"12 34 x"), Some((12, &b"34 x"[..])));
        assert_eq!(leading_number(b"7"), Some((7, &b""[..])));
        assert_eq!(leading_number(b"7 "), Some((7, &b""[..])));
        assert_eq!(leading_number(b" 7"), None);
        assert_eq!(leading_number(b""), None);
        assert_eq!(leading_number(b"1a 2"), None);
        assert_eq!(leading_number(b"99999999999999999999999 1"), None);
        let most = "9".repeat(MAX_DIGITS);
        let n: u64 = most.parse().unwrap();
        assert_eq!(leading_number(most.as_bytes()), Some((n, &b""[..])));
        assert_eq!(leading_number(format!("{most}9 1").as_bytes()), None);
    }

    fn scan(data: &[u8], state: &mut Sequence, seen: &mut Seen) -> (usize, bool) {
        take_lines(data, state, seen, 1_000)
    }

    #[test]
    fn lines_with_and_without_the_prefix_count_in_order() {
        let mut state = Sequence::default();
        let mut seen = Seen::default();
        let data = b"-> sync\n-> 0 900 xx\n1 950 xx\n* someone joined\n-> 3 990 x\n-> 4 99";
        let (used, synced) = scan(data, &mut state, &mut seen);
        assert!(synced);
        assert_eq!(used, data.len() - b"-> 4 99".len());
        assert_eq!((seen.delivered, seen.lost, seen.errors), (3, 1, 0));
        assert_eq!(state.next_seq, 4);
        assert_eq!(state.got, 4);
        // A second sync is not new; a duplicate and a malformed prefixed line are errors.
        let (_, synced) = scan(b"-> sync\n-> 2 1 x\n-> x y\n", &mut state, &mut seen);
        assert!(!synced);
        assert_eq!(seen.errors, 2);
        assert!(seen
            .first_error
            .as_deref()
            .unwrap()
            .contains("line 2 came when 4 was due"));
        // The largest number is out of order, not a wrap back to 0.
        scan(
            format!("-> {} 1 x\n", u64::MAX).as_bytes(),
            &mut state,
            &mut seen,
        );
        assert_eq!((seen.errors, state.next_seq), (3, 4));
    }

    #[test]
    fn every_split_point_gives_the_same_count() {
        let data = b"-> sync\n-> 0 900 xx\n1 950 xx\n-> 2 990 x\n";
        let whole = {
            let mut state = Sequence::default();
            let mut seen = Seen::default();
            scan(data, &mut state, &mut seen);
            (state, seen.delivered)
        };
        for split in 0..=data.len() {
            let mut state = Sequence::default();
            let mut seen = Seen::default();
            let (used, _) = scan(&data[..split], &mut state, &mut seen);
            let mut rest = data[used..split].to_vec();
            rest.extend_from_slice(&data[split..]);
            let (used2, _) = scan(&rest, &mut state, &mut seen);
            assert_eq!(used2, rest.len(), "split at {split}");
            assert_eq!((state.clone(), seen.delivered), whole, "split at {split}");
        }
    }
}
