//! Hand-written formats: each a small pure module with no I/O, tested against published vectors.

pub mod crc32;
pub mod rfc3339;
