//! Socket.IO v5 packets (the text form of socket.io-parser 4.x): the [`Packet`], its parser
//! with the reference's payload checks ([`parse`]), its encoder that moves binaries out into
//! attachments ([`encode`]), the inverse that puts them back ([`reconstruct`]), and builders of
//! the packets a server sends.

#[cfg(test)]
mod tests;

use super::json::{self, JsonError, Value};
use std::fmt::{self, Write as _};

/// The kind of a packet: the digit it starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: joins a namespace (client), or accepts the join (server, data `{"sid":..}`).
    Connect,
    /// `1`: leaves a namespace.
    Disconnect,
    /// `2`: an event: data `[name, args...]`.
    Event,
    /// `3`: the answer to an event that carried an id: data `[args...]`.
    Ack,
    /// `4`: refuses a join: data an object (`{"message":..}`) or a string.
    ConnectError,
    /// `5`: an event with binary attachments, sent after it.
    BinaryEvent,
    /// `6`: an ack with binary attachments, sent after it.
    BinaryAck,
}

impl PacketType {
    /// The type for a digit `0` to `6`.
    pub fn from_digit(digit: u8) -> Option<PacketType> {
        Some(match digit {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The digit that starts a packet of this type.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// Whether packets of this type carry attachments (and a count of them).
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// One Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The type.
    pub kind: PacketType,
    /// The namespace, `/` for the main one; others start with `/` and hold no `,`.
    pub nsp: String,
    /// The ack id: an event that has one asks for an ack with the same id.
    pub id: Option<u64>,
    /// The JSON payload. After [`parse`], binaries are still placeholders (see
    /// [`reconstruct`]); for [`encode`], they may be [`Value::Binary`].
    pub data: Option<Value>,
    /// For [`PacketType::BinaryEvent`] and [`PacketType::BinaryAck`]: how many binary
    /// attachments follow. 0 for the other types.
    pub attachments: usize,
}

/// Why a text is not a valid packet, or attachments do not fit a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketError {
    /// The text is empty.
    Empty,
    /// The first byte is not a type digit `0` to `6`.
    UnknownType(u8),
    /// A binary type without a decimal attachment count ended by `-`.
    BadAttachments,
    /// More attachments than allowed.
    TooManyAttachments {
        /// The most allowed.
        max: usize,
    },
    /// A namespace (from `/`) with no `,` after it.
    UnterminatedNamespace,
    /// An ack id over `u64::MAX`.
    IdOverflow,
    /// The payload (everything after the id) is not JSON; the offset counts from the start of
    /// the packet.
    Json(JsonError),
    /// The payload is missing or of the wrong shape for the type (see [`parse`]).
    InvalidPayload(PacketType),
    /// A placeholder whose `num` is not an integer naming an attachment, or names one that an
    /// earlier placeholder already took.
    BadPlaceholder,
    /// Attachments that no placeholder names.
    UnusedAttachments,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Empty => f.write_str("empty packet"),
            PacketError::UnknownType(b) => write!(f, "unknown packet type 0x{b:02x}"),
            PacketError::BadAttachments => f.write_str("illegal attachments"),
            PacketError::TooManyAttachments { max } => {
                write!(f, "too many attachments (at most {max})")
            }
            PacketError::UnterminatedNamespace => f.write_str("namespace not ended by ','"),
            PacketError::IdOverflow => f.write_str("ack id too large"),
            PacketError::Json(e) => write!(f, "{e}"),
            PacketError::InvalidPayload(kind) => write!(f, "invalid payload for {kind:?}"),
            PacketError::BadPlaceholder => f.write_str("illegal attachment placeholder"),
            PacketError::UnusedAttachments => f.write_str("attachments left unused"),
        }
    }
}

impl std::error::Error for PacketError {}

/// Event names a client may not send: they mean something to Socket.IO itself.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// How many ASCII digits start `b[at..]`.
fn digits(b: &[u8], at: usize) -> usize {
    b.get(at..).map_or(0, |rest| {
        rest.iter().take_while(|c| c.is_ascii_digit()).count()
    })
}

/// Parses one whole packet in text form:
/// `<type>[<attachments>-][<nsp>,][<id>][<json data>]`, the JSON under
/// [`json::Limits::default`].
///
/// The payload must fit the type, as socket.io-parser's `isPayloadValid` has it, but stricter
/// where the brief of this module says so: CONNECT: absent or an object; DISCONNECT: absent;
/// CONNECT_ERROR: an object or a string; EVENT and BINARY_EVENT: an array whose first item is
/// a string not in [`RESERVED_EVENTS`]; ACK and BINARY_ACK: an array. A namespace must end in
/// `,`. Binary types need a count of at most `max_attachments` (the server passes 10).
pub fn parse(text: &str, max_attachments: usize) -> Result<Packet, PacketError> {
    let b = text.as_bytes();
    let &first = b.first().ok_or(PacketError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or(PacketError::UnknownType(first))?;
    let mut at = 1;
    let mut attachments = 0;
    if kind.is_binary() {
        let n = digits(b, at);
        if n == 0 || b.get(at + n) != Some(&b'-') {
            return Err(PacketError::BadAttachments);
        }
        let too_many = PacketError::TooManyAttachments {
            max: max_attachments,
        };
        attachments = text[at..at + n].parse().map_err(|_| too_many.clone())?;
        if attachments > max_attachments {
            return Err(too_many);
        }
        at += n + 1;
    }
    let mut nsp = "/";
    if b.get(at) == Some(&b'/') {
        // As socket.io-parser reads it: up to the first ',' or to the end (`40/custom` is a
        // CONNECT to `/custom`, which the official suite sends).
        match text[at..].find(',') {
            Some(len) => {
                nsp = &text[at..at + len];
                at += len + 1;
            }
            None => {
                nsp = &text[at..];
                at = text.len();
            }
        }
    }
    let n = digits(b, at);
    let id = match n {
        0 => None,
        _ => Some(
            text[at..at + n]
                .parse()
                .map_err(|_| PacketError::IdOverflow)?,
        ),
    };
    at += n;
    let data = if at < b.len() {
        let value = json::parse(&b[at..]).map_err(|e| {
            PacketError::Json(JsonError {
                offset: e.offset + at,
                kind: e.kind,
            })
        })?;
        Some(value)
    } else {
        None
    };
    if !payload_fits(kind, data.as_ref()) {
        return Err(PacketError::InvalidPayload(kind));
    }
    Ok(Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        data,
        attachments,
    })
}

/// Whether `data` is a valid payload for a packet of type `kind` (see [`parse`]).
fn payload_fits(kind: PacketType, data: Option<&Value>) -> bool {
    match (kind, data) {
        (PacketType::Connect, None | Some(Value::Object(_))) => true,
        (PacketType::Disconnect, None) => true,
        (PacketType::ConnectError, Some(Value::Object(_) | Value::String(_))) => true,
        (PacketType::Event | PacketType::BinaryEvent, Some(Value::Array(items))) => {
            matches!(items.first(), Some(Value::String(name)) if !RESERVED_EVENTS.contains(&name.as_str()))
        }
        (PacketType::Ack | PacketType::BinaryAck, Some(Value::Array(_))) => true,
        _ => false,
    }
}

/// Writes `p` in text form, and returns the binary attachments to send after it.
///
/// Each [`Value::Binary`] in the data becomes a placeholder `{"_placeholder":true,"num":N}`
/// and its bytes the N-th attachment; an EVENT or ACK that has any is written as a
/// BINARY_EVENT or BINARY_ACK, with their count. A BINARY type with no binaries in its data
/// (one just parsed, its placeholders still JSON) is written with `p.attachments`. The
/// namespace is written (with its `,`) unless it is `/` or empty.
pub fn encode(p: &Packet) -> (String, Vec<Vec<u8>>) {
    let mut payload = String::new();
    let mut binaries = Vec::new();
    if let Some(data) = &p.data {
        data.write_json_binaries(&mut payload, &mut binaries);
    }
    let kind = match (p.kind, binaries.is_empty()) {
        (PacketType::Event, false) => PacketType::BinaryEvent,
        (PacketType::Ack, false) => PacketType::BinaryAck,
        (kind, _) => kind,
    };
    let mut out = String::with_capacity(payload.len() + p.nsp.len() + 24);
    out.push(char::from(kind.digit()));
    if kind.is_binary() {
        let count = if binaries.is_empty() {
            p.attachments
        } else {
            binaries.len()
        };
        let _ = write!(out, "{count}-");
    }
    if !p.nsp.is_empty() && p.nsp != "/" {
        out.push_str(&p.nsp);
        out.push(',');
    }
    if let Some(id) = p.id {
        let _ = write!(out, "{id}");
    }
    out.push_str(&payload);
    (out, binaries.into_iter().map(<[u8]>::to_vec).collect())
}

/// Replaces every placeholder (an object whose `_placeholder` is `true`) in `data` by
/// [`Value::Binary`] of the attachment its `num` names. Each attachment must be named exactly
/// once: a `num` that is not an integer, is out of range or repeats one is
/// [`PacketError::BadPlaceholder`]; one never named is [`PacketError::UnusedAttachments`].
pub fn reconstruct(data: Value, attachments: Vec<Vec<u8>>) -> Result<Value, PacketError> {
    let mut slots: Vec<Option<Vec<u8>>> = attachments.into_iter().map(Some).collect();
    let data = fill(data, &mut slots)?;
    if slots.iter().any(Option::is_some) {
        return Err(PacketError::UnusedAttachments);
    }
    Ok(data)
}

/// [`reconstruct`] within one value, taking attachments out of `slots` as they are named.
fn fill(value: Value, slots: &mut [Option<Vec<u8>>]) -> Result<Value, PacketError> {
    match value {
        Value::Object(members) if member(&members, "_placeholder") == Some(&Value::Bool(true)) => {
            let slot = member(&members, "num")
                .and_then(Value::as_number)
                .and_then(json::Number::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| slots.get_mut(n))
                .and_then(Option::take)
                .ok_or(PacketError::BadPlaceholder)?;
            Ok(Value::Binary(slot))
        }
        Value::Object(members) => Ok(Value::Object(
            members
                .into_iter()
                .map(|(k, v)| Ok((k, fill(v, slots)?)))
                .collect::<Result<_, PacketError>>()?,
        )),
        Value::Array(items) => Ok(Value::Array(
            items
                .into_iter()
                .map(|v| fill(v, slots))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other),
    }
}

/// The value of the last member named `key`.
fn member<'a>(members: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A packet of `kind` in `nsp` with this data and no id.
fn packet(kind: PacketType, nsp: &str, data: Option<Value>) -> Packet {
    Packet {
        kind,
        nsp: nsp.to_owned(),
        id: None,
        data,
        attachments: 0,
    }
}

/// An EVENT `name` with `args` (data `[name, args...]`), asking for an ack if `id` is given.
/// [`encode`] makes it a BINARY_EVENT if the args hold binaries.
pub fn event(nsp: &str, name: &str, args: Vec<Value>, id: Option<u64>) -> Packet {
    let mut items = Vec::with_capacity(args.len() + 1);
    items.push(Value::from(name));
    items.extend(args);
    Packet {
        id,
        ..packet(PacketType::Event, nsp, Some(Value::Array(items)))
    }
}

/// The ACK of the event that carried `id`, with `args` (data `[args...]`).
pub fn ack(nsp: &str, id: u64, args: Vec<Value>) -> Packet {
    Packet {
        id: Some(id),
        ..packet(PacketType::Ack, nsp, Some(Value::Array(args)))
    }
}

/// The CONNECT that accepts a client into `nsp` under session id `sid` (data `{"sid":..}`).
pub fn connect_ok(nsp: &str, sid: &str) -> Packet {
    let data = Value::object([("sid", Value::from(sid))]);
    packet(PacketType::Connect, nsp, Some(data))
}

/// The CONNECT_ERROR that refuses a client: data `{"message":..}`, with `"data":..` after it
/// if given.
pub fn connect_error(nsp: &str, message: &str, data: Option<Value>) -> Packet {
    let mut members = vec![("message".to_owned(), Value::from(message))];
    members.extend(data.map(|d| ("data".to_owned(), d)));
    packet(PacketType::ConnectError, nsp, Some(Value::Object(members)))
}

/// The DISCONNECT that ends a client's stay in `nsp`.
pub fn disconnect(nsp: &str) -> Packet {
    packet(PacketType::Disconnect, nsp, None)
}
