//! The request head: [`parse_head`] finds the blank line that ends it within a size limit and
//! parses the request line and header fields into a [`RequestHead`].

use super::{is_tchar, is_token, line_end, HttpError};

/// A parsed request line and header section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, a token, as sent (case-sensitive: `GET`, `POST`).
    pub method: String,
    /// The request target as sent.
    pub target: String,
    /// The target's path, raw (not percent-decoded): everything before `?`; for an
    /// absolute-form target the path after the authority (`/` if none); `*` for `*`.
    pub path: String,
    /// The raw text after the first `?` of the target, empty if none.
    pub query: String,
    /// `0` for HTTP/1.0, `1` for HTTP/1.1.
    pub minor_version: u8,
    /// The header fields in order: names as sent, values trimmed of spaces and tabs.
    pub headers: Vec<(String, String)>,
}

/// The limits [`parse_head`] enforces.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Most bytes of a head, from its first byte (leading empty lines included) through the
    /// blank line that ends it. Default 8 KiB.
    pub max_head: usize,
    /// Most header fields. Default 100.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_head: 8 * 1024,
            max_headers: 100,
        }
    }
}

/// Parses the request head at the start of `buf`.
///
/// `Ok(Some((used, head)))`: a complete head of `used` bytes (its blank line included; what
/// follows is a body or the next request). `Ok(None)`: no end yet and fewer than
/// `limits.max_head` bytes, so more input may complete it. Each line is checked as soon as it
/// is complete (and the request line's bytes as they come), so an error is returned as soon as
/// it is certain. Errors: [`HttpError::HeadTooLarge`] as soon as `max_head` bytes hold no end, [`HttpError::TooManyHeaders`],
/// [`HttpError::Version`] for `HTTP/` versions other than 1.0 and 1.1, and
/// [`HttpError::BadRequest`] for anything malformed (including obsolete line folding and
/// whitespace before a header's colon). Lines may end in CRLF or a bare LF; empty lines before
/// the request line are skipped.
pub fn parse_head(
    buf: &[u8],
    limits: HeadLimits,
) -> Result<Option<(usize, RequestHead)>, HttpError> {
    let window = &buf[..buf.len().min(limits.max_head)];
    let mut start = 0;
    loop {
        if window[start..].starts_with(b"\r\n") {
            start += 2;
        } else if window[start..].starts_with(b"\n") {
            start += 1;
        } else {
            break;
        }
    }
    let mut request = None;
    // As many as there are lines (bounded): one allocation, not a series of growing ones.
    let lines = window.iter().filter(|&&b| b == b'\n').count();
    let mut headers = Vec::with_capacity(lines.min(limits.max_headers));
    let mut pos = start;
    let used = loop {
        let Some((end, next)) = line_end(window, pos) else {
            if request.is_none() {
                partial_request_line(&window[pos..])?;
            }
            return if buf.len() >= limits.max_head {
                Err(HttpError::HeadTooLarge)
            } else {
                Ok(None)
            };
        };
        let line = &window[pos..end];
        if request.is_none() {
            let (method, target, minor) = request_line(line)?;
            request = Some((method, target, minor, split_target(target)?));
        } else if line.is_empty() {
            break next;
        } else if headers.len() == limits.max_headers {
            return Err(HttpError::TooManyHeaders);
        } else {
            headers.push(header_line(line)?);
        }
        pos = next;
    };
    let Some((method, target, minor_version, (path, query))) = request else {
        return Err(HttpError::BadRequest("no request line"));
    };
    let head = RequestHead {
        method: method.to_owned(),
        target: target.to_owned(),
        path,
        query,
        minor_version,
        headers,
    };
    Ok(Some((used, head)))
}

/// Checks the start of a request line whose end has not arrived, so that bytes no request
/// line can hold (a TLS handshake, binary noise) are refused at once: a token, then printable
/// ASCII and spaces, perhaps a final CR.
fn partial_request_line(part: &[u8]) -> Result<(), HttpError> {
    let part = part.strip_suffix(b"\r").unwrap_or(part);
    let method_end = part.iter().position(|&b| b == b' ').unwrap_or(part.len());
    if !part[..method_end].iter().all(|&b| is_tchar(b)) {
        return Err(HttpError::BadRequest("bad method"));
    }
    if !part.iter().all(|&b| (0x20..=0x7E).contains(&b)) {
        return Err(HttpError::BadRequest("malformed request line"));
    }
    Ok(())
}

/// `METHOD SP target SP HTTP/1.x` into its parts (as `&str`: all are checked ASCII).
fn request_line(line: &[u8]) -> Result<(&str, &str, u8), HttpError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::BadRequest("malformed request line"));
    };
    if !is_token(method) {
        return Err(HttpError::BadRequest("bad method"));
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7E).contains(&b)) {
        return Err(HttpError::BadRequest("bad request target"));
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => {
            let numeric = version.strip_prefix(b"HTTP/").is_some_and(|v| {
                !v.is_empty() && v.iter().all(|&b| b.is_ascii_digit() || b == b'.')
            });
            return Err(if numeric {
                HttpError::Version
            } else {
                HttpError::BadRequest("bad HTTP version")
            });
        }
    };
    Ok((ascii(method), ascii(target), minor))
}

/// A slice already checked to be printable ASCII, as `&str`.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("")
}

/// The path and query of a request target: origin-form (`/p?q`), `*`, or absolute-form
/// (`http://host/p?q`, scheme case-insensitive).
fn split_target(target: &str) -> Result<(String, String), HttpError> {
    if target.contains('#') {
        return Err(HttpError::BadRequest("fragment in request target"));
    }
    if target == "*" {
        return Ok(("*".to_owned(), String::new()));
    }
    let rest = if target.starts_with('/') {
        target
    } else {
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        let after = if lower.starts_with("http://") {
            &target[7..]
        } else if lower.starts_with("https://") {
            &target[8..]
        } else {
            return Err(HttpError::BadRequest("bad request target form"));
        };
        let auth_end = after.find(['/', '?']).unwrap_or(after.len());
        if auth_end == 0 {
            return Err(HttpError::BadRequest("empty authority"));
        }
        &after[auth_end..]
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = if path.is_empty() { "/" } else { path };
    Ok((path.to_owned(), query.to_owned()))
}

/// `name: value` into the name as sent and the value trimmed of spaces and tabs.
fn header_line(line: &[u8]) -> Result<(String, String), HttpError> {
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Err(HttpError::BadRequest("obsolete line folding"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HttpError::BadRequest("header without colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !is_token(name) {
        return Err(HttpError::BadRequest("bad header name"));
    }
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let first = value.iter().position(|b| !blank(b)).unwrap_or(value.len());
    let last = value
        .iter()
        .rposition(|b| !blank(b))
        .map_or(first, |i| i + 1);
    let value = &value[first..last];
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7F) {
        return Err(HttpError::BadRequest("control character in header value"));
    }
    Ok((
        ascii(name).to_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}
