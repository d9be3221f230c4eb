//! WebSocket (RFC 6455) wire format: the handshake's accept key, frame parsing for either
//! [`Role`] with a payload cap checked from the header, frame encoders, and (in submodules)
//! message reassembly with incremental UTF-8 validation ([`Assembler`]).

use std::fmt;

use super::{base64, sha1};

mod message;
#[cfg(test)]
mod tests;
mod utf8;

pub use message::{is_valid_close_code, Assembler, Message};

/// The GUID RFC 6455 appends to the client's key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Largest control frame payload (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest frame header: 2 bytes, 8 of extended length, 4 of mask.
pub const MAX_HEADER: usize = 14;

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`:
/// base64(SHA-1(key + GUID)).
pub fn accept_key(client_key: &str) -> String {
    let mut h = sha1::Sha1::new();
    h.update(client_key.as_bytes());
    h.update(GUID.as_bytes());
    base64::encode(&h.finish())
}

/// A frame's opcode (RFC 6455 section 5.2); the reserved values are not representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// 0x0: a later fragment of a text or binary message.
    Continuation,
    /// 0x1: the first (or only) frame of a UTF-8 text message.
    Text,
    /// 0x2: the first (or only) frame of a binary message.
    Binary,
    /// 0x8: the closing handshake.
    Close,
    /// 0x9: a ping; the peer answers with a pong carrying the same payload.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl Opcode {
    /// The opcode for a 4-bit wire value, `None` for the reserved ones (3-7, 0xB-0xF).
    pub fn from_u8(v: u8) -> Option<Opcode> {
        Some(match v {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented, allowed between fragments.
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// Which end of the connection is parsing: it decides whether incoming frames must be masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A server reads frames from a client: every one must be masked.
    Server,
    /// A client reads frames from a server: none may be masked.
    Client,
}

/// One frame, payload already unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The last frame of its message.
    pub fin: bool,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The application data (no extension is negotiated, so no extension data).
    pub payload: Vec<u8>,
}

/// Why a frame or message is refused; each maps to the close code to fail the connection with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// RSV1-3 set (the bits given) while no extension was negotiated. 1002.
    ReservedBits(u8),
    /// A reserved opcode (the value given). 1002.
    UnknownOpcode(u8),
    /// A server got an unmasked frame from a client. 1002.
    Unmasked,
    /// A client got a masked frame from a server. 1002.
    Masked,
    /// A 64-bit length with its most significant bit set. 1002.
    LengthTopBit,
    /// A control frame with a payload over 125 bytes. 1002.
    ControlTooLong,
    /// A control frame without FIN. 1002.
    FragmentedControl,
    /// A frame payload over the cap. 1009.
    FrameTooBig {
        /// The length the header announced.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// A reassembled message over the cap. 1009.
    MessageTooBig {
        /// The message length so far, this frame included.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// A continuation frame with no fragmented message started. 1002.
    UnexpectedContinuation,
    /// A text or binary frame while a fragmented message awaits its continuations. 1002.
    ExpectedContinuation,
    /// A text message or close reason that is not UTF-8. 1007.
    InvalidUtf8,
    /// A close frame payload of one byte (a code needs two). 1002.
    CloseTooShort,
    /// A close code RFC 6455 section 7.4 does not allow on the wire (the code given). 1002.
    InvalidCloseCode(u16),
}

impl FrameError {
    /// The close code to send when failing the connection for this error: 1002 (protocol
    /// error), 1007 (invalid data) or 1009 (message too big).
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::InvalidUtf8 => 1007,
            FrameError::FrameTooBig { .. } | FrameError::MessageTooBig { .. } => 1009,
            _ => 1002,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedBits(b) => write!(f, "reserved bits set (0x{b:02X})"),
            FrameError::UnknownOpcode(op) => write!(f, "reserved opcode 0x{op:X}"),
            FrameError::Unmasked => f.write_str("frame from a client is not masked"),
            FrameError::Masked => f.write_str("frame from a server is masked"),
            FrameError::LengthTopBit => f.write_str("64-bit payload length has its top bit set"),
            FrameError::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            FrameError::FragmentedControl => f.write_str("fragmented control frame"),
            FrameError::FrameTooBig { len, max } => {
                write!(f, "frame payload of {len} bytes (at most {max})")
            }
            FrameError::MessageTooBig { len, max } => {
                write!(f, "message of {len} bytes or more (at most {max})")
            }
            FrameError::UnexpectedContinuation => {
                f.write_str("continuation frame with no message started")
            }
            FrameError::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is unfinished")
            }
            FrameError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            FrameError::CloseTooShort => f.write_str("close payload of one byte"),
            FrameError::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Parses the frame at the start of `buf`, as read by `role`.
///
/// `Ok(Some((used, frame)))`: a whole frame, `used` bytes long, payload unmasked.
/// `Ok(None)`: a valid prefix; read more. `Err`: the connection must fail with
/// [`FrameError::close_code`]. Every header field is checked as soon as its bytes are in, and a
/// payload over `max_payload` is refused from the header, so a caller that buffers only until
/// this returns something other than `Ok(None)` never holds more than `max_payload + 14` bytes.
/// The cap covers control frames too: pass at least 125 to accept every legal ping.
pub fn parse_frame(
    buf: &[u8],
    role: Role,
    max_payload: usize,
) -> Result<Option<(usize, Frame)>, FrameError> {
    let Some(&b0) = buf.first() else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    if b0 & 0x70 != 0 {
        return Err(FrameError::ReservedBits(b0 & 0x70));
    }
    let opcode = Opcode::from_u8(b0 & 0x0F).ok_or(FrameError::UnknownOpcode(b0 & 0x0F))?;
    if opcode.is_control() && !fin {
        return Err(FrameError::FragmentedControl);
    }
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    match (role, masked) {
        (Role::Server, false) => return Err(FrameError::Unmasked),
        (Role::Client, true) => return Err(FrameError::Masked),
        _ => {}
    }
    let len7 = b1 & 0x7F;
    if opcode.is_control() && usize::from(len7) > MAX_CONTROL_PAYLOAD {
        return Err(FrameError::ControlTooLong);
    }
    let (len, mut pos) = match len7 {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                (u64::from_be_bytes(be), 10)
            }
            // The top bit is known from the first length byte.
            None if buf.get(2).is_some_and(|&b| b & 0x80 != 0) => {
                return Err(FrameError::LengthTopBit)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if len >> 63 != 0 {
        return Err(FrameError::LengthTopBit);
    }
    if len > max_payload as u64 {
        return Err(FrameError::FrameTooBig {
            len,
            max: max_payload,
        });
    }
    // len <= max_payload, so it fits a usize.
    let len = len as usize;
    let mask = if masked {
        let Some(m) = buf.get(pos..pos + 4) else {
            return Ok(None);
        };
        pos += 4;
        Some([m[0], m[1], m[2], m[3]])
    } else {
        None
    };
    let Some(data) = buf.get(pos..).and_then(|rest| rest.get(..len)) else {
        return Ok(None);
    };
    let mut payload = data.to_vec();
    if let Some(mask) = mask {
        apply_mask(&mut payload, mask);
    }
    Ok(Some((
        pos + len,
        Frame {
            fin,
            opcode,
            payload,
        },
    )))
}

/// XORs `data` with the 4-byte `mask` (masking and unmasking are the same operation).
fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Appends one frame of any kind: `fin`, `opcode`, the shortest length form, and, with a
/// `mask`, the mask key and the masked payload. For fragments (`fin` false, then
/// [`Opcode::Continuation`]s); [`encode_frame`] and [`encode_frame_masked`] cover whole messages.
pub fn encode_frame_parts(
    fin: bool,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    out: &mut Vec<u8>,
) {
    let len = payload.len();
    out.reserve(MAX_HEADER + len);
    out.push(u8::from(fin) << 7 | opcode.as_u8());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let start = out.len() + mask.map_or(0, |m| m.len());
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
    out.extend_from_slice(payload);
    if let Some(mask) = mask {
        apply_mask(&mut out[start..], mask);
    }
}

/// Appends an unmasked frame with FIN set (server to client).
pub fn encode_frame(opcode: Opcode, payload: &[u8], out: &mut Vec<u8>) {
    encode_frame_parts(true, opcode, payload, None, out);
}

/// Appends a frame with FIN set, masked with `mask` (client to server).
pub fn encode_frame_masked(opcode: Opcode, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    encode_frame_parts(true, opcode, payload, Some(mask), out);
}

/// Appends an unmasked close frame (server side) with `code` and as much of `reason` as fits
/// in the 125-byte control payload, cut on a char boundary.
pub fn encode_close(code: u16, reason: &str, out: &mut Vec<u8>) {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
    encode_frame(Opcode::Close, &payload[..2 + end], out);
}
