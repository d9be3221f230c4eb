//! The chat's wire format for `nc` users: messages `-> `, notices `* `, errors `! `, one per line.

use super::protocol::Delivery;

/// Appends `d` as one LF-terminated line.
pub fn encode(d: &Delivery<'_>, out: &mut Vec<u8>) {
    let mut put = |parts: &[&str]| {
        for p in parts {
            out.extend_from_slice(p.as_bytes());
        }
        out.push(b'\n');
    };
    match *d {
        Delivery::Message { from: None, text } => put(&["-> ", text]),
        Delivery::Message {
            from: Some(from),
            text,
        } => put(&["-> ", from, ": ", text]),
        Delivery::Action { from, text } => put(&["-> * ", from, " ", text]),
        Delivery::Private { from, text } => put(&["-> [private] ", from, ": ", text]),
        Delivery::Notice(text) => put(&["* ", text]),
        Delivery::Error(text) => put(&["! ", text]),
    }
}

/// Decodes a received line for relaying: telnet commands are removed, invalid UTF-8 becomes
/// U+FFFD, and control characters (which could move another user's cursor or recolour their
/// terminal) become U+FFFD too; tabs are kept.
pub fn decode(line: &[u8]) -> String {
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
    use super::*;

    fn line(d: Delivery<'_>) -> String {
        let mut out = Vec::new();
        encode(&d, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        let m = |from, text| Delivery::Message { from, text };
        assert_eq!(line(m(None, "Client 1 says hi!")), "-> Client 1 says hi!\n");
        assert_eq!(line(m(Some("alice"), "hi")), "-> alice: hi\n");
        assert_eq!(
            line(Delivery::Action {
                from: "alice",
                text: "waves"
            }),
            "-> * alice waves\n"
        );
        assert_eq!(
            line(Delivery::Private {
                from: "bob",
                text: "psst"
            }),
            "-> [private] bob: psst\n"
        );
        assert_eq!(
            line(Delivery::Notice("alice joined lobby")),
            "* alice joined lobby\n"
        );
        assert_eq!(line(Delivery::Error("line too long")), "! line too long\n");
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
    fn decode_is_lossy_and_defangs_controls() {
        assert_eq!(decode(b"ol\xc3\xa1"), "olá");
        assert_eq!(decode(b"a\xfeb"), "a\u{FFFD}b");
        assert_eq!(decode(b"\x1b[31mred\ttab"), "\u{FFFD}[31mred\ttab");
    }
}
