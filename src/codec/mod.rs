//! Hand-written wire formats: each a small pure module with no I/O (parsers over byte slices,
//! encoders into buffers), tested against published vectors and at every split point.

pub mod base64;
pub mod crc32;
pub mod engineio;
pub mod http;
pub mod json;
pub mod lines;
pub mod msgpack;
pub mod resp;
pub mod rfc3339;
pub mod sha1;
pub mod sio_adapter;
pub mod socketio;
pub mod websocket;
