//! Helpers of the files tests: a server storing into a fresh directory, the directory's
//! listing, a raw upload like `nc -N`, and reproducible content.
#![allow(dead_code)]

use crate::support::*;
use std::fs;
use std::io::Write;
use std::net::{Shutdown, SocketAddr};
use std::path::{Path, PathBuf};
use std::thread;
use threadsock::server::{Limits, Server};
use threadsock::service::files::{parse_reply, FilesConfig, Saved};

/// A files server storing into a fresh directory named after the test.
pub fn files_server(tag: &str, max_file: u64) -> (Server, PathBuf) {
    let dir = std::env::temp_dir().join(format!("threadsock-files-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut opts = options(&["files"]);
    opts.files = FilesConfig {
        dir: dir.clone(),
        max_file,
    };
    (start_with(&opts, Limits::default()), dir)
}

/// Final and temporary names in `dir`.
pub fn listing(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut finals = Vec::new();
    let mut temps = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            temps.push(name);
        } else {
            finals.push(name);
        }
    }
    finals.sort();
    (finals, temps)
}

/// Uploads `data` like `nc -N`: write everything from a second thread, half-close, read the
/// reply line.
pub fn upload(addr: SocketAddr, data: &[u8]) -> String {
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let data = data.to_vec();
    let feeder = thread::spawn(move || {
        let _ = writer.write_all(&data);
        let _ = writer.shutdown(Shutdown::Write);
    });
    let reply = read_to_eof(&mut stream, 4096).unwrap();
    feeder.join().unwrap();
    String::from_utf8(reply).unwrap()
}

pub fn saved(reply: &str) -> Saved {
    assert!(reply.ends_with('\n'), "{reply:?}");
    parse_reply(reply.trim_end()).unwrap_or_else(|e| panic!("{reply:?}: {e}"))
}

pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Waits (bounded) until an upload's temporary file exists in `dir`: the server is receiving.
pub fn wait_for_temporary(dir: &Path) {
    let deadline = std::time::Instant::now() + WAIT;
    while listing(dir).1.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no upload began");
        thread::sleep(std::time::Duration::from_millis(5));
    }
}
