//! The MessagePack parser: one pass over the input with an explicit stack of open arrays and
//! maps, so depth costs heap (bounded by [`Limits::max_depth`]), never call stack. A length is
//! believed only as far as the bytes present can back it: a header claiming more than could
//! follow is "need more" before anything is reserved.

use super::{Limits, MsgpackError, Value};

/// Parses the value at the start of `buf` under `limits`.
///
/// `Ok(Some((used, value)))`: a complete value and the bytes it took (anything after it is
/// left alone). `Ok(None)`: `buf` is a strict prefix of a value; more input may complete it.
/// `Err`: no continuation can make this a value within `limits`. A length over a limit is an
/// error as soon as its header is read, before its bytes arrive.
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(usize, Value)>, MsgpackError> {
    let mut stack: Vec<Open> = Vec::new();
    // Values declared by the open arrays and maps but not started yet: each needs a byte.
    let mut owed: usize = 0;
    let mut pos = 0;
    loop {
        if let Some(open) = stack.last_mut() {
            open.left -= 1;
            owed -= 1;
        }
        let Some((after, head)) = read_head(buf, pos)? else {
            return Ok(None);
        };
        pos = after;
        let available = buf.len() - pos;
        let mut value = match head {
            Head::Value(v) => v,
            Head::Str(len) | Head::Bin(len) | Head::Ext(len, _) => {
                let len = check_bytes(len, limits)?;
                if len > available {
                    return Ok(None);
                }
                let bytes = &buf[pos..pos + len];
                let value = match head {
                    Head::Str(_) => match std::str::from_utf8(bytes) {
                        Ok(s) => Value::Str(s.to_owned()),
                        Err(_) => return Err(MsgpackError::InvalidUtf8 { offset: pos }),
                    },
                    Head::Ext(_, kind) => Value::Ext(kind, bytes.to_vec()),
                    _ => Value::Bin(bytes.to_vec()),
                };
                pos += len;
                value
            }
            Head::Array(len) | Head::Map(len) => {
                let is_map = matches!(head, Head::Map(_));
                let items = check_items(len, limits)?;
                // Each item needs at least one byte (a map entry two) after those owed.
                let values = if is_map {
                    items.saturating_mul(2)
                } else {
                    items
                };
                if stack.len() >= limits.max_depth {
                    return Err(MsgpackError::TooDeep {
                        max: limits.max_depth,
                    });
                }
                if owed.saturating_add(values) > available {
                    return Ok(None);
                }
                match (is_map, items) {
                    (false, 0) => Value::Array(Vec::new()),
                    (true, 0) => Value::Map(Vec::new()),
                    _ => {
                        let items = if is_map {
                            Items::Map(Vec::with_capacity(items), None)
                        } else {
                            Items::Array(Vec::with_capacity(items))
                        };
                        stack.push(Open {
                            items,
                            left: values,
                        });
                        owed += values;
                        continue;
                    }
                }
            }
        };
        // Hand the finished value to the innermost open container, closing those it fills.
        loop {
            let Some(mut open) = stack.pop() else {
                return Ok(Some((pos, value)));
            };
            open.items.push(value);
            if open.left > 0 {
                stack.push(open);
                break;
            }
            value = match open.items {
                Items::Array(items) => Value::Array(items),
                Items::Map(entries, _) => Value::Map(entries),
            };
        }
    }
}

/// An array or map still open.
struct Open {
    items: Items,
    /// Values still to start (a map entry counts two: key and value).
    left: usize,
}

/// The items of an open array or map so far.
enum Items {
    Array(Vec<Value>),
    /// The entries and a key waiting for its value.
    Map(Vec<(Value, Value)>, Option<Value>),
}

impl Items {
    fn push(&mut self, value: Value) {
        match self {
            Items::Array(items) => items.push(value),
            Items::Map(entries, key) => match key.take() {
                Some(k) => entries.push((k, value)),
                None => *key = Some(value),
            },
        }
    }
}

/// What a header says: a whole scalar, or the length of what follows.
enum Head {
    Value(Value),
    Str(u32),
    Bin(u32),
    /// Length and extension type.
    Ext(u32, i8),
    Array(u32),
    Map(u32),
}

fn check_bytes(len: u32, limits: &Limits) -> Result<usize, MsgpackError> {
    match usize::try_from(len) {
        Ok(n) if n <= limits.max_bytes => Ok(n),
        _ => Err(MsgpackError::TooLarge {
            len: u64::from(len),
            max: limits.max_bytes,
        }),
    }
}

fn check_items(len: u32, limits: &Limits) -> Result<usize, MsgpackError> {
    match usize::try_from(len) {
        Ok(n) if n <= limits.max_items => Ok(n),
        _ => Err(MsgpackError::TooManyItems {
            len: u64::from(len),
            max: limits.max_items,
        }),
    }
}

/// The `N` bytes at `at`, if present.
fn bytes<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Reads the header at `pos`: the offset after it and what it says. `Ok(None)` if it is cut.
fn read_head(buf: &[u8], pos: usize) -> Result<Option<(usize, Head)>, MsgpackError> {
    let Some(&tag) = buf.get(pos) else {
        return Ok(None);
    };
    let at = pos + 1;
    let fixed = |head| Some((0, head));
    let u8_at = |i| bytes::<1>(buf, i).map(|[b]| b);
    let u16_at = |i| bytes::<2>(buf, i).map(u16::from_be_bytes);
    let u32_at = |i| bytes::<4>(buf, i).map(u32::from_be_bytes);
    let u64_at = |i| bytes::<8>(buf, i).map(u64::from_be_bytes);
    let int = |n: i64| Head::Value(Value::Int(n));
    let read = match tag {
        // Fixed forms: the tag is the whole header.
        0x00..=0x7f => fixed(int(tag.into())),
        0x80..=0x8f => fixed(Head::Map(u32::from(tag & 0x0f))),
        0x90..=0x9f => fixed(Head::Array(u32::from(tag & 0x0f))),
        0xa0..=0xbf => fixed(Head::Str(u32::from(tag & 0x1f))),
        0xc0 => fixed(Head::Value(Value::Nil)),
        0xc1 => return Err(MsgpackError::Reserved(tag)),
        0xc2 => fixed(Head::Value(Value::Bool(false))),
        0xc3 => fixed(Head::Value(Value::Bool(true))),
        0xe0..=0xff => fixed(int((tag as i8).into())),
        // The rest: a length, number or extension type follows.
        0xc4 => u8_at(at).map(|n| (1, Head::Bin(n.into()))),
        0xc5 => u16_at(at).map(|n| (2, Head::Bin(n.into()))),
        0xc6 => u32_at(at).map(|n| (4, Head::Bin(n))),
        0xc7 => bytes::<2>(buf, at).map(|[n, t]| (2, Head::Ext(n.into(), t as i8))),
        0xc8 => bytes::<3>(buf, at).map(|[a, b, t]| {
            let n = u16::from_be_bytes([a, b]);
            (3, Head::Ext(n.into(), t as i8))
        }),
        0xc9 => bytes::<5>(buf, at).map(|[a, b, c, d, t]| {
            let n = u32::from_be_bytes([a, b, c, d]);
            (5, Head::Ext(n, t as i8))
        }),
        0xca => u32_at(at).map(|n| (4, Head::Value(Value::Float(f32::from_bits(n).into())))),
        0xcb => u64_at(at).map(|n| (8, Head::Value(Value::Float(f64::from_bits(n))))),
        0xcc => u8_at(at).map(|n| (1, int(n.into()))),
        0xcd => u16_at(at).map(|n| (2, int(n.into()))),
        0xce => u32_at(at).map(|n| (4, int(n.into()))),
        0xcf => u64_at(at).map(|n| (8, Head::Value(Value::from(n)))),
        0xd0 => u8_at(at).map(|n| (1, int((n as i8).into()))),
        0xd1 => u16_at(at).map(|n| (2, int((n as i16).into()))),
        0xd2 => u32_at(at).map(|n| (4, int((n as i32).into()))),
        0xd3 => u64_at(at).map(|n| (8, int(n as i64))),
        // fixext 1, 2, 4, 8, 16: the type, then that many bytes.
        0xd4..=0xd8 => u8_at(at).map(|t| (1, Head::Ext(1 << (tag - 0xd4), t as i8))),
        0xd9 => u8_at(at).map(|n| (1, Head::Str(n.into()))),
        0xda => u16_at(at).map(|n| (2, Head::Str(n.into()))),
        0xdb => u32_at(at).map(|n| (4, Head::Str(n))),
        0xdc => u16_at(at).map(|n| (2, Head::Array(n.into()))),
        0xdd => u32_at(at).map(|n| (4, Head::Array(n))),
        0xde => u16_at(at).map(|n| (2, Head::Map(n.into()))),
        0xdf => u32_at(at).map(|n| (4, Head::Map(n))),
    };
    Ok(read.map(|(len, head)| (at + len, head)))
}
