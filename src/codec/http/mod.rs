//! HTTP/1.1 as a Socket.IO server needs it: request heads ([`parse_head`]), what a head means
//! ([`RequestHead`]'s methods, [`decode_query`]), chunked request bodies ([`parse_chunk`],
//! [`ChunkedDecoder`]) and responses ([`Response`]). Pure: byte slices in, buffers out.

mod chunked;
mod head;
mod request;
mod response;
#[cfg(test)]
mod tests;

use std::fmt;

pub use chunked::{parse_chunk, Chunk, ChunkedDecoder};
pub use head::{parse_head, HeadLimits, RequestHead};
pub use request::{decode_query, BodyKind};
pub use response::{reason, Response};

/// Why a request cannot be served; each maps to the status to answer with ([`HttpError::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// Malformed syntax (400), with a short reason for logs.
    BadRequest(&'static str),
    /// The head (request line, headers and blank line) is over its limit (431).
    HeadTooLarge,
    /// More header lines than allowed (431).
    TooManyHeaders,
    /// An HTTP version other than 1.0 or 1.1 (505).
    Version,
    /// A transfer coding other than `chunked` (501).
    NotImplemented,
    /// A body or chunk over its limit (413).
    PayloadTooLarge,
}

impl HttpError {
    /// The response status this error calls for.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::BadRequest(_) => 400,
            HttpError::HeadTooLarge | HttpError::TooManyHeaders => 431,
            HttpError::Version => 505,
            HttpError::NotImplemented => 501,
            HttpError::PayloadTooLarge => 413,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadRequest(why) => write!(f, "bad request: {why}"),
            HttpError::HeadTooLarge => f.write_str("request head too large"),
            HttpError::TooManyHeaders => f.write_str("too many header fields"),
            HttpError::Version => f.write_str("HTTP version not supported"),
            HttpError::NotImplemented => f.write_str("transfer coding not implemented"),
            HttpError::PayloadTooLarge => f.write_str("payload too large"),
        }
    }
}

impl std::error::Error for HttpError {}

/// RFC 9110 `tchar`: the bytes a token (a method, a header name) is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty run of [`is_tchar`] bytes.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Where the line starting at `from` ends: `(end of its content, start of the next line)`,
/// accepting CRLF or a bare LF; `None` while no `\n` has arrived.
fn line_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let nl = from + buf[from..].iter().position(|&b| b == b'\n')?;
    let end = if nl > from && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    Some((end, nl + 1))
}
