//! Tests of the WebSocket codec: handshake key, frames in every length form and split, the
//! protocol errors with their close codes, reassembly, and seeded random input.

use super::*;

const MASK: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

fn frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Frame {
    Frame {
        fin,
        opcode,
        payload: payload.to_vec(),
    }
}

fn masked(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame_masked(opcode, payload, MASK, &mut out);
    out
}

fn unmasked(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(opcode, payload, &mut out);
    out
}

/// Every strict prefix of `wire` needs more; the whole (and the whole plus trailing bytes)
/// parses to `expect`, using exactly `wire.len()` bytes.
fn check_splits(wire: &[u8], role: Role, max: usize, expect: &Frame) {
    for i in 0..wire.len() {
        assert_eq!(parse_frame(&wire[..i], role, max), Ok(None), "prefix {i}");
    }
    let whole = Ok(Some((wire.len(), expect.clone())));
    assert_eq!(parse_frame(wire, role, max), whole);
    let mut more = wire.to_vec();
    more.extend_from_slice(b"\x81\x00");
    assert_eq!(parse_frame(&more, role, max), whole);
}

#[test]
fn accept_key_rfc_6455_example() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn rfc_6455_section_5_7_examples() {
    let hello = frame(true, Opcode::Text, b"Hello");
    let wire = b"\x81\x05\x48\x65\x6c\x6c\x6f";
    assert_eq!(unmasked(Opcode::Text, b"Hello"), wire);
    check_splits(wire, Role::Client, 100, &hello);
    let wire = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    assert_eq!(masked(Opcode::Text, b"Hello"), wire);
    check_splits(wire, Role::Server, 100, &hello);
    // A fragmented unmasked text message: "Hel", then "lo".
    check_splits(
        b"\x01\x03Hel",
        Role::Client,
        100,
        &frame(false, Opcode::Text, b"Hel"),
    );
    check_splits(
        b"\x80\x02lo",
        Role::Client,
        100,
        &frame(true, Opcode::Continuation, b"lo"),
    );
}

#[test]
fn every_length_form_masked_and_unmasked() {
    for (len, header) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let expect = frame(true, Opcode::Binary, &payload);
        let wire = unmasked(Opcode::Binary, &payload);
        assert_eq!(wire.len(), header + len, "unmasked {len}");
        check_splits(&wire, Role::Client, len, &expect);
        let wire = masked(Opcode::Binary, &payload);
        assert_eq!(wire.len(), header + 4 + len, "masked {len}");
        check_splits(&wire, Role::Server, len, &expect);
    }
}

#[test]
fn non_minimal_lengths_are_accepted() {
    check_splits(
        b"\x82\x7e\x00\x01Z",
        Role::Client,
        10,
        &frame(true, Opcode::Binary, b"Z"),
    );
    let wire = b"\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x02ab";
    check_splits(wire, Role::Client, 10, &frame(true, Opcode::Binary, b"ab"));
}

#[test]
fn control_frames_round_trip() {
    for op in [Opcode::Ping, Opcode::Pong, Opcode::Close] {
        assert!(op.is_control());
        let payload = [7u8; 125];
        check_splits(
            &masked(op, &payload),
            Role::Server,
            125,
            &frame(true, op, &payload),
        );
    }
    for op in [Opcode::Continuation, Opcode::Text, Opcode::Binary] {
        assert!(!op.is_control());
    }
    for v in 0..16u8 {
        assert_eq!(
            Opcode::from_u8(v).map(Opcode::as_u8),
            Some(v).filter(|_| matches!(v, 0..=2 | 8..=10))
        );
    }
}

/// `wire` fails with `err` at every length from `from` on (and needs more before).
fn check_error(wire: &[u8], role: Role, max: usize, from: usize, err: FrameError, code: u16) {
    assert_eq!(err.close_code(), code, "{err}");
    for i in 0..wire.len() + 1 {
        let got = parse_frame(&wire[..i], role, max);
        if i < from {
            assert_eq!(got, Ok(None), "prefix {i} of {wire:x?}");
        } else {
            assert_eq!(got, Err(err.clone()), "prefix {i} of {wire:x?}");
        }
    }
}

#[test]
fn frame_errors_and_their_close_codes() {
    use FrameError::*;
    let s = Role::Server;
    let c = Role::Client;
    check_error(b"\x81\x05Hello", s, 100, 2, Unmasked, 1002);
    check_error(&masked(Opcode::Text, b"Hello"), c, 100, 2, Masked, 1002);
    check_error(b"\xc1\x00", c, 100, 1, ReservedBits(0x40), 1002);
    check_error(b"\x91\x00", c, 100, 1, ReservedBits(0x10), 1002);
    for op in [3u8, 7, 0xB, 0xF] {
        check_error(&[0x80 | op, 0], c, 100, 1, UnknownOpcode(op), 1002);
    }
    check_error(b"\x09\x00", c, 100, 1, FragmentedControl, 1002);
    check_error(b"\x89\x7e", c, 100, 2, ControlTooLong, 1002);
    check_error(b"\x89\x7f", c, 100, 2, ControlTooLong, 1002);
    let top = b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01";
    check_error(top, c, usize::MAX, 3, LengthTopBit, 1002);
    let too_big = FrameTooBig { len: 101, max: 100 };
    check_error(b"\x82\xe5", s, 100, 2, too_big, 1009);
    let too_big = FrameTooBig {
        len: 65536,
        max: 100,
    };
    check_error(b"\x82\xff\0\0\0\0\0\x01\0\0", s, 100, 10, too_big, 1009);
    let too_big = FrameTooBig { len: 300, max: 299 };
    check_error(b"\x82\x7e\x01\x2c", c, 299, 4, too_big, 1009);
    assert_eq!(InvalidUtf8.close_code(), 1007);
    assert_eq!(MessageTooBig { len: 2, max: 1 }.close_code(), 1009);
    assert!(Unmasked.to_string().contains("not masked"));
}

#[test]
fn encode_close_truncates_on_a_char_boundary() {
    let mut out = Vec::new();
    encode_close(1000, "bye", &mut out);
    assert_eq!(out, b"\x88\x05\x03\xe8bye");
    let long = "é".repeat(100); // 200 bytes; 123 would split a char
    out.clear();
    encode_close(1001, &long, &mut out);
    let (used, f) = parse_frame(&out, Role::Client, 125).unwrap().unwrap();
    assert_eq!(used, out.len());
    assert_eq!(f.payload.len(), 124);
    let msg = Assembler::new(0).push(f).unwrap();
    assert_eq!(msg, Some(Message::Close(Some((1001, "é".repeat(61))))));
}

fn assemble(max: usize, frames: &[Frame]) -> Result<Vec<Message>, FrameError> {
    let mut a = Assembler::new(max);
    let mut out = Vec::new();
    for f in frames {
        out.extend(a.push(f.clone())?);
    }
    Ok(out)
}

#[test]
fn fragmentation_with_an_interleaved_ping() {
    let frames = [
        frame(false, Opcode::Text, b"Hel"),
        frame(true, Opcode::Ping, b"p"),
        frame(false, Opcode::Continuation, b""),
        frame(true, Opcode::Continuation, b"lo"),
        frame(false, Opcode::Binary, &[1, 2]),
        frame(true, Opcode::Pong, b""),
        frame(true, Opcode::Continuation, &[3]),
        frame(true, Opcode::Close, b""),
    ];
    let got = assemble(5, &frames).unwrap();
    assert_eq!(
        got,
        [
            Message::Ping(b"p".to_vec()),
            Message::Text("Hello".into()),
            Message::Pong(vec![]),
            Message::Binary(vec![1, 2, 3]),
            Message::Close(None),
        ]
    );
}

#[test]
fn fragments_encoded_then_parsed_and_assembled_in_both_directions() {
    let parts: [(bool, Opcode, &[u8]); 5] = [
        (false, Opcode::Text, "κό".as_bytes()),
        (true, Opcode::Ping, b"are you there"),
        (false, Opcode::Continuation, b"\xcf"),
        (true, Opcode::Continuation, b"\x83\xce\xbc\xce\xb5"),
        (true, Opcode::Close, b"\x03\xe8done"),
    ];
    for (role, mask) in [(Role::Server, Some(MASK)), (Role::Client, None)] {
        let mut wire = Vec::new();
        for (fin, op, payload) in parts {
            encode_frame_parts(fin, op, payload, mask, &mut wire);
        }
        let mut asm = Assembler::new(100);
        let mut got = Vec::new();
        let mut rest = &wire[..];
        while let Some((used, f)) = parse_frame(rest, role, 125).unwrap() {
            rest = &rest[used..];
            got.extend(asm.push(f).unwrap());
        }
        assert!(rest.is_empty());
        assert_eq!(
            got,
            [
                Message::Ping(b"are you there".to_vec()),
                Message::Text("κόσμε".into()),
                Message::Close(Some((1000, "done".into()))),
            ]
        );
    }
}

#[test]
fn sequencing_and_size_errors() {
    use FrameError::*;
    let cont = frame(true, Opcode::Continuation, b"x");
    assert_eq!(
        assemble(10, std::slice::from_ref(&cont)),
        Err(UnexpectedContinuation)
    );
    let start = frame(false, Opcode::Binary, b"ab");
    let again = frame(true, Opcode::Text, b"cd");
    assert_eq!(
        assemble(10, &[start.clone(), again]),
        Err(ExpectedContinuation)
    );
    let more = frame(false, Opcode::Continuation, b"x");
    let big = MessageTooBig { len: 4, max: 3 };
    assert_eq!(assemble(3, &[start.clone(), more, cont]), Err(big));
    let one = frame(true, Opcode::Binary, b"abcd");
    assert_eq!(assemble(3, &[one]), Err(MessageTooBig { len: 4, max: 3 }));
    let frag_ping = frame(false, Opcode::Ping, b"");
    assert_eq!(assemble(3, &[frag_ping]), Err(FragmentedControl));
    // After an error the assembler starts afresh.
    let mut a = Assembler::new(10);
    assert_eq!(a.push(start.clone()), Ok(None));
    assert!(a.in_progress());
    assert!(a.push(frame(true, Opcode::Text, b"")).is_err());
    assert!(!a.in_progress());
}

#[test]
fn utf8_across_fragments() {
    let text = |fin, op, p: &[u8]| frame(fin, op, p);
    use Opcode::{Continuation as C, Text as T};
    // A 4-byte char split across three fragments.
    let ok = [
        text(false, T, b"\xf0\x9d"),
        text(false, C, b"\x84"),
        text(true, C, b"\x9e"),
    ];
    assert_eq!(assemble(100, &ok), Ok(vec![Message::Text("𝄞".into())]));
    // A surrogate fails at the fragment that makes it certain, before fin.
    let mut a = Assembler::new(100);
    assert_eq!(
        a.push(text(
            false,
            T,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
        )),
        Ok(None)
    );
    assert_eq!(a.push(text(false, C, b"\xed")), Ok(None));
    assert_eq!(
        a.push(text(false, C, b"\xa0\x80")),
        Err(FrameError::InvalidUtf8)
    );
    let one = text(
        true,
        T,
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
    );
    assert_eq!(assemble(100, &[one]), Err(FrameError::InvalidUtf8));
    // Overlong, in the first fragment of an unfinished message.
    assert_eq!(
        assemble(100, &[text(false, T, b"\xc0\xaf")]),
        Err(FrameError::InvalidUtf8)
    );
    // Truncated at the end: fine until fin, then fails.
    let mut a = Assembler::new(100);
    assert_eq!(a.push(text(false, T, b"ok\xe2\x82")), Ok(None));
    assert_eq!(a.push(text(true, C, b"")), Err(FrameError::InvalidUtf8));
    assert_eq!(
        assemble(100, &[text(true, T, b"\xe2\x82")]),
        Err(FrameError::InvalidUtf8)
    );
    // Binary is not checked.
    assert_eq!(
        assemble(9, &[text(true, Opcode::Binary, b"\xff")]),
        Ok(vec![Message::Binary(vec![0xFF])])
    );
}

#[test]
fn close_payloads() {
    use FrameError::*;
    let close = |p: &[u8]| assemble(0, &[frame(true, Opcode::Close, p)]);
    assert_eq!(close(b""), Ok(vec![Message::Close(None)]));
    assert_eq!(close(b"\x03"), Err(CloseTooShort));
    assert_eq!(CloseTooShort.close_code(), 1002);
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        let p = code.to_be_bytes();
        assert_eq!(
            close(&p),
            Ok(vec![Message::Close(Some((code, String::new())))])
        );
    }
    for code in [
        0u16, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(
            close(&code.to_be_bytes()),
            Err(InvalidCloseCode(code)),
            "{code}"
        );
    }
    assert_eq!(
        close(b"\x03\xe8bye"),
        Ok(vec![Message::Close(Some((1000, "bye".into())))])
    );
    assert_eq!(close(b"\x03\xe8\xff"), Err(InvalidUtf8));
    assert_eq!(InvalidUtf8.close_code(), 1007);
}

/// A xorshift64 step.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn seeded_random_frames_never_panic_and_the_buffer_stays_bounded() {
    const MAX: usize = 40;
    let mut x: u64 = 0x0123_4567_89AB_CDEF;
    let mut counts = [0usize; 3]; // frames, messages, errors
    for role in [Role::Server, Role::Client] {
        let mut buf: Vec<u8> = Vec::new();
        let mut asm = Assembler::new(2 * MAX);
        for _ in 0..50_000 {
            let r = next(&mut x);
            // Mostly plausible headers: a known opcode, the mask bit the role wants, small lengths.
            let chunk: Vec<u8> = match r % 4 {
                0 => (0..r % 16).map(|i| (r >> (i * 3)) as u8).collect(),
                _ => {
                    let ops = [0u8, 1, 2, 8, 9, 10, 1, 0];
                    let op = ops[(r >> 8) as usize % ops.len()];
                    let fin = if r >> 12 & 3 == 0 { 0 } else { 0x80 };
                    let mask = if (role == Role::Server) == (r >> 14 & 7 != 0) {
                        0x80
                    } else {
                        0
                    };
                    let len = match (r >> 17) % 16 {
                        0 => 126,
                        1 => 127,
                        _ => (r >> 20) % 50,
                    };
                    let mut c = vec![fin | op, mask | len as u8];
                    c.extend((0..(r >> 26) % 60).map(|i| (r >> (i % 50)) as u8));
                    c
                }
            };
            buf.extend_from_slice(&chunk);
            loop {
                match parse_frame(&buf, role, MAX) {
                    Ok(None) => break,
                    Ok(Some((used, f))) => {
                        assert!(used <= buf.len() && f.payload.len() <= MAX);
                        // Every strict prefix of a frame only asks for more.
                        for i in 0..used {
                            assert_eq!(parse_frame(&buf[..i], role, MAX), Ok(None));
                        }
                        buf.drain(..used);
                        counts[0] += 1;
                        match asm.push(f) {
                            Ok(m) => counts[1] += usize::from(m.is_some()),
                            Err(e) => {
                                assert!(matches!(e.close_code(), 1002 | 1007 | 1009), "{e}");
                                counts[2] += 1;
                            }
                        }
                    }
                    Err(e) => {
                        assert!(matches!(e.close_code(), 1002 | 1009), "{e}");
                        // An error is decided by bytes already in: more input cannot undo it.
                        buf.extend_from_slice(&chunk);
                        assert_eq!(parse_frame(&buf, role, MAX), Err(e.clone()));
                        assert!(!e.to_string().is_empty());
                        // The connection would be failed; start a new one.
                        buf.clear();
                        asm = Assembler::new(2 * MAX);
                        counts[2] += 1;
                        break;
                    }
                }
            }
            assert!(buf.len() <= MAX + MAX_HEADER, "buffered {}", buf.len());
            assert!(asm.buffered() <= 2 * MAX);
        }
    }
    assert!(counts.iter().all(|&n| n > 1000), "coverage: {counts:?}");
}
