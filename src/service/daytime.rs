//! Daytime (RFC 867): one line with the current time, RFC 3339 UTC, over TCP or UDP.

use crate::codec::rfc3339;
use std::io::{self, Write};
use std::time::SystemTime;

/// The line sent for `now`, e.g. `2026-11-22T10:15:30Z\r\n`.
pub fn line(now: SystemTime) -> String {
    format!("{}\r\n", rfc3339::format(now))
}

/// Writes the current time as one line; the caller then closes the connection.
pub fn serve<W: Write>(stream: &mut W) -> io::Result<()> {
    stream.write_all(line(SystemTime::now()).as_bytes())
}

/// The UDP form: any datagram is answered with the current time.
pub fn datagram(_packet: &[u8], reply: &mut Vec<u8>) -> bool {
    reply.extend_from_slice(line(SystemTime::now()).as_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn line_is_rfc3339_utc_with_crlf() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_342_530);
        assert_eq!(line(t), "2026-11-22T10:15:30Z\r\n");
    }

    #[test]
    fn serve_writes_one_line() {
        let mut out = Vec::new();
        serve(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("Z\r\n") && text.len() == 22, "{text:?}");
    }
}
