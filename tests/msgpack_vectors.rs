//! The committed MessagePack vectors (`tests/msgpack_vectors/vectors.txt`, read by the unit
//! tests of `codec::msgpack`) are what the real notepack.io writes: `make.js` runs again, with
//! the version the lock file pins, and its output must equal the committed file byte for byte.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

#[test]
fn vectors_txt_is_what_notepack_writes() {
    if !require_node_packages("msgpack_vectors") {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/msgpack_vectors");
    let out_path = std::env::temp_dir().join(format!(
        "threadsock-msgpack-vectors-{}.txt",
        std::process::id()
    ));
    let child = Command::new("node")
        .current_dir(dir)
        .arg("make.js")
        .arg(&out_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = finish_within(child, Duration::from_secs(60), "make.js");
    let written = std::fs::read(&out_path);
    let _ = std::fs::remove_file(&out_path);
    assert!(
        out.status.success(),
        "make.js failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = written.expect("make.js wrote its output");
    let committed = std::fs::read(format!("{dir}/vectors.txt")).expect("vectors.txt");
    if written != committed {
        let written = String::from_utf8_lossy(&written);
        let committed = String::from_utf8_lossy(&committed);
        let first = written
            .lines()
            .zip(committed.lines())
            .position(|(w, c)| w != c)
            .map(|i| i + 1);
        panic!(
            "vectors.txt differs from make.js's output (first differing line number: {first:?}; \
             {} lines written, {} committed): run `node make.js` in tests/msgpack_vectors",
            written.lines().count(),
            committed.lines().count()
        );
    }
}
