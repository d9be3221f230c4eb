//! RESP2, the Redis serialization protocol: the reply parser ([`parse`]: no recursion, bounded
//! in bulk size, items, depth and line length, allocating only what the input holds) and the
//! encoders of commands ([`encode_command`]) and replies ([`Reply::encode`]).

use std::fmt;

#[cfg(test)]
mod tests;

/// A RESP2 value as Redis sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+text`: a status such as `OK` (bytes that are not UTF-8 are replaced by U+FFFD).
    Simple(String),
    /// `-text`: an error reply such as `ERR unknown command` (bytes that are not UTF-8 are
    /// replaced by U+FFFD).
    Error(String),
    /// `:n`: a signed 64-bit integer.
    Integer(i64),
    /// `$n`: binary-safe bytes; `None` is the null bulk string `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*n`: a list of replies; `None` is the null array `*-1`.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// A bulk string of `bytes`.
    pub fn bulk(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply::Bulk(Some(bytes.into()))
    }

    /// The bytes of a bulk or simple string; `None` for every other reply.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(Some(b)) => Some(b),
            Reply::Simple(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// Appends the reply's wire form to `out`. Simple strings and errors are written as they
    /// are: the caller keeps CR and LF out of them.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(s) => line(out, b'-', s.as_bytes()),
            Reply::Integer(n) => line(out, b':', n.to_string().as_bytes()),
            Reply::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
            Reply::Bulk(Some(b)) => bulk(out, b),
            Reply::Array(None) => out.extend_from_slice(b"*-1\r\n"),
            Reply::Array(Some(items)) => {
                header(out, b'*', items.len());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }
}

/// Bounds on one reply. Every length header is checked against them before any byte of its
/// payload is awaited, so a hostile or broken server cannot make the reader buffer more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string, in bytes (Redis's own ceiling is 512 MiB).
    pub max_bulk: usize,
    /// Most array elements in one reply, counted across all its nested arrays.
    pub max_items: usize,
    /// Deepest nesting of arrays (`*1\r\n*0\r\n` has depth 2; a scalar 0).
    pub max_depth: usize,
    /// Longest line (simple string, error, integer or length header), in bytes without the
    /// type byte and CRLF.
    pub max_line: usize,
}

impl Default for Limits {
    /// 64 MiB bulk strings, 1 Mi items, depth 8, 64 KiB lines.
    fn default() -> Self {
        Limits {
            max_bulk: 64 << 20,
            max_items: 1 << 20,
            max_depth: 8,
            max_line: 64 << 10,
        }
    }
}

/// Why the input is not a RESP2 reply within the limits. The stream cannot be resynchronized
/// after any of these: the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespError {
    /// A first byte that is none of `+ - : $ *` (RESP3 types included).
    BadType(u8),
    /// A line with a CR not followed by LF, or an LF without CR.
    BadLineEnd,
    /// A line longer than [`Limits::max_line`].
    LineTooLong,
    /// A length or integer that is not a decimal number (empty, stray sign, other bytes).
    BadNumber,
    /// A length below -1 (only -1, meaning null, may be negative).
    NegativeLength,
    /// A length or integer too large for its type.
    NumberOverflow,
    /// A bulk string longer than [`Limits::max_bulk`].
    BulkTooLong,
    /// More array elements than [`Limits::max_items`].
    TooManyItems,
    /// Arrays nested deeper than [`Limits::max_depth`].
    TooDeep,
    /// A bulk string's bytes not followed by CRLF.
    MissingBulkEnd,
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::BadType(b) => write!(f, "unknown RESP type byte 0x{b:02x}"),
            RespError::BadLineEnd => f.write_str("line not ended by CRLF"),
            RespError::LineTooLong => f.write_str("line too long"),
            RespError::BadNumber => f.write_str("not a decimal number"),
            RespError::NegativeLength => f.write_str("negative length other than -1"),
            RespError::NumberOverflow => f.write_str("number too large"),
            RespError::BulkTooLong => f.write_str("bulk string too long"),
            RespError::TooManyItems => f.write_str("too many array items"),
            RespError::TooDeep => f.write_str("arrays nested too deep"),
            RespError::MissingBulkEnd => f.write_str("bulk string not followed by CRLF"),
        }
    }
}

impl std::error::Error for RespError {}

/// One step of the parser: a finished value, or the header of an array whose items follow.
enum Step {
    Value(Reply),
    Array(usize),
}

/// Parses the reply at the start of `buf`.
///
/// `Ok(Some((used, reply)))`: a complete reply and the bytes it took. `Ok(None)`: every byte so
/// far is valid and more are needed. `Err`: malformed or over `limits`, decided as soon as the
/// offending bytes are in (a length header is refused before its payload arrives).
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(usize, Reply)>, RespError> {
    // Open arrays: the items so far and how many are still to come.
    let mut open: Vec<(Vec<Reply>, usize)> = Vec::new();
    let mut items_left = limits.max_items;
    let mut pos = 0;
    loop {
        let Some((used, step)) = parse_step(&buf[pos..], limits)? else {
            return Ok(None);
        };
        pos += used;
        let mut value = match step {
            Step::Value(v) => v,
            Step::Array(n) => {
                if open.len() >= limits.max_depth {
                    return Err(RespError::TooDeep);
                }
                if n > items_left {
                    return Err(RespError::TooManyItems);
                }
                items_left -= n;
                if n > 0 {
                    // Every item takes at least 3 bytes (`+\r\n`): reserve no more than the
                    // input could hold.
                    let room = (buf.len() - pos) / 3;
                    open.push((Vec::with_capacity(n.min(room)), n));
                    continue;
                }
                Reply::Array(Some(Vec::new()))
            }
        };
        // Hand the value to its array, closing every array it completes.
        loop {
            let Some((items, left)) = open.last_mut() else {
                return Ok(Some((pos, value)));
            };
            items.push(value);
            *left -= 1;
            if *left > 0 {
                break;
            }
            let (items, _) = open.pop().unwrap_or_default();
            value = Reply::Array(Some(items));
        }
    }
}

/// One scalar, or an array header, at the start of `buf`.
fn parse_step(buf: &[u8], limits: &Limits) -> Result<Option<(usize, Step)>, RespError> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(RespError::BadType(kind));
    }
    let Some((text, used)) = parse_line(buf, limits)? else {
        return Ok(None);
    };
    let text_of = |t: &[u8]| String::from_utf8_lossy(t).into_owned();
    let step = match kind {
        b'+' => Step::Value(Reply::Simple(text_of(text))),
        b'-' => Step::Value(Reply::Error(text_of(text))),
        b':' => Step::Value(Reply::Integer(parse_integer(text)?)),
        b'*' => match parse_length(text)? {
            None => Step::Value(Reply::Array(None)),
            Some(n) => Step::Array(n),
        },
        _ => {
            let Some(len) = parse_length(text)? else {
                return Ok(Some((used, Step::Value(Reply::Bulk(None)))));
            };
            if len > limits.max_bulk {
                return Err(RespError::BulkTooLong);
            }
            let rest = &buf[used..];
            let Some(payload) = rest.get(..len) else {
                return Ok(None);
            };
            let end = &rest[len..];
            if !b"\r\n".starts_with(&end[..end.len().min(2)]) {
                return Err(RespError::MissingBulkEnd);
            }
            if end.len() < 2 {
                return Ok(None);
            }
            return Ok(Some((used + len + 2, Step::Value(Reply::bulk(payload)))));
        }
    };
    Ok(Some((used, step)))
}

/// The text of the line whose type byte is `buf[0]`, and the bytes it took (type byte and CRLF
/// included).
fn parse_line<'a>(buf: &'a [u8], limits: &Limits) -> Result<Option<(&'a [u8], usize)>, RespError> {
    let body = &buf[1..];
    let window = &body[..body.len().min(limits.max_line.saturating_add(1))];
    match window.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) if body[i] == b'\n' => Err(RespError::BadLineEnd),
        Some(i) => match body.get(i + 1) {
            None => Ok(None),
            Some(b'\n') => Ok(Some((&body[..i], i + 3))),
            Some(_) => Err(RespError::BadLineEnd),
        },
        None if window.len() > limits.max_line => Err(RespError::LineTooLong),
        None => Ok(None),
    }
}

/// A length header: `None` for -1 (null), else a count of bytes or items.
fn parse_length(text: &[u8]) -> Result<Option<usize>, RespError> {
    match text {
        b"-1" => Ok(None),
        [b'-', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            Err(RespError::NegativeLength)
        }
        _ => digits(text, usize::MAX as u64).map(|n| Some(n as usize)),
    }
}

/// An integer reply: an optional sign, then decimal digits.
fn parse_integer(text: &[u8]) -> Result<i64, RespError> {
    match text {
        [b'-', rest @ ..] => {
            let magnitude = digits(rest, i64::MIN.unsigned_abs())?;
            Ok(0i64.wrapping_sub_unsigned(magnitude))
        }
        [b'+', rest @ ..] => digits(rest, i64::MAX as u64).map(|n| n as i64),
        _ => digits(text, i64::MAX as u64).map(|n| n as i64),
    }
}

/// One or more decimal digits whose value is at most `max`.
fn digits(text: &[u8], max: u64) -> Result<u64, RespError> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(RespError::BadNumber);
    }
    text.iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?
                .checked_add(u64::from(d - b'0'))
                .filter(|&n| n <= max)
        })
        .ok_or(RespError::NumberOverflow)
}

/// Appends a command, an array of bulk strings, to `out`: `*N` then `$len` and the bytes of
/// each argument.
pub fn encode_command(args: &[&[u8]], out: &mut Vec<u8>) {
    header(out, b'*', args.len());
    for arg in args {
        bulk(out, arg);
    }
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    header(out, b'$', bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    line(out, kind, n.to_string().as_bytes());
}

fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}
