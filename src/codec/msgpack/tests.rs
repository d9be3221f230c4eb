//! Hand-written tests of the MessagePack codec: the limits at their edges, cut headers, the
//! reserved byte, invalid UTF-8, lengths the input cannot back, deep nesting, the forms
//! notepack.io never writes (float 32, ext 16/32), the encoder's choices, every split point of a
//! value using every form, and seeded random input.

use super::vectors::same;
use super::*;

fn parse_default(buf: &[u8]) -> Result<Option<(usize, Value)>, MsgpackError> {
    parse(buf, &Limits::default())
}

fn whole(buf: &[u8]) -> Value {
    match parse_default(buf) {
        Ok(Some((used, value))) if used == buf.len() => value,
        other => panic!("{buf:02x?}: {other:?}"),
    }
}

fn limits(max_depth: usize, max_items: usize, max_bytes: usize) -> Limits {
    Limits {
        max_depth,
        max_items,
        max_bytes,
    }
}

/// Every strict prefix needs more; the whole parses to `expect` (also with a byte after it).
fn check_splits(wire: &[u8], lim: &Limits, expect: &Value) {
    for i in 0..wire.len() {
        assert_eq!(parse(&wire[..i], lim), Ok(None), "prefix {i}");
    }
    let mut more = wire.to_vec();
    more.push(0xc3);
    for input in [wire, &more[..]] {
        let (used, value) = parse(input, lim).unwrap().unwrap();
        assert_eq!(used, wire.len());
        assert!(same(&value, expect), "{value:?}");
    }
}

#[test]
fn every_tag_alone_needs_more_except_whole_values_and_0xc1() {
    for tag in 0..=255u8 {
        let got = parse_default(&[tag]);
        match tag {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 | 0x80 | 0x90 | 0xa0 => {
                assert!(matches!(got, Ok(Some((1, _)))), "0x{tag:02x}: {got:?}")
            }
            0xc1 => assert_eq!(got, Err(MsgpackError::Reserved(0xc1))),
            _ => assert_eq!(got, Ok(None), "0x{tag:02x}"),
        }
    }
    assert_eq!(parse_default(&[]), Ok(None));
}

#[test]
fn cut_headers_need_more() {
    for wire in [
        &[0xcd, 0x01][..],
        &[0xcf, 0, 0, 0, 0, 0, 0, 0],
        &[0xd3, 0xff, 0xff],
        &[0xcb, 0x3f, 0xe0, 0, 0, 0, 0],
        &[0xda, 0x01],
        &[0xdb, 0, 0, 0],
        &[0xc6, 0, 0],
        &[0xc7, 0x01],
        &[0xc8, 0x00, 0x01],
        &[0xc9, 0, 0, 0, 1],
        &[0xd8],
        &[0xdd, 0, 0, 0],
        &[0xdf, 0, 0],
        &[0x92, 0x01, 0xcd, 0x01],
    ] {
        assert_eq!(parse_default(wire), Ok(None), "{wire:02x?}");
    }
}

#[test]
fn the_reserved_byte_is_an_error_anywhere() {
    assert_eq!(parse_default(&[0xc1]), Err(MsgpackError::Reserved(0xc1)));
    assert_eq!(
        parse_default(&[0x92, 0x01, 0xc1]),
        Err(MsgpackError::Reserved(0xc1))
    );
    assert_eq!(
        parse_default(&[0x81, 0xc1, 0x01]),
        Err(MsgpackError::Reserved(0xc1))
    );
}

#[test]
fn strings_must_be_utf8() {
    let invalid = MsgpackError::InvalidUtf8 { offset: 1 };
    assert_eq!(parse_default(&[0xa2, 0xff, 0xfe]), Err(invalid));
    // A surrogate (CESU-8) and an overlong '/'.
    assert_eq!(parse_default(&[0xa3, 0xed, 0xa0, 0x80]), Err(invalid));
    assert_eq!(parse_default(&[0xa2, 0xc0, 0xaf]), Err(invalid));
    // Cut inside a character is only a cut.
    assert_eq!(parse_default(&[0xa2, 0xc3]), Ok(None));
    assert_eq!(
        parse_default(&[0x91, 0xd9, 0x01, 0x80]),
        Err(MsgpackError::InvalidUtf8 { offset: 3 })
    );
    // The same bytes as a binary are fine.
    assert_eq!(
        whole(&[0xc4, 0x02, 0xff, 0xfe]),
        Value::Bin(vec![0xff, 0xfe])
    );
}

#[test]
fn lengths_the_input_cannot_back_need_more_without_reserving_them() {
    let open = limits(64, usize::MAX, usize::MAX);
    let mut claims: Vec<Vec<u8>> = Vec::new();
    // 4 GiB of string, binary, extension, array and map, with 10 bytes present.
    for tag in [0xdb, 0xc6, 0xdd, 0xdf] {
        let mut wire = vec![tag, 0xff, 0xff, 0xff, 0xff];
        wire.extend_from_slice(&[0x01; 10]);
        claims.push(wire);
    }
    claims.push([&[0xc9, 0xff, 0xff, 0xff, 0xff, 0x05][..], &[0x01; 10]].concat());
    // Arrays of 15 inside arrays of 15: each fits what is left, together they cannot.
    claims.push(vec![0x9f; 100]);
    // An array of 4 whose first item is an array of 3: 6 more values need 6 bytes, 4 present.
    claims.push(vec![0x94, 0x93, 1, 2, 3, 4]);
    for wire in &claims {
        assert_eq!(parse(wire, &open), Ok(None), "{:02x?}", &wire[..6]);
    }
    // Under the default limits the same headers are refused outright.
    let big = u64::from(u32::MAX);
    let too_large = |len| MsgpackError::TooLarge { len, max: 16 << 20 };
    let too_many = |len| MsgpackError::TooManyItems { len, max: 1 << 20 };
    assert_eq!(parse_default(&claims[0]), Err(too_large(big)));
    assert_eq!(parse_default(&claims[1]), Err(too_large(big)));
    assert_eq!(parse_default(&claims[2]), Err(too_many(big)));
    assert_eq!(parse_default(&claims[3]), Err(too_many(big)));
    assert_eq!(parse_default(&claims[4]), Err(too_large(big)));
}

#[test]
fn limits_hold_at_their_edges_and_are_checked_on_the_header() {
    let lim = limits(2, 3, 4);
    let ok = |wire: &[u8]| assert!(matches!(parse(wire, &lim), Ok(Some(_))), "{wire:02x?}");
    ok(&[0x93, 1, 2, 3]);
    ok(&[0x83, 1, 1, 2, 2, 3, 3]);
    ok(&[0xa4, b'a', b'b', b'c', b'd']);
    ok(&[0xc4, 4, 0, 0, 0, 0]);
    ok(&[0xd6, 1, 0, 0, 0, 0]);
    ok(&[0x91, 0x91, 0x01]);
    ok(&[0x91, 0x90]);
    let too_many = Err(MsgpackError::TooManyItems { len: 4, max: 3 });
    assert_eq!(parse(&[0x94], &lim), too_many);
    assert_eq!(parse(&[0x84], &lim), too_many);
    assert_eq!(parse(&[0xdc, 0, 4], &lim), too_many);
    let too_large = Err(MsgpackError::TooLarge { len: 5, max: 4 });
    assert_eq!(parse(&[0xa5], &lim), too_large);
    assert_eq!(parse(&[0xc4, 5], &lim), too_large);
    assert_eq!(parse(&[0xc7, 5, 1], &lim), too_large);
    assert_eq!(
        parse(&[0xd8, 1], &lim),
        Err(MsgpackError::TooLarge { len: 16, max: 4 })
    );
    let too_deep = Err(MsgpackError::TooDeep { max: 2 });
    assert_eq!(parse(&[0x91, 0x91, 0x91], &lim), too_deep);
    assert_eq!(parse(&[0x91, 0x91, 0x90], &lim), too_deep);
    assert_eq!(parse(&[0x81, 0x01, 0x81, 0x01, 0x80], &lim), too_deep);
    assert_eq!(
        parse(&[0x90], &limits(0, 3, 4)),
        Err(MsgpackError::TooDeep { max: 0 })
    );
    assert_eq!(whole(&[0x01]), Value::Int(1));
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    let mut wire = vec![0x91; 100_000];
    wire.push(0xc0);
    assert_eq!(parse_default(&wire), Err(MsgpackError::TooDeep { max: 64 }));
    // Under a high limit the parser walks it all on its explicit stack; the value is dropped
    // (recursively, once per level) on a thread with room for that.
    let deep = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let lim = limits(usize::MAX, 1, 1);
            let (used, value) = parse(&wire, &lim).unwrap().unwrap();
            assert_eq!(used, wire.len());
            assert_eq!(value.to_bytes(), wire);
        })
        .unwrap();
    deep.join().unwrap();
}

#[test]
fn forms_notepack_never_writes_are_read() {
    assert_eq!(whole(&[0xca, 0x3f, 0xc0, 0, 0]), Value::Float(1.5));
    assert_eq!(whole(&[0xd0, 0x05]), Value::Int(5));
    assert_eq!(whole(&[0xcf, 0, 0, 0, 0, 0, 0, 0, 7]), Value::Int(7));
    assert_eq!(
        whole(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        Value::UInt(u64::MAX)
    );
    assert_eq!(whole(&[0xd4, 0x00, 0x00]), Value::Ext(0, vec![0]));
    assert_eq!(whole(&[0xd5, 0x80, 1, 2]), Value::Ext(-128, vec![1, 2]));
    assert_eq!(
        whole(&[0xc8, 0x00, 0x02, 0x07, 1, 2]),
        Value::Ext(7, vec![1, 2])
    );
    assert_eq!(
        whole(&[0xc9, 0, 0, 0, 1, 0x7f, 9]),
        Value::Ext(127, vec![9])
    );
    assert_eq!(
        whole(&[0xdd, 0, 0, 0, 1, 0xc0]),
        Value::Array(vec![Value::Nil])
    );
    assert_eq!(
        whole(&[0xdf, 0, 0, 0, 1, 0x01, 0xc2]),
        Value::Map(vec![(Value::Int(1), Value::Bool(false))])
    );
    assert_eq!(whole(&[0xdb, 0, 0, 0, 1, b'z']), Value::from("z"));
}

#[test]
fn the_encoder_makes_notepacks_choices() {
    let enc = |v: Value| v.to_bytes();
    // Integral floats are integers (as JavaScript numbers are); others float 64.
    assert_eq!(enc(Value::Float(2.0)), [0x02]);
    assert_eq!(enc(Value::Float(-0.0)), [0x00]);
    assert_eq!(enc(Value::Float(-33.0)), [0xd0, 0xdf]);
    assert_eq!(
        enc(Value::Float(9_223_372_036_854_775_808.0)),
        [0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        enc(Value::Float(-9_223_372_036_854_775_808.0)),
        [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(enc(Value::Float(0.5)), [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
    // Past the 64-bit ranges notepack.io wraps (1e300 becomes 0); this encoder keeps the value.
    let big = enc(Value::Float(1e300));
    assert_eq!(big[0], 0xcb);
    assert_eq!(whole(&big), Value::Float(1e300));
    assert_eq!(enc(Value::Float(18_446_744_073_709_551_616.0))[0], 0xcb);
    assert_eq!(
        enc(Value::Float(f64::INFINITY)),
        [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]
    );
    // A UInt below i64::MAX still takes the smallest form; i64::MIN is int 64.
    assert_eq!(enc(Value::UInt(5)), [0x05]);
    assert_eq!(enc(Value::Int(i64::MIN)), [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    // Extensions: fixext for 1, 2, 4, 8 and 16 bytes, ext 8/16/32 otherwise.
    for (len, head) in [
        (1, &[0xd4, 0x05][..]),
        (2, &[0xd5, 0x05]),
        (4, &[0xd6, 0x05]),
        (8, &[0xd7, 0x05]),
        (16, &[0xd8, 0x05]),
        (0, &[0xc7, 0x00, 0x05]),
        (3, &[0xc7, 0x03, 0x05]),
        (12, &[0xc7, 0x0c, 0x05]),
        (255, &[0xc7, 0xff, 0x05]),
        (256, &[0xc8, 0x01, 0x00, 0x05]),
        (65536, &[0xc9, 0, 1, 0, 0, 0x05]),
    ] {
        let value = Value::Ext(5, vec![0xee; len]);
        let wire = enc(value.clone());
        assert_eq!(&wire[..head.len()], head, "ext of {len}");
        assert_eq!(wire.len(), head.len() + len);
        assert_eq!(whole(&wire), value);
    }
    // Keys need not be strings.
    let map = Value::Map(vec![
        (Value::Int(1), Value::Nil),
        (Value::Bool(true), Value::from("t")),
    ]);
    assert_eq!(enc(map.clone()), [0x82, 0x01, 0xc0, 0xc3, 0xa1, b't']);
    assert_eq!(whole(&enc(map.clone())), map);
}

/// A value using every form the encoder writes, nested.
fn every_form() -> Value {
    let ints: [i64; 14] = [
        0,
        127,
        128,
        255,
        256,
        65535,
        65536,
        1 << 32,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
    ];
    let mut items: Vec<Value> = ints.into_iter().map(Value::from).collect();
    items.extend([
        Value::from(-32769),
        Value::from(i64::MIN),
        Value::from(u64::MAX),
        Value::Nil,
        Value::Bool(true),
        Value::Bool(false),
        Value::Float(-1.5),
        Value::Float(f64::NAN),
        Value::from(""),
        Value::from("é😀"),
        Value::from("s".repeat(40)),
        Value::from("t".repeat(300)),
        Value::Bin(vec![]),
        Value::Bin(vec![7; 300]),
        Value::Ext(-1, vec![0, 0, 0, 1]),
        Value::Ext(3, vec![1, 2, 3]),
        Value::Ext(4, vec![9; 300]),
        Value::Array(vec![]),
        Value::Map(vec![]),
        Value::array(0..20),
        Value::object((0..20).map(|i| (format!("k{i}"), Value::from(i)))),
        Value::array([Value::array([Value::object([("deep", Value::array([1]))])])]),
    ]);
    Value::Array(items)
}

#[test]
fn a_value_of_every_form_at_every_split_point() {
    let value = every_form();
    let wire = value.to_bytes();
    check_splits(&wire, &Limits::default(), &value);
}

#[test]
fn conveniences() {
    let msg = Value::object([
        ("type", Value::from(2)),
        ("nsp", Value::from("/")),
        ("type", Value::from(3)),
        ("data", Value::array(["message", "hi"])),
        ("big", Value::from(u64::MAX)),
        ("x", Value::Float(2.5)),
    ]);
    assert_eq!(
        msg.map_get("type").and_then(Value::as_i64),
        Some(3),
        "the last duplicate"
    );
    assert_eq!(msg.map_get("nsp").and_then(Value::as_str), Some("/"));
    assert_eq!(msg.map_get("missing"), None);
    let data = msg.map_get("data").and_then(Value::as_array).unwrap();
    assert_eq!(data, [Value::from("message"), Value::from("hi")]);
    let big = msg.map_get("big").unwrap();
    assert_eq!((big.as_i64(), big.as_u64()), (None, Some(u64::MAX)));
    assert_eq!(big.as_f64(), Some(u64::MAX as f64));
    assert_eq!(Value::from(-1).as_u64(), None);
    assert_eq!(msg.map_get("x").and_then(Value::as_f64), Some(2.5));
    assert_eq!(Value::from(7u64), Value::Int(7));
    assert_eq!(Value::Nil.as_str(), None);
    assert!(Value::Nil.is_nil());
    assert_eq!(Value::Bool(true).as_bool(), Some(true));
    assert_eq!(Value::Int(1).map_get("a"), None);
    #[cfg(target_pointer_width = "64")]
    assert_eq!(
        std::mem::size_of::<Value>(),
        32,
        "the size Limits documents"
    );
}

#[test]
fn errors_display() {
    let shown = [
        MsgpackError::Reserved(0xc1).to_string(),
        MsgpackError::TooDeep { max: 64 }.to_string(),
        MsgpackError::TooManyItems { len: 9, max: 8 }.to_string(),
        MsgpackError::TooLarge { len: 9, max: 8 }.to_string(),
        MsgpackError::InvalidUtf8 { offset: 3 }.to_string(),
    ];
    assert_eq!(
        shown,
        [
            "reserved byte 0xc1",
            "nested deeper than 64",
            "9 items in one array or map (at most 8)",
            "9 bytes in one string, binary or extension (at most 8)",
            "string at offset 3 is not UTF-8",
        ]
    );
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Float(_) => true,
        Value::Array(items) => items.iter().any(has_float),
        Value::Map(entries) => entries.iter().any(|(k, v)| has_float(k) || has_float(v)),
        _ => false,
    }
}

#[test]
fn seeded_random_input_never_panics_and_parses_consistently() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let lim = limits(8, 64, 64);
    let valid = every_form().to_bytes();
    for round in 0..20_000 {
        let input: Vec<u8> = if round % 2 == 0 {
            // Random bytes, biased towards headers.
            let len = (next() % 48) as usize;
            (0..len)
                .map(|_| match next() % 4 {
                    0 => 0xc4 + (next() % 28) as u8,
                    1 => 0x80 + (next() % 48) as u8,
                    _ => next() as u8,
                })
                .collect()
        } else {
            // A valid encoding with a few bytes changed.
            let mut v = valid.clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % v.len();
                v[at] = next() as u8;
            }
            v
        };
        match parse(&input, &lim) {
            Ok(Some((used, value))) => {
                assert!(used <= input.len());
                // Whatever was read re-reads from its own encoding, which is then stable
                // (a float 32 of 1.0 comes back as the integer 1, as notepack.io writes it).
                let again = value.to_bytes();
                let (n, reread) = parse(&again, &lim).unwrap().unwrap();
                assert_eq!(n, again.len());
                assert_eq!(reread.to_bytes(), again);
                if !has_float(&value) {
                    assert!(same(&reread, &value), "{value:?}");
                }
            }
            Ok(None) => {
                // More input can only complete it: anything appended gives a value or an
                // error, never a shorter value.
                let mut longer = input.clone();
                longer.extend_from_slice(&[0xc0; 64]);
                if let Ok(Some((used, _))) = parse(&longer, &lim) {
                    assert!(used > input.len());
                }
            }
            Err(_) => {}
        }
    }
}
