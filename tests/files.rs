//! The files service over real sockets: uploads of every size land intact or not at all.

mod files_support;
mod support;

use files_support::*;
use socket2::SockRef;
use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use support::*;
use threadsock::codec::crc32::checksum;
use threadsock::server::Limits;
use threadsock::service::files::FilesConfig;

#[test]
fn uploads_of_every_size_land_intact() {
    let (server, dir) = files_server("sizes", 1 << 30);
    let addr = tcp_addr(&server, "files");
    for (i, len) in [1usize, 1000, 1 << 20, 32 << 20].into_iter().enumerate() {
        let data = pattern(len, i as u32);
        let s = saved(&upload(addr, &data));
        assert_eq!(s.bytes, len as u64);
        assert_eq!(s.crc, checksum(&data));
        assert!(
            s.name.starts_with("server_") && s.name.ends_with("_TCP.txt"),
            "{}",
            s.name
        );
        assert!(
            fs::read(dir.join(&s.name)).unwrap() == data,
            "content of {len} bytes"
        );
    }
    let (finals, temps) = listing(&dir);
    assert_eq!(finals.len(), 4);
    assert!(temps.is_empty(), "{temps:?}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_connection_that_sends_nothing_stores_nothing() {
    let (server, dir) = files_server("empty", 1 << 30);
    let addr = tcp_addr(&server, "files");
    // Like `nc -N < /dev/null`: half-closed, still reading.
    assert_eq!(upload(addr, b""), "ERR empty upload, nothing stored\n");
    // Like `threadsock probe` or `nc -z`: connect and go.
    drop(TcpStream::connect(addr).unwrap());
    assert!(server.wait_connections_finished(2, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_that_never_reads_the_reply_still_gets_its_file_saved() {
    let (server, dir) = files_server("noreply", 1 << 30);
    let data = pattern(300_000, 9);
    let mut stream = TcpStream::connect(tcp_addr(&server, "files")).unwrap();
    stream.write_all(&data).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    drop(stream);
    assert!(server.wait_connections_finished(1, WAIT));
    let (finals, temps) = listing(&dir);
    assert_eq!(finals.len(), 1);
    assert!(temps.is_empty());
    assert!(fs::read(dir.join(&finals[0])).unwrap() == data);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reset_mid_upload_leaves_no_file() {
    let (server, dir) = files_server("reset", 1 << 30);
    let stream = TcpStream::connect(tcp_addr(&server, "files")).unwrap();
    (&stream).write_all(&pattern(200_000, 3)).unwrap();
    // SO_LINGER 0: closing sends RST instead of FIN.
    SockRef::from(&stream)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(stream);
    assert!(server.wait_connections_finished(1, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn past_the_size_cap_the_client_is_told_and_nothing_is_kept() {
    let (server, dir) = files_server("cap", 10_000);
    let addr = tcp_addr(&server, "files");
    let reply = upload(addr, &pattern(50_000, 1));
    assert!(reply.starts_with("ERR too large"), "{reply:?}");
    assert!(server.wait_connections_finished(1, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    // Exactly at the cap is fine.
    let s = saved(&upload(addr, &pattern(10_000, 2)));
    assert_eq!(s.bytes, 10_000);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_directory_gives_err_and_the_server_keeps_serving() {
    let (server, dir) = files_server("unwritable", 1 << 30);
    let addr = tcp_addr(&server, "files");
    // The directory is replaced by a plain file: nothing can be created in it, even by root.
    fs::remove_dir_all(&dir).unwrap();
    fs::write(&dir, b"not a directory").unwrap();
    let reply = upload(addr, b"some bytes");
    assert!(
        reply.starts_with("ERR cannot store the file: "),
        "{reply:?}"
    );
    let udp = udp_client();
    udp.send_to(b"a datagram", udp_addr(&server, "files"))
        .unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"ERR cannot store the file: "));

    fs::remove_file(&dir).unwrap();
    fs::create_dir(&dir).unwrap();
    let s = saved(&upload(addr, b"after repair"));
    assert_eq!(fs::read(dir.join(s.name)).unwrap(), b"after repair");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hundred_concurrent_uploads_all_land_intact() {
    let (server, dir) = files_server("hundred", 1 << 30);
    let addr = tcp_addr(&server, "files");
    let uploads: Vec<_> = (0..100u32)
        .map(|i| {
            thread::spawn(move || {
                let data = pattern(50_000 + i as usize * 1000, i);
                let s = saved(&upload(addr, &data));
                (s, data)
            })
        })
        .collect();
    let mut by_name = HashMap::new();
    for u in uploads {
        let (s, data) = u.join().unwrap();
        assert_eq!((s.bytes, s.crc), (data.len() as u64, checksum(&data)));
        assert!(
            by_name.insert(s.name.clone(), data).is_none(),
            "name reused: {}",
            s.name
        );
    }
    let (finals, temps) = listing(&dir);
    assert_eq!(finals.len(), 100);
    assert!(temps.is_empty());
    for (name, data) in &by_name {
        assert!(&fs::read(dir.join(name)).unwrap() == data, "{name}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn udp_drop_saves_each_non_empty_datagram() {
    let (server, dir) = files_server("udp", 1 << 30);
    let addr = udp_addr(&server, "files");
    let client = udp_client();
    // Empty datagrams are ignored: no file, no reply.
    client.send_to(b"", addr).unwrap();
    let mut names = Vec::new();
    for (i, len) in [1usize, 512, 65_507].into_iter().enumerate() {
        let data = pattern(len, 100 + i as u32);
        client.send_to(&data, addr).unwrap();
        let mut buf = [0u8; 512];
        let (n, _) = client.recv_from(&mut buf).unwrap();
        let s = saved(std::str::from_utf8(&buf[..n]).unwrap());
        assert_eq!((s.bytes, s.crc), (len as u64, checksum(&data)));
        assert!(s.name.ends_with("_UDP.txt"));
        assert!(fs::read(dir.join(&s.name)).unwrap() == data);
        names.push(s.name);
    }
    let (finals, temps) = listing(&dir);
    assert_eq!(finals, names, "three files, in time order");
    assert!(temps.is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shutdown_during_an_upload_leaves_no_partial_file() {
    let (mut server, dir) = files_server("shutdown", 1 << 30);
    let mut stream = connect(tcp_addr(&server, "files"));
    let mut writer = stream.try_clone().unwrap();
    // Far more than the socket buffers hold, so the upload is mid-way when the server stops.
    let feeder = thread::spawn(move || {
        let chunk = vec![1u8; 64 * 1024];
        for _ in 0..1024 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    assert!(server.wait_connections_at_least(1, WAIT));
    let report = server.stop();
    assert_eq!(report.unfinished, 0);
    // The client is told why before the close (a reset may follow the line, never replace it).
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert_eq!(String::from_utf8_lossy(&rest), "ERR server shutting down\n");
    // The server has closed; like a careful client, stop sending. (The kernel may leave the
    // server's closed socket advertising a zero window rather than resetting, so a client that
    // only writes would wait for its own timeout.)
    let _ = stream.shutdown(Shutdown::Both);
    feeder.join().unwrap();
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_size_cap_applies_to_datagrams() {
    let (server, dir) = files_server("udpcap", 100);
    let addr = udp_addr(&server, "files");
    let client = udp_client();
    let mut buf = [0u8; 512];
    client.send_to(&pattern(101, 1), addr).unwrap();
    let (n, _) = client.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ERR too large (limit 100 bytes)\n");
    assert_eq!(listing(&dir), (vec![], vec![]));
    client.send_to(&pattern(100, 2), addr).unwrap();
    let (n, _) = client.recv_from(&mut buf).unwrap();
    assert_eq!(saved(std::str::from_utf8(&buf[..n]).unwrap()).bytes, 100);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_send_client_checks_what_the_server_stored() {
    let (server, dir) = files_server("send", 100_000);
    let port = tcp_addr(&server, "files").port().to_string();
    let file = dir.with_extension("input");
    fs::write(&file, pattern(70_000, 5)).unwrap();
    let path = file.to_str().unwrap();

    let out = run_bin(&["send", "127.0.0.1", &port, path], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = saved(std::str::from_utf8(&out.stdout).unwrap());
    assert_eq!((s.bytes, s.crc), (70_000, checksum(&pattern(70_000, 5))));

    // From stdin.
    let out = run_bin(&["send", "127.0.0.1", &port, "-"], b"from stdin");
    assert!(out.status.success());
    assert_eq!(saved(std::str::from_utf8(&out.stdout).unwrap()).bytes, 10);

    // Too large for one datagram: refused before anything is sent.
    let udp_port = udp_addr(&server, "files").port().to_string();
    let out = run_bin(&["send", "--udp", "127.0.0.1", &udp_port, path], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("65507"), "{err}");
    let files_udp = server
        .stats()
        .into_iter()
        .find(|s| s.service == "files" && s.proto == "udp")
        .unwrap();
    assert_eq!(files_udp.total, 0, "a datagram was sent anyway");

    // Over the server's cap: the ERR reaches the user and the exit status.
    fs::write(&file, pattern(150_000, 6)).unwrap();
    let out = run_bin(&["send", "127.0.0.1", &port, path], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too large"));
    fs::remove_file(&file).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_upload_that_goes_idle_leaves_no_file() {
    let dir = std::env::temp_dir().join(format!("threadsock-files-idle-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut opts = options(&["files"]);
    opts.files = FilesConfig {
        dir: dir.clone(),
        max_file: 1 << 30,
    };
    let limits = Limits {
        idle_timeout: Some(std::time::Duration::from_millis(300)),
        ..Limits::default()
    };
    let server = start_with(&opts, limits);
    let mut stream = connect(tcp_addr(&server, "files"));
    stream.write_all(&pattern(10_000, 4)).unwrap();
    // Then silence, without a FIN: the idle timeout ends the upload.
    let reply = read_to_eof(&mut stream, 4096).unwrap_or_default();
    assert!(
        reply.starts_with(b"ERR upload aborted"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    assert!(server.wait_connections_finished(1, WAIT));
    assert_eq!(listing(&dir), (vec![], vec![]));
    fs::remove_dir_all(&dir).unwrap();
}
