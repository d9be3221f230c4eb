//! Messages out of frames: reassembly of fragmented text and binary messages under a size cap,
//! incremental UTF-8 checks of text, control frames passed through, close payloads decoded.

use super::utf8::Utf8Validator;
use super::{Frame, FrameError, Opcode, MAX_CONTROL_PAYLOAD};

/// One complete message, or one control frame's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, all its fragments joined.
    Text(String),
    /// A binary message, all its fragments joined.
    Binary(Vec<u8>),
    /// A ping and its application data (answer with a pong carrying it).
    Ping(Vec<u8>),
    /// A pong and its application data.
    Pong(Vec<u8>),
    /// A close: `None` for an empty payload, else the status code and the UTF-8 reason.
    Close(Option<(u16, String)>),
}

/// A fragmented message waiting for its continuations.
#[derive(Debug)]
struct Partial {
    /// Text carries its validator; binary has none.
    utf8: Option<Utf8Validator>,
    data: Vec<u8>,
}

/// Turns frames into messages. Holds at most `max_message` bytes of a fragmented message.
///
/// After an error the connection must be failed with [`FrameError::close_code`]; the
/// assembler drops its partial message and starts afresh.
#[derive(Debug)]
pub struct Assembler {
    max_message: usize,
    partial: Option<Partial>,
}

impl Assembler {
    /// An assembler for messages of at most `max_message` bytes, fragments summed.
    pub fn new(max_message: usize) -> Self {
        Assembler {
            max_message,
            partial: None,
        }
    }

    /// True while a fragmented message has started and not yet ended.
    pub fn in_progress(&self) -> bool {
        self.partial.is_some()
    }

    /// Bytes of the unfinished message held; never more than the `max_message` given to
    /// [`new`](Assembler::new).
    pub fn buffered(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    /// Takes the next frame. `Ok(Some(message))` when it completes a message or is a control
    /// frame (which may arrive between fragments); `Ok(None)` when it was a non-final fragment.
    pub fn push(&mut self, frame: Frame) -> Result<Option<Message>, FrameError> {
        let result = self.take(frame);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    fn take(&mut self, frame: Frame) -> Result<Option<Message>, FrameError> {
        let Frame {
            fin,
            opcode,
            payload,
        } = frame;
        if opcode.is_control() {
            // parse_frame checks these too; a hand-built frame may not have been through it.
            if !fin {
                return Err(FrameError::FragmentedControl);
            }
            if payload.len() > MAX_CONTROL_PAYLOAD {
                return Err(FrameError::ControlTooLong);
            }
        }
        match opcode {
            Opcode::Ping => Ok(Some(Message::Ping(payload))),
            Opcode::Pong => Ok(Some(Message::Pong(payload))),
            Opcode::Close => parse_close(&payload).map(|c| Some(Message::Close(c))),
            Opcode::Text | Opcode::Binary => {
                if self.partial.is_some() {
                    return Err(FrameError::ExpectedContinuation);
                }
                check_size(self.max_message, 0, payload.len())?;
                let mut utf8 = (opcode == Opcode::Text).then(Utf8Validator::new);
                if let Some(v) = &mut utf8 {
                    v.feed(&payload).map_err(|_| FrameError::InvalidUtf8)?;
                }
                if fin {
                    finish(utf8, payload).map(Some)
                } else {
                    self.partial = Some(Partial {
                        utf8,
                        data: payload,
                    });
                    Ok(None)
                }
            }
            Opcode::Continuation => {
                let Some(p) = self.partial.as_mut() else {
                    return Err(FrameError::UnexpectedContinuation);
                };
                check_size(self.max_message, p.data.len(), payload.len())?;
                if let Some(v) = &mut p.utf8 {
                    v.feed(&payload).map_err(|_| FrameError::InvalidUtf8)?;
                }
                p.data.extend_from_slice(&payload);
                match self.partial.take_if(|_| fin) {
                    Some(p) => finish(p.utf8, p.data).map(Some),
                    None => Ok(None),
                }
            }
        }
    }
}

/// Refuses a message that would grow past the cap.
fn check_size(max: usize, held: usize, more: usize) -> Result<(), FrameError> {
    let len = held as u64 + more as u64;
    if len > max as u64 {
        return Err(FrameError::MessageTooBig { len, max });
    }
    Ok(())
}

/// The finished message: text must end on a character boundary.
fn finish(utf8: Option<Utf8Validator>, data: Vec<u8>) -> Result<Message, FrameError> {
    match utf8 {
        None => Ok(Message::Binary(data)),
        Some(v) if v.is_complete() => String::from_utf8(data)
            .map(Message::Text)
            .map_err(|_| FrameError::InvalidUtf8),
        Some(_) => Err(FrameError::InvalidUtf8),
    }
}

/// Decodes a close payload: empty, or a valid code and a UTF-8 reason (RFC 6455 5.5.1, 7.4).
fn parse_close(payload: &[u8]) -> Result<Option<(u16, String)>, FrameError> {
    match payload {
        [] => Ok(None),
        [_] => Err(FrameError::CloseTooShort),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(FrameError::InvalidCloseCode(code));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| FrameError::InvalidUtf8)?;
            Ok(Some((code, reason.to_owned())))
        }
    }
}

/// Codes a peer may send (RFC 6455 section 7.4): the defined ones meant for the wire and the
/// ranges for libraries (3000-3999) and private use (4000-4999).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random frames against a naive model that joins fragments and checks UTF-8 with std:
    /// a text fragment is refused exactly when the bytes so far can no longer be valid UTF-8.
    #[test]
    fn seeded_random_frames_agree_with_a_naive_model() {
        const MAX: usize = 24;
        let pieces: [&[u8]; 8] = [
            b"a",
            "é".as_bytes(),
            b"\xf0\x9d",
            b"\x84\x9e",
            b"\xed",
            b"\xa0",
            b"\xc0",
            b"\x80",
        ];
        let ops = [
            Opcode::Text,
            Opcode::Binary,
            Opcode::Continuation,
            Opcode::Continuation,
            Opcode::Ping,
            Opcode::Close,
        ];
        let mut x: u64 = 0xA076_1D64_78BD_642F;
        let mut asm = Assembler::new(MAX);
        // The model: the kind of the message in progress and its bytes.
        let mut model: Option<(Opcode, Vec<u8>)> = None;
        let mut counts = [0usize; 3]; // texts, binaries, errors
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let opcode = ops[(x % 6) as usize];
            let fin = opcode.is_control() || x >> 3 & 1 == 1;
            let payload: Vec<u8> = (0..(x >> 4) % 4)
                .flat_map(|i| pieces[(x >> (8 + 3 * i)) as usize % 8].iter().copied())
                .collect();
            let got = asm.push(Frame {
                fin,
                opcode,
                payload: payload.clone(),
            });
            assert!(asm.buffered() <= MAX);
            if opcode.is_control() {
                if let Err(e) = &got {
                    assert!(opcode == Opcode::Close && matches!(e.close_code(), 1002 | 1007));
                    model = None;
                    counts[2] += 1;
                }
                continue;
            }
            // What the model says about this data frame.
            let expect = match (&mut model, opcode) {
                (None, Opcode::Continuation) => Err(FrameError::UnexpectedContinuation),
                (Some(_), Opcode::Text | Opcode::Binary) => Err(FrameError::ExpectedContinuation),
                (m, op) => {
                    let (kind, data) = m.get_or_insert_with(|| (op, Vec::new()));
                    let (kind, len) = (*kind, data.len() + payload.len());
                    data.extend_from_slice(&payload);
                    let text = std::str::from_utf8(data);
                    if len > MAX {
                        Err(FrameError::MessageTooBig {
                            len: len as u64,
                            max: MAX,
                        })
                    } else if kind == Opcode::Text
                        && text.is_err_and(|e| fin || e.error_len().is_some())
                    {
                        Err(FrameError::InvalidUtf8)
                    } else if !fin {
                        Ok(None)
                    } else if kind == Opcode::Text {
                        Ok(Some(Message::Text(
                            String::from_utf8(data.clone()).unwrap_or_default(),
                        )))
                    } else {
                        Ok(Some(Message::Binary(data.clone())))
                    }
                }
            };
            assert_eq!(got, expect);
            match got {
                Ok(Some(Message::Text(_))) => counts[0] += 1,
                Ok(Some(_)) => counts[1] += 1,
                Ok(None) => {}
                Err(_) => counts[2] += 1,
            }
            if !matches!(got, Ok(None)) {
                model = None;
            }
        }
        assert!(counts.iter().all(|&n| n > 1000), "coverage: {counts:?}");
    }
}
