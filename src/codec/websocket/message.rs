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
                return Err(FrameError::ControlTooLong(payload.len() as u64));
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
