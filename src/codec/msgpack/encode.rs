//! The MessagePack encoder, making notepack.io's choices: the smallest form for every integer
//! and length (positive integers unsigned, negative ones signed; `str 8` for strings of 32 to
//! 255 bytes; `bin 8` for binaries under 256 bytes, never a str form), never float 32, and
//! integral floats as integers. It walks the value with an explicit stack, so any depth is safe.

use super::Value;

/// 2^63 and 2^64, exactly, as `f64`.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// Appends the encoding of `value` to `out`: the bytes notepack.io writes for the same value.
///
/// A [`Value::Float`] that is integral and in `[-2^63, 2^64)` is written as that integer, as
/// notepack.io writes a JavaScript number (`-0.0` is `0`). Outside that range notepack.io
/// still writes an integer form, with its high word wrapped (1e300 becomes 0); this encoder
/// writes a float 64 instead, which notepack.io reads back as the same number.
///
/// # Panics
///
/// If a string, binary or extension passes `u32::MAX` bytes or an array or map `u32::MAX`
/// items: MessagePack has no form for them (notepack.io throws too).
pub fn encode(value: &Value, out: &mut Vec<u8>) {
    let mut todo = vec![value];
    while let Some(value) = todo.pop() {
        match value {
            Value::Nil => out.push(0xc0),
            Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Int(n) => match u64::try_from(*n) {
                Ok(n) => write_uint(n, out),
                Err(_) => write_negative(*n, out),
            },
            Value::UInt(n) => write_uint(*n, out),
            Value::Float(f) => write_number(*f, out),
            Value::Str(s) => {
                write_len(s.len(), [0xd9, 0xda, 0xdb], Some((0xa0, 32)), out);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Bin(b) => {
                write_len(b.len(), [0xc4, 0xc5, 0xc6], None, out);
                out.extend_from_slice(b);
            }
            Value::Ext(kind, data) => {
                match data.len() {
                    1 => out.push(0xd4),
                    2 => out.push(0xd5),
                    4 => out.push(0xd6),
                    8 => out.push(0xd7),
                    16 => out.push(0xd8),
                    len => write_len(len, [0xc7, 0xc8, 0xc9], None, out),
                }
                out.push(*kind as u8);
                out.extend_from_slice(data);
            }
            Value::Array(items) => {
                write_len(items.len(), [0, 0xdc, 0xdd], Some((0x90, 16)), out);
                todo.extend(items.iter().rev());
            }
            Value::Map(entries) => {
                write_len(entries.len(), [0, 0xde, 0xdf], Some((0x80, 16)), out);
                for (k, v) in entries.iter().rev() {
                    todo.push(v);
                    todo.push(k);
                }
            }
        }
    }
}

/// A number as notepack.io writes it: integral values in range as integers, others float 64.
fn write_number(f: f64, out: &mut Vec<u8>) {
    if f.trunc() == f && (-TWO_63..TWO_64).contains(&f) {
        if f >= 0.0 {
            write_uint(f as u64, out);
        } else {
            write_negative(f as i64, out);
        }
    } else {
        out.push(0xcb);
        out.extend_from_slice(&f.to_be_bytes());
    }
}

/// A non-negative integer: positive fixint, then uint 8, 16, 32, 64.
fn write_uint(n: u64, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[0xcc, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0xcd);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0xce);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A negative integer: negative fixint, then int 8, 16, 32, 64.
fn write_negative(n: i64, out: &mut Vec<u8>) {
    if n >= -32 {
        out.push(n as u8);
    } else if let Ok(n) = i8::try_from(n) {
        out.extend_from_slice(&[0xd0, n as u8]);
    } else if let Ok(n) = i16::try_from(n) {
        out.push(0xd1);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = i32::try_from(n) {
        out.push(0xd2);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A length header: the fixed form `(base, limit)` below `limit`, if the type has one, else
/// the 8-bit form (tags\[0\], skipped when 0) below 256, the 16-bit one, the 32-bit one.
fn write_len(len: usize, tags: [u8; 3], fixed: Option<(u8, usize)>, out: &mut Vec<u8>) {
    match fixed {
        Some((base, limit)) if len < limit => out.push(base | len as u8),
        _ if tags[0] != 0 && len < 0x100 => out.extend_from_slice(&[tags[0], len as u8]),
        _ => match u16::try_from(len) {
            Ok(n) => {
                out.push(tags[1]);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Err(_) => {
                let n = u32::try_from(len).expect("MessagePack lengths stop at u32::MAX");
                out.push(tags[2]);
                out.extend_from_slice(&n.to_be_bytes());
            }
        },
    }
}
