//! The request channel: what nodes ask each other (every room, the sockets in some rooms) and
//! what they answer. JSON, except an emit with acknowledgements (msgpack, binary-safe): a
//! message whose first byte is `{` is JSON, as the adapter's receiver decides.

use super::{decode_broadcast_value, from_msgpack, unpack, AdapterError, Broadcast};
use crate::codec::json::{self, Value as Json};

/// Request types of the adapter (its `RequestType`).
const SOCKETS: i64 = 0;
const ALL_ROOMS: i64 = 1;
const REMOTE_FETCH: i64 = 5;
const BROADCAST: i64 = 7;
const BROADCAST_CLIENT_COUNT: i64 = 8;

/// Largest JSON message taken from the request channel (a fetch answer lists sockets).
const MAX_JSON: usize = 16 * 1024 * 1024;

/// A request from another node.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterRequest {
    /// Every room of the node (`allRooms()`); answer [`encode_rooms_response`].
    AllRooms {
        /// The asking node.
        uid: String,
        /// What the answer must carry.
        request_id: String,
    },
    /// The sockets in some rooms (`fetchSockets()`); answer [`encode_fetch_response`].
    Fetch {
        /// The asking node.
        uid: String,
        /// What the answer must carry.
        request_id: String,
        /// Rooms (none: all sockets).
        rooms: Vec<String>,
        /// Rooms whose sockets are left out.
        except: Vec<String>,
    },
    /// The ids of the sockets in some rooms (the old `allSockets()`); answered like a fetch.
    Sockets {
        /// The asking node.
        uid: String,
        /// What the answer must carry.
        request_id: String,
        /// Rooms (none: all sockets).
        rooms: Vec<String>,
    },
    /// A broadcast whose sender waits for acknowledgements; answer how many clients got it
    /// with [`encode_client_count`].
    BroadcastWithAck {
        /// What the answer must carry.
        request_id: String,
        /// The broadcast.
        broadcast: Broadcast,
    },
    /// Anything else (server-side emits, remote joins and leaves, disconnections): no answer
    /// is needed from a node that does not act on them.
    Other {
        /// The asking node, if it said.
        uid: Option<String>,
        /// The request type.
        kind: i64,
    },
}

/// A socket as a fetch answer describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSocket {
    /// Its id (also a room of its own).
    pub id: String,
    /// Its rooms, its own id included.
    pub rooms: Vec<String>,
    /// The application's data about it (`socket.data`).
    pub data: Json,
}

/// An answer from another node to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterResponse {
    /// Rooms, for an [`AdapterRequest::AllRooms`].
    Rooms {
        /// The request answered.
        request_id: String,
        /// Its rooms.
        rooms: Vec<String>,
    },
    /// Sockets, for an [`AdapterRequest::Fetch`].
    Sockets {
        /// The request answered.
        request_id: String,
        /// Its sockets.
        sockets: Vec<RemoteSocket>,
    },
    /// Another answer (client counts, acknowledgements).
    Other {
        /// The request answered, if it said.
        request_id: Option<String>,
    },
}

/// The message as JSON: parsed as such if it starts with `{`, else from msgpack.
fn to_json(bytes: &[u8]) -> Result<Json, AdapterError> {
    if bytes.first() == Some(&b'{') {
        let limits = json::Limits {
            max_len: MAX_JSON,
            ..json::Limits::default()
        };
        return json::parse_with(bytes, limits)
            .map_err(|e| AdapterError::Undecodable(e.to_string()));
    }
    from_msgpack(&unpack(bytes)?)
}

fn text(v: &Json, key: &str) -> Option<String> {
    v.get(key).and_then(Json::as_str).map(str::to_string)
}

/// The strings of a JSON array (numbers written as they are); empty if it is none.
pub(super) fn list(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| match s {
                    Json::String(s) => Some(s.clone()),
                    Json::Number(n) => Some(n.as_str().to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A message of the request channel.
pub fn decode_request(bytes: &[u8]) -> Result<AdapterRequest, AdapterError> {
    let v = if bytes.first() == Some(&b'{') {
        to_json(bytes)?
    } else {
        // Only an emit with acknowledgements is msgpack: keep its binary data as it is.
        let v = unpack(bytes)?;
        let kind = v.map_get("type").and_then(|t| t.as_i64());
        let request_id = v.map_get("requestId").and_then(|r| r.as_str());
        if let (Some(BROADCAST), Some(request_id)) = (kind, request_id) {
            let packet = v.map_get("packet").ok_or(AdapterError::Shape("packet"))?;
            let opts = v.map_get("opts").ok_or(AdapterError::Shape("opts"))?;
            let uid = v.map_get("uid").and_then(|u| u.as_str()).unwrap_or("");
            let broadcast = decode_broadcast_value(uid, packet, opts)?;
            return Ok(AdapterRequest::BroadcastWithAck {
                request_id: request_id.to_string(),
                broadcast,
            });
        }
        // Any other request in msgpack: read as the JSON ones are, from the one parse.
        from_msgpack(&v)?
    };
    let kind = v
        .get("type")
        .and_then(Json::as_number)
        .and_then(|n| n.as_i64())
        .ok_or(AdapterError::Shape("a request without a type"))?;
    let uid = text(&v, "uid");
    let request_id = text(&v, "requestId");
    Ok(match (kind, uid, request_id) {
        (ALL_ROOMS, Some(uid), Some(request_id)) => AdapterRequest::AllRooms { uid, request_id },
        (REMOTE_FETCH, Some(uid), Some(request_id)) => {
            let opts = v.get("opts");
            AdapterRequest::Fetch {
                uid,
                request_id,
                rooms: list(opts.and_then(|o| o.get("rooms"))),
                except: list(opts.and_then(|o| o.get("except"))),
            }
        }
        (SOCKETS, Some(uid), Some(request_id)) => AdapterRequest::Sockets {
            uid,
            request_id,
            rooms: list(v.get("rooms")),
        },
        (kind, uid, _) => AdapterRequest::Other { uid, kind },
    })
}

/// A message of a response channel.
pub fn decode_response(bytes: &[u8]) -> Result<AdapterResponse, AdapterError> {
    let v = to_json(bytes)?;
    let request_id = text(&v, "requestId");
    Ok(match (request_id, v.get("rooms"), v.get("sockets")) {
        (Some(request_id), Some(rooms), _) => AdapterResponse::Rooms {
            request_id,
            rooms: list(Some(rooms)),
        },
        (Some(request_id), None, Some(Json::Array(sockets))) => AdapterResponse::Sockets {
            request_id,
            sockets: sockets
                .iter()
                .filter_map(|s| {
                    Some(RemoteSocket {
                        id: match s {
                            // The old `allSockets()` answer: ids alone.
                            Json::String(id) => return Some(bare(id)),
                            _ => text(s, "id")?,
                        },
                        rooms: list(s.get("rooms")),
                        data: s.get("data").cloned().unwrap_or(Json::Null),
                    })
                })
                .collect(),
        },
        (request_id, _, _) => AdapterResponse::Other { request_id },
    })
}

fn bare(id: &str) -> RemoteSocket {
    RemoteSocket {
        id: id.to_string(),
        rooms: Vec::new(),
        data: Json::Null,
    }
}

fn strings(items: &[String]) -> Json {
    Json::array(items.iter().map(|s| Json::from(s.as_str())))
}

/// `{uid, requestId, type: 5, opts: {rooms, except}}`: the sockets in `rooms` on every node.
pub fn encode_fetch_request(uid: &str, request_id: &str, rooms: &[String]) -> Vec<u8> {
    let opts = Json::object([
        ("rooms", strings(rooms)),
        ("except", Json::array(Vec::<Json>::new())),
    ]);
    Json::object([
        ("uid", Json::from(uid)),
        ("requestId", Json::from(request_id)),
        ("type", Json::from(REMOTE_FETCH)),
        ("opts", opts),
    ])
    .to_json()
    .into_bytes()
}

/// `{requestId, rooms}`.
pub fn encode_rooms_response(request_id: &str, rooms: &[String]) -> Vec<u8> {
    Json::object([
        ("requestId", Json::from(request_id)),
        ("rooms", strings(rooms)),
    ])
    .to_json()
    .into_bytes()
}

/// `{requestId, sockets: [{id, handshake, rooms, data}]}`; the handshake is an empty one (this
/// node's sockets may not be Socket.IO sockets at all: `nc` members).
pub fn encode_fetch_response(request_id: &str, sockets: &[RemoteSocket]) -> Vec<u8> {
    let empty = || Json::object(Vec::<(&str, Json)>::new());
    let sockets = sockets.iter().map(|s| {
        let handshake = Json::object([
            ("headers", empty()),
            ("time", Json::from("")),
            ("address", Json::from("")),
            ("xdomain", Json::Bool(false)),
            ("secure", Json::Bool(false)),
            ("issued", Json::from(0)),
            ("url", Json::from("")),
            ("query", empty()),
            ("auth", empty()),
        ]);
        Json::object([
            ("id", Json::from(s.id.as_str())),
            ("handshake", handshake),
            ("rooms", strings(&s.rooms)),
            ("data", s.data.clone()),
        ])
    });
    Json::object([
        ("requestId", Json::from(request_id)),
        ("sockets", Json::array(sockets)),
    ])
    .to_json()
    .into_bytes()
}

/// `{type: 8, requestId, clientCount}`: how many clients here got an emit that waits for
/// acknowledgements.
pub fn encode_client_count(request_id: &str, count: usize) -> Vec<u8> {
    Json::object([
        ("type", Json::from(BROADCAST_CLIENT_COUNT)),
        ("requestId", Json::from(request_id)),
        ("clientCount", Json::from(count as u64)),
    ])
    .to_json()
    .into_bytes()
}
