//! JSON values (with binary attachments) to msgpack and back, as JavaScript sees both: a
//! number is one type (integral values take msgpack's integer forms, the rest float 64), a
//! Buffer is `bin`, an object is a map with string keys.

use super::AdapterError;
use crate::codec::json::{Members, Number, Value as Json};
use crate::codec::msgpack::Value as Pack;

/// The msgpack of a JSON value, as notepack.io encodes what `JSON.parse` would give.
pub fn to_msgpack(v: &Json) -> Pack {
    match v {
        Json::Null => Pack::Nil,
        Json::Bool(b) => Pack::Bool(*b),
        Json::Number(n) => number(n),
        Json::String(s) => Pack::Str(s.clone()),
        Json::Array(items) => Pack::Array(items.iter().map(to_msgpack).collect()),
        Json::Object(members) => Pack::Map(
            members
                .iter()
                .map(|(k, v)| (Pack::Str(k.clone()), to_msgpack(v)))
                .collect(),
        ),
        Json::Binary(bytes) => Pack::Bin(bytes.clone()),
    }
}

/// A JSON number as a JavaScript number: an integer form if it is integral and exact.
fn number(n: &Number) -> Pack {
    match n.as_i64() {
        Some(i) => Pack::Int(i),
        None => Pack::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// The JSON value of a msgpack value. Map keys must be strings (or numbers, written as
/// JavaScript writes them); a non-finite float is `null`, as `JSON.stringify` has it;
/// extensions (a Date) are refused.
pub fn from_msgpack(v: &Pack) -> Result<Json, AdapterError> {
    Ok(match v {
        Pack::Nil => Json::Null,
        Pack::Bool(b) => Json::Bool(*b),
        Pack::Int(i) => Json::Number(Number::new(&i.to_string()).expect("an integer")),
        Pack::UInt(u) => Json::Number(Number::new(&u.to_string()).expect("an integer")),
        Pack::Float(f) if f.is_finite() => {
            let text = format!("{f:?}");
            match Number::new(&text) {
                Some(n) => Json::Number(n),
                None => Json::Number(Number::new(&format!("{f:e}")).expect("a float")),
            }
        }
        Pack::Float(_) => Json::Null,
        Pack::Str(s) => Json::String(s.clone()),
        Pack::Bin(b) => Json::Binary(b.clone()),
        Pack::Array(items) => {
            Json::Array(items.iter().map(from_msgpack).collect::<Result<_, _>>()?)
        }
        Pack::Map(entries) => {
            // A later duplicate replaces the earlier one, as in a JavaScript object (indexed
            // past a few keys, so a map of many keys costs no quadratic search).
            let mut members = Members::default();
            for (k, v) in entries {
                let key = match k {
                    Pack::Str(s) => s.clone(),
                    Pack::Int(i) => i.to_string(),
                    _ => return Err(AdapterError::Shape("a map key that is not a string")),
                };
                members.put(key, from_msgpack(v)?);
            }
            members.into_value()
        }
        Pack::Ext(..) => return Err(AdapterError::Shape("a msgpack extension")),
    })
}
