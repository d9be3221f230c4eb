//! What a parsed head means: header lookup, connection tokens, keep-alive, body framing
//! (RFC 9112 6.3), query parameters and whether it asks for a WebSocket upgrade.

use super::{HttpError, RequestHead};

/// How the request's body is framed (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: neither `Content-Length` nor `Transfer-Encoding`.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A chunked body follows (see [`parse_chunk`](super::parse_chunk)).
    Chunked,
}

impl RequestHead {
    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every header named `name` (ASCII case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether any `name` header's comma-separated list holds `token` (ASCII
    /// case-insensitive), as `Connection: keep-alive, Upgrade` holds `upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
    }

    /// Whether the connection stays open after this exchange: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        if self.has_token("connection", "close") {
            false
        } else if self.minor_version >= 1 {
            true
        } else {
            self.has_token("connection", "keep-alive")
        }
    }

    /// How the body is framed. Errors: both `Transfer-Encoding` and `Content-Length`, an
    /// empty `Transfer-Encoding`, or an invalid or conflicting `Content-Length` (400); a
    /// `Transfer-Encoding` other than exactly `chunked` (501).
    pub fn body_kind(&self) -> Result<BodyKind, HttpError> {
        let has_te = self.header("transfer-encoding").is_some();
        let has_cl = self.header("content-length").is_some();
        if has_te && has_cl {
            return Err(HttpError::BadRequest(
                "both Transfer-Encoding and Content-Length",
            ));
        }
        if has_te {
            let mut codings = self
                .header_all("transfer-encoding")
                .flat_map(|v| v.split(','))
                .map(|t| t.trim_matches([' ', '\t']))
                .filter(|t| !t.is_empty());
            return match (codings.next(), codings.next()) {
                (None, _) => Err(HttpError::BadRequest("empty Transfer-Encoding")),
                (Some(c), None) if c.eq_ignore_ascii_case("chunked") => Ok(BodyKind::Chunked),
                _ => Err(HttpError::NotImplemented),
            };
        }
        let mut length = None;
        for item in self.header_all("content-length").flat_map(|v| v.split(',')) {
            let n = parse_length(item.trim_matches([' ', '\t']))?;
            if length.is_some_and(|l| l != n) {
                return Err(HttpError::BadRequest("conflicting Content-Length"));
            }
            length = Some(n);
        }
        Ok(length.map_or(BodyKind::None, BodyKind::Length))
    }

    /// The first query parameter named `name` (compared after decoding), decoded as
    /// [`decode_query`] does.
    pub fn query_param(&self, name: &str) -> Option<String> {
        // Piece by piece, decoding a name only if it is encoded and only the value wanted: a
        // request looks up a few parameters, each without building the whole list.
        self.query
            .split('&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
            .find(|(k, _)| {
                if k.contains(['%', '+']) {
                    decode_component(k) == name
                } else {
                    *k == name
                }
            })
            .map(|(_, v)| decode_component(v))
    }

    /// Whether this is an HTTP/1.1 `GET` asking for a WebSocket (RFC 6455 4.2.1): `Upgrade`
    /// holds `websocket` and `Connection` holds `upgrade`, both case-insensitive. The
    /// `Sec-WebSocket-*` headers are the handshake's to check.
    pub fn is_websocket_upgrade(&self) -> bool {
        self.method == "GET"
            && self.minor_version >= 1
            && self.has_token("upgrade", "websocket")
            && self.has_token("connection", "upgrade")
    }
}

/// A `Content-Length` element: 1 to 19 ASCII digits (always fits a `u64`).
fn parse_length(s: &str) -> Result<u64, HttpError> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::BadRequest("bad Content-Length"));
    }
    s.parse()
        .map_err(|_| HttpError::BadRequest("bad Content-Length"))
}

/// Splits a raw query (`a=1&b=x+y%21`) into decoded `(key, value)` pairs, in order. Pieces are
/// `&`-separated (empty pieces skipped); the first `=` splits key from value (no `=`: empty
/// value); `+` becomes a space and `%XX` the byte it names; an invalid escape stays literal and
/// bytes that are not UTF-8 after decoding become U+FFFD.
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

/// `+` to space, `%XX` to its byte, the rest as is; then UTF-8, lossily.
fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(b.get(i + 1)), hex(b.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The value of one hex digit.
fn hex(b: Option<&u8>) -> Option<u8> {
    (*b? as char).to_digit(16).map(|d| d as u8)
}
