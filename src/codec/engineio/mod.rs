//! Engine.IO v4 packets (the transport under Socket.IO): one packet's text form
//! ([`parse_text`], [`encode_text`]), HTTP long-polling payloads ([`decode_payload`],
//! [`encode_payload`]), the handshake's open payload ([`open_payload`]) and the error bodies of
//! HTTP requests it refuses ([`ErrorCode`]). Pure: strings and bytes in, buffers out.

#[cfg(test)]
mod tests;

use std::fmt;

/// The record separator between packets of a long-polling payload.
pub const SEPARATOR: u8 = 0x1e;

/// One Engine.IO packet. The text payloads are kept as sent (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake, its payload the JSON of [`open_payload`].
    Open(String),
    /// `1`: the session is closing.
    Close,
    /// `2`: heartbeat; `Ping("probe")` during a transport upgrade.
    Ping(String),
    /// `3`: heartbeat answer; `Pong("probe")` during a transport upgrade.
    Pong(String),
    /// `4`: a message, such as the Socket.IO packet `2["hello"]`.
    Message(String),
    /// Binary data: a binary WebSocket frame, or `b` + base64 in a polling payload.
    Binary(Vec<u8>),
    /// `5`: the client completes a transport upgrade.
    Upgrade,
    /// `6`: nothing; closes a pending poll during an upgrade.
    Noop,
}

/// Why an Engine.IO packet or payload cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EioError {
    /// A packet (or a payload's segment) with no bytes.
    Empty,
    /// A first character that is no packet type.
    UnknownType(char),
    /// A payload that is not UTF-8.
    InvalidUtf8,
    /// A `b` segment whose rest is not padded standard base64.
    InvalidBase64,
    /// More packets in a payload than allowed (the limit).
    TooManyPackets(usize),
}

impl fmt::Display for EioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EioError::Empty => f.write_str("empty packet"),
            EioError::UnknownType(c) => write!(f, "unknown packet type {c:?}"),
            EioError::InvalidUtf8 => f.write_str("payload is not UTF-8"),
            EioError::InvalidBase64 => f.write_str("invalid base64 in a binary packet"),
            EioError::TooManyPackets(max) => write!(f, "more than {max} packets in a payload"),
        }
    }
}

impl std::error::Error for EioError {}

/// Parses one packet: a WebSocket text message or one segment of a polling payload (where
/// `b` + base64 is a [`Packet::Binary`]). Data after `1`, `5` or `6` is ignored, as
/// engine.io's parser does. An `Open` is accepted: refusing one from a client is the server's
/// call.
pub fn parse_text(text: &str) -> Result<Packet, EioError> {
    let Some(&kind) = text.as_bytes().first() else {
        return Err(EioError::Empty);
    };
    if !kind.is_ascii() {
        return Err(EioError::UnknownType(
            text.chars().next().unwrap_or('\u{FFFD}'),
        ));
    }
    let data = &text[1..];
    Ok(match kind {
        b'0' => Packet::Open(data.to_owned()),
        b'1' => Packet::Close,
        b'2' => Packet::Ping(data.to_owned()),
        b'3' => Packet::Pong(data.to_owned()),
        b'4' => Packet::Message(data.to_owned()),
        b'5' => Packet::Upgrade,
        b'6' => Packet::Noop,
        b'b' => Packet::Binary(
            super::base64::decode(data.as_bytes()).map_err(|_| EioError::InvalidBase64)?,
        ),
        _ => return Err(EioError::UnknownType(char::from(kind))),
    })
}

/// Appends the text form of `p` to `out`: its type digit and payload. A [`Packet::Binary`] is
/// written as `b` + base64, its form inside a polling payload; over WebSocket send its bytes
/// in a binary frame instead.
pub fn encode_text(p: &Packet, out: &mut String) {
    match p {
        Packet::Open(data) => {
            out.push('0');
            out.push_str(data);
        }
        Packet::Close => out.push('1'),
        Packet::Ping(data) => {
            out.push('2');
            out.push_str(data);
        }
        Packet::Pong(data) => {
            out.push('3');
            out.push_str(data);
        }
        Packet::Message(data) => {
            out.push('4');
            out.push_str(data);
        }
        Packet::Binary(bytes) => {
            out.push('b');
            super::base64::encode_into(bytes, out);
        }
        Packet::Upgrade => out.push('5'),
        Packet::Noop => out.push('6'),
    }
}

/// Decodes a long-polling payload (a POST body): packets separated by `\x1e`, each as
/// [`parse_text`] reads it. Errors: more than `max_packets` packets (checked before anything
/// else), a body that is not UTF-8, an empty body or segment, or any packet's error.
pub fn decode_payload(body: &[u8], max_packets: usize) -> Result<Vec<Packet>, EioError> {
    let count = body.iter().filter(|&&b| b == SEPARATOR).count() + 1;
    if count > max_packets {
        return Err(EioError::TooManyPackets(max_packets));
    }
    let text = std::str::from_utf8(body).map_err(|_| EioError::InvalidUtf8)?;
    text.split(char::from(SEPARATOR)).map(parse_text).collect()
}

/// Appends a long-polling payload (a GET response body) to `out`: each packet's
/// [`encode_text`] form, `\x1e` between them. Message texts must not hold `\x1e` (JSON
/// escapes it).
pub fn encode_payload(packets: &[Packet], out: &mut Vec<u8>) {
    let mut text = String::new();
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            text.push(char::from(SEPARATOR));
        }
        encode_text(p, &mut text);
    }
    out.extend_from_slice(text.as_bytes());
}

/// The JSON payload of the handshake's open packet, keys in engine.io's order:
/// `{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
pub fn open_payload(
    sid: &str,
    upgrades: &[&str],
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: u64,
) -> String {
    let mut out = String::with_capacity(OPEN_PAYLOAD_LEN);
    let ms = (ping_interval_ms, ping_timeout_ms);
    open_payload_into(sid, upgrades, ms, max_payload, &mut out);
    out
}

/// About the length of an open packet's payload: room for it in one allocation.
pub const OPEN_PAYLOAD_LEN: usize = 160;

/// Appends [`open_payload`] to `out` (`ping_ms`: the ping interval and timeout).
pub fn open_payload_into(
    sid: &str,
    upgrades: &[&str],
    ping_ms: (u64, u64),
    max_payload: u64,
    out: &mut String,
) {
    use std::fmt::Write;
    out.push_str("{\"sid\":");
    json_string(sid, out);
    out.push_str(",\"upgrades\":[");
    for (i, u) in upgrades.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(u, out);
    }
    let (interval, timeout) = ping_ms;
    let _ = write!(
        out,
        "],\"pingInterval\":{interval},\"pingTimeout\":{timeout},\"maxPayload\":{max_payload}}}"
    );
}

/// Appends `s` as a JSON string literal.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Engine.IO's errors for refused HTTP requests, with its codes and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No or an unknown `transport` query parameter.
    UnknownTransport = 0,
    /// A `sid` that names no session.
    UnknownSid = 1,
    /// A handshake (no `sid`) that is not a GET.
    BadHandshakeMethod = 2,
    /// Anything else wrong with the request.
    BadRequest = 3,
    /// Refused by the server's policy.
    Forbidden = 4,
    /// An `EIO` query parameter other than `4`.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// Engine.IO's message for the code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The JSON response body: `{"code":N,"message":"…"}`.
    pub fn body(self) -> String {
        format!(
            "{{\"code\":{},\"message\":\"{}\"}}",
            self as u8,
            self.message()
        )
    }

    /// The HTTP status engine.io answers with: 403 for [`ErrorCode::Forbidden`], else 400.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Forbidden => 403,
            _ => 400,
        }
    }
}
