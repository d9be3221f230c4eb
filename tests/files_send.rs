//! The `threadsock` binary around the files service: `send` stores under the file's own name or
//! fails before connecting, knows a port that is not a files server, and `serve` refuses an
//! unusable directory and leaves nothing behind when signalled mid-upload.

mod files_support;
mod support;

use files_support::*;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use support::*;
use threadsock::codec::crc32::checksum;
use threadsock::service::files::framed::header_line;

/// Runs the binary with arguments that need not be UTF-8, with empty stdin.
fn run_bin_os(args: &[&OsStr]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threadsock");
    finish(child, &format!("threadsock {args:?}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch directory for client-side files.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("threadsock-send-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn send_stores_the_file_under_its_own_name() {
    let (server, dir) = files_server("send-name", 1 << 30);
    let port = tcp_addr(&server, "files").port().to_string();
    let inputs = scratch("name");
    let file = inputs.join("report 2026.pdf");
    let data = pattern(200_000, 7);
    fs::write(&file, &data).unwrap();
    for expected in ["report 2026.pdf", "report 2026 (1).pdf"] {
        let out = run_bin(&["send", "127.0.0.1", &port, file.to_str().unwrap()], b"");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let crc = checksum(&data);
        assert_eq!(
            text(&out.stdout),
            format!("saved {expected} 200000 {crc:08x}\n")
        );
        assert!(fs::read(dir.join(expected)).unwrap() == data);
    }
    // stdin is stored as `stdin`, or under --name.
    let out = run_bin(&["send", "127.0.0.1", &port, "-"], b"from stdin");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read(dir.join("stdin")).unwrap(), b"from stdin");
    let out = run_bin(
        &["send", "--name", "notes.txt", "127.0.0.1", &port, "-"],
        b"named",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("saved notes.txt 5 "));
    assert_eq!(fs::read(dir.join("notes.txt")).unwrap(), b"named");
    assert!(listing(&dir).1.is_empty());
    fs::remove_dir_all(&inputs).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn send_takes_a_file_name_that_is_not_utf8() {
    let (server, dir) = files_server("send-latin1", 1 << 30);
    let port = tcp_addr(&server, "files").port().to_string();
    let inputs = scratch("latin1");
    let file = inputs.join(OsStr::from_bytes(b"caf\xe9.txt"));
    fs::write(&file, b"du caf\xe9").unwrap();
    let args = ["send", "127.0.0.1", &port].map(OsStr::new);
    let out = run_bin_os(&[&args[..], &[file.as_os_str()]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stored = "caf\u{fffd}.txt";
    assert!(text(&out.stdout).starts_with(&format!("saved {stored} 7 ")));
    assert_eq!(fs::read(dir.join(stored)).unwrap(), b"du caf\xe9");
    fs::remove_dir_all(&inputs).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn send_of_an_unreadable_path_fails_before_connecting() {
    let (server, dir) = files_server("send-unreadable", 1 << 30);
    let port = tcp_addr(&server, "files").port().to_string();
    let inputs = scratch("unreadable");
    let missing = inputs.join("missing.txt");
    let mut cases = vec![
        (inputs.clone(), "is a directory".to_string()),
        (
            missing,
            "No such file or directory (os error 2)".to_string(),
        ),
    ];
    if is_root() {
        eprintln!("skipped the permission case: root reads any file");
    } else {
        use std::os::unix::fs::PermissionsExt;
        let locked = inputs.join("locked.txt");
        fs::write(&locked, b"secret").unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        cases.push((locked, "Permission denied (os error 13)".to_string()));
    }
    for udp in [false, true] {
        for (path, why) in &cases {
            let path = path.to_str().unwrap();
            let mut args = vec!["send", "127.0.0.1", &port, path];
            if udp {
                args.insert(1, "--udp");
            }
            let out = run_bin(&args, b"");
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert_eq!(
                text(&out.stderr),
                format!("threadsock send: cannot read {path}: {why}\n")
            );
        }
    }
    let stats = server.stats();
    assert!(
        stats.iter().all(|s| s.total == 0),
        "the server was contacted: {stats:?}"
    );
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&inputs).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn send_to_a_port_that_is_not_a_files_server_says_so() {
    let server = start(&["echo", "daytime"]);
    let inputs = scratch("notfiles");
    let file = inputs.join("small.txt");
    fs::write(&file, b"hello").unwrap();
    for service in ["echo", "daytime"] {
        let port = tcp_addr(&server, service).port().to_string();
        let out = run_bin(&["send", "127.0.0.1", &port, file.to_str().unwrap()], b"");
        assert_eq!(out.status.code(), Some(1), "{service}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "threadsock send: port {port} on 127.0.0.1 does not look like a threadsock files server (unexpected answer: \""
            )),
            "{service}: {err}"
        );
        assert!(!err.contains("UTF-8"), "{err}");
    }
    fs::remove_dir_all(&inputs).unwrap();
}

#[test]
fn serve_refuses_a_files_directory_it_cannot_use() {
    let inputs = scratch("badfilesdir");
    let file = inputs.join("a-file");
    fs::write(&file, b"not a directory").unwrap();
    let mut cases = vec![(file, "it exists and is not a directory")];
    if is_root() {
        eprintln!("skipped the read-only case: root writes anywhere");
    } else {
        use std::os::unix::fs::PermissionsExt;
        let locked = inputs.join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        cases.push((
            locked,
            "cannot create a file in it: Permission denied (os error 13)",
        ));
    }
    for (dir, why) in cases {
        let dir = dir.to_str().unwrap();
        let args = ["serve", "--only", "files", "--files-port", "0"];
        let out = run_bin(&[&args[..], &["--files-dir", dir]].concat(), b"");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            format!("threadsock serve: cannot use files directory {dir}: {why}\n")
        );
    }
    fs::remove_dir_all(&inputs).unwrap();
}

#[test]
fn sigterm_mid_upload_leaves_nothing_in_the_directory() {
    let dir = scratch("sigterm").join("files");
    let (child, rx) = spawn_bin(&[
        "serve",
        "--only",
        "files",
        "--files-port",
        "0",
        "--files-dir",
        dir.to_str().unwrap(),
    ]);
    let lines = first_lines(&rx, 2);
    let mut stream = connect(listening_addr(&lines, "files/tcp"));
    let data = pattern(1 << 20, 8);
    stream
        .write_all(&header_line(1 << 20, checksum(&data), b"half.bin"))
        .unwrap();
    stream.write_all(&data[..1 << 19]).unwrap();
    wait_for_temporary(&dir);
    sigterm(&child, "serve mid-upload");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(text(&answer), "error server shutting down\n");
    let out = finish(child, "serve after SIGTERM");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
