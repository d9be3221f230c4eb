//! The file store: an upload is written to a hidden temporary file in the target directory and
//! gets its final, unique name only once it is complete and on disk. No sequence of events
//! leaves a partial file under a final name, and no final name is ever overwritten.

use crate::codec::crc32::Crc32;
use crate::codec::rfc3339;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::SystemTime;

/// Temporary files start with this (hidden) and end with [`TEMP_SUFFIX`].
const TEMP_PREFIX: &str = ".upload-";
const TEMP_SUFFIX: &str = ".partial";
/// Attempts at a free final name before giving up (each attempt takes the next sequence number).
const NAME_ATTEMPTS: u32 = 10_000;

/// What was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The final file name (no directory).
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC-32 of the content.
    pub crc: u32,
}

/// A directory that receives uploads.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// Orders final names within one millisecond, and keeps them unique.
    seq: AtomicU64,
    temp_seq: AtomicU64,
}

impl Store {
    /// Opens `dir`, creating it if missing, and removes temporary files a crashed run left.
    /// Returns the store and how many stale temporary files were removed.
    ///
    /// Fails if `dir` is not a directory, or if no file can be created in it (checked by
    /// creating and removing a probe file), so that a server cannot start unable to store.
    pub fn open(dir: &Path) -> io::Result<(Store, usize)> {
        match fs::metadata(dir) {
            Ok(m) if !m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "it exists and is not a directory",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir)?,
            Err(e) => return Err(e),
        }
        let mut removed = 0;
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX)
                && name.ends_with(TEMP_SUFFIX)
                && fs::remove_file(dir.join(&*name)).is_ok()
            {
                removed += 1;
            }
        }
        let store = Store {
            dir: dir.to_path_buf(),
            seq: AtomicU64::new(1),
            temp_seq: AtomicU64::new(1),
        };
        // The probe is an ordinary temporary: removed when dropped, and by the next start if
        // this process dies in between.
        store
            .begin("probe")
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create a file in it: {e}")))?;
        Ok((store, removed))
    }

    /// The directory files are stored in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts an upload; `kind` (`TCP` or `UDP`) goes into the final name.
    pub fn begin(&self, kind: &'static str) -> io::Result<Upload<'_>> {
        let pid = std::process::id();
        loop {
            let n = self.temp_seq.fetch_add(1, Relaxed);
            let temp = self
                .dir
                .join(format!("{TEMP_PREFIX}{pid}-{n}{TEMP_SUFFIX}"));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    return Ok(Upload {
                        store: self,
                        file,
                        temp,
                        kind,
                        bytes: 0,
                        crc: Crc32::new(),
                        committed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Stores `content` in one go (a UDP datagram).
    pub fn save(&self, kind: &'static str, content: &[u8]) -> io::Result<Saved> {
        let mut upload = self.begin(kind)?;
        upload.write(content)?;
        upload.commit()
    }
}

/// An upload in progress. Dropping it without [`Upload::commit`] removes its temporary file.
#[derive(Debug)]
pub struct Upload<'a> {
    store: &'a Store,
    file: File,
    temp: PathBuf,
    kind: &'static str,
    bytes: u64,
    crc: Crc32,
    committed: bool,
}

impl Upload<'_> {
    /// Appends `data`.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.crc.update(data);
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// CRC-32 of the bytes written so far.
    pub fn crc(&self) -> u32 {
        self.crc.value()
    }

    /// True if nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Makes the upload durable and visible under a new final name stamped with the time now.
    pub fn commit(self) -> io::Result<Saved> {
        self.commit_at(SystemTime::now())
    }

    /// As [`Upload::commit`], with the name stamped with `time`.
    pub fn commit_at(self, time: SystemTime) -> io::Result<Saved> {
        let stamp = rfc3339::compact_millis(time);
        let (seq, kind) = (&self.store.seq, self.kind);
        self.commit_with(|_| {
            let n = seq.fetch_add(1, Relaxed);
            format!("server_{stamp}_{n:06}_{kind}.txt")
        })
    }

    /// Makes the upload durable and visible as `name` (already sanitized, see
    /// [`super::name::sanitize`]), or, if that is taken, `name (1)`, `name (2)`... before the
    /// extension. Never replaces an existing file.
    pub fn commit_as(self, name: &str) -> io::Result<Saved> {
        self.commit_with(|attempt| super::name::numbered(name, attempt))
    }

    /// Commits under the first free name `candidate(0)`, `candidate(1)`...
    ///
    /// Order: fsync the file; hard-link it to a name that does not exist yet (a link, unlike a
    /// rename, fails rather than replace an existing file); remove the temporary name; fsync the
    /// directory so the new name survives a crash.
    fn commit_with(mut self, mut candidate: impl FnMut(u32) -> String) -> io::Result<Saved> {
        self.file.sync_all()?;
        let mut attempts = 0;
        let name = loop {
            let name = candidate(attempts);
            match link_new(&self.temp, &self.store.dir.join(&name)) {
                Ok(()) => break name,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < NAME_ATTEMPTS => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        };
        self.committed = true;
        let _ = fs::remove_file(&self.temp);
        File::open(&self.store.dir)?.sync_all()?;
        Ok(Saved {
            name,
            bytes: self.bytes,
            crc: self.crc.value(),
        })
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Gives `from` the additional name `to`, failing with `AlreadyExists` if `to` exists. Where the
/// file system has no hard links, falls back to a rename guarded by an existence check (still
/// atomic for readers; only a file created in between could be replaced).
fn link_new(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported || e.raw_os_error() == Some(1) => {
            if to.exists() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(from, to)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "threadsock-store-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_names_the_file_and_removes_the_temporary() {
        let dir = temp_dir("commit");
        let (store, _) = Store::open(&dir).unwrap();
        let mut up = store.begin("TCP").unwrap();
        up.write(b"hello ").unwrap();
        up.write(b"world").unwrap();
        assert_eq!(names(&dir).len(), 1);
        assert!(names(&dir)[0].starts_with(".upload-"));
        let t = UNIX_EPOCH + Duration::from_millis(1_795_342_530_042);
        let saved = up.commit_at(t).unwrap();
        assert_eq!(saved.name, "server_20261122T101530.042Z_000001_TCP.txt");
        assert_eq!(saved.bytes, 11);
        assert_eq!(saved.crc, crate::codec::crc32::checksum(b"hello world"));
        assert_eq!(names(&dir), std::slice::from_ref(&saved.name));
        assert_eq!(fs::read(dir.join(&saved.name)).unwrap(), b"hello world");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_abandoned_upload_leaves_nothing() {
        let dir = temp_dir("abandon");
        let (store, _) = Store::open(&dir).unwrap();
        let mut up = store.begin("TCP").unwrap();
        up.write(&[7u8; 10_000]).unwrap();
        drop(up);
        assert!(names(&dir).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn same_millisecond_names_are_unique_sorted_and_never_overwrite() {
        let dir = temp_dir("unique");
        let (store, _) = Store::open(&dir).unwrap();
        let t = UNIX_EPOCH + Duration::from_millis(1_795_342_530_042);
        // Someone already has the name the next commit would take.
        let squatter = dir.join("server_20261122T101530.042Z_000001_UDP.txt");
        fs::write(&squatter, b"not yours").unwrap();
        let mut saved = Vec::new();
        for i in 0..50u8 {
            let mut up = store.begin("UDP").unwrap();
            up.write(&[i]).unwrap();
            saved.push(up.commit_at(t).unwrap().name);
        }
        assert_eq!(fs::read(&squatter).unwrap(), b"not yours");
        let mut sorted = saved.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, saved, "unique, and sorted in commit order");
        for (i, name) in saved.iter().enumerate() {
            assert_eq!(fs::read(dir.join(name)).unwrap(), [i as u8]);
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn commit_as_uses_the_name_then_numbered_alternatives() {
        let dir = temp_dir("named");
        let (store, _) = Store::open(&dir).unwrap();
        fs::write(dir.join("photo.jpg"), b"first").unwrap();
        let mut got = Vec::new();
        for i in 0..3u8 {
            let mut up = store.begin("TCP").unwrap();
            up.write(&[i]).unwrap();
            got.push(up.commit_as("photo.jpg").unwrap().name);
        }
        assert_eq!(got, ["photo (1).jpg", "photo (2).jpg", "photo (3).jpg"]);
        assert_eq!(fs::read(dir.join("photo.jpg")).unwrap(), b"first");
        assert_eq!(fs::read(dir.join("photo (2).jpg")).unwrap(), [1]);
        assert_eq!(names(&dir).len(), 4, "no temporaries left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_refuses_a_file_and_leaves_no_probe() {
        let dir = temp_dir("notdir");
        fs::write(&dir, b"a file").unwrap();
        let e = Store::open(&dir).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        fs::remove_file(&dir).unwrap();
        let (_, _) = Store::open(&dir).unwrap();
        assert!(names(&dir).is_empty(), "the probe is removed");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_creates_the_directory_and_removes_stale_temporaries() {
        let dir = temp_dir("stale");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(".upload-1-1.partial"), b"crashed").unwrap();
        fs::write(dir.join("keep.txt"), b"user file").unwrap();
        let (_, removed) = Store::open(&dir).unwrap();
        assert_eq!(removed, 1);
        assert_eq!(names(&dir), ["keep.txt"]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
