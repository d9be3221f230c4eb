//! Tests of the Socket.IO packet codec: the protocol's examples both ways, each validation
//! rule, binary attachments, the server's builders, prefixes and seeded random inputs.

use super::*;
use crate::codec::json::{JsonErrorKind, Number};

const EXAMPLES: [&str; 11] = [
    "0",
    "0/admin,",
    r#"0{"token":"123"}"#,
    r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
    "1/admin,",
    r#"2["hello",1]"#,
    r#"2/admin,456["project:delete",123]"#,
    "3/admin,456[]",
    r#"4{"message":"Not authorized"}"#,
    r#"51-["hello",{"_placeholder":true,"num":0}]"#,
    r#"61-/admin,456[{"_placeholder":true,"num":0}]"#,
];

fn json(text: &str) -> Value {
    json::parse(text.as_bytes()).unwrap()
}

fn packet(kind: PacketType, nsp: &str, id: Option<u64>, data: Option<&str>, n: usize) -> Packet {
    Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        data: data.map(json),
        attachments: n,
    }
}

fn err(text: &str) -> PacketError {
    parse(text, 10).unwrap_err()
}

#[test]
fn examples_parse_and_encode_back() {
    use PacketType::*;
    let placeholder = r#"{"_placeholder":true,"num":0}"#;
    let want = [
        packet(Connect, "/", None, None, 0),
        packet(Connect, "/admin", None, None, 0),
        packet(Connect, "/", None, Some(r#"{"token":"123"}"#), 0),
        packet(
            Connect,
            "/admin",
            None,
            Some(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
            0,
        ),
        packet(Disconnect, "/admin", None, None, 0),
        packet(Event, "/", None, Some(r#"["hello",1]"#), 0),
        packet(
            Event,
            "/admin",
            Some(456),
            Some(r#"["project:delete",123]"#),
            0,
        ),
        packet(Ack, "/admin", Some(456), Some("[]"), 0),
        packet(
            ConnectError,
            "/",
            None,
            Some(r#"{"message":"Not authorized"}"#),
            0,
        ),
        packet(
            BinaryEvent,
            "/",
            None,
            Some(&format!(r#"["hello",{placeholder}]"#)),
            1,
        ),
        packet(
            BinaryAck,
            "/admin",
            Some(456),
            Some(&format!("[{placeholder}]")),
            1,
        ),
    ];
    for (text, want) in EXAMPLES.iter().zip(want) {
        let got = parse(text, 10).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, want, "{text}");
        assert_eq!(encode(&got), (text.to_string(), Vec::new()), "{text}");
    }
}

#[test]
fn every_strict_prefix_errs_or_differs() {
    for text in EXAMPLES {
        let whole = parse(text, 10).unwrap();
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            // `0/admin` and `0/admin,` are the same packet: the comma may end the text.
            if text.ends_with(',') && end == text.len() - 1 {
                continue;
            }
            if let Ok(p) = parse(&text[..end], 10) {
                assert_ne!(p, whole, "{:?} of {text}", &text[..end]);
            }
        }
    }
}

#[test]
fn binary_event_with_two_attachments_round_trips() {
    let (a, b) = (vec![0u8, 1, 2, 255], vec![7u8; 3]);
    let args = vec![
        Value::Binary(a.clone()),
        Value::object([("b", Value::Binary(b.clone())), ("n", Value::from(1))]),
    ];
    let sent = event("/", "upload", args, Some(7));
    let (text, binaries) = encode(&sent);
    assert_eq!(
        text,
        r#"52-7["upload",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1},"n":1}]"#
    );
    assert_eq!(binaries, [a, b]);
    let got = parse(&text, 10).unwrap();
    assert_eq!(
        (got.kind, got.attachments, got.id),
        (PacketType::BinaryEvent, 2, Some(7))
    );
    assert_eq!(
        reconstruct(got.data.unwrap(), binaries),
        Ok(sent.data.unwrap())
    );
}

#[test]
fn binary_ack_round_trips() {
    let sent = ack(
        "/admin",
        3,
        vec![Value::Binary(vec![1]), Value::Binary(vec![2])],
    );
    let (text, binaries) = encode(&sent);
    let placeholders = r#"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#;
    assert_eq!(text, format!("62-/admin,3[{placeholders}]"));
    let got = parse(&text, 10).unwrap();
    assert_eq!(got.kind, PacketType::BinaryAck);
    assert_eq!(
        reconstruct(got.data.unwrap(), binaries),
        Ok(sent.data.unwrap())
    );
}

#[test]
fn reconstruct_refuses_bad_placeholders() {
    let bins = || vec![vec![1u8], vec![2u8]];
    let with = |nums: &str| json(&format!("[{nums}]"));
    let p = |num: &str| format!(r#"{{"_placeholder":true,"num":{num}}}"#);
    let both = with(&format!("{},{}", p("1"), p("0")));
    let want = Value::array([Value::Binary(vec![2]), Value::Binary(vec![1])]);
    assert_eq!(reconstruct(both, bins()), Ok(want));
    for bad in ["2", "-1", "0.5", "\"0\"", "null", "1e30"] {
        let data = with(&format!("{},{}", p("0"), p(bad)));
        assert_eq!(
            reconstruct(data, bins()),
            Err(PacketError::BadPlaceholder),
            "{bad}"
        );
    }
    let twice = with(&format!("{},{}", p("0"), p("0")));
    assert_eq!(reconstruct(twice, bins()), Err(PacketError::BadPlaceholder));
    let no_num = json(r#"[{"_placeholder":true}]"#);
    assert_eq!(
        reconstruct(no_num, vec![vec![1]]),
        Err(PacketError::BadPlaceholder)
    );
    let unused = with(&p("0"));
    assert_eq!(
        reconstruct(unused, bins()),
        Err(PacketError::UnusedAttachments)
    );
    // Not a placeholder unless `_placeholder` is `true`: left as it is.
    let plain = json(r#"{"_placeholder":1,"num":0}"#);
    assert_eq!(reconstruct(plain.clone(), Vec::new()), Ok(plain));
}

#[test]
fn type_must_be_a_known_digit() {
    assert_eq!(err(""), PacketError::Empty);
    assert_eq!(err("7[]"), PacketError::UnknownType(b'7'));
    assert_eq!(err("x"), PacketError::UnknownType(b'x'));
    assert_eq!(err("é"), PacketError::UnknownType(0xc3));
}

#[test]
fn connect_data_is_absent_or_an_object() {
    assert!(parse("0{}", 10).is_ok());
    assert_eq!(err("0[]"), PacketError::InvalidPayload(PacketType::Connect));
    assert_eq!(
        err(r#"0"x""#),
        PacketError::InvalidPayload(PacketType::Connect)
    );
}

#[test]
fn disconnect_has_no_data() {
    assert_eq!(
        err("1{}"),
        PacketError::InvalidPayload(PacketType::Disconnect)
    );
    assert_eq!(
        err(r#"1/a,"x""#),
        PacketError::InvalidPayload(PacketType::Disconnect)
    );
    assert_eq!(parse("1/a,1", 10).unwrap().id, Some(1));
}

#[test]
fn connect_error_data_is_an_object_or_a_string() {
    assert!(parse(r#"4"Not authorized""#, 10).is_ok());
    assert_eq!(
        err("4"),
        PacketError::InvalidPayload(PacketType::ConnectError)
    );
    assert_eq!(
        err("4[]"),
        PacketError::InvalidPayload(PacketType::ConnectError)
    );
}

#[test]
fn event_data_is_an_array_named_by_a_string() {
    let invalid = PacketError::InvalidPayload(PacketType::Event);
    for bad in [
        "2",
        "2[]",
        "2[1]",
        "2{}",
        r#"2"x""#,
        "2[null]",
        r#"2[["x"]]"#,
    ] {
        assert_eq!(err(bad), invalid, "{bad}");
    }
    assert_eq!(
        err(r#"51-[1]"#),
        PacketError::InvalidPayload(PacketType::BinaryEvent)
    );
}

#[test]
fn event_names_may_not_be_reserved() {
    for name in RESERVED_EVENTS {
        let text = format!(r#"2["{name}",1]"#);
        assert_eq!(
            err(&text),
            PacketError::InvalidPayload(PacketType::Event),
            "{name}"
        );
    }
    assert!(parse(r#"2["Connect"]"#, 10).is_ok());
}

#[test]
fn ack_data_is_an_array() {
    assert_eq!(err("31"), PacketError::InvalidPayload(PacketType::Ack));
    assert_eq!(err("3{}"), PacketError::InvalidPayload(PacketType::Ack));
    assert_eq!(
        err("60-{}"),
        PacketError::InvalidPayload(PacketType::BinaryAck)
    );
}

#[test]
fn attachments_need_a_count_and_a_dash() {
    for bad in [r#"5["x"]"#, r#"5-["x"]"#, "5", "61", "6x-[]"] {
        assert_eq!(err(bad), PacketError::BadAttachments, "{bad}");
    }
}

#[test]
fn attachments_are_capped() {
    assert_eq!(parse(r#"510-["x"]"#, 10).unwrap().attachments, 10);
    let too_many = PacketError::TooManyAttachments { max: 10 };
    assert_eq!(err(r#"511-["x"]"#), too_many);
    assert_eq!(err(r#"5999999999999999999999999-["x"]"#), too_many);
    assert_eq!(
        parse("61-[]", 0),
        Err(PacketError::TooManyAttachments { max: 0 })
    );
}

#[test]
fn ids_fit_a_u64() {
    let max = format!(r#"2{}["x"]"#, u64::MAX);
    assert_eq!(parse(&max, 10).unwrap().id, Some(u64::MAX));
    assert_eq!(
        err(r#"218446744073709551616["x"]"#),
        PacketError::IdOverflow
    );
}

#[test]
fn namespaces_end_in_a_comma() {
    // A namespace runs to the first ',' or the end: `2/admin["x"]` names a namespace with no
    // data (an EVENT needs some), `0/admin` is a CONNECT to `/admin`.
    assert!(matches!(
        err(r#"2/admin["x"]"#),
        PacketError::InvalidPayload(PacketType::Event)
    ));
    assert_eq!(
        parse("0/admin", 10).unwrap(),
        parse("0/admin,", 10).unwrap()
    );
    assert_eq!(parse("1/custom", 10).map(|p| p.nsp), Ok("/custom".into()));
    assert_eq!(parse("0/,", 10).unwrap().nsp, "/");
}

#[test]
fn payload_must_be_one_json_value() {
    let json_err = |offset, kind| PacketError::Json(json::JsonError { offset, kind });
    assert_eq!(err(r#"2["x"]x"#), json_err(6, JsonErrorKind::TrailingData));
    assert_eq!(
        err(r#"2/a,1["x""#),
        json_err(9, JsonErrorKind::UnexpectedEnd)
    );
    assert_eq!(
        err("0{'a':1}"),
        json_err(2, JsonErrorKind::UnexpectedByte(b'\''))
    );
    assert!(err("2[1]]")
        .to_string()
        .starts_with("invalid JSON at byte 4"));
}

#[test]
fn builders_write_the_expected_text() {
    let text = |p: Packet| encode(&p).0;
    assert_eq!(text(connect_ok("/", "abc")), r#"0{"sid":"abc"}"#);
    assert_eq!(
        text(connect_ok("/admin", "abc")),
        r#"0/admin,{"sid":"abc"}"#
    );
    assert_eq!(
        text(connect_error("/", "Not authorized", None)),
        r#"4{"message":"Not authorized"}"#
    );
    let with_data = connect_error("/a", "no", Some(Value::object([("x", Value::from(1))])));
    assert_eq!(text(with_data), r#"4/a,{"message":"no","data":{"x":1}}"#);
    assert_eq!(text(disconnect("/admin")), "1/admin,");
    assert_eq!(text(disconnect("/")), "1");
    assert_eq!(text(ack("/admin", 456, Vec::new())), "3/admin,456[]");
    let delete = event(
        "/admin",
        "project:delete",
        vec![Value::from(123)],
        Some(456),
    );
    assert_eq!(text(delete), r#"2/admin,456["project:delete",123]"#);
    assert_eq!(
        text(event("/", "hello", vec![Value::from(1)], None)),
        r#"2["hello",1]"#
    );
    assert_eq!(Number::new("1").map(Value::from), Some(Value::from(1)));
}

#[test]
fn packet_types_and_errors_display() {
    for d in b'0'..=b'6' {
        assert_eq!(PacketType::from_digit(d).map(PacketType::digit), Some(d));
    }
    assert_eq!(PacketType::from_digit(b'7'), None);
    assert_eq!(err("9").to_string(), "unknown packet type 0x39");
    assert_eq!(err("1{}").to_string(), "invalid payload for Disconnect");
}

#[test]
fn random_strings_never_panic() {
    const ALPHABET: &[char] = &[
        '0', '1', '2', '3', '4', '5', '6', '7', '9', '/', ',', '-', '[', ']', '{', '}', '"', ':',
        'a', 'x', '_', 'é', ' ', 't', 'r', 'u', 'e',
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut below = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut ok = 0;
    for _ in 0..100_000 {
        let len = below(16);
        let text: String = (0..len).map(|_| ALPHABET[below(ALPHABET.len())]).collect();
        if let Ok(p) = parse(&text, 10) {
            ok += 1;
            let (again, binaries) = encode(&p);
            assert!(binaries.is_empty());
            assert_eq!(parse(&again, 10), Ok(p), "{text} -> {again}");
        }
    }
    assert!(ok > 100, "only {ok} packets parsed");
}
