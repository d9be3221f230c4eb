//! Tests of the RESP2 codec: the examples of the Redis protocol specification at every split
//! point, commands, the limits, malformed input, and seeded random input.

use super::*;

fn bulk_of(s: &str) -> Reply {
    Reply::bulk(s.as_bytes())
}

fn array(items: Vec<Reply>) -> Reply {
    Reply::Array(Some(items))
}

/// Every strict prefix of `wire` needs more; the whole, and the whole followed by more bytes,
/// parses to `expect` using exactly `wire.len()` bytes.
fn check(wire: &[u8], expect: &Reply) {
    let limits = Limits::default();
    for i in 0..wire.len() {
        assert_eq!(
            parse(&wire[..i], &limits),
            Ok(None),
            "prefix {i} of {:?}",
            String::from_utf8_lossy(wire)
        );
    }
    assert_eq!(parse(wire, &limits), Ok(Some((wire.len(), expect.clone()))));
    let mut more = wire.to_vec();
    more.extend_from_slice(b"+OK\r\n:1\r\n");
    assert_eq!(
        parse(&more, &limits),
        Ok(Some((wire.len(), expect.clone())))
    );
    // The encoder writes the same bytes back.
    let mut out = Vec::new();
    expect.encode(&mut out);
    assert_eq!(out, wire);
}

/// The error `wire` gives under `limits`.
fn error_of(wire: &[u8], limits: &Limits) -> RespError {
    match parse(wire, limits) {
        Err(e) => e,
        other => panic!(
            "{:?}: expected an error, got {other:?}",
            String::from_utf8_lossy(wire)
        ),
    }
}

#[test]
fn spec_simple_strings_and_errors() {
    check(b"+OK\r\n", &Reply::Simple("OK".into()));
    check(b"+\r\n", &Reply::Simple(String::new()));
    check(b"-Error message\r\n", &Reply::Error("Error message".into()));
    check(
        b"-ERR unknown command 'asdf'\r\n",
        &Reply::Error("ERR unknown command 'asdf'".into()),
    );
    check(
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        &Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into()),
    );
}

#[test]
fn spec_integers() {
    check(b":0\r\n", &Reply::Integer(0));
    check(b":1000\r\n", &Reply::Integer(1000));
    check(b":-42\r\n", &Reply::Integer(-42));
    check(b":9223372036854775807\r\n", &Reply::Integer(i64::MAX));
    check(b":-9223372036854775808\r\n", &Reply::Integer(i64::MIN));
    // The optional plus sign of the specification (the encoder does not write it).
    let limits = Limits::default();
    assert_eq!(parse(b":+7\r\n", &limits), Ok(Some((5, Reply::Integer(7)))));
}

#[test]
fn spec_bulk_strings() {
    check(b"$5\r\nhello\r\n", &bulk_of("hello"));
    check(b"$0\r\n\r\n", &bulk_of(""));
    check(b"$-1\r\n", &Reply::Bulk(None));
    // Binary-safe: CR, LF and NUL inside.
    check(b"$6\r\na\r\nb\0c\r\n", &Reply::bulk(&b"a\r\nb\0c"[..]));
}

#[test]
fn spec_arrays() {
    check(b"*0\r\n", &array(vec![]));
    check(b"*-1\r\n", &Reply::Array(None));
    check(
        b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n",
        &array(vec![bulk_of("hello"), bulk_of("world")]),
    );
    check(
        b"*3\r\n:1\r\n:2\r\n:3\r\n",
        &array(vec![
            Reply::Integer(1),
            Reply::Integer(2),
            Reply::Integer(3),
        ]),
    );
    check(
        b"*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
        &array(vec![
            Reply::Integer(1),
            Reply::Integer(2),
            Reply::Integer(3),
            Reply::Integer(4),
            bulk_of("hello"),
        ]),
    );
    check(
        b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
        &array(vec![
            array(vec![
                Reply::Integer(1),
                Reply::Integer(2),
                Reply::Integer(3),
            ]),
            array(vec![
                Reply::Simple("Hello".into()),
                Reply::Error("World".into()),
            ]),
        ]),
    );
    check(
        b"*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n",
        &array(vec![bulk_of("hello"), Reply::Bulk(None), bulk_of("world")]),
    );
    check(
        b"*2\r\n*0\r\n*1\r\n*-1\r\n",
        &array(vec![array(vec![]), array(vec![Reply::Array(None)])]),
    );
}

#[test]
fn pubsub_pushes() {
    check(
        b"*3\r\n$9\r\nsubscribe\r\n$5\r\nfirst\r\n:1\r\n",
        &array(vec![
            bulk_of("subscribe"),
            bulk_of("first"),
            Reply::Integer(1),
        ]),
    );
    check(
        b"*4\r\n$8\r\npmessage\r\n$3\r\nf*o\r\n$3\r\nfoo\r\n$2\r\nhi\r\n",
        &array(vec![
            bulk_of("pmessage"),
            bulk_of("f*o"),
            bulk_of("foo"),
            bulk_of("hi"),
        ]),
    );
}

#[test]
fn pipelined_replies_parse_one_at_a_time() {
    let wire = b":1\r\n$2\r\nok\r\n*-1\r\n";
    let limits = Limits::default();
    let mut rest = &wire[..];
    let mut got = Vec::new();
    while let Some((used, reply)) = parse(rest, &limits).unwrap() {
        got.push(reply);
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
    assert_eq!(got, [Reply::Integer(1), bulk_of("ok"), Reply::Array(None)]);
}

#[test]
fn spec_command_encoding() {
    let mut out = Vec::new();
    encode_command(&[b"LLEN", b"mylist"], &mut out);
    assert_eq!(out, b"*2\r\n$4\r\nLLEN\r\n$6\r\nmylist\r\n");
    out.clear();
    encode_command(&[b"PUBLISH", b"ch", b"", b"\r\n"], &mut out);
    assert_eq!(
        out,
        b"*4\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$0\r\n\r\n$2\r\n\r\n\r\n"
    );
    // A command is itself a valid array of bulk strings.
    assert_eq!(
        parse(&out, &Limits::default()),
        Ok(Some((
            out.len(),
            array(vec![
                bulk_of("PUBLISH"),
                bulk_of("ch"),
                bulk_of(""),
                bulk_of("\r\n")
            ])
        )))
    );
}

#[test]
fn bad_type_byte() {
    let limits = Limits::default();
    for wire in [
        &b"x"[..],
        b"!3\r\n",
        b"%1\r\n",
        b"_\r\n",
        b"\r\n",
        b"*1\r\n?",
    ] {
        assert!(
            matches!(error_of(wire, &limits), RespError::BadType(_)),
            "{wire:?}"
        );
    }
    assert_eq!(error_of(b"#t\r\n", &limits), RespError::BadType(b'#'));
}

#[test]
fn line_ends() {
    let limits = Limits::default();
    assert_eq!(error_of(b"+OK\n", &limits), RespError::BadLineEnd);
    assert_eq!(error_of(b"+OK\rX", &limits), RespError::BadLineEnd);
    assert_eq!(error_of(b":12\n", &limits), RespError::BadLineEnd);
    assert_eq!(error_of(b"$2\nab\r\n", &limits), RespError::BadLineEnd);
    assert_eq!(error_of(b"$2\r\nabXY", &limits), RespError::MissingBulkEnd);
    assert_eq!(error_of(b"$2\r\nab\rY", &limits), RespError::MissingBulkEnd);
    assert_eq!(error_of(b"$2\r\nabc", &limits), RespError::MissingBulkEnd);
    assert_eq!(error_of(b"$0\r\nX", &limits), RespError::MissingBulkEnd);
}

#[test]
fn lengths() {
    let limits = Limits::default();
    for wire in [&b"$-2\r\n"[..], b"*-2\r\n", b"$-0\r\n", b"*-100\r\n"] {
        assert_eq!(
            error_of(wire, &limits),
            RespError::NegativeLength,
            "{wire:?}"
        );
    }
    for wire in [
        &b"$\r\n"[..],
        b"*\r\n",
        b"$-\r\n",
        b"$+3\r\n",
        b"$1a\r\n",
        b"* 1\r\n",
        b"$1 \r\n",
        b"$0x10\r\n",
        b"*-1x\r\n",
    ] {
        assert_eq!(error_of(wire, &limits), RespError::BadNumber, "{wire:?}");
    }
    for wire in [
        &b":\r\n"[..],
        b":-\r\n",
        b":+\r\n",
        b":1.5\r\n",
        b":--1\r\n",
        b": 1\r\n",
    ] {
        assert_eq!(error_of(wire, &limits), RespError::BadNumber, "{wire:?}");
    }
}

#[test]
fn overflow() {
    let limits = Limits::default();
    for (wire, want) in [
        (&b":9223372036854775808\r\n"[..], RespError::NumberOverflow),
        (b":-9223372036854775809\r\n", RespError::NumberOverflow),
        (b"$99999999999999999999999\r\n", RespError::NumberOverflow),
        (b"*18446744073709551616\r\n", RespError::NumberOverflow),
        // In range for usize, far over the limits: refused from the header alone.
        (b"$18446744073709551615\r\n", RespError::BulkTooLong),
        (b"*18446744073709551615\r\n", RespError::TooManyItems),
    ] {
        assert_eq!(error_of(wire, &limits), want, "{wire:?}");
    }
}

#[test]
fn limits_are_exact() {
    let limits = Limits {
        max_bulk: 5,
        max_items: 3,
        max_depth: 2,
        max_line: 4,
    };
    assert!(matches!(parse(b"$5\r\nhello\r\n", &limits), Ok(Some(_))));
    assert_eq!(error_of(b"$6\r\n", &limits), RespError::BulkTooLong);

    assert!(matches!(
        parse(b"*3\r\n:1\r\n:2\r\n:3\r\n", &limits),
        Ok(Some(_))
    ));
    assert_eq!(error_of(b"*4\r\n", &limits), RespError::TooManyItems);
    // Items count across nested arrays: 2 + 2 > 3, refused at the second header.
    assert_eq!(error_of(b"*2\r\n*2\r\n", &limits), RespError::TooManyItems);

    assert!(matches!(parse(b"*1\r\n*1\r\n:1\r\n", &limits), Ok(Some(_))));
    assert_eq!(error_of(b"*1\r\n*1\r\n*1\r\n", &limits), RespError::TooDeep);
    let flat = Limits {
        max_depth: 0,
        ..limits
    };
    assert_eq!(error_of(b"*0\r\n", &flat), RespError::TooDeep);
    assert_eq!(parse(b"*-1\r\n", &flat), Ok(Some((5, Reply::Array(None)))));

    assert!(matches!(parse(b"+abcd\r\n", &limits), Ok(Some(_))));
    assert_eq!(parse(b"+abcd", &limits), Ok(None));
    assert_eq!(parse(b"+abcd\r", &limits), Ok(None));
    assert_eq!(error_of(b"+abcde", &limits), RespError::LineTooLong);
    assert_eq!(error_of(b"+abcde\r\n", &limits), RespError::LineTooLong);
    assert_eq!(error_of(b"$00001\r\n", &limits), RespError::LineTooLong);
}

#[test]
fn a_huge_header_reserves_no_memory_beyond_the_input() {
    let limits = Limits {
        max_items: usize::MAX,
        ..Limits::default()
    };
    // A million items announced, three sent: the parser waits, holding three.
    assert_eq!(parse(b"*1000000\r\n:1\r\n:2\r\n:3\r\n", &limits), Ok(None));
    // A bulk announced at the limit waits for its bytes without allocating them.
    assert_eq!(parse(b"$67108864\r\nabc", &Limits::default()), Ok(None));
}

#[test]
fn invalid_utf8_in_a_status_is_replaced() {
    assert_eq!(
        parse(b"+a\xffb\r\n", &Limits::default()),
        Ok(Some((6, Reply::Simple("a\u{FFFD}b".into()))))
    );
}

#[test]
fn as_bytes() {
    assert_eq!(bulk_of("x").as_bytes(), Some(&b"x"[..]));
    assert_eq!(Reply::Simple("OK".into()).as_bytes(), Some(&b"OK"[..]));
    assert_eq!(Reply::Bulk(None).as_bytes(), None);
    assert_eq!(Reply::Integer(1).as_bytes(), None);
}

#[test]
fn error_messages() {
    assert_eq!(
        RespError::BadType(b'#').to_string(),
        "unknown RESP type byte 0x23"
    );
    assert_eq!(RespError::TooDeep.to_string(), "arrays nested too deep");
}

/// A small xorshift generator for the random tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn random_reply(rng: &mut Rng, depth: usize) -> Reply {
    match rng.next() % if depth < 3 { 7 } else { 5 } {
        0 => Reply::Simple("st".repeat((rng.next() % 4) as usize)),
        1 => Reply::Error(format!("ERR {}", rng.next() % 100)),
        2 => Reply::Integer(rng.next() as i64),
        3 => Reply::Bulk(None),
        4 => Reply::bulk(
            (0..rng.next() % 12)
                .map(|i| (i * 37) as u8)
                .collect::<Vec<_>>(),
        ),
        5 => Reply::Array(None),
        _ => array(
            (0..rng.next() % 4)
                .map(|_| random_reply(rng, depth + 1))
                .collect(),
        ),
    }
}

#[test]
fn seeded_random_replies_round_trip_at_every_split() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let reply = random_reply(&mut rng, 0);
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        check(&wire, &reply);
    }
}

#[test]
fn seeded_random_bytes_never_panic() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let limits = Limits {
        max_bulk: 64,
        max_items: 64,
        max_depth: 4,
        max_line: 32,
    };
    let alphabet = b"+-:$*\r\n0123456789-x";
    for _ in 0..100_000 {
        let len = (rng.next() % 40) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        if let Ok(Some((used, _))) = parse(&input, &limits) {
            assert!(used <= input.len());
        }
    }
}
