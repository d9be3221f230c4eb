//! SHA-1 (FIPS 180-4, RFC 3174): the one-shot [`sha1`] and the streaming [`Sha1`]. Used for the
//! WebSocket handshake only; SHA-1 is broken for collision resistance, do not use it for security.

/// Bytes per SHA-1 block.
const BLOCK: usize = 64;

/// The SHA-1 digest of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(data);
    h.finish()
}

/// An incremental SHA-1: feed bytes in any number of pieces with [`update`](Sha1::update),
/// then take the digest with [`finish`](Sha1::finish).
#[derive(Debug, Clone)]
pub struct Sha1 {
    state: [u32; 5],
    /// A partial block waiting for more bytes; only `buf[..buf_len]` is meaningful.
    buf: [u8; BLOCK],
    buf_len: usize,
    /// Total bytes fed so far.
    total: u64,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// A hasher with nothing fed yet.
    pub fn new() -> Self {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            buf: [0; BLOCK],
            buf_len: 0,
            total: 0,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for block in &mut blocks {
            compress(&mut self.state, block);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Pads the input and returns the 20-byte digest.
    pub fn finish(mut self) -> [u8; 20] {
        let bits = self.total.wrapping_mul(8);
        let mut pad = [0u8; BLOCK + 8];
        pad[0] = 0x80;
        // Pad to 56 mod 64, then append the big-endian bit length.
        let zeros = (BLOCK + 56 - 1 - self.buf_len) % BLOCK;
        let len = 1 + zeros;
        pad[len..len + 8].copy_from_slice(&bits.to_be_bytes());
        self.update(&pad[..len + 8]);
        debug_assert_eq!(self.buf_len, 0);
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// Folds one 64-byte block into the state.
fn compress(state: &mut [u32; 5], block: &[u8]) {
    // The message schedule as a ring of 16 words (each word of the 80 depends only on the 16
    // before it): a small frame for the connection threads that answer WebSocket handshakes.
    let mut w = [0u32; 16];
    for (i, word) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    for i in 0..80 {
        if i >= 16 {
            w[i % 16] =
                (w[(i - 3) % 16] ^ w[(i - 8) % 16] ^ w[(i - 14) % 16] ^ w[i % 16]).rotate_left(1);
        }
        let wi = w[i % 16];
        let (f, k) = match i {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(wi);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; 20]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn fips_180_vectors() {
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn one_million_a_in_chunks() {
        let mut h = Sha1::new();
        let chunk = [b'a'; 1000];
        for _ in 0..1000 {
            h.update(&chunk);
        }
        assert_eq!(hex(h.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
        // Odd-sized chunks that straddle block boundaries give the same digest.
        let mut h = Sha1::new();
        let mut left = 1_000_000usize;
        let mut step = 1;
        while left > 0 {
            let n = step.min(left);
            h.update(&vec![b'a'; n]);
            left -= n;
            step = step % 131 + 7;
        }
        assert_eq!(hex(h.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    #[test]
    fn rfc_3174_repeated_vector() {
        // RFC 3174 test 4: "01234567" * 80 (640 bytes, ten blocks).
        let mut h = Sha1::new();
        for _ in 0..80 {
            h.update(b"01234567");
        }
        assert_eq!(hex(h.finish()), "dea356a2cddd90c7a7ecedc5ebb563934f460452");
    }

    #[test]
    fn incremental_equals_one_shot_at_every_split() {
        let input: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 200] {
            let data = &input[..len];
            let whole = sha1(data);
            for split in 0..=len {
                let mut h = Sha1::new();
                h.update(&data[..split]);
                h.update(&data[split..]);
                assert_eq!(h.finish(), whole, "len {len} split {split}");
            }
        }
    }
}
