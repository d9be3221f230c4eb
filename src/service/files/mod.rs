//! The files service: TCP uploads, raw (the seed's: the client sends a file and shuts down its
//! side) or framed (`threadsock send`: size, CRC and name announced first, see [`framed`]), and
//! UDP drop (each datagram is a file); stored atomically, answered with what was stored.
//!
//! Raw reply, one line: `saved <name> <bytes> <crc32 as 8 hex digits>` or `ERR <reason>`.
//! Framed reply: `ok <name>` or `error <reason>`. A connection that closes without sending a
//! byte stores nothing and is answered `ERR empty upload, nothing stored` (a client that has
//! gone entirely never reads it). When the server stops, an upload in progress is not stored
//! and its client is told `ERR server shutting down` (`error ...` if framed) before the close.

pub mod framed;
pub mod name;
pub mod store;

use crate::defaults;
use crate::server::{Connection, Metric};
use framed::Head;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
pub use store::{Saved, Store};

/// Bytes read per `read` call of an upload.
const READ_CHUNK: usize = 64 * 1024;

/// Settings of the files service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesConfig {
    /// Where files are stored; created if missing.
    pub dir: PathBuf,
    /// Largest upload accepted, in bytes.
    pub max_file: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            dir: PathBuf::from(defaults::FILES_DIR),
            max_file: defaults::MAX_FILE,
        }
    }
}

/// The answer to a connection that closed without sending a byte.
const EMPTY_LINE: &[u8] = b"ERR empty upload, nothing stored\n";

/// Why an upload was not stored.
#[derive(Debug)]
pub enum UploadError {
    /// More than the size cap arrived, or was announced.
    TooLarge(u64),
    /// The connection failed before the client finished (reset, idle timeout).
    Aborted(io::Error),
    /// The server is stopping.
    ShuttingDown,
    /// The file could not be written.
    Disk(io::Error),
    /// Framed: the client's FIN came before the announced size.
    Incomplete {
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        want: u64,
    },
    /// Framed: the bytes do not have the announced CRC-32.
    CrcMismatch {
        /// Announced in the header.
        declared: u32,
        /// Computed over what arrived.
        received: u32,
    },
    /// Framed: bytes arrived after the announced size (given).
    Extra(u64),
    /// Framed: the header line is malformed (why).
    BadHeader(String),
    /// Framed: no newline within [`framed::MAX_HEADER`] bytes.
    HeaderTooLong,
}

impl UploadError {
    /// What went wrong, as the answer line gives it after `ERR ` or `error `.
    pub fn reason(&self) -> String {
        match self {
            UploadError::TooLarge(limit) => format!("too large (limit {limit} bytes)"),
            UploadError::Aborted(e) => format!("upload aborted: {e}"),
            UploadError::ShuttingDown => "server shutting down".to_string(),
            UploadError::Disk(e) => format!("cannot store the file: {e}"),
            UploadError::Incomplete { got, want } => {
                format!("upload incomplete: got {got} of {want} bytes")
            }
            UploadError::CrcMismatch { declared, received } => {
                format!("crc mismatch (announced {declared:08x}, received {received:08x})")
            }
            UploadError::Extra(size) => format!("more than the announced {size} bytes"),
            UploadError::BadHeader(why) => format!("bad header: {why}"),
            UploadError::HeaderTooLong => "header too long".to_string(),
        }
    }

    /// The raw mode's reply line.
    pub fn reply(&self) -> String {
        format!("ERR {}\n", self.reason())
    }

    /// The framed mode's answer line.
    pub fn framed_reply(&self) -> String {
        format!("error {}\n", self.reason())
    }
}

/// The reply line for a stored file.
pub fn saved_line(s: &Saved) -> String {
    format!("saved {} {} {:08x}\n", s.name, s.bytes, s.crc)
}

/// Parses a reply line (without its newline): `Ok` for `saved ...`, `Err(reason)` for
/// `ERR reason` or anything unexpected.
pub fn parse_reply(line: &str) -> Result<Saved, String> {
    if let Some(reason) = line.strip_prefix("ERR ") {
        return Err(reason.to_string());
    }
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        ["saved", name, bytes, crc] if crc.len() == 8 => {
            match (bytes.parse(), u32::from_str_radix(crc, 16)) {
                (Ok(bytes), Ok(crc)) => Ok(Saved {
                    name: (*name).to_string(),
                    bytes,
                    crc,
                }),
                _ => Err(format!("unreadable reply: {line}")),
            }
        }
        _ => Err(format!("unexpected reply: {line}")),
    }
}

/// Reads an upload from `input` until end of stream and stores it, unless it passes
/// `max_file`, the input fails, or `stopping()` says the end of stream was the server's own.
pub fn receive<R: Read>(
    store: &Store,
    input: &mut R,
    max_file: u64,
    stopping: impl Fn() -> bool,
) -> Result<Saved, UploadError> {
    let mut upload = store.begin("TCP").map_err(UploadError::Disk)?;
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(UploadError::Aborted(e)),
        };
        // Once stopping, reads may go on returning what a busy client keeps sending.
        if stopping() {
            return Err(UploadError::ShuttingDown);
        }
        if upload.len() + n as u64 > max_file {
            return Err(UploadError::TooLarge(max_file));
        }
        upload.write(&buf[..n]).map_err(UploadError::Disk)?;
    }
    if stopping() {
        return Err(UploadError::ShuttingDown);
    }
    upload.commit().map_err(UploadError::Disk)
}

/// A running files service.
#[derive(Debug)]
pub struct Files {
    store: Store,
    max_file: u64,
    saved: AtomicU64,
    failed: AtomicU64,
    empty: AtomicU64,
}

impl Files {
    /// Opens the store directory (creating it, and clearing a crashed run's temporary files).
    pub fn open(config: &FilesConfig) -> io::Result<Arc<Files>> {
        let (store, stale) = Store::open(&config.dir)?;
        if stale > 0 {
            crate::log!(
                "files: removed {stale} unfinished upload(s) left in {}",
                config.dir.display()
            );
        }
        Ok(Arc::new(Files {
            store,
            max_file: config.max_file,
            saved: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            empty: AtomicU64::new(0),
        }))
    }

    /// The TCP handler: tell raw from framed, receive, store, answer. A raw upload is stored
    /// whether or not the answer can be written (the seed's client never reads it).
    pub fn serve(&self, conn: &mut Connection) -> io::Result<()> {
        let peer = conn.peer_addr().clone();
        let stop = conn.stop_signal();
        let stopping = || stop.is_stopping();
        let mut head = [0u8; framed::MAX_HEADER];
        let (result, is_framed) = match framed::read_head(conn, &mut head) {
            Err(e) => (Err(e), false),
            Ok(Head::Empty) if stopping() => (Err(UploadError::ShuttingDown), false),
            Ok(Head::Empty) => {
                self.empty.fetch_add(1, Relaxed);
                crate::log!("files/tcp: empty connection from {peer}, nothing stored");
                let _ = conn.write_all(EMPTY_LINE);
                return Ok(());
            }
            Ok(Head::Raw(n)) => {
                let mut input = (&head[..n]).chain(&mut *conn);
                (
                    receive(&self.store, &mut input, self.max_file, stopping),
                    false,
                )
            }
            Ok(Head::Framed(Err(e))) => (Err(e), true),
            Ok(Head::Framed(Ok((header, body)))) => {
                let mut input = (&head[body]).chain(&mut *conn);
                let max = self.max_file;
                let got = framed::receive(&self.store, &header, &mut input, max, stopping);
                (got, true)
            }
        };
        match result {
            Ok(saved) => {
                let line = self.stored("tcp", &saved, &peer);
                let line = if is_framed {
                    framed::ok_line(&saved)
                } else {
                    line
                };
                let _ = conn.write_all(line.as_bytes());
                Ok(())
            }
            Err(e) => {
                self.failed.fetch_add(1, Relaxed);
                crate::log!("files/tcp: upload from {peer} not stored: {}", e.reason());
                let line = if is_framed {
                    e.framed_reply()
                } else {
                    e.reply()
                };
                let _ = conn.write_all(line.as_bytes());
                match e {
                    // A reset or the idle timeout: close at once (and count an idle close).
                    UploadError::Aborted(err) => Err(err),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The UDP handler: each non-empty datagram is stored as its own file and answered.
    pub fn datagram(&self, packet: &[u8], from: std::net::SocketAddr, reply: &mut Vec<u8>) -> bool {
        if packet.is_empty() {
            return false;
        }
        if packet.len() as u64 > self.max_file {
            self.failed.fetch_add(1, Relaxed);
            let e = UploadError::TooLarge(self.max_file);
            crate::log!("files/udp: datagram from {from} not stored: {}", e.reason());
            reply.extend_from_slice(e.reply().as_bytes());
            return true;
        }
        let line = match self.store.save("UDP", packet) {
            Ok(saved) => self.stored("udp", &saved, from),
            Err(e) => {
                self.failed.fetch_add(1, Relaxed);
                crate::log!("files/udp: datagram from {from} not stored: {e}");
                UploadError::Disk(e).reply()
            }
        };
        reply.extend_from_slice(line.as_bytes());
        true
    }

    /// Counts and logs a stored file; returns its reply line.
    fn stored(&self, proto: &str, saved: &Saved, from: impl std::fmt::Display) -> String {
        self.saved.fetch_add(1, Relaxed);
        crate::log!(
            "files/{proto}: saved {} ({} bytes) from {from}",
            saved.name,
            saved.bytes
        );
        saved_line(saved)
    }

    /// Figures for the `--stats` line.
    pub fn metrics(&self) -> Vec<Metric> {
        vec![
            Metric::Gauge("files_saved", self.saved.load(Relaxed)),
            Metric::Gauge("files_failed", self.failed.load(Relaxed)),
            Metric::Gauge("files_empty", self.empty.load(Relaxed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn replies_round_trip() {
        let saved = Saved {
            name: "server_x_000001_TCP.txt".into(),
            bytes: 42,
            crc: 0x00ab_cdef,
        };
        let line = saved_line(&saved);
        assert_eq!(line, "saved server_x_000001_TCP.txt 42 00abcdef\n");
        assert_eq!(parse_reply(line.trim_end()), Ok(saved));
        assert_eq!(
            parse_reply("ERR too large (limit 5 bytes)"),
            Err("too large (limit 5 bytes)".into())
        );
        assert!(parse_reply("saved a b c").is_err());
        assert!(parse_reply("hello").is_err());
    }

    #[test]
    fn receive_stores_stops_at_the_cap_and_respects_shutdown() {
        let dir = std::env::temp_dir().join(format!("threadsock-receive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, _) = Store::open(&dir).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        let saved = receive(&store, &mut Cursor::new(&data), 1 << 20, || false).unwrap();
        assert_eq!(saved.bytes, data.len() as u64);
        assert_eq!(std::fs::read(dir.join(&saved.name)).unwrap(), data);

        let too_big = receive(&store, &mut Cursor::new(&data), 1000, || false);
        assert!(matches!(too_big, Err(UploadError::TooLarge(1000))));
        let stopping = receive(&store, &mut Cursor::new(&data), 1 << 20, || true);
        assert!(matches!(stopping, Err(UploadError::ShuttingDown)));
        // Only the first upload is there; no temporaries are left.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
