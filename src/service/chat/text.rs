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

/// Decodes a received line for relaying: invalid UTF-8 becomes U+FFFD, and control characters
/// (which could move another user's cursor or recolour their terminal) become U+FFFD too;
/// tabs are kept.
pub fn decode(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    if text.chars().any(is_unsafe) {
        text.chars()
            .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
            .collect()
    } else {
        text.into_owned()
    }
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
    fn decode_is_lossy_and_defangs_controls() {
        assert_eq!(decode(b"ol\xc3\xa1"), "olá");
        assert_eq!(decode(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(decode(b"\x1b[31mred\ttab"), "\u{FFFD}[31mred\ttab");
    }
}
