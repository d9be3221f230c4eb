//! Tests of Engine.IO packets, polling payloads, the open payload and error bodies.

use super::*;

fn text(p: &Packet) -> String {
    let mut s = String::new();
    encode_text(p, &mut s);
    s
}

fn payload(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_payload(packets, &mut out);
    out
}

#[test]
fn each_packet_type_both_ways() {
    let open = open_payload("abc", &["websocket"], 25000, 20000, 1_000_000);
    for (p, t) in [
        (Packet::Open(open.clone()), format!("0{open}")),
        (Packet::Close, "1".into()),
        (Packet::Ping(String::new()), "2".into()),
        (Packet::Ping("probe".into()), "2probe".into()),
        (Packet::Pong(String::new()), "3".into()),
        (Packet::Pong("probe".into()), "3probe".into()),
        (
            Packet::Message("2[\"hello\"]".into()),
            "42[\"hello\"]".into(),
        ),
        (Packet::Message(String::new()), "4".into()),
        (Packet::Message("héllo ✓".into()), "4héllo ✓".into()),
        (Packet::Upgrade, "5".into()),
        (Packet::Noop, "6".into()),
        (Packet::Binary(vec![1, 2, 3, 4]), "bAQIDBA==".into()),
        (Packet::Binary(vec![]), "b".into()),
    ] {
        assert_eq!(text(&p), t);
        assert_eq!(parse_text(&t), Ok(p));
    }
}

#[test]
fn data_after_close_upgrade_and_noop_is_ignored() {
    assert_eq!(parse_text("1x"), Ok(Packet::Close));
    assert_eq!(parse_text("5probe"), Ok(Packet::Upgrade));
    assert_eq!(parse_text("6 "), Ok(Packet::Noop));
}

#[test]
fn bad_packets() {
    assert_eq!(parse_text(""), Err(EioError::Empty));
    assert_eq!(parse_text("7"), Err(EioError::UnknownType('7')));
    assert_eq!(parse_text("x4"), Err(EioError::UnknownType('x')));
    assert_eq!(parse_text("é"), Err(EioError::UnknownType('é')));
    assert_eq!(parse_text("B"), Err(EioError::UnknownType('B')));
    assert_eq!(parse_text("bAQI"), Err(EioError::InvalidBase64));
    assert_eq!(parse_text("b!!!!"), Err(EioError::InvalidBase64));
}

#[test]
fn a_payload_with_text_and_binary() {
    assert_eq!(
        decode_payload(b"4hello\x1ebAQIDBA==", 16),
        Ok(vec![
            Packet::Message("hello".into()),
            Packet::Binary(vec![1, 2, 3, 4])
        ])
    );
    assert_eq!(
        decode_payload(b"2", 1),
        Ok(vec![Packet::Ping(String::new())])
    );
}

#[test]
fn payload_round_trips() {
    let packets = vec![
        Packet::Message("0".into()),
        Packet::Message("2[\"chat\",\"hi \\u001e there\"]".into()),
        Packet::Binary((0..=255).collect()),
        Packet::Ping("probe".into()),
        Packet::Noop,
        Packet::Close,
    ];
    let body = payload(&packets);
    assert_eq!(body.iter().filter(|&&b| b == SEPARATOR).count(), 5);
    assert_eq!(decode_payload(&body, 6), Ok(packets.clone()));
    assert_eq!(payload(&packets[..1]), b"40");
    assert_eq!(payload(&[]), b"");
    assert_eq!(
        payload(&[Packet::Message("a".into()), Packet::Message("b".into())]),
        b"4a\x1e4b"
    );
}

#[test]
fn bad_payloads() {
    assert_eq!(decode_payload(b"", 4), Err(EioError::Empty));
    assert_eq!(decode_payload(b"4a\x1e", 4), Err(EioError::Empty));
    assert_eq!(decode_payload(b"\x1e4a", 4), Err(EioError::Empty));
    assert_eq!(decode_payload(b"4a\x1e\x1e4b", 4), Err(EioError::Empty));
    assert_eq!(decode_payload(b"4\xff", 4), Err(EioError::InvalidUtf8));
    assert_eq!(
        decode_payload(b"4a\x1ebAQ=", 4),
        Err(EioError::InvalidBase64)
    );
    assert_eq!(
        decode_payload(b"4a\x1e9", 4),
        Err(EioError::UnknownType('9'))
    );
    assert_eq!(
        decode_payload(b"4a\x1e4b\x1e4c", 2),
        Err(EioError::TooManyPackets(2))
    );
    assert_eq!(decode_payload(b"4a\x1e4b", 2).map(|v| v.len()), Ok(2));
    assert_eq!(decode_payload(b"4a", 0), Err(EioError::TooManyPackets(0)));
    assert_eq!(
        EioError::TooManyPackets(2).to_string(),
        "more than 2 packets in a payload"
    );
}

#[test]
fn the_open_payload_exactly() {
    assert_eq!(
        open_payload(
            "lv_VI97HAXpY6yYWAAAC",
            &["websocket"],
            25000,
            20000,
            1_000_000
        ),
        r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
    );
    assert_eq!(
        open_payload("a\"b\\c\u{1}", &[], 1, 2, 3),
        r#"{"sid":"a\"b\\c\u0001","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3}"#
    );
    assert_eq!(
        open_payload("s", &["websocket", "webtransport"], 1, 2, 3),
        r#"{"sid":"s","upgrades":["websocket","webtransport"],"pingInterval":1,"pingTimeout":2,"maxPayload":3}"#
    );
}

#[test]
fn error_codes_and_bodies() {
    let all = [
        (
            ErrorCode::UnknownTransport,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            ErrorCode::UnknownSid,
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
        (
            ErrorCode::BadHandshakeMethod,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            ErrorCode::BadRequest,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (ErrorCode::Forbidden, r#"{"code":4,"message":"Forbidden"}"#),
        (
            ErrorCode::UnsupportedProtocolVersion,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
    ];
    for (code, body) in all {
        assert_eq!(code.body(), body);
        assert_eq!(
            code.status(),
            if code == ErrorCode::Forbidden {
                403
            } else {
                400
            }
        );
    }
}

#[test]
fn seeded_random_payloads_never_panic() {
    let mut x: u64 = 0xD1B5_4A32_D192_ED03;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"0123456b7x\x1e\x1eAQIDBA==+/hello\xc3\xa9\xff";
    let (mut ok, mut errs) = (0, 0);
    for _ in 0..100_000 {
        let len = (next() % 24) as usize;
        let body: Vec<u8> = (0..len)
            .map(|_| {
                let r = next();
                if r % 10 == 0 {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                }
            })
            .collect();
        match decode_payload(&body, 4) {
            Ok(packets) => {
                ok += 1;
                assert!(!packets.is_empty() && packets.len() <= 4);
                let again = payload(&packets);
                assert_eq!(decode_payload(&again, 4), Ok(packets));
            }
            Err(e) => {
                errs += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(ok > 1000 && errs > 1000, "ok {ok}, errors {errs}");
}
