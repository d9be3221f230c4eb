//! Lines ending in LF or CRLF, with a length cap: the pure parser ([`parse`]) and a splitter
//! ([`LineSplitter`]) that keeps a partial line between reads and skips the rest of a line that
//! passed the cap. Neither ever holds more than the cap plus two bytes.

/// One unit of input: a complete line (without its ending) or notice that one was too long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line's bytes, without `\n` or `\r\n`.
    Text(&'a [u8]),
    /// A line longer than the cap.
    TooLong,
}

/// The line at the start of the input is longer than the cap and has no end in sight:
/// buffering more cannot help. Skip to after the next `\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// Parses the line at the start of `buf`, of at most `max` bytes without its ending.
///
/// `Ok(Some((used, line)))`: a complete line (or [`Line::TooLong`] for a complete one over
/// `max`) and how many bytes it took, ending included. `Ok(None)`: no line end yet, and fewer
/// than `max + 2` bytes, so more input may complete it. `Err(Overflow)`: `max + 2` bytes or
/// more with no line end among them.
pub fn parse(buf: &[u8], max: usize) -> Result<Option<(usize, Line<'_>)>, Overflow> {
    let window = &buf[..buf.len().min(max.saturating_add(2))];
    match window.iter().position(|&b| b == b'\n') {
        Some(pos) => {
            let line = &buf[..pos];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let item = if line.len() > max {
                Line::TooLong
            } else {
                Line::Text(line)
            };
            Ok(Some((pos + 1, item)))
        }
        None if window.len() < buf.len() || window.len() >= max.saturating_add(2) => Err(Overflow),
        None => Ok(None),
    }
}

/// Accumulates input and yields lines; never holds more than `max + 2` bytes of a partial line.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    max: usize,
    discarding: bool,
}

impl LineSplitter {
    /// A splitter for lines of at most `max` bytes (endings excluded).
    pub fn new(max: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            max,
            discarding: false,
        }
    }

    /// Feeds `input`, calling `emit` for each line it completes and once for each line that
    /// grows past the cap (the rest of that line is dropped, the next line is read normally).
    pub fn push(&mut self, mut input: &[u8], mut emit: impl FnMut(Line<'_>)) {
        loop {
            if self.discarding {
                match input.iter().position(|&b| b == b'\n') {
                    Some(pos) => {
                        input = &input[pos + 1..];
                        self.discarding = false;
                    }
                    None => return,
                }
            }
            if input.is_empty() {
                return;
            }
            if self.partial.is_empty() {
                // The common case: lines parsed straight from the read buffer, no copy.
                match parse(input, self.max) {
                    Ok(Some((used, line))) => {
                        emit(line);
                        input = &input[used..];
                    }
                    Ok(None) => {
                        self.partial.extend_from_slice(input);
                        return;
                    }
                    Err(Overflow) => {
                        emit(Line::TooLong);
                        self.discarding = true;
                    }
                }
                continue;
            }
            // Complete the partial line with input up to its end, within the cap.
            let room = self.max.saturating_add(2) - self.partial.len();
            let end = input.iter().position(|&b| b == b'\n');
            let take = end.map_or(input.len(), |pos| pos + 1);
            if take > room {
                self.partial.clear();
                emit(Line::TooLong);
                self.discarding = true;
                continue;
            }
            self.partial.extend_from_slice(&input[..take]);
            input = &input[take..];
            match parse(&self.partial, self.max) {
                Ok(Some((_, line))) => emit(line),
                Ok(None) => return,
                Err(Overflow) => {
                    emit(Line::TooLong);
                    self.discarding = end.is_none();
                }
            }
            self.partial.clear();
        }
    }

    /// At end of input: a final line without a newline is still a line.
    pub fn finish(&mut self, mut emit: impl FnMut(Line<'_>)) {
        if !self.discarding && !self.partial.is_empty() {
            let mut line = std::mem::take(&mut self.partial);
            line.push(b'\n');
            if let Ok(Some((_, l))) = parse(&line, self.max) {
                emit(l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut collect = |l: Line<'_>| {
            out.push(match l {
                Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                Line::TooLong => "<too long>".into(),
            })
        };
        for c in chunks {
            s.push(c, &mut collect);
            assert!(s.partial.len() <= max + 2);
        }
        s.finish(&mut collect);
        out
    }

    #[test]
    fn parse_contract() {
        assert_eq!(parse(b"", 4), Ok(None));
        assert_eq!(parse(b"ab", 4), Ok(None));
        assert_eq!(parse(b"ab\nc", 4), Ok(Some((3, Line::Text(b"ab")))));
        assert_eq!(parse(b"ab\r\n", 4), Ok(Some((4, Line::Text(b"ab")))));
        assert_eq!(parse(b"abcd\r\n", 4), Ok(Some((6, Line::Text(b"abcd")))));
        assert_eq!(parse(b"abcde\n", 4), Ok(Some((6, Line::TooLong))));
        assert_eq!(parse(b"abcde", 4), Ok(None));
        assert_eq!(parse(b"abcdef", 4), Err(Overflow));
        assert_eq!(parse(b"abcdefgh\n", 4), Err(Overflow));
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let input: &[u8] = b"hello\r\nworld\n\n\xff\xfe bytes\nthis one is far too long\nok\r\nend";
        let whole = split(10, &[input]);
        assert_eq!(
            whole,
            [
                "hello",
                "world",
                "",
                "\u{FFFD}\u{FFFD} bytes",
                "<too long>",
                "ok",
                "end"
            ]
        );
        for i in 0..=input.len() {
            assert_eq!(
                split(10, &[&input[..i], &input[i..]]),
                whole,
                "split at {i}"
            );
            for j in i..=input.len() {
                let three = split(10, &[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(three, whole, "split at {i} and {j}");
            }
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(split(10, &bytes), whole);
    }

    #[test]
    fn parse_needs_more_at_every_prefix_of_a_line() {
        let line = b"twelve bytes\r\n";
        for i in 0..line.len() {
            assert_eq!(parse(&line[..i], 12), Ok(None), "prefix {i}");
        }
        assert_eq!(parse(line, 12), Ok(Some((14, Line::Text(b"twelve bytes")))));
    }

    #[test]
    fn lf_and_crlf() {
        assert_eq!(split(100, &[b"a\nb\r\nc"]), ["a", "b", "c"]);
    }

    #[test]
    fn too_long_line_is_dropped_and_the_next_is_read() {
        let long = vec![b'x'; 50];
        assert_eq!(split(10, &[&long, b"\nok\n"]), ["<too long>", "ok"]);
        assert_eq!(
            split(10, &[&long[..20], &long[..20], b"\nok\n"]),
            ["<too long>", "ok"]
        );
        let mut one = long.clone();
        one.extend_from_slice(b"\nok\n");
        assert_eq!(split(10, &[&one]), ["<too long>", "ok"]);
    }

    #[test]
    fn exactly_max_is_allowed_crlf_included() {
        assert_eq!(split(3, &[b"abc\r\n", b"abcd\n"]), ["abc", "<too long>"]);
        assert_eq!(split(3, &[b"abc\r", b"\n"]), ["abc"]);
    }

    #[test]
    fn partial_line_memory_stays_bounded() {
        let mut s = LineSplitter::new(8);
        for _ in 0..1000 {
            s.push(b"0123456789", |_| {});
            assert!(s.partial.len() <= 10);
        }
    }

    #[test]
    fn seeded_random_input_never_panics_and_stays_bounded() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut s = LineSplitter::new(16);
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 40) as usize;
            let chunk: Vec<u8> = (0..len)
                .map(|i| match (x >> (i % 60)) % 5 {
                    0 => b'\n',
                    1 => b'\r',
                    _ => (x >> (i % 56)) as u8,
                })
                .collect();
            s.push(&chunk, |l| {
                if let Line::Text(t) = l {
                    assert!(t.len() <= 16);
                }
            });
            assert!(s.partial.len() <= 18);
        }
    }
}
