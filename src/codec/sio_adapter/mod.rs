//! The messages of `@socket.io/redis-adapter` 8.x (its classic pub/sub mode), so that a node
//! here and Node.js socket.io nodes share rooms through one Redis: the channel names, room
//! broadcasts (msgpack `[uid, packet, opts]`, binary data inline as `bin`, packet type 2) and
//! the requests and responses of the request channel (JSON, or msgpack for an emit with
//! acknowledgements). Pure: bytes in, values out; the Redis side is `service::cluster`.

mod convert;
mod request;
#[cfg(test)]
mod tests;

pub use convert::{from_msgpack, to_msgpack};
pub use request::{
    decode_request, decode_response, encode_client_count, encode_fetch_request,
    encode_fetch_response, encode_rooms_response, AdapterRequest, AdapterResponse, RemoteSocket,
};

use super::json::Value as Json;
use super::msgpack::{self, Value as Pack};
use std::fmt;

/// The adapter's key: the first part of every channel name.
pub const KEY: &str = "socket.io";

/// A socket.io packet type as the adapter carries it: an event (binary data stays inline).
pub const EVENT: i64 = 2;

/// Why a message from Redis was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// Not a complete msgpack or JSON value, or one over the limits.
    Undecodable(String),
    /// Decoded, but not in the shape the adapter writes.
    Shape(&'static str),
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Undecodable(why) => write!(f, "undecodable adapter message: {why}"),
            AdapterError::Shape(what) => write!(f, "unexpected adapter message: {what}"),
        }
    }
}

impl std::error::Error for AdapterError {}

/// The channel of broadcasts in namespace `nsp` to all, or to `room` alone.
pub fn broadcast_channel(nsp: &str, room: Option<&str>) -> String {
    match room {
        Some(room) => format!("{KEY}#{nsp}#{room}#"),
        None => format!("{KEY}#{nsp}#"),
    }
}

/// The pattern that covers every broadcast channel of `nsp`.
pub fn broadcast_pattern(nsp: &str) -> String {
    format!("{KEY}#{nsp}#*")
}

/// The channel every node's requests go to.
pub fn request_channel(nsp: &str) -> String {
    format!("{KEY}-request#{nsp}#")
}

/// The channel responses go to (every node reads it and keeps the ones it asked for).
pub fn response_channel(nsp: &str) -> String {
    format!("{KEY}-response#{nsp}#")
}

/// The channel of responses meant for the node `uid` alone.
pub fn own_response_channel(nsp: &str, uid: &str) -> String {
    format!("{KEY}-response#{nsp}#{uid}#")
}

/// A room broadcast: who sent it, the event (`[name, args...]`, binary as
/// [`Json::Binary`]), the rooms it targets (none: the whole namespace) and the rooms whose
/// sockets are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The sending node's uid.
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The packet's data: the event name, then its arguments.
    pub data: Json,
    /// Target rooms; empty for everyone in the namespace.
    pub rooms: Vec<String>,
    /// Rooms (a socket's id is a room) whose sockets do not get it.
    pub except: Vec<String>,
}

impl Broadcast {
    /// The channel it is published on: the room's own when it targets exactly one.
    pub fn channel(&self) -> String {
        match self.rooms.as_slice() {
            [room] => broadcast_channel(&self.nsp, Some(room)),
            _ => broadcast_channel(&self.nsp, None),
        }
    }

    /// The event's name, if the data has the shape of an event.
    pub fn event(&self) -> Option<&str> {
        self.data.as_array()?.first()?.as_str()
    }

    /// The event's arguments.
    pub fn args(&self) -> &[Json] {
        self.data
            .as_array()
            .map_or(&[], |a| a.get(1..).unwrap_or(&[]))
    }
}

fn strings(items: &[String]) -> Pack {
    Pack::Array(items.iter().map(|s| Pack::Str(s.clone())).collect())
}

/// The msgpack of `b`, byte for byte as the adapter writes it.
pub fn encode_broadcast(b: &Broadcast) -> Vec<u8> {
    let packet = Pack::object([
        ("type", Pack::Int(EVENT)),
        ("data", to_msgpack(&b.data)),
        ("nsp", Pack::Str(b.nsp.clone())),
    ]);
    let opts = Pack::object([
        ("rooms", strings(&b.rooms)),
        ("except", strings(&b.except)),
        ("flags", Pack::Map(Vec::new())),
    ]);
    let message = Pack::Array(vec![Pack::Str(b.uid.clone()), packet, opts]);
    message.to_bytes()
}

/// Limits on what a message from Redis may hold: Redis hands whole messages, so these bound
/// the work and memory one message can cost, not a buffer.
pub fn limits() -> msgpack::Limits {
    msgpack::Limits {
        max_depth: 32,
        ..msgpack::Limits::default()
    }
}

/// One whole msgpack value (trailing bytes are an error).
pub(crate) fn unpack(bytes: &[u8]) -> Result<Pack, AdapterError> {
    match msgpack::parse(bytes, &limits()) {
        Ok(Some((used, v))) if used == bytes.len() => Ok(v),
        Ok(Some(_)) => Err(AdapterError::Undecodable("bytes after the value".into())),
        Ok(None) => Err(AdapterError::Undecodable("truncated".into())),
        Err(e) => Err(AdapterError::Undecodable(e.to_string())),
    }
}

/// The strings of a msgpack array (numbers as JavaScript writes them), as in a request.
fn string_list(v: Option<&Pack>) -> Vec<String> {
    let json = v.and_then(|v| from_msgpack(v).ok());
    request::list(json.as_ref())
}

/// A broadcast from Redis. The namespace defaults to `/` as the adapter's receiver does;
/// packets of other types than event (an ack, say) are [`AdapterError::Shape`].
pub fn decode_broadcast(bytes: &[u8]) -> Result<Broadcast, AdapterError> {
    let v = unpack(bytes)?;
    let Some([uid, packet, opts]) = v.as_array() else {
        return Err(AdapterError::Shape("not [uid, packet, opts]"));
    };
    let uid = uid.as_str().ok_or(AdapterError::Shape("uid"))?;
    decode_broadcast_value(uid, packet, opts)
}

/// A broadcast from its parts: the sender's uid, the packet and the options maps.
pub(crate) fn decode_broadcast_value(
    uid: &str,
    packet: &Pack,
    opts: &Pack,
) -> Result<Broadcast, AdapterError> {
    if packet.as_map().is_none() {
        return Err(AdapterError::Shape("packet"));
    }
    let kind = packet.map_get("type").and_then(Pack::as_i64);
    // Type 5 (binary event) is what a receiver would make of it; take it too.
    if !matches!(kind, Some(EVENT) | Some(5)) {
        return Err(AdapterError::Shape("not an event packet"));
    }
    let nsp = packet
        .map_get("nsp")
        .and_then(Pack::as_str)
        .unwrap_or("/")
        .to_string();
    let data = from_msgpack(packet.map_get("data").unwrap_or(&Pack::Nil))?;
    Ok(Broadcast {
        uid: uid.to_string(),
        nsp,
        data,
        rooms: string_list(opts.map_get("rooms")),
        except: string_list(opts.map_get("except")),
    })
}
