//! The files service: the seed's TCP upload (the client sends a file and shuts down its side)
//! and UDP drop (each datagram is a file), stored atomically, answered with what was stored.
//!
//! Reply, one line: `saved <name> <bytes> <crc32 as 8 hex digits>` or `ERR <reason>`.

pub mod name;
pub mod store;

use crate::server::{Connection, Metric};
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
            dir: PathBuf::from("./server_files"),
            max_file: 1 << 30,
        }
    }
}

/// Why an upload was not stored.
#[derive(Debug)]
pub enum UploadError {
    /// More than the size cap arrived.
    TooLarge(u64),
    /// The connection failed before the client finished (reset, idle timeout).
    Aborted(io::Error),
    /// The server is stopping.
    ShuttingDown,
    /// The file could not be written.
    Disk(io::Error),
}

impl UploadError {
    /// The reply line for the client.
    pub fn reply(&self) -> String {
        match self {
            UploadError::TooLarge(limit) => format!("ERR too large (limit {limit} bytes)\n"),
            UploadError::Aborted(e) => format!("ERR upload aborted: {e}\n"),
            UploadError::ShuttingDown => "ERR server shutting down\n".to_string(),
            UploadError::Disk(e) => format!("ERR cannot store the file: {e}\n"),
        }
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
        }))
    }

    /// The TCP handler: receive, store, answer. The file is stored whether or not the answer
    /// can be written (the seed's client never reads it).
    pub fn serve(&self, conn: &mut Connection) -> io::Result<()> {
        let peer = conn.peer_addr();
        let stop = conn.stop_signal();
        let result = receive(&self.store, conn, self.max_file, || stop.is_stopping());
        match result {
            Ok(saved) => {
                let _ = conn.write_all(self.stored("tcp", &saved, peer).as_bytes());
                Ok(())
            }
            Err(e) => {
                self.failed.fetch_add(1, Relaxed);
                let _ = conn.write_all(e.reply().as_bytes());
                match e {
                    UploadError::Disk(ref err) => {
                        crate::log!("files/tcp: upload from {peer} not stored: {err}");
                        Ok(())
                    }
                    UploadError::TooLarge(_) => Ok(()),
                    UploadError::Aborted(err) => Err(err),
                    UploadError::ShuttingDown => Err(io::ErrorKind::Interrupted.into()),
                }
            }
        }
    }

    /// The UDP handler: each non-empty datagram is stored as its own file and answered.
    pub fn datagram(&self, packet: &[u8], from: std::net::SocketAddr, reply: &mut Vec<u8>) -> bool {
        if packet.is_empty() {
            return false;
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
    fn stored(&self, proto: &str, saved: &Saved, from: std::net::SocketAddr) -> String {
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
