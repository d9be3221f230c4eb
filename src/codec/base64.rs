//! Base64 with the standard alphabet and `=` padding (RFC 4648 section 4): an encoder into a
//! `String` and a strict decoder (canonical input only: no whitespace, no missing padding).

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks a byte that is not in the alphabet in [`DECODE`].
const INVALID: u8 = 0xFF;

/// Byte to 6-bit value, [`INVALID`] for bytes outside the alphabet (`=` included).
static DECODE: [u8; 256] = build_decode();

const fn build_decode() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
}

/// Why a text is not canonical base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Error {
    /// The length (given) is not a multiple of 4.
    Length(usize),
    /// A byte outside the alphabet (and not padding) at this position.
    InvalidByte {
        /// Offset of the byte in the input.
        pos: usize,
        /// The byte itself.
        byte: u8,
    },
    /// A `=` where padding is not allowed (not in the last two places of the last group, or
    /// followed by a non-`=`), at this position.
    Padding {
        /// Offset of the misplaced `=`.
        pos: usize,
    },
    /// The last character before the padding carries nonzero bits that encode nothing, so the
    /// text is not the canonical encoding of any bytes; at this position.
    TrailingBits {
        /// Offset of the offending character.
        pos: usize,
    },
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Base64Error::Length(n) => write!(f, "base64 length {n} is not a multiple of 4"),
            Base64Error::InvalidByte { pos, byte } => {
                write!(f, "invalid base64 byte 0x{byte:02X} at offset {pos}")
            }
            Base64Error::Padding { pos } => write!(f, "misplaced base64 padding at offset {pos}"),
            Base64Error::TrailingBits { pos } => {
                write!(f, "non-canonical base64: unused bits set at offset {pos}")
            }
        }
    }
}

impl std::error::Error for Base64Error {}

/// `data` in base64, padded.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    encode_into(data, &mut out);
    out
}

/// Appends the base64 of `data` (padded) to `out`.
pub fn encode_into(data: &[u8], out: &mut String) {
    out.reserve(data.len().div_ceil(3) * 4);
    let sym = |v: u32| ALPHABET[(v & 0x3F) as usize] as char;
    let mut groups = data.chunks_exact(3);
    for g in &mut groups {
        let n = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
        out.extend([sym(n >> 18), sym(n >> 12), sym(n >> 6), sym(n)]);
    }
    match *groups.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend([sym(n >> 18), sym(n >> 12), '=', '=']);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend([sym(n >> 18), sym(n >> 12), sym(n >> 6), '=']);
        }
        _ => {}
    }
}

/// Decodes canonical, padded base64. Rejects a length that is not a multiple of 4, any byte
/// outside the alphabet (whitespace included), padding anywhere but the end of the last group,
/// and unused bits set before the padding.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    if !text.len().is_multiple_of(4) {
        return Err(Base64Error::Length(text.len()));
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let groups = text.len() / 4;
    for (gi, g) in text.chunks_exact(4).enumerate() {
        let base = gi * 4;
        let last = gi + 1 == groups;
        // Padding: only in the last group, only in its last two places, only as a suffix.
        let pad = if last {
            match g {
                [_, _, b'=', b'='] => 2,
                [_, _, _, b'='] => 1,
                _ => 0,
            }
        } else {
            0
        };
        let mut n = 0u32;
        for (i, &c) in g[..4 - pad].iter().enumerate() {
            let v = DECODE[usize::from(c)];
            if v == INVALID {
                let pos = base + i;
                return Err(if c == b'=' {
                    Base64Error::Padding { pos }
                } else {
                    Base64Error::InvalidByte { pos, byte: c }
                });
            }
            n |= u32::from(v) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        match pad {
            0 => out.extend_from_slice(&bytes[1..4]),
            1 if n & 0xFF == 0 => out.extend_from_slice(&bytes[1..3]),
            2 if n & 0xFFFF == 0 => out.push(bytes[1]),
            _ => {
                return Err(Base64Error::TrailingBits {
                    pos: base + 3 - pad,
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc_4648_vectors_both_ways() {
        for (plain, coded) in RFC_4648 {
            assert_eq!(encode(plain.as_bytes()), coded, "encode {plain:?}");
            assert_eq!(decode(coded.as_bytes()).as_deref(), Ok(plain.as_bytes()));
        }
    }

    #[test]
    fn encode_into_appends() {
        let mut s = String::from("key=");
        encode_into(b"foo", &mut s);
        encode_into(b"f", &mut s);
        assert_eq!(s, "key=Zm9vZg==");
    }

    #[test]
    fn round_trip_of_all_byte_values() {
        let all: Vec<u8> = (0..=255u8).collect();
        for start in 0..3 {
            let data = &all[start..];
            assert_eq!(decode(encode(data).as_bytes()).as_deref(), Ok(data));
        }
        // Every byte value in every position of a group.
        for b in 0..=255u8 {
            for data in [vec![b], vec![0, b], vec![1, 2, b], vec![b, b, b, b]] {
                assert_eq!(decode(encode(&data).as_bytes()), Ok(data));
            }
        }
    }

    #[test]
    fn bad_inputs() {
        use Base64Error::*;
        assert_eq!(decode(b"Zg="), Err(Length(3)));
        assert_eq!(decode(b"Zg"), Err(Length(2)));
        assert_eq!(decode(b"Zm9v\n"), Err(Length(5)));
        assert_eq!(decode(b"Zm 9"), Err(InvalidByte { pos: 2, byte: b' ' }));
        assert_eq!(decode(b"Zm9vYm-y"), Err(InvalidByte { pos: 6, byte: b'-' }));
        assert_eq!(decode(b"Zg==Zm9v"), Err(Padding { pos: 2 }));
        assert_eq!(decode(b"Z==="), Err(Padding { pos: 1 }));
        assert_eq!(decode(b"===="), Err(Padding { pos: 0 }));
        assert_eq!(decode(b"Zg=v"), Err(Padding { pos: 2 }));
        assert_eq!(decode(b"Zh=="), Err(TrailingBits { pos: 1 }));
        assert_eq!(decode(b"Zm9="), Err(TrailingBits { pos: 2 }));
        assert_eq!(
            decode(&[b'Z', b'm', 0xC3, b'v']),
            Err(InvalidByte { pos: 2, byte: 0xC3 })
        );
        assert!(Padding { pos: 2 }.to_string().contains("offset 2"));
    }

    #[test]
    fn seeded_random_inputs_never_panic() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut ok = 0;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 13) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| {
                    let r = (x >> (i * 5 % 59)) as u8;
                    match r % 8 {
                        0 => b'=',
                        1 => r,
                        _ => ALPHABET[usize::from(r % 64)],
                    }
                })
                .collect();
            match decode(&text) {
                Ok(bytes) => {
                    // Strict decoding is the exact inverse of encoding.
                    assert_eq!(encode(&bytes).as_bytes(), &text[..]);
                    ok += 1;
                }
                Err(Base64Error::Length(n)) => assert_eq!(n, len),
                Err(
                    Base64Error::InvalidByte { pos, .. }
                    | Base64Error::Padding { pos }
                    | Base64Error::TrailingBits { pos },
                ) => assert!(pos < len),
            }
        }
        assert!(ok > 1000, "the generator should hit valid inputs too: {ok}");
    }
}
