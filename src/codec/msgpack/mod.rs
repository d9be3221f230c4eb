//! MessagePack, byte-compatible with notepack.io (the codec of `@socket.io/redis-adapter` 8.x):
//! the [`Value`] tree, its parser ([`parse`]: no recursion, bounded in depth, item counts and
//! payload sizes, never allocating more than the input justifies) and its encoder ([`encode`]:
//! the exact bytes notepack.io writes for the same value). Vectors written by the real
//! notepack.io live in `tests/msgpack_vectors/`.

mod decode;
mod encode;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use decode::parse;
pub use encode::encode;

use std::fmt;

/// A MessagePack value.
///
/// Integers that fit an `i64` are [`Value::Int`] whichever form carried them; [`Value::UInt`]
/// holds only those above `i64::MAX` (the parser keeps to this; a `UInt` built by hand below
/// that still encodes correctly but does not compare equal to the `Int` the parser returns).
/// Equality is structural, so a `Float(NaN)` is not equal to itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// nil (`null`; notepack.io also writes `undefined` as nil).
    Nil,
    /// true or false.
    Bool(bool),
    /// An integer in the `i64` range.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A float 32 or float 64. Encoded as notepack.io encodes a JavaScript number: an integral
    /// value in the 64-bit integer ranges takes the smallest integer form, anything else float 64.
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// Bytes (a Node.js `Buffer`).
    Bin(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map: its entries in order, duplicates kept.
    Map(Vec<(Value, Value)>),
    /// An extension: its type and bytes. notepack.io writes a `Date` as type -1 (timestamp).
    Ext(i8, Vec<u8>),
}

impl Value {
    /// A map with string keys, as notepack.io writes a JavaScript object.
    pub fn object<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::Str(k.into()), v))
                .collect(),
        )
    }

    /// An array of `items`.
    pub fn array<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::Array(items.into_iter().map(Into::into).collect())
    }

    /// The value under the string key `key` of a map. With duplicate keys, the last one, as
    /// notepack.io's decoder (a JavaScript object) keeps it.
    pub fn map_get(&self, key: &str) -> Option<&Value> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a binary.
    pub fn as_bin(&self) -> Option<&[u8]> {
        match self {
            Value::Bin(b) => Some(b),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is an [`Value::Int`] (or a [`Value::UInt`] in range).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(n) => Some(n),
            Value::UInt(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// The integer, if this is a non-negative one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(n) => u64::try_from(n).ok(),
            Value::UInt(n) => Some(n),
            _ => None,
        }
    }

    /// Any number as the `f64` JavaScript would read (integers past 2^53 rounded).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(n) => Some(n as f64),
            Value::UInt(n) => Some(n as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// True for nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The encoding of this value: [`encode`] into a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode(self, &mut out);
        out
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Int(i64::from(n))
            }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    /// [`Value::Int`] up to `i64::MAX`, [`Value::UInt`] above, as the parser reads them.
    fn from(n: u64) -> Value {
        i64::try_from(n).map_or(Value::UInt(n), Value::Int)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

/// Bounds on what [`parse`] accepts. Whatever they are, the parser allocates at most one
/// [`Value`] (32 bytes) per input byte, plus the strings and bytes present in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The deepest nesting of arrays and maps (`[[1]]` has depth 2; a scalar 0). The parser
    /// and encoder never recurse, but dropping, cloning or comparing a [`Value`] does, once per
    /// level: keep this in the hundreds at most.
    pub max_depth: usize,
    /// The most items in one array or entries in one map.
    pub max_items: usize,
    /// The longest string, binary or extension, in bytes.
    pub max_bytes: usize,
}

impl Default for Limits {
    /// Depth 64, 2^20 items per array or map, 16 MiB per string, binary or extension.
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_items: 1 << 20,
            max_bytes: 16 << 20,
        }
    }
}

/// Why input is not a MessagePack value the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgpackError {
    /// The byte 0xc1, which MessagePack never uses.
    Reserved(u8),
    /// Arrays and maps nested deeper than [`Limits::max_depth`].
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// An array or map with more items than [`Limits::max_items`].
    TooManyItems {
        /// The length its header claims.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A string, binary or extension longer than [`Limits::max_bytes`].
    TooLarge {
        /// The length its header claims.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A string whose bytes are not UTF-8.
    InvalidUtf8 {
        /// Where the string's bytes start in the input.
        offset: usize,
    },
}

impl fmt::Display for MsgpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgpackError::Reserved(b) => write!(f, "reserved byte 0x{b:02x}"),
            MsgpackError::TooDeep { max } => write!(f, "nested deeper than {max}"),
            MsgpackError::TooManyItems { len, max } => {
                write!(f, "{len} items in one array or map (at most {max})")
            }
            MsgpackError::TooLarge { len, max } => {
                write!(
                    f,
                    "{len} bytes in one string, binary or extension (at most {max})"
                )
            }
            MsgpackError::InvalidUtf8 { offset } => {
                write!(f, "string at offset {offset} is not UTF-8")
            }
        }
    }
}

impl std::error::Error for MsgpackError {}
