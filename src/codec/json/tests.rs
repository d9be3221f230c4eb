//! Tests of the JSON parser and serializer: round trips, each error kind, limits, and seeded
//! random inputs and values.

use super::*;

fn kind(text: &[u8]) -> JsonErrorKind {
    parse(text).unwrap_err().kind
}

fn round_trip(text: &str) {
    let value = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(value.to_json(), text);
}

#[test]
fn round_trips() {
    for text in [
        r#"{"3":[true]}"#,
        r#"{"a":1,"b":[1.5e10,-0,0.1,null,"x"]}"#,
        r#""héllo wörld ☃ 😀""#,
        r#"[-0,1e400,12345678901234567890123,0.1e-7,1E+2,-1.25e-3]"#,
        r#"{"z":1,"a":2,"m":{"y":[],"b":{}}}"#,
        r#"["a/b","<\"\\>"]"#,
        "false",
        "null",
        r#""""#,
    ] {
        round_trip(text);
    }
}

#[test]
fn whitespace_around_and_between() {
    let v = parse(b" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n").unwrap();
    assert_eq!(v.to_json(), r#"{"a":[1,2],"b":{}}"#);
}

#[test]
fn unicode_escapes_parse_to_chars_and_serialize_raw() {
    let v = parse(br#""\u00e9\ud83d\ude00\u0041\/""#).unwrap();
    assert_eq!(v.as_str(), Some("é😀A/"));
    assert_eq!(v.to_json(), "\"é😀A/\"");
    assert_eq!(parse(br#""\uD83D\uDE00""#).unwrap().as_str(), Some("😀"));
}

#[test]
fn numbers_keep_their_text() {
    let v = parse(b"[-0,1e400,12345678901234567890123,0.1e-7,1e2,3.0,-7]").unwrap();
    let n: Vec<&Number> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_number().unwrap())
        .collect();
    assert_eq!(n[0].as_str(), "-0");
    assert_eq!(n[0].as_i64(), Some(0));
    assert_eq!(n[0].as_u64(), Some(0));
    assert_eq!(n[1].as_f64(), None);
    assert_eq!(n[1].as_i64(), None);
    assert_eq!(n[2].as_u64(), None);
    assert!(n[2].as_f64().is_some());
    assert_eq!(n[3].as_f64(), Some(0.1e-7));
    assert_eq!(n[4].as_i64(), Some(100));
    assert_eq!(n[5].as_u64(), Some(3));
    assert_eq!(n[6].as_i64(), Some(-7));
    assert_eq!(n[6].as_u64(), None);
    assert_eq!(
        Number::new("18446744073709551615").unwrap().as_u64(),
        Some(u64::MAX)
    );
    for bad in [
        "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x1", " 1", "1 ",
    ] {
        assert_eq!(Number::new(bad), None, "{bad:?}");
    }
}

#[test]
fn from_numbers() {
    assert_eq!(Value::from(-5i64).to_json(), "-5");
    assert_eq!(Value::from(u64::MAX).to_json(), "18446744073709551615");
    assert_eq!(Value::from(7u32).to_json(), "7");
    assert_eq!(Value::from(3usize).to_json(), "3");
    assert_eq!(Value::from(1.5).to_json(), "1.5");
    assert_eq!(Value::from(2.0).to_json(), "2");
    assert_eq!(Value::from(-0.0).to_json(), "0");
    assert_eq!(Value::from(1e21).to_json(), "1e21");
    assert_eq!(Value::from(1.5e-7).to_json(), "1.5e-7");
    assert_eq!(Value::from(f64::NAN), Value::Null);
    assert_eq!(Value::from(f64::INFINITY), Value::Null);
    assert_eq!(Value::from(f64::NEG_INFINITY), Value::Null);
}

#[test]
fn depth_limit() {
    let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(parse(nest(64).as_bytes()).is_ok());
    let err = parse(nest(65).as_bytes()).unwrap_err();
    assert_eq!(
        err,
        JsonError {
            offset: 64,
            kind: JsonErrorKind::TooDeep
        }
    );
    let objects = format!("{}1{}", "{\"a\":".repeat(64), "}".repeat(64));
    assert!(parse(objects.as_bytes()).is_ok());
    let objects = format!("{}1{}", "{\"a\":".repeat(65), "}".repeat(65));
    assert_eq!(kind(objects.as_bytes()), JsonErrorKind::TooDeep);
    let limits = Limits {
        max_depth: 0,
        max_len: 10,
    };
    assert!(parse_with(b"1", limits).is_ok());
    assert_eq!(
        parse_with(b"[]", limits).unwrap_err().kind,
        JsonErrorKind::TooDeep
    );
    // Far past any stack: refused at the limit without recursion.
    assert_eq!(kind("[".repeat(1 << 19).as_bytes()), JsonErrorKind::TooDeep);
    // With no depth limit the parser itself still does not recurse (open containers are a
    // heap stack of flat frames); only a deep finished Value recurses, in drop and to_json.
    let huge = Limits {
        max_depth: usize::MAX,
        max_len: usize::MAX,
    };
    let open = format!("{}1", "[".repeat(1 << 20));
    assert_eq!(
        parse_with(open.as_bytes(), huge).unwrap_err().kind,
        JsonErrorKind::UnexpectedEnd
    );
    assert!(parse_with(nest(2_000).as_bytes(), huge).is_ok());
}

#[test]
fn length_limit() {
    let limits = Limits {
        max_depth: 4,
        max_len: 5,
    };
    assert!(parse_with(b"12345", limits).is_ok());
    assert_eq!(
        parse_with(b"123456", limits).unwrap_err(),
        JsonError {
            offset: 5,
            kind: JsonErrorKind::TooLong
        }
    );
}

#[test]
fn each_error_kind() {
    use JsonErrorKind::*;
    let cases: &[(&[u8], usize, JsonErrorKind)] = &[
        (b"", 0, UnexpectedEnd),
        (b"  ", 2, UnexpectedEnd),
        (b"[1,", 3, UnexpectedEnd),
        (b"\"abc", 4, UnexpectedEnd),
        (b"tru", 3, UnexpectedEnd),
        (b"[1 2]", 3, UnexpectedByte(b'2')),
        (b"{\"a\" 1}", 5, UnexpectedByte(b'1')),
        (b"{1:2}", 1, UnexpectedByte(b'1')),
        (b"[1,]", 3, UnexpectedByte(b']')),
        (b"{\"a\":1,}", 7, UnexpectedByte(b'}')),
        (b"nul!", 3, UnexpectedByte(b'!')),
        (b"'a'", 0, UnexpectedByte(b'\'')),
        (b"01", 1, InvalidNumber),
        (b"-", 1, InvalidNumber),
        (b"1.e5", 2, InvalidNumber),
        (b"[1e]", 3, InvalidNumber),
        (b"-a", 1, InvalidNumber),
        (b"\"\\x\"", 1, InvalidEscape),
        (b"\"\\u12G4\"", 1, InvalidEscape),
        (b"\"\\ud83d\"", 1, LoneSurrogate),
        (b"\"\\ude00\"", 1, LoneSurrogate),
        (b"\"\\ud83d\\u0041\"", 1, LoneSurrogate),
        (b"\"a\nb\"", 2, ControlInString),
        (b"\"\x00\"", 1, ControlInString),
        (b"\"\xff\"", 1, InvalidUtf8),
        (b"\"\xed\xa0\x80\"", 1, InvalidUtf8),
        (b"[1] [2]", 4, TrailingData),
        (b"1 x", 2, TrailingData),
    ];
    for (text, offset, kind) in cases {
        let want = JsonError {
            offset: *offset,
            kind: *kind,
        };
        assert_eq!(
            parse(text).unwrap_err(),
            want,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn error_display() {
    let err = parse(b"{\"a\" 1}").unwrap_err();
    assert_eq!(err.to_string(), "invalid JSON at byte 5: unexpected '1'");
    assert_eq!(
        parse(b"[\x01]").unwrap_err().to_string(),
        "invalid JSON at byte 1: unexpected byte 0x01"
    );
}

#[test]
fn control_chars_escape_and_come_back() {
    let all: String = (0u8..0x20)
        .map(char::from)
        .chain("\"\\/é".chars())
        .collect();
    let text = Value::from(all.as_str()).to_json();
    assert!(text.starts_with(r#""\u0000\u0001"#), "{text}");
    assert!(text.contains(r#"\b\t\n\u000b\f\r"#), "{text}");
    assert!(text.ends_with(r#"\u001f\"\\/é""#), "{text}");
    assert!(!text.bytes().any(|b| b < 0x20));
    assert_eq!(parse(text.as_bytes()).unwrap().as_str(), Some(all.as_str()));
}

#[test]
fn objects_keep_order_and_duplicates_replace_in_place() {
    let v = parse(br#"{"b":1,"a":2,"b":3,"c":4}"#).unwrap();
    assert_eq!(v.to_json(), r#"{"b":3,"a":2,"c":4}"#);
    assert_eq!(v.get("b"), Some(&Value::from(3)));
    assert_eq!(v.get("x"), None);
    // Past the linear-search size, the index keeps the same rule.
    let keys: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 20)).collect();
    let v = parse(format!("{{{}}}", keys.join(",")).as_bytes()).unwrap();
    let members = v.as_object().unwrap();
    assert_eq!(members.len(), 20);
    assert_eq!(members[0], ("k0".to_owned(), Value::from(20)));
    assert_eq!(members[19], ("k19".to_owned(), Value::from(39)));
}

#[test]
fn builders_and_accessors() {
    let v = Value::object([
        ("s", Value::from("x")),
        ("n", Value::from(1)),
        ("b", Value::from(true)),
        ("a", Value::array([1, 2])),
        ("z", Value::Null),
    ]);
    assert_eq!(
        v.to_string(),
        r#"{"s":"x","n":1,"b":true,"a":[1,2],"z":null}"#
    );
    assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
    assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
    assert_eq!(
        v.get("n")
            .and_then(Value::as_number)
            .and_then(Number::as_u64),
        Some(1)
    );
    assert_eq!(
        v.get("a").and_then(Value::as_array).map(<[Value]>::len),
        Some(2)
    );
    assert!(v.get("z").is_some_and(Value::is_null));
    assert_eq!(Value::from(1).get("a"), None);
    assert_eq!(Value::from(String::from("y")).as_object(), None);
}

#[test]
fn binaries_become_numbered_placeholders() {
    let v = Value::array([
        Value::from("e"),
        Value::Binary(vec![1, 2]),
        Value::object([("x", Value::Binary(vec![3]))]),
    ]);
    let want = r#"["e",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]"#;
    assert_eq!(v.to_json(), want);
    let (mut out, mut bins) = (String::new(), Vec::new());
    v.write_json_binaries(&mut out, &mut bins);
    assert_eq!(out, want);
    assert_eq!(bins, [&[1u8, 2][..], &[3][..]]);
}

/// A small xorshift64 generator, seeded, for reproducible random tests.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_never_panic() {
    const ALPHABET: &[u8] = b"{}[]\":,0123456789tfnrulase.-+E\\u \n";
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let limits = Limits {
        max_depth: 8,
        max_len: 48,
    };
    let mut ok = 0;
    for _ in 0..100_000 {
        let len = rng.below(24);
        let bytes: Vec<u8> = (0..len)
            .map(|_| match rng.below(20) {
                0 => 0x80 + rng.below(0x80) as u8,
                1 => rng.below(0x20) as u8,
                _ => ALPHABET[rng.below(ALPHABET.len())],
            })
            .collect();
        match parse_with(&bytes, limits) {
            Ok(v) => {
                ok += 1;
                assert_eq!(parse(v.to_json().as_bytes()), Ok(v));
            }
            Err(e) => assert!(e.offset <= bytes.len(), "{e} in {bytes:?}"),
        }
    }
    assert!(ok > 100, "only {ok} inputs parsed");
}

fn random_value(rng: &mut XorShift, depth: usize) -> Value {
    let pick = if depth == 0 {
        rng.below(4)
    } else {
        rng.below(6)
    };
    match pick {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => match rng.below(3) {
            0 => Value::from(rng.next() as i64),
            1 => Value::from(f64::from_bits(rng.next())),
            _ => Value::from(rng.next() as u32 as f64 / 1024.0),
        },
        3 => Value::String(random_string(rng)),
        4 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut members: Vec<(String, Value)> = Vec::new();
            for i in 0..rng.below(4) {
                let key = format!("{}{i}", random_string(rng));
                members.push((key, random_value(rng, depth - 1)));
            }
            Value::Object(members)
        }
    }
}

fn random_string(rng: &mut XorShift) -> String {
    const CHARS: &[char] = &[
        'a', 'Z', '"', '\\', '/', '\n', '\u{0}', '\u{1f}', 'é', '☃', '😀',
    ];
    (0..rng.below(6))
        .map(|_| CHARS[rng.below(CHARS.len())])
        .collect()
}

#[test]
fn random_values_round_trip() {
    let mut rng = XorShift(42);
    for _ in 0..100_000 {
        let value = random_value(&mut rng, 3);
        let text = value.to_json();
        assert_eq!(parse(text.as_bytes()).as_ref(), Ok(&value), "{text}");
    }
}
