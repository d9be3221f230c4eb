//! Framed uploads (the mode `threadsock send` uses) over real sockets: stored under the client's
//! sanitized name only when every announced byte arrived with the announced CRC-32.

mod files_support;
mod support;

use files_support::*;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use support::*;
use threadsock::codec::crc32::checksum;
use threadsock::service::files::framed::header_line;

/// A framed upload of `data` announced as `size` bytes with CRC `crc`, written whole, then
/// half-closed; returns the answer.
fn framed(addr: SocketAddr, size: u64, crc: u32, name: &[u8], data: &[u8]) -> String {
    upload(addr, &[&header_line(size, crc, name)[..], data].concat())
}

#[test]
fn a_framed_upload_is_stored_under_the_clients_sanitized_name() {
    let (server, dir) = files_server("framed-name", 1 << 30);
    let addr = tcp_addr(&server, "files");
    let data = pattern(300_000, 1);
    let answer = framed(addr, 300_000, checksum(&data), b"photo.jpg", &data);
    assert_eq!(answer, "ok photo.jpg\n");
    assert!(fs::read(dir.join("photo.jpg")).unwrap() == data);
    // Taken names get a number; a path cannot leave the directory; no hidden files.
    for (name, stored) in [
        (&b"photo.jpg"[..], "photo (1).jpg"),
        (b"photo.jpg", "photo (2).jpg"),
        (b"../../etc/passwd", "passwd"),
        (b".hidden", "_hidden"),
        (b"", "upload"),
    ] {
        let answer = framed(addr, 3, checksum(b"abc"), name, b"abc");
        assert_eq!(answer, format!("ok {stored}\n"));
        assert_eq!(fs::read(dir.join(stored)).unwrap(), b"abc");
    }
    // An empty file, announced as such, is stored.
    assert_eq!(framed(addr, 0, 0, b"empty", b""), "ok empty\n");
    let (finals, temps) = listing(&dir);
    assert_eq!(finals.len(), 7, "{finals:?}");
    assert!(temps.is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_upload_cut_off_midway_stores_nothing() {
    let (server, dir) = files_server("framed-cut", 1 << 30);
    let addr = tcp_addr(&server, "files");
    let data = pattern(100_000, 2);
    let answer = framed(addr, 100_000, checksum(&data), b"cut.bin", &data[..50_000]);
    assert_eq!(
        answer,
        "error upload incomplete: got 50000 of 100000 bytes\n"
    );
    // Cut off inside the header.
    let answer = upload(addr, b"THREADSOCK-UPLOAD 1 100");
    assert!(answer.starts_with("error bad header: "), "{answer:?}");
    assert!(server.wait_connections_finished(2, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_wrong_crc_or_extra_bytes_store_nothing() {
    let (server, dir) = files_server("framed-crc", 1 << 30);
    let addr = tcp_addr(&server, "files");
    let data = pattern(70_000, 3);
    let answer = framed(addr, 70_000, checksum(&data) ^ 1, b"crc.bin", &data);
    assert!(answer.starts_with("error crc mismatch"), "{answer:?}");
    let answer = framed(
        addr,
        1000,
        checksum(&data[..1000]),
        b"more.bin",
        &data[..1001],
    );
    assert_eq!(answer, "error more than the announced 1000 bytes\n");
    assert!(server.wait_connections_finished(2, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_headers_and_sizes_over_the_cap_are_refused_at_once() {
    let (server, dir) = files_server("framed-head", 10_000);
    let addr = tcp_addr(&server, "files");
    let long = [&b"THREADSOCK-UPLOAD 1 1 00000000 "[..], &[b'x'; 2000]].concat();
    assert_eq!(upload(addr, &long), "error header too long\n");
    // Refused before the body: the client has not even finished (or half-closed).
    let mut stream = connect(addr);
    stream.write_all(&header_line(10_001, 0, b"big")).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert_eq!(answer, b"error too large (limit 10000 bytes)\n");
    assert!(server.wait_connections_finished(2, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shutdown_mid_upload_tells_the_client_and_stores_nothing() {
    let (mut server, dir) = files_server("framed-stop", 1 << 30);
    let mut stream = connect(tcp_addr(&server, "files"));
    stream.write_all(&header_line(1 << 30, 0, b"big")).unwrap();
    stream.write_all(&[7u8; 1000]).unwrap();
    wait_for_temporary(&dir);
    let mut writer = stream.try_clone().unwrap();
    let feeder = thread::spawn(move || {
        let chunk = vec![1u8; 64 * 1024];
        for _ in 0..1024 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let stopper = thread::spawn(move || server.stop());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(
        String::from_utf8_lossy(&answer),
        "error server shutting down\n"
    );
    let _ = stream.shutdown(Shutdown::Both);
    assert_eq!(stopper.join().unwrap().unfinished, 0);
    feeder.join().unwrap();
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn raw_uploads_keep_the_seeds_naming_even_when_they_start_like_a_header() {
    let (server, dir) = files_server("framed-raw", 1 << 30);
    let addr = tcp_addr(&server, "files");
    let reply = upload(addr, b"THREAD");
    let s = saved(&reply);
    assert!(s.name.starts_with("server_") && s.name.ends_with("_TCP.txt"));
    assert_eq!(fs::read(dir.join(&s.name)).unwrap(), b"THREAD");
    drop(TcpStream::connect(addr).unwrap());
    assert!(server.wait_connections_finished(2, WAIT));
    fs::remove_dir_all(&dir).unwrap();
}
