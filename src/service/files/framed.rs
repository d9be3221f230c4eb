//! Framed uploads, the mode `threadsock send` uses: a header line announcing the size, CRC-32
//! and name, then exactly that many bytes, then the client's FIN. The file is stored only if
//! every announced byte arrived, nothing more, and the CRC matches.
//!
//! Header: `THREADSOCK-UPLOAD 1 <size> <crc32 as 8 hex digits> <name>\n`, at most
//! [`MAX_HEADER`] bytes. Answer, one line: `ok <stored name>` or `error <reason>`. An upload
//! whose first bytes are not [`MAGIC`] is a raw upload (the seed's protocol).

use super::name;
use super::{Saved, Store, UploadError, READ_CHUNK};
use std::io::{self, Read};
use std::ops::Range;

/// The first bytes of a framed upload.
pub const MAGIC: &[u8] = b"THREADSOCK-UPLOAD ";
/// Longest header line, newline included.
pub const MAX_HEADER: usize = 1024;
/// The only protocol version.
const VERSION: &str = "1";
/// Longest name a client puts in a header (the server cuts names to 255 bytes anyway).
const MAX_SENT_NAME: usize = 512;

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Bytes that follow the header.
    pub size: u64,
    /// Their CRC-32.
    pub crc: u32,
    /// The name to store under, already sanitized.
    pub name: String,
}

/// How an upload begins.
#[derive(Debug)]
pub enum Head {
    /// The client closed without sending a byte.
    Empty,
    /// A raw upload whose first bytes are `buf[..n]`.
    Raw(usize),
    /// A framed upload: its header (or why it is unusable) and where in `buf` its body begins.
    Framed(Result<(Header, Range<usize>), UploadError>),
}

/// Reads the start of an upload into `buf`: just enough to tell a framed upload from a raw one
/// and, if framed, its whole header line. An error is one before the mode was known.
pub fn read_head<R: Read>(input: &mut R, buf: &mut [u8; MAX_HEADER]) -> Result<Head, UploadError> {
    let mut filled = 0;
    // Until the bytes so far stop matching the magic, or all of it has arrived.
    while filled < MAGIC.len() && MAGIC.starts_with(&buf[..filled]) {
        match read_some(input, &mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(Head::Empty),
            Ok(0) => return Ok(Head::Raw(filled)),
            Ok(n) => filled += n,
            Err(e) => return Err(UploadError::Aborted(e)),
        }
    }
    if !buf[..filled].starts_with(MAGIC) {
        return Ok(Head::Raw(filled));
    }
    loop {
        if let Some(end) = buf[..filled].iter().position(|&b| b == b'\n') {
            let header = parse_header(&buf[..end]).map_err(UploadError::BadHeader);
            return Ok(Head::Framed(header.map(|h| (h, end + 1..filled))));
        }
        if filled == MAX_HEADER {
            return Ok(Head::Framed(Err(UploadError::HeaderTooLong)));
        }
        match read_some(input, &mut buf[filled..]) {
            Ok(0) => {
                let why = "the connection ended inside it".to_string();
                return Ok(Head::Framed(Err(UploadError::BadHeader(why))));
            }
            Ok(n) => filled += n,
            Err(e) => return Ok(Head::Framed(Err(UploadError::Aborted(e)))),
        }
    }
}

fn read_some<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Parses a header line without its newline (a trailing `\r` is ignored).
pub fn parse_header(line: &[u8]) -> Result<Header, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut fields = line.splitn(5, |&b| b == b' ');
    let _magic = fields.next();
    let text = |f: Option<&[u8]>| String::from_utf8_lossy(f.unwrap_or_default()).into_owned();
    let version = text(fields.next());
    if version != VERSION {
        return Err(format!("unsupported version '{version}'"));
    }
    let size = text(fields.next());
    let size = match size.parse::<u64>() {
        Ok(n) if size.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return Err(format!("'{size}' is not a size in bytes")),
    };
    let crc = text(fields.next());
    let crc = match u32::from_str_radix(&crc, 16) {
        Ok(c) if crc.len() == 8 && crc.bytes().all(|b| b.is_ascii_hexdigit()) => c,
        _ => return Err(format!("'{crc}' is not a CRC-32 as 8 hex digits")),
    };
    Ok(Header {
        size,
        crc,
        name: name::sanitize(fields.next().unwrap_or_default()),
    })
}

/// The header line a client sends for `size` bytes with CRC `crc` named `raw_name` (any bytes:
/// line breaks become `_`, and very long names are cut; the server sanitizes the rest).
pub fn header_line(size: u64, crc: u32, raw_name: &[u8]) -> Vec<u8> {
    let mut line = format!("THREADSOCK-UPLOAD {VERSION} {size} {crc:08x} ").into_bytes();
    let name = &raw_name[..raw_name.len().min(MAX_SENT_NAME)];
    line.extend(name.iter().map(|&b| match b {
        b'\n' | b'\r' => b'_',
        b => b,
    }));
    line.push(b'\n');
    line
}

/// Receives the body announced by `header` (its first bytes may already be in `input`'s
/// front), then expects the end of stream, and stores it under the header's name.
pub fn receive<R: Read>(
    store: &Store,
    header: &Header,
    input: &mut R,
    max_file: u64,
    stopping: impl Fn() -> bool,
) -> Result<Saved, UploadError> {
    if header.size > max_file {
        return Err(UploadError::TooLarge(max_file));
    }
    let mut upload = store.begin("TCP").map_err(UploadError::Disk)?;
    let mut buf = vec![0u8; READ_CHUNK.min(header.size.max(1) as usize)];
    while upload.len() < header.size {
        let want = buf.len().min((header.size - upload.len()) as usize);
        let n = read_some(input, &mut buf[..want]).map_err(UploadError::Aborted)?;
        if stopping() {
            return Err(UploadError::ShuttingDown);
        }
        if n == 0 {
            return Err(UploadError::Incomplete {
                got: upload.len(),
                want: header.size,
            });
        }
        upload.write(&buf[..n]).map_err(UploadError::Disk)?;
    }
    if upload.crc() != header.crc {
        return Err(UploadError::CrcMismatch {
            declared: header.crc,
            received: upload.crc(),
        });
    }
    // The client ends the upload with its FIN; a byte instead is more than it announced.
    match read_some(input, &mut buf[..1]) {
        Ok(0) => {}
        Ok(_) => return Err(UploadError::Extra(header.size)),
        Err(e) => return Err(UploadError::Aborted(e)),
    }
    if stopping() {
        return Err(UploadError::ShuttingDown);
    }
    upload.commit_as(&header.name).map_err(UploadError::Disk)
}

/// The answer line for a stored file.
pub fn ok_line(saved: &Saved) -> String {
    format!("ok {}\n", saved.name)
}

/// Reads an answer line (without its newline): `Some(Ok(name))` for `ok <name>`,
/// `Some(Err(reason))` for `error <reason>` (or the raw mode's `ERR <reason>`, which a busy
/// server sends), `None` for anything else.
pub fn parse_answer(line: &[u8]) -> Option<Result<String, String>> {
    let line = std::str::from_utf8(line).ok()?;
    if let Some(name) = line.strip_prefix("ok ") {
        return (!name.is_empty()).then(|| Ok(name.to_string()));
    }
    line.strip_prefix("error ")
        .or_else(|| line.strip_prefix("ERR "))
        .map(|why| Err(why.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn headers_round_trip_and_bad_ones_say_why() {
        let line = header_line(42, 0xab, b"photo (1).jpg");
        assert_eq!(line, b"THREADSOCK-UPLOAD 1 42 000000ab photo (1).jpg\n");
        let h = parse_header(&line[..line.len() - 1]).unwrap();
        assert_eq!(
            (h.size, h.crc, h.name.as_str()),
            (42, 0xab, "photo (1).jpg")
        );
        let h = parse_header(b"THREADSOCK-UPLOAD 1 0 DEADBEEF ../x\r").unwrap();
        assert_eq!((h.size, h.crc, h.name.as_str()), (0, 0xdead_beef, "x"));
        assert!(header_line(1, 1, b"a\nb").ends_with(b" a_b\n"));
        for (bad, why) in [
            (&b"THREADSOCK-UPLOAD 2 1 00000000 x"[..], "version"),
            (b"THREADSOCK-UPLOAD 1 +1 00000000 x", "size"),
            (b"THREADSOCK-UPLOAD 1 -1 00000000 x", "size"),
            (b"THREADSOCK-UPLOAD 1 1 0000000 x", "CRC"),
            (b"THREADSOCK-UPLOAD 1 1 +0000000 x", "CRC"),
            (b"THREADSOCK-UPLOAD 1", "size"),
        ] {
            let e = parse_header(bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn the_head_tells_raw_from_framed() {
        let mut buf = [0u8; MAX_HEADER];
        let head = |data: &[u8], buf: &mut [u8; MAX_HEADER]| {
            read_head(&mut Cursor::new(data.to_vec()), buf).unwrap()
        };
        assert!(matches!(head(b"", &mut buf), Head::Empty));
        assert!(matches!(head(b"THREAD", &mut buf), Head::Raw(6)));
        assert!(matches!(head(b"hello world", &mut buf), Head::Raw(11)));
        match head(b"THREADSOCK-UPLOAD 1 3 00000000 n\nabc", &mut buf) {
            Head::Framed(Ok((h, body))) => {
                assert_eq!(h.name, "n");
                assert_eq!(&buf[body], b"abc");
            }
            other => panic!("{other:?}"),
        }
        let long = [MAGIC, &[b'x'; MAX_HEADER][..]].concat();
        assert!(matches!(
            head(&long, &mut buf),
            Head::Framed(Err(UploadError::HeaderTooLong))
        ));
        assert!(matches!(
            head(b"THREADSOCK-UPLOAD 1 3", &mut buf),
            Head::Framed(Err(UploadError::BadHeader(_)))
        ));
    }

    #[test]
    fn answers() {
        assert_eq!(parse_answer(b"ok a b.txt"), Some(Ok("a b.txt".into())));
        assert_eq!(
            parse_answer(b"error crc mismatch"),
            Some(Err("crc mismatch".into()))
        );
        assert_eq!(
            parse_answer(b"ERR server busy"),
            Some(Err("server busy".into()))
        );
        assert_eq!(parse_answer(b"ok "), None);
        assert_eq!(parse_answer(b"saved x 1 00000000"), None);
        assert_eq!(parse_answer(b"\xff\xfe"), None);
    }
}
