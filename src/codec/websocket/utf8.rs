//! Incremental UTF-8 validation (RFC 3629) for text arriving in pieces: a sequence may be split
//! across pieces, and an invalid one fails at the first byte that makes it certain.

/// Validation state between pieces: how many continuation bytes the current sequence still
/// needs and the range the next one must fall in (narrower than 80..=BF right after a lead byte
/// that excludes overlongs, surrogates or code points past U+10FFFF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utf8Validator {
    need: u8,
    lo: u8,
    hi: u8,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Validator {
    /// A validator at a character boundary.
    pub(crate) fn new() -> Self {
        Utf8Validator {
            need: 0,
            lo: 0x80,
            hi: 0xBF,
        }
    }

    /// Checks the next piece. `Err(offset)`: the byte at `offset` in `piece` can start or
    /// continue no valid sequence, whatever follows. The state is unspecified after an error.
    pub(crate) fn feed(&mut self, piece: &[u8]) -> Result<(), usize> {
        let mut i = 0;
        while i < piece.len() {
            let b = piece[i];
            if self.need > 0 {
                if b < self.lo || b > self.hi {
                    return Err(i);
                }
                self.need -= 1;
                self.lo = 0x80;
                self.hi = 0xBF;
                i += 1;
                continue;
            }
            if b < 0x80 {
                // Skip a run of ASCII eight bytes at a time.
                while let Some(chunk) = piece.get(i..i + 8) {
                    if chunk.iter().any(|&c| c >= 0x80) {
                        break;
                    }
                    i += 8;
                }
                while piece.get(i).is_some_and(|&c| c < 0x80) {
                    i += 1;
                }
                continue;
            }
            let (need, lo, hi) = match b {
                0xC2..=0xDF => (1, 0x80, 0xBF),
                0xE0 => (2, 0xA0, 0xBF),
                0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
                0xED => (2, 0x80, 0x9F),
                0xF0 => (3, 0x90, 0xBF),
                0xF1..=0xF3 => (3, 0x80, 0xBF),
                0xF4 => (3, 0x80, 0x8F),
                _ => return Err(i),
            };
            *self = Utf8Validator { need, lo, hi };
            i += 1;
        }
        Ok(())
    }

    /// At a character boundary: no sequence is left unfinished.
    pub(crate) fn is_complete(&self) -> bool {
        self.need == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces`; `Err(k)` if piece `k` fails, `Ok(complete)` otherwise.
    fn run(pieces: &[&[u8]]) -> Result<bool, usize> {
        let mut v = Utf8Validator::new();
        for (k, p) in pieces.iter().enumerate() {
            v.feed(p).map_err(|_| k)?;
        }
        Ok(v.is_complete())
    }

    #[test]
    fn valid_text_at_every_split_agrees_with_std() {
        let text = "Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞 \u{10FFFF} \u{FFFF} \u{7FF}".as_bytes();
        for a in 0..=text.len() {
            for b in a..=text.len() {
                let r = run(&[&text[..a], &text[a..b], &text[b..]]);
                assert_eq!(r, Ok(true), "split {a} {b}");
            }
            let complete = std::str::from_utf8(&text[..a]).is_ok();
            assert_eq!(run(&[&text[..a]]), Ok(complete), "prefix {a}");
        }
    }

    #[test]
    fn four_byte_char_split_across_three_pieces() {
        assert_eq!(run(&[b"\xf0\x9d", b"\x84", b"\x9e"]), Ok(true));
        assert_eq!(run(&[b"\xf0", b"\x9d\x84"]), Ok(false));
    }

    #[test]
    fn fails_as_soon_as_certain() {
        let mut v = Utf8Validator::new();
        // A surrogate: fails at its second byte, before the third arrives.
        assert_eq!(
            v.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed"),
            Ok(())
        );
        assert_eq!(v.feed(b"\xa0\x80"), Err(0));
        assert_eq!(Utf8Validator::new().feed(b"\xc0\xaf"), Err(0));
        assert_eq!(Utf8Validator::new().feed(b"ab\xe0\x80"), Err(3));
        assert_eq!(Utf8Validator::new().feed(b"\xf4\x90"), Err(1));
        assert_eq!(Utf8Validator::new().feed(b"\xf5"), Err(0));
        assert_eq!(Utf8Validator::new().feed(b"\x80"), Err(0));
        assert_eq!(Utf8Validator::new().feed(b"\xc3a"), Err(1));
        assert_eq!(Utf8Validator::new().feed(b"\xff"), Err(0));
    }

    #[test]
    fn seeded_random_bytes_agree_with_std() {
        let mut x: u64 = 0xD1B5_4A32_D192_ED03;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 9) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let r = (x >> (i * 7 % 57)) as u8;
                    if r & 3 == 0 {
                        r & 0x7F
                    } else {
                        0x80 | r >> 1
                    }
                })
                .collect();
            let split = (x >> 60) as usize % (len + 1);
            let ours = run(&[&bytes[..split], &bytes[split..]]);
            match std::str::from_utf8(&bytes) {
                Ok(_) => assert_eq!(ours, Ok(true), "{bytes:x?}"),
                Err(e) if e.error_len().is_none() => assert_eq!(ours, Ok(false), "{bytes:x?}"),
                Err(_) => assert!(ours.is_err(), "{bytes:x?}"),
            }
        }
    }
}
