//! Splits a byte stream into lines (LF or CRLF) with a length cap; pure, no I/O.

/// One unit of input: a complete line (without its ending) or notice that one was too long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line's bytes, without `\n` or `\r\n`.
    Text(&'a [u8]),
    /// A line passed the cap; its bytes up to the next newline are being discarded.
    TooLong,
}

/// Accumulates input and yields lines; never holds more than `max` bytes of a partial line.
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
        while let Some(pos) = input.iter().position(|&b| b == b'\n') {
            let (segment, rest) = (&input[..pos], &input[pos + 1..]);
            input = rest;
            if self.discarding {
                self.discarding = false;
                continue;
            }
            if self.partial.is_empty() {
                self.emit_line(segment, &mut emit);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(segment);
                self.emit_line(&line, &mut emit);
                line.clear();
                self.partial = line;
            }
        }
        if self.discarding {
            return;
        }
        if self.partial.len() + input.len() > self.max + 1 {
            // +1: a trailing '\r' of a CRLF split across reads is not part of the line.
            self.partial.clear();
            self.discarding = true;
            emit(Line::TooLong);
        } else {
            self.partial.extend_from_slice(input);
        }
    }

    /// At end of input: a final line without a newline is still a line.
    pub fn finish(&mut self, mut emit: impl FnMut(Line<'_>)) {
        if !self.discarding && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit_line(&line, &mut emit);
        }
    }

    fn emit_line(&self, line: &[u8], emit: &mut impl FnMut(Line<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max {
            emit(Line::TooLong);
        } else {
            emit(Line::Text(line));
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
        }
        s.finish(&mut collect);
        out
    }

    #[test]
    fn lf_and_crlf() {
        assert_eq!(split(100, &[b"a\nb\r\nc"]), ["a", "b", "c"]);
    }

    #[test]
    fn lines_split_across_reads() {
        assert_eq!(
            split(100, &[b"hel", b"lo\r", b"\nwor", b"ld\n"]),
            ["hello", "world"]
        );
    }

    #[test]
    fn empty_lines_are_reported_as_empty() {
        assert_eq!(split(100, &[b"\n\r\nx\n"]), ["", "", "x"]);
    }

    #[test]
    fn too_long_line_is_dropped_and_the_next_is_read() {
        let long = vec![b'x'; 50];
        assert_eq!(split(10, &[&long, b"\nok\n"]), ["<too long>", "ok"]);
        assert_eq!(
            split(10, &[&long[..20], &long[..20], b"\nok\n"]),
            ["<too long>", "ok"]
        );
        // Within one read too.
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
            assert!(s.partial.len() <= 9);
        }
    }

    #[test]
    fn invalid_utf8_passes_through_as_bytes() {
        let mut s = LineSplitter::new(10);
        let mut got = Vec::new();
        s.push(b"\xff\xfe\n", |l| {
            if let Line::Text(t) = l {
                got.push(t.to_vec())
            }
        });
        assert_eq!(got, [b"\xff\xfe".to_vec()]);
    }
}
