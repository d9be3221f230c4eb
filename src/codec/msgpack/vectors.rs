//! The vectors notepack.io wrote (`tests/msgpack_vectors/vectors.txt`, format documented in
//! its `make.js`): each parses to the value described, re-encodes to the same bytes, and every
//! strict prefix of it needs more.

use super::*;
use crate::codec::json;
use crate::codec::sha1::sha1;

const VECTORS: &str = include_str!("../../../tests/msgpack_vectors/vectors.txt");

/// One line of the file.
struct Vector {
    name: &'static str,
    wire: Wire,
    value: Value,
}

/// The bytes, in full or (for long ones) by length, SHA-1 and first bytes.
enum Wire {
    Full(Vec<u8>),
    Digest {
        len: usize,
        sha1: Vec<u8>,
        head: Vec<u8>,
    },
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, ' ');
            let (Some(name), Some(wire), Some(value)) =
                (fields.next(), fields.next(), fields.next())
            else {
                panic!("short line {line:?}");
            };
            let wire = match wire.strip_prefix("len=") {
                None => Wire::Full(hex(wire)),
                Some(rest) => {
                    let parts: Vec<&str> = rest.split(',').collect();
                    let [len, sha, head] = parts[..] else {
                        panic!("bad digest {wire:?}");
                    };
                    Wire::Digest {
                        len: len.parse().expect("length"),
                        sha1: hex(sha.strip_prefix("sha1=").expect("sha1=")),
                        head: hex(head.strip_prefix("head=").expect("head=")),
                    }
                }
            };
            let limits = json::Limits {
                max_depth: 256,
                ..json::Limits::default()
            };
            let described = json::parse_with(value.as_bytes(), limits).expect("value is JSON");
            Vector {
                name,
                wire,
                value: from_description(&described),
            }
        })
        .collect()
}

/// The value a tagged description (`["int","-33"]`, `["array*",[...],n]`, ...) stands for.
fn from_description(d: &json::Value) -> Value {
    let parts = d.as_array().expect("a description is an array");
    let tag = parts[0].as_str().expect("tag");
    let text = |i: usize| parts[i].as_str().expect("text field");
    let count = |i: usize| {
        let n = parts[i]
            .as_number()
            .and_then(|n| n.as_u64())
            .expect("count");
        usize::try_from(n).expect("count fits")
    };
    let list = |i: usize| -> Vec<Value> {
        let items = parts[i].as_array().expect("list field");
        items.iter().map(from_description).collect()
    };
    match tag {
        "nil" => Value::Nil,
        "bool" => Value::Bool(parts[1].as_bool().expect("bool")),
        "int" => match text(1).parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => Value::from(text(1).parse::<u64>().expect("integer")),
        },
        "f64" => Value::Float(text(1).parse().expect("float")),
        "str" => Value::Str(text(1).to_owned()),
        "str*" => Value::Str(text(1).repeat(count(2))),
        "bin" => Value::Bin(hex(text(1))),
        "bin*" => Value::Bin(hex(text(1)).repeat(count(2))),
        "ext" => {
            let kind = parts[1].as_number().and_then(|n| n.as_i64()).expect("type");
            Value::Ext(i8::try_from(kind).expect("i8 type"), hex(text(2)))
        }
        "array" => Value::Array(list(1)),
        "array*" => {
            let run = list(1);
            Value::Array(
                run.iter()
                    .cycle()
                    .take(run.len() * count(2))
                    .cloned()
                    .collect(),
            )
        }
        "map" => {
            let entries = parts[1].as_array().expect("entries");
            let entry = |e: &json::Value| match e.as_array() {
                Some([k, v]) => (from_description(k), from_description(v)),
                _ => panic!("map entry {e}"),
            };
            Value::Map(entries.iter().map(entry).collect())
        }
        other => panic!("unknown tag {other:?}"),
    }
}

/// Equal, with floats compared by their bits (so NaN equals NaN).
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => a == b,
    }
}

/// Parses `wire` whole (also with a byte after it) and at every strict prefix; re-encodes what
/// it read to the same bytes unless notepack.io wrote them by wrapping (`_wraps`).
fn check_parse(name: &str, wire: &[u8], expect: &Value) {
    let limits = Limits::default();
    for i in 0..wire.len() {
        assert_eq!(parse(&wire[..i], &limits), Ok(None), "{name}: prefix {i}");
    }
    let mut more = wire.to_vec();
    more.push(0xc0);
    for input in [wire, &more[..]] {
        match parse(input, &limits) {
            Ok(Some((used, value))) => {
                assert_eq!(used, wire.len(), "{name}: bytes used");
                assert!(same(&value, expect), "{name}: parsed {value:?}");
                if !name.ends_with("_wraps") {
                    assert_eq!(value.to_bytes(), wire, "{name}: re-encoded");
                }
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn the_file_has_every_group_of_vectors() {
    let vectors = vectors();
    assert!(vectors.len() >= 90, "{} vectors", vectors.len());
    for prefix in [
        "int_", "float_", "str_", "bin_", "array_", "map_", "date_", "redis_",
    ] {
        assert!(
            vectors.iter().any(|v| v.name.starts_with(prefix)),
            "{prefix}"
        );
    }
    let mut names: Vec<&str> = vectors.iter().map(|v| v.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), vectors.len(), "names are unique");
}

#[test]
fn every_vector_parses_re_encodes_and_needs_more_at_every_prefix() {
    for Vector { name, wire, value } in vectors() {
        match wire {
            Wire::Full(bytes) => {
                check_parse(name, &bytes, &value);
                if !name.ends_with("_wraps") {
                    assert_eq!(
                        value.to_bytes(),
                        bytes,
                        "{name}: encoded from its description"
                    );
                }
            }
            Wire::Digest {
                len,
                sha1: digest,
                head,
            } => {
                let bytes = value.to_bytes();
                assert_eq!(bytes.len(), len, "{name}: length");
                assert_eq!(sha1(&bytes)[..], digest[..], "{name}: SHA-1");
                assert!(bytes.starts_with(&head), "{name}: first bytes");
                check_parse(name, &bytes, &value);
            }
        }
    }
}

#[test]
fn the_redis_adapter_message_reads_as_the_adapter_wrote_it() {
    let message = vectors()
        .into_iter()
        .find(|v| v.name == "redis_adapter_broadcast_binary")
        .expect("vector");
    let Wire::Full(bytes) = message.wire else {
        panic!("short vector");
    };
    let (_, value) = parse(&bytes, &Limits::default()).unwrap().unwrap();
    let [uid, packet, opts] = value.as_array().unwrap() else {
        panic!("three parts");
    };
    assert_eq!(uid.as_str(), Some("uid123"));
    assert_eq!(packet.map_get("type").and_then(Value::as_i64), Some(5));
    assert_eq!(packet.map_get("nsp").and_then(Value::as_str), Some("/"));
    let data = packet.map_get("data").and_then(Value::as_array).unwrap();
    assert_eq!(data[0].as_str(), Some("file"));
    assert_eq!(
        data[1].map_get("bytes").and_then(Value::as_bin),
        Some(&[0, 1, 2, 0xfe, 0xff][..])
    );
    let rooms = opts.map_get("rooms").and_then(Value::as_array).unwrap();
    assert_eq!(rooms, [Value::from("lobby")]);
    assert_eq!(
        opts.map_get("except").and_then(Value::as_array),
        Some(&[][..])
    );
    assert_eq!(opts.map_get("flags").and_then(Value::as_map), Some(&[][..]));
}
