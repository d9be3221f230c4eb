//! The chat's wire format for `nc` users: messages `-> `, notices `* `, errors `! `, one per line.

use super::delivery::{Delivery, Departure, Packet, Render};
use super::writer::Framer;
use std::fmt::Write as _;

/// The `nc` wire format: each delivery is one LF-terminated line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Render for Text {
    fn render(&self, d: &Delivery<'_>) -> Packet {
        let mut out = String::new();
        encode(d, &mut out);
        Packet::from(out.into_bytes())
    }

    /// Lines need no framing, so a run is one packet: a broadcast of 500 lines to 1,000
    /// members costs the hub 1,000 packet hand-outs, not 500,000.
    fn render_run(&self, ds: &[Delivery<'_>], out: &mut Vec<Packet>) {
        match ds {
            [] => return,
            [d] => return out.push(self.render(d)),
            _ => {}
        }
        let mut text = String::new();
        for d in ds {
            encode(d, &mut text);
        }
        out.push(Packet::joined(text.into_bytes(), ds.len()));
    }
}

/// Frames a batch of `nc` lines: they are already lines, so they go out as they are (a writer
/// hands a batch to one vectored write; `frame` joins them when it has too many pieces).
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFramer;

impl Framer for LineFramer {
    fn frame(&mut self, packets: &[Packet], out: &mut Vec<u8>) {
        for p in packets {
            out.extend_from_slice(p);
        }
    }

    fn is_plain(&self) -> bool {
        true
    }

    fn too_slow(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"! too slow, disconnected\n");
    }
}

/// A notice line (`* text`), for what the `nc` session says itself.
pub fn notice(text: &str) -> Packet {
    Packet::from(format!("* {text}\n").into_bytes())
}

/// An error line (`! text`), for what the `nc` session says itself.
pub fn error(text: &str) -> Packet {
    Packet::from(format!("! {text}\n").into_bytes())
}

/// Appends `d` as one LF-terminated line.
pub fn encode(d: &Delivery<'_>, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = match *d {
        Delivery::Message {
            from,
            named: false,
            text,
            ..
        } => {
            let _ = from;
            write!(out, "-> {text}")
        }
        Delivery::Message { from, text, .. } => write!(out, "-> {from}: {text}"),
        Delivery::Action { from, text, .. } => write!(out, "-> * {from} {text}"),
        Delivery::Private { from, text } => write!(out, "-> [private] {from}: {text}"),
        Delivery::Binary { from, data, .. } => {
            write!(out, "* {from} sent {} bytes of binary data", data.len())
        }
        Delivery::Welcome { nick, room, here } => write!(
            out,
            "* welcome, you are {nick} in {room} ({here} here); /help lists commands"
        ),
        Delivery::Joined { room, nick } => write!(out, "* {nick} joined {room}"),
        Delivery::Left { room, nick, why } => write!(
            out,
            "* {nick} left {room}{}",
            if why == Departure::TooSlow {
                " (too slow)"
            } else {
                ""
            }
        ),
        Delivery::Renamed { from, to, .. } => write!(out, "* {from} is now {to}"),
        Delivery::Named { nick } => write!(out, "* you are now {nick}"),
        Delivery::RoomJoined { room, here } => write!(out, "* you joined {room} ({here} here)"),
        Delivery::Rooms(list) => {
            out.push_str("* rooms: ");
            for (i, (name, n)) in list.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(out, "{sep}{name} ({n})");
            }
            Ok(())
        }
        Delivery::Who { room, nicks } => write!(out, "* in {room}: {}", nicks.join(", ")),
        Delivery::Refused(r) => write!(out, "! {}", r.describe()),
        Delivery::ShuttingDown => write!(out, "* server shutting down"),
    };
    out.push('\n');
}

/// Decodes a received line for relaying: telnet commands are removed, invalid UTF-8 becomes
/// U+FFFD, and control characters (which could move another user's cursor or recolour their
/// terminal) become U+FFFD too; tabs are kept.
pub fn decode(line: &[u8]) -> String {
    // Printable ASCII and tabs, as nearly every chat line is, stand for themselves: a check of
    // the bytes (and std's UTF-8 check, quick on ASCII) instead of a telnet scan, a lossy
    // decode and a look at every character.
    // (Folded without an early exit, so the compiler checks many bytes per instruction.)
    if line
        .iter()
        .fold(true, |ok, &b| ok & matches!(b, b' '..=b'~' | b'\t'))
    {
        if let Ok(text) = std::str::from_utf8(line) {
            return text.to_owned();
        }
    }
    decode_any(line)
}

/// [`decode`] for any bytes.
fn decode_any(line: &[u8]) -> String {
    let line = strip_telnet(line);
    let text = String::from_utf8_lossy(&line);
    if text.chars().any(is_unsafe) {
        text.chars()
            .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
            .collect()
    } else {
        text.into_owned()
    }
}

/// Telnet's "interpret as command" byte; it never occurs in UTF-8 text.
const IAC: u8 = 0xFF;
const SB: u8 = 0xFA;
const SE: u8 = 0xF0;
const WILL: u8 = 0xFB;
const DONT: u8 = 0xFE;

/// Removes telnet command sequences (RFC 854) from one line: `IAC WILL/WONT/DO/DONT option`,
/// `IAC SB ... IAC SE` (a subnegotiation left open runs to the end of the line), two-byte
/// commands such as `IAC IP` (what telnet sends on Ctrl-C), and `IAC IAC`, telnet's escaped
/// 0xFF, which is not text either. Borrows when the line has no `IAC`, as nearly all do.
pub fn strip_telnet(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !line.contains(&IAC) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != IAC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        i += match line.get(i + 1) {
            None => 1,
            Some(&SB) => match line[i + 2..].windows(2).position(|w| w == [IAC, SE]) {
                Some(end) => 2 + end + 2,
                None => line.len() - i,
            },
            Some(&(WILL..=DONT)) => 3,
            Some(_) => 2,
        };
    }
    std::borrow::Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::super::delivery::Refusal;
    use super::*;

    fn line(d: Delivery<'_>) -> String {
        let mut out = String::new();
        encode(&d, &mut out);
        out
    }

    #[test]
    fn formats() {
        let m = |from, named, text| Delivery::Message {
            room: "lobby",
            from,
            named,
            text,
        };
        assert_eq!(
            line(m("guest1", false, "Client 1 says hi!")),
            "-> Client 1 says hi!\n"
        );
        assert_eq!(line(m("alice", true, "hi")), "-> alice: hi\n");
        let action = Delivery::Action {
            room: "lobby",
            from: "alice",
            text: "waves",
        };
        assert_eq!(line(action), "-> * alice waves\n");
        let private = Delivery::Private {
            from: "bob",
            text: "psst",
        };
        assert_eq!(line(private), "-> [private] bob: psst\n");
        let joined = Delivery::Joined {
            room: "lobby",
            nick: "alice",
        };
        assert_eq!(line(joined), "* alice joined lobby\n");
        let slow = Delivery::Left {
            room: "games",
            nick: "bob",
            why: Departure::TooSlow,
        };
        assert_eq!(line(slow), "* bob left games (too slow)\n");
        assert_eq!(
            line(Delivery::Rooms(&[("games", 2), ("lobby", 0)])),
            "* rooms: games (2), lobby (0)\n"
        );
        assert_eq!(
            line(Delivery::Refused(Refusal::NickTaken("bob"))),
            "! nickname bob is taken\n"
        );
        assert_eq!(&*error("line too long"), b"! line too long\n");
        assert_eq!(
            &*Text.render(&Delivery::ShuttingDown),
            b"* server shutting down\n"
        );
    }

    #[test]
    fn telnet_commands_are_stripped() {
        let strip = |b: &[u8]| strip_telnet(b).into_owned();
        assert_eq!(strip(b"plain"), b"plain");
        // Ctrl-C in telnet: IAC IP, IAC DO TIMING-MARK.
        assert_eq!(strip(b"\xff\xf4\xff\xfd\x06"), b"");
        assert_eq!(strip(b"a\xff\xfb\x01b\xff\xfe\x22c"), b"abc");
        assert_eq!(strip(b"x\xff\xfa\x18\x00VT100\xff\xf0y"), b"xy");
        assert_eq!(strip(b"x\xff\xfa\x18 open"), b"x");
        assert_eq!(strip(b"a\xff\xffb"), b"ab");
        assert_eq!(strip(b"end\xff"), b"end");
        assert_eq!(strip(b"end\xff\xfb"), b"end");
        assert_eq!(decode(b"hi \xff\xf1there"), "hi there");
    }

    #[test]
    fn decode_takes_its_shortcut_only_where_the_full_decoding_agrees() {
        // Every byte alone, and amid printable text, at the start, middle and end.
        for b in 0..=255u8 {
            for line in [
                vec![b],
                vec![b, b'a'],
                vec![b'a', b, b'b'],
                vec![b'x', b'y', b],
            ] {
                assert_eq!(decode(&line), decode_any(&line), "{line:?}");
            }
        }
        // Valid UTF-8 beyond ASCII must take the full decoding too: a C1 control (U+0085) is
        // defanged there, and letters are kept.
        for line in ["a\u{85}b", "olá", "\u{9b}31m", "tab\there é\u{7f}"] {
            assert_eq!(
                decode(line.as_bytes()),
                decode_any(line.as_bytes()),
                "{line:?}"
            );
        }
        assert_eq!(decode("a\u{85}b".as_bytes()), "a\u{FFFD}b");
        let printable: Vec<u8> = (b' '..=b'~').chain([b'\t']).collect();
        assert_eq!(decode(&printable), decode_any(&printable));
        assert_eq!(decode(&printable).as_bytes(), &printable[..]);
    }

    #[test]
    fn decode_is_lossy_and_defangs_controls() {
        assert_eq!(decode(b"ol\xc3\xa1"), "olá");
        assert_eq!(decode(b"a\xfeb"), "a\u{FFFD}b");
        assert_eq!(decode(b"\x1b[31mred\ttab"), "\u{FFFD}[31mred\ttab");
    }
}
