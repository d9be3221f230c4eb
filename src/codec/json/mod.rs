//! JSON (RFC 8259): a small [`Value`] that keeps numbers as their source text and object keys
//! in order, its parser ([`parse`], [`parse_with`]: no recursion, bounded in depth and size) and
//! a compact serializer that escapes strings as `JSON.stringify` does. [`Value::Binary`] is not
//! JSON: it carries Socket.IO attachments and is written as a numbered placeholder.

mod parse;
#[cfg(test)]
mod tests;

pub(crate) use parse::Members;
pub use parse::{parse, parse_with};

use std::fmt::{self, Write as _};

/// A JSON value. Objects keep their keys in order, numbers their exact source text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object: its members in order. The parser keeps one member per key (a later duplicate
    /// replaces the earlier value in place, as JavaScript does).
    Object(Vec<(String, Value)>),
    /// Bytes for a Socket.IO binary attachment; never produced by the parser. Written as
    /// `{"_placeholder":true,"num":N}` (see [`Value::write_json_binaries`]).
    Binary(Vec<u8>),
}

/// A JSON number kept exactly as written, valid against the grammar
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The number for `text`, or `None` if `text` is not exactly one JSON number.
    pub fn new(text: &str) -> Option<Number> {
        (parse::scan_number(text.as_bytes()) == Ok(text.len())).then(|| Number(text.to_owned()))
    }

    /// The number's text, as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as an `i64`: an integer literal in range, or any other form whose value is
    /// an integer of magnitude at most 2^53 (`1e2`, `3.0`). Otherwise `None`.
    pub fn as_i64(&self) -> Option<i64> {
        if let Ok(n) = self.0.parse::<i64>() {
            return Some(n);
        }
        let f = self.as_f64()?;
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
    }

    /// The number as a `u64`: as [`Number::as_i64`], but for non-negative values up to
    /// `u64::MAX` written as integers (`-0` is 0).
    pub fn as_u64(&self) -> Option<u64> {
        if let Ok(n) = self.0.parse::<u64>() {
            return Some(n);
        }
        self.as_i64().and_then(|n| u64::try_from(n).ok())
    }

    /// The nearest `f64`, or `None` if the number is out of its range (`1e400`).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|f| f.is_finite())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bounds on the parser's input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The deepest nesting of arrays and objects allowed (`[[1]]` has depth 2; a scalar 0).
    /// The parser never recurses, but dropping or serializing a [`Value`] does, once per
    /// level: keep this in the hundreds at most.
    pub max_depth: usize,
    /// The longest input allowed, in bytes.
    pub max_len: usize,
}

impl Default for Limits {
    /// Depth 64, length 1 MiB.
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_len: 1 << 20,
        }
    }
}

/// Why an input is not JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The byte offset in the input where the problem was found.
    pub offset: usize,
    /// What the problem is.
    pub kind: JsonErrorKind,
}

/// The kinds of [`JsonError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The input ended inside a value (or was empty).
    UnexpectedEnd,
    /// A byte that cannot come here.
    UnexpectedByte(u8),
    /// A number that does not follow the grammar (`01`, `1.`, `-`, `1e`).
    InvalidNumber,
    /// A backslash escape that is not one of `\" \\ \/ \b \f \n \r \t \uXXXX`.
    InvalidEscape,
    /// A `\u` escape of a surrogate not part of a high-low pair.
    LoneSurrogate,
    /// A control character (U+0000 to U+001F) unescaped inside a string.
    ControlInString,
    /// The input is not UTF-8.
    InvalidUtf8,
    /// Arrays and objects nested deeper than [`Limits::max_depth`].
    TooDeep,
    /// The input is longer than [`Limits::max_len`].
    TooLong,
    /// More than whitespace after the value.
    TrailingData,
}

impl fmt::Display for JsonErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonErrorKind::UnexpectedEnd => f.write_str("unexpected end of input"),
            JsonErrorKind::UnexpectedByte(b) if b.is_ascii_graphic() => {
                write!(f, "unexpected '{}'", char::from(*b))
            }
            JsonErrorKind::UnexpectedByte(b) => write!(f, "unexpected byte 0x{b:02x}"),
            JsonErrorKind::InvalidNumber => f.write_str("invalid number"),
            JsonErrorKind::InvalidEscape => f.write_str("invalid escape"),
            JsonErrorKind::LoneSurrogate => f.write_str("lone surrogate in \\u escape"),
            JsonErrorKind::ControlInString => f.write_str("unescaped control character in string"),
            JsonErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            JsonErrorKind::TooDeep => f.write_str("nested too deep"),
            JsonErrorKind::TooLong => f.write_str("input too long"),
            JsonErrorKind::TrailingData => f.write_str("data after the value"),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for JsonError {}

impl Value {
    /// An object of these members, in order (duplicates kept as given).
    pub fn object<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An array of these items.
    pub fn array<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
        Value::Array(items.into_iter().map(Into::into).collect())
    }

    /// The value of member `key` if this is an object that has one (the last, if several).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let members = self.as_object()?;
        members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
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

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
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

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Compact JSON text (see [`Value::write_json`]).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends compact JSON: no whitespace, members in order, numbers as their text, strings
    /// escaped as `JSON.stringify` does. Binaries become placeholders numbered from 0 in
    /// writing order; their bytes are not kept.
    pub fn write_json(&self, out: &mut String) {
        self.write_json_binaries(out, &mut Vec::new());
    }

    /// As [`Value::write_json`], and pushes each binary's bytes on `binaries` as it writes its
    /// placeholder, whose `num` is its index there (so numbering continues after any bytes the
    /// vector already holds).
    pub fn write_json_binaries<'a>(&'a self, out: &mut String, binaries: &mut Vec<&'a [u8]>) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n.as_str()),
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json_binaries(out, binaries);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write_json_binaries(out, binaries);
                }
                out.push('}');
            }
            Value::Binary(bytes) => {
                let _ = write!(out, "{{\"_placeholder\":true,\"num\":{}}}", binaries.len());
                binaries.push(bytes);
            }
        }
    }
}

/// Writes `s` quoted: `"` and `\` escaped, control characters as `\n \r \t \b \f` or `\u00XX`,
/// everything else raw.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if short.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(short);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

impl fmt::Display for Value {
    /// Compact JSON, as [`Value::to_json`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            /// The integer as a JSON number.
            fn from(n: $t) -> Value {
                Value::Number(Number(n.to_string()))
            }
        }
    )*};
}

from_integer!(i32, i64, u32, u64, usize);

impl From<f64> for Value {
    /// The number as `JSON.stringify` would have it: integers without a fraction, exponent
    /// form below 1e-6 or from 1e21 on; NaN and the infinities become `null`.
    fn from(f: f64) -> Value {
        if !f.is_finite() {
            return Value::Null;
        }
        let f = if f == 0.0 { 0.0 } else { f };
        let text = if f.abs() >= 1e21 || (f != 0.0 && f.abs() < 1e-6) {
            format!("{f:e}")
        } else {
            format!("{f}")
        };
        debug_assert!(Number::new(&text).is_some(), "{text}");
        Value::Number(Number(text))
    }
}

impl From<Number> for Value {
    /// The number as a value.
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    /// `true` or `false`.
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    /// A string value.
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    /// A string value.
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
