//! Chunked request bodies (RFC 9112 7.1): [`parse_chunk`] reads one chunk at a time,
//! [`ChunkedDecoder`] collects a whole body across reads.

use super::{line_end, HttpError};

/// Most bytes of a chunk-size line (extensions included) or of one trailer line.
const MAX_LINE: usize = 4096;
/// Most bytes of the trailer section after the last chunk.
const MAX_TRAILERS: usize = 8192;

/// One unit of a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// A chunk's data (never empty).
    Data(&'a [u8]),
    /// The last chunk (`0`), its trailers and the final blank line: the body is complete.
    End,
}

/// Parses the chunk at the start of `buf`: `size[;ext]CRLF data CRLF` (hex size, extensions
/// ignored), or the last chunk `0CRLF`, any trailer lines (ignored) and the final CRLF. Bare LF
/// is accepted for CRLF.
///
/// `Ok(Some((used, chunk)))`: a complete chunk of `used` bytes. `Ok(None)`: more input needed.
/// Errors: [`HttpError::PayloadTooLarge`] as soon as the size's digits exceed `max_chunk`;
/// [`HttpError::BadRequest`] for a missing or bad size, a bad extension, data not followed by
/// CRLF, or a size line or trailers over their limits (4 KiB a line, 8 KiB of trailers).
pub fn parse_chunk(buf: &[u8], max_chunk: usize) -> Result<Option<(usize, Chunk<'_>)>, HttpError> {
    let mut size: u64 = 0;
    let mut i = 0;
    while let Some(d) = buf.get(i).and_then(|&b| (b as char).to_digit(16)) {
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(d)))
            .filter(|&s| s <= max_chunk as u64)
            .ok_or(HttpError::PayloadTooLarge)?;
        i += 1;
        if i > MAX_LINE {
            return Err(HttpError::BadRequest("chunk size line too long"));
        }
    }
    if i == buf.len() {
        return Ok(None);
    }
    if i == 0 {
        return Err(HttpError::BadRequest("bad chunk size"));
    }
    let window = &buf[..buf.len().min(MAX_LINE + 2)];
    let Some((end, next)) = line_end(window, i) else {
        return if window.len() < buf.len() || window.len() >= MAX_LINE + 2 {
            Err(HttpError::BadRequest("chunk size line too long"))
        } else {
            let partial = &buf[i..];
            check_ext(partial.strip_suffix(b"\r").unwrap_or(partial)).map(|()| None)
        };
    };
    check_ext(&buf[i..end])?;
    if size == 0 {
        return trailers(buf, next);
    }
    let data_end = next + size as usize;
    match buf.get(data_end..) {
        None | Some(b"") | Some(b"\r") => Ok(None),
        Some(rest) if rest.starts_with(b"\r\n") => {
            Ok(Some((data_end + 2, Chunk::Data(&buf[next..data_end]))))
        }
        Some(rest) if rest.starts_with(b"\n") => {
            Ok(Some((data_end + 1, Chunk::Data(&buf[next..data_end]))))
        }
        Some(_) => Err(HttpError::BadRequest("chunk data not followed by CRLF")),
    }
}

/// What may follow the size digits: nothing, or optional blanks then `;` and extensions
/// (checked free of control characters other than tab, then ignored).
fn check_ext(ext: &[u8]) -> Result<(), HttpError> {
    let start = ext.iter().position(|&b| b != b' ' && b != b'\t');
    let ok = match start {
        None => true,
        Some(s) => {
            ext[s] == b';'
                && ext[s..]
                    .iter()
                    .all(|&b| b >= 0x20 && b != 0x7F || b == b'\t')
        }
    };
    if ok {
        Ok(())
    } else {
        Err(HttpError::BadRequest("bad chunk extension"))
    }
}

/// The trailer lines from `from` up to and including the blank line; ignored.
fn trailers(buf: &[u8], from: usize) -> Result<Option<(usize, Chunk<'_>)>, HttpError> {
    let limit = from + MAX_TRAILERS;
    let window = &buf[..buf.len().min(limit)];
    let mut pos = from;
    while let Some((end, next)) = line_end(window, pos) {
        if end == pos {
            return Ok(Some((next, Chunk::End)));
        }
        let line = &window[pos..end];
        if end - pos > MAX_LINE || line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7F) {
            return Err(HttpError::BadRequest("bad trailer line"));
        }
        pos = next;
    }
    if buf.len() >= limit {
        Err(HttpError::BadRequest("trailers too large"))
    } else {
        Ok(None)
    }
}

/// Collects a whole chunked body across reads, with a limit on its total size.
///
/// After an error the decoder is spent: drop it (and the connection).
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    max_body: usize,
    pending: Vec<u8>,
    body: Vec<u8>,
    done: bool,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body` bytes of data.
    pub fn new(max_body: usize) -> Self {
        ChunkedDecoder {
            max_body,
            pending: Vec::new(),
            body: Vec::new(),
            done: false,
        }
    }

    /// Adds `input`. `Ok(Some(body))` once the last chunk and trailers are in (bytes after
    /// them are kept: see [`remainder`](Self::remainder)); `Ok(None)` while more is needed.
    /// Errors as [`parse_chunk`]'s, with [`HttpError::PayloadTooLarge`] when the data would
    /// pass `max_body` in total. Once complete, further input only adds to the remainder.
    pub fn push(&mut self, input: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
        self.pending.extend_from_slice(input);
        if self.done {
            return Ok(None);
        }
        let mut off = 0;
        let result = loop {
            let allowance = self.max_body - self.body.len();
            match parse_chunk(&self.pending[off..], allowance) {
                Err(e) => break Err(e),
                Ok(None) => break Ok(None),
                Ok(Some((used, Chunk::Data(d)))) => {
                    self.body.extend_from_slice(d);
                    off += used;
                }
                Ok(Some((used, Chunk::End))) => {
                    off += used;
                    self.done = true;
                    break Ok(Some(std::mem::take(&mut self.body)));
                }
            }
        };
        self.pending.drain(..off);
        result
    }

    /// Whether the body is complete.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Once complete: the bytes that followed the body (the start of a pipelined request).
    pub fn remainder(&self) -> &[u8] {
        if self.done {
            &self.pending
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"4\r\nWiki\r\n5;name=value;x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX-T: 1\r\n\r\n";

    /// Every chunk of `buf` by repeated `parse_chunk`, and the bytes used.
    fn all(buf: &[u8], max: usize) -> Result<Option<(usize, Vec<u8>)>, HttpError> {
        let (mut off, mut body) = (0, Vec::new());
        loop {
            match parse_chunk(&buf[off..], max)? {
                None => return Ok(None),
                Some((used, Chunk::Data(d))) => {
                    assert!(!d.is_empty());
                    body.extend_from_slice(d);
                    off += used;
                }
                Some((used, Chunk::End)) => return Ok(Some((off + used, body))),
            }
        }
    }

    #[test]
    fn the_rfc_example_body() {
        assert_eq!(
            all(BODY, 1024),
            Ok(Some((BODY.len(), b"Wikipedia in\r\n\r\nchunks.".to_vec())))
        );
        assert_eq!(parse_chunk(BODY, 1024), Ok(Some((9, Chunk::Data(b"Wiki")))));
    }

    #[test]
    fn every_strict_prefix_needs_more() {
        for cut in 0..BODY.len() {
            assert_eq!(all(&BODY[..cut], 1024), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn bare_lf_and_upper_and_lower_hex() {
        let body = b"a\nabcdefghij\nA\r\nabcdefghij\r\n0\n\n";
        assert_eq!(
            all(body, 10),
            Ok(Some((body.len(), b"abcdefghijabcdefghij".to_vec())))
        );
    }

    #[test]
    fn last_chunk_without_trailers_and_what_follows_is_untouched() {
        assert_eq!(parse_chunk(b"0\r\n\r\nGET /", 0), Ok(Some((5, Chunk::End))));
        assert_eq!(parse_chunk(b"000\r\n\r\n", 0), Ok(Some((7, Chunk::End))));
    }

    #[test]
    fn a_size_over_the_limit_is_refused_once_its_digits_are_read() {
        assert_eq!(parse_chunk(b"11", 16), Err(HttpError::PayloadTooLarge));
        assert_eq!(parse_chunk(b"10\r\n", 16), Ok(None));
        assert_eq!(
            parse_chunk(b"ffffffffffffffffffff", usize::MAX),
            Err(HttpError::PayloadTooLarge)
        );
        assert_eq!(HttpError::PayloadTooLarge.status(), 413);
    }

    #[test]
    fn bad_chunks_are_400() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"-1\r\n",
            b"4 x\r\nWiki\r\n",
            b"4\r\nWikiX\r\n",
            b"4\r\nWiki\rX",
            b"4;\x01\r\nWiki\r\n",
            b"0\r\nbad\x00trailer\r\n\r\n",
        ] {
            let e = all(bad, 100).unwrap_err();
            assert_eq!(e.status(), 400, "{bad:?}: {e}");
        }
        let long = [b"1;".as_slice(), &[b'a'; MAX_LINE]].concat();
        assert_eq!(parse_chunk(&long, 100).unwrap_err().status(), 400);
        let trailers = [b"0\r\n".as_slice(), &b"X: y\r\n".repeat(2000)].concat();
        assert_eq!(parse_chunk(&trailers, 100).unwrap_err().status(), 400);
    }

    #[test]
    fn decoder_across_every_split_point_and_byte_by_byte() {
        let want = b"Wikipedia in\r\n\r\nchunks.".to_vec();
        let input = [BODY, b"NEXT"].concat();
        for cut in 0..=input.len() {
            let mut d = ChunkedDecoder::new(100);
            let first = d.push(&input[..cut]).unwrap();
            let second = d.push(&input[cut..]).unwrap();
            let got = first.or(second).unwrap_or_else(|| panic!("cut {cut}"));
            assert_eq!(got, want);
            assert!(d.is_done());
            assert_eq!(d.remainder(), b"NEXT");
        }
        let mut d = ChunkedDecoder::new(100);
        let mut got = None;
        for b in BODY {
            assert!(got.is_none());
            got = d.push(&[*b]).unwrap();
        }
        assert_eq!(got, Some(want));
    }

    #[test]
    fn decoder_limits_the_total() {
        let mut d = ChunkedDecoder::new(22);
        assert_eq!(d.push(BODY), Err(HttpError::PayloadTooLarge));
        let mut d = ChunkedDecoder::new(23);
        assert!(d.push(BODY).unwrap().is_some());
        let mut d = ChunkedDecoder::new(5);
        assert_eq!(d.push(b"3\r\nabc\r\n"), Ok(None));
        assert_eq!(d.push(b"3\r\n"), Err(HttpError::PayloadTooLarge));
    }

    #[test]
    fn seeded_random_input_never_panics() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"0123456789abcdefABCDEFxX;= \t\r\n\r\n:";
        for _ in 0..100_000 {
            let len = (next() % 40) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 8 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            match parse_chunk(&buf, 64) {
                Ok(Some((used, c))) => {
                    assert!(used <= buf.len());
                    if let Chunk::Data(d) = c {
                        assert!(!d.is_empty() && d.len() <= 64);
                    }
                }
                Ok(None) => {}
                Err(e) => assert!(matches!(e.status(), 400 | 413)),
            }
            let mut d = ChunkedDecoder::new(64);
            if let Ok(Some(body)) = d.push(&buf) {
                assert!(body.len() <= 64);
            }
        }
    }
}
