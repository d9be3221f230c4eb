//! The JSON parser: one pass over the input with an explicit stack of open arrays and objects,
//! so depth costs heap (bounded by [`Limits::max_depth`]), never call stack.

use super::{JsonError, JsonErrorKind, Limits, Number, Value};
use std::collections::HashMap;

/// Parses `text`, which must hold exactly one JSON value (whitespace around it allowed), under
/// [`Limits::default`].
pub fn parse(text: &[u8]) -> Result<Value, JsonError> {
    parse_with(text, Limits::default())
}

/// Parses `text`, which must hold exactly one JSON value (whitespace around it allowed), under
/// `limits`. Input over [`Limits::max_len`] is refused before it is read.
pub fn parse_with(text: &[u8], limits: Limits) -> Result<Value, JsonError> {
    if text.len() > limits.max_len {
        return Err(JsonError {
            offset: limits.max_len,
            kind: JsonErrorKind::TooLong,
        });
    }
    let s = std::str::from_utf8(text).map_err(|e| JsonError {
        offset: e.valid_up_to(),
        kind: JsonErrorKind::InvalidUtf8,
    })?;
    Parser { s, pos: 0 }.document(limits.max_depth)
}

/// The length of the JSON number at the start of `b`, or the offset where it stops being one.
pub(super) fn scan_number(b: &[u8]) -> Result<usize, usize> {
    let digits = |i: usize| {
        b.get(i..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    match b.get(i) {
        Some(b'0') => {
            i += 1;
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(i);
            }
        }
        Some(b'1'..=b'9') => i += digits(i),
        _ => return Err(i),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        match digits(i) {
            0 => return Err(i),
            n => i += n,
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        match digits(i) {
            0 => return Err(i),
            n => i += n,
        }
    }
    Ok(i)
}

/// An array or object still open.
enum Frame {
    Array(Vec<Value>),
    Object(Members),
}

/// An open object: its members so far, the key whose value is being parsed, and (once the
/// object is big enough for a linear search to hurt) an index of keys to positions. Also how
/// other decoders build an object from key-value pairs with JavaScript's rule for duplicates.
#[derive(Default)]
pub(crate) struct Members {
    members: Vec<(String, Value)>,
    index: Option<HashMap<String, usize>>,
    key: String,
}

impl Members {
    /// Adds `value` under the pending key, replacing an earlier value of that key in place.
    fn insert(&mut self, value: Value) {
        let key = std::mem::take(&mut self.key);
        self.put(key, value);
    }

    /// Adds `value` under `key`, replacing an earlier value of that key in place (as a
    /// JavaScript object does); linear in the members only while there are few.
    pub(crate) fn put(&mut self, key: String, value: Value) {
        let found = if self.members.len() < 16 {
            self.members.iter().position(|(k, _)| *k == key)
        } else {
            let members = &self.members;
            let index = self.index.get_or_insert_with(|| {
                members
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect()
            });
            index.get(&key).copied()
        };
        match found {
            Some(i) => self.members[i].1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(key.clone(), self.members.len());
                }
                self.members.push((key, value));
            }
        }
    }

    /// The object.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.members)
    }
}

/// The input (valid UTF-8) and the offset of the next byte to read.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, offset: usize, kind: JsonErrorKind) -> JsonError {
        JsonError { offset, kind }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// The error for the byte at `pos` (or the end) not being what was expected.
    fn unexpected(&self) -> JsonError {
        match self.peek() {
            Some(b) => self.err(self.pos, JsonErrorKind::UnexpectedByte(b)),
            None => self.err(self.pos, JsonErrorKind::UnexpectedEnd),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The whole input as one value.
    fn document(mut self, max_depth: usize) -> Result<Value, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_ws();
            let mut value = match self.peek() {
                Some(open @ (b'[' | b'{')) => {
                    if stack.len() >= max_depth {
                        return Err(self.err(self.pos, JsonErrorKind::TooDeep));
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let close = if open == b'[' { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        if open == b'[' {
                            Value::Array(Vec::new())
                        } else {
                            Value::Object(Vec::new())
                        }
                    } else {
                        stack.push(if open == b'[' {
                            Frame::Array(Vec::new())
                        } else {
                            let key = self.key()?;
                            Frame::Object(Members {
                                members: Vec::new(),
                                index: None,
                                key,
                            })
                        });
                        continue 'value;
                    }
                }
                Some(b'"') => Value::String(self.string()?),
                Some(b't') => self.literal("true", Value::Bool(true))?,
                Some(b'f') => self.literal("false", Value::Bool(false))?,
                Some(b'n') => self.literal("null", Value::Null)?,
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.pos;
                    match scan_number(&self.s.as_bytes()[start..]) {
                        Ok(len) => self.pos += len,
                        Err(at) => return Err(self.err(start + at, JsonErrorKind::InvalidNumber)),
                    }
                    Value::Number(Number(self.s[start..self.pos].to_owned()))
                }
                _ => return Err(self.unexpected()),
            };
            // A value is complete: hand it to the innermost open container (popped, and pushed
            // back if it goes on), closing as many containers as end here.
            loop {
                self.skip_ws();
                let Some(mut frame) = stack.pop() else {
                    return match self.peek() {
                        None => Ok(value),
                        Some(_) => Err(self.err(self.pos, JsonErrorKind::TrailingData)),
                    };
                };
                let next = self.peek();
                match &mut frame {
                    Frame::Array(items) => {
                        items.push(value);
                        match next {
                            Some(b',') => {
                                self.pos += 1;
                                stack.push(frame);
                                continue 'value;
                            }
                            Some(b']') => self.pos += 1,
                            _ => return Err(self.unexpected()),
                        }
                    }
                    Frame::Object(members) => {
                        members.insert(value);
                        match next {
                            Some(b',') => {
                                self.pos += 1;
                                members.key = self.key()?;
                                stack.push(frame);
                                continue 'value;
                            }
                            Some(b'}') => self.pos += 1,
                            _ => return Err(self.unexpected()),
                        }
                    }
                }
                value = match frame {
                    Frame::Array(items) => Value::Array(items),
                    Frame::Object(members) => Value::Object(members.members),
                };
            }
        }
    }

    /// An object key and the `:` after it.
    fn key(&mut self) -> Result<String, JsonError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.unexpected());
        }
        let key = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.unexpected());
        }
        self.pos += 1;
        Ok(key)
    }

    /// `word` (`true`, `false` or `null`), giving `value`.
    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        for &w in word.as_bytes() {
            if self.peek() != Some(w) {
                return Err(self.unexpected());
            }
            self.pos += 1;
        }
        Ok(value)
    }

    /// A string, from its opening quote (at `pos`) to after its closing one.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.unexpected()),
                Some(b'"') => {
                    out.push_str(&self.s[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.s[run..self.pos]);
                    out.push(self.escape()?);
                    run = self.pos;
                }
                Some(0..=0x1f) => return Err(self.err(self.pos, JsonErrorKind::ControlInString)),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// One escape (from its backslash at `pos`), a surrogate pair taken as one.
    fn escape(&mut self) -> Result<char, JsonError> {
        let start = self.pos;
        self.pos += 1;
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let unit = self.hex4(start)?;
                let lone = self.err(start, JsonErrorKind::LoneSurrogate);
                let code = match unit {
                    0xd800..=0xdbff => {
                        if self.s.as_bytes().get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(lone);
                        }
                        self.pos += 2;
                        let low = self.hex4(self.pos - 2)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(lone);
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(lone),
                    _ => unit,
                };
                return char::from_u32(code).ok_or(lone);
            }
            None => return Err(self.unexpected()),
            Some(_) => return Err(self.err(start, JsonErrorKind::InvalidEscape)),
        };
        self.pos += 1;
        Ok(c)
    }

    /// Four hex digits at `pos`, of the escape that starts at `start`.
    fn hex4(&mut self, start: usize) -> Result<u32, JsonError> {
        let mut unit = 0;
        for _ in 0..4 {
            let Some(b) = self.peek() else {
                return Err(self.unexpected());
            };
            let digit = char::from(b)
                .to_digit(16)
                .ok_or(self.err(start, JsonErrorKind::InvalidEscape))?;
            unit = unit * 16 + digit;
            self.pos += 1;
        }
        Ok(unit)
    }
}
