//! Echo (RFC 862) and daytime (RFC 867) over real TCP and UDP sockets on loopback.

mod support;

use std::io::Write;
use std::net::{Shutdown, UdpSocket};
use std::thread;
use support::*;
use threadsock::server::{Limits, Proto};

#[test]
fn tcp_echo_one_mebibyte_with_half_close() {
    let server = start(&["echo"]);
    let mut client = connect(tcp_addr(&server, "echo"));
    let payload: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    // Write from a second thread so neither side's socket buffer can deadlock the test.
    let mut writer = client.try_clone().unwrap();
    let sent = payload.clone();
    let feeder = thread::spawn(move || {
        writer.write_all(&sent).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let echoed = read_to_eof(&mut client, 2 << 20).unwrap();
    feeder.join().unwrap();
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "echoed bytes differ");
    let stats = server.stats();
    let echo = stats
        .iter()
        .find(|s| s.service == "echo" && s.proto == "tcp")
        .unwrap();
    assert_eq!(echo.bytes_in, 1 << 20);
    assert_eq!(echo.bytes_out, 1 << 20);
}

#[test]
fn tcp_echo_closes_right_after_an_immediate_half_close() {
    let server = start(&["echo"]);
    let mut client = connect(tcp_addr(&server, "echo"));
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut client, 0).unwrap(), b"");
}

#[test]
fn banner_comes_before_the_echo() {
    let mut opts = options(&["echo"]);
    opts.banner = Some("Mensagem do servidor!".into());
    let server = start_with(&opts, Limits::default());
    let mut client = connect(tcp_addr(&server, "echo"));
    client.write_all(b"ola\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        read_to_eof(&mut client, 1024).unwrap(),
        b"Mensagem do servidor!\r\nola\n"
    );
}

#[test]
fn udp_echo_answers_each_datagram() {
    let server = start(&["echo"]);
    let addr = udp_addr(&server, "echo");
    let client = udp_client();
    let mut buf = vec![0u8; 65_535];
    for payload in [
        &b"Client 1 says hi!\n"[..],
        &[0u8, 255, 10, 13],
        &vec![7u8; 60_000],
    ] {
        client.send_to(payload, addr).unwrap();
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(from, addr);
        assert_eq!(&buf[..n], payload);
    }
}

#[test]
fn udp_echo_never_answers_privileged_source_ports() {
    let server = start(&["echo"]);
    let addr = udp_addr(&server, "echo");
    // Binding a port below 1024 needs privileges; without them this guard cannot be exercised.
    let Ok(privileged) = UdpSocket::bind("127.0.0.1:1019") else {
        eprintln!("skipped: cannot bind a privileged port here");
        return;
    };
    privileged.send_to(b"bounce me", addr).unwrap();
    // One thread serves the socket in order, so once this reply is back the first datagram has
    // been handled, and the counter says how.
    let client = udp_client();
    client.send_to(b"after", addr).unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = client.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"after");
    let stats = server.stats();
    let udp = stats
        .iter()
        .find(|s| s.service == "echo" && s.proto == "udp")
        .unwrap();
    assert_eq!(udp.reflection_dropped, 1);
    privileged.set_nonblocking(true).unwrap();
    assert!(
        privileged.recv_from(&mut buf).is_err(),
        "the privileged port got a reply"
    );
}

fn assert_daytime_line(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap();
    let t = text.strip_suffix("\r\n").expect("CRLF-terminated");
    // 2026-11-22T10:15:30Z
    assert_eq!(t.len(), 20, "{t:?}");
    let b = t.as_bytes();
    for (i, c) in b.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*c, b'-'),
            10 => assert_eq!(*c, b'T'),
            13 | 16 => assert_eq!(*c, b':'),
            19 => assert_eq!(*c, b'Z'),
            _ => assert!(c.is_ascii_digit(), "{t:?}"),
        }
    }
    let year: u32 = t[..4].parse().unwrap();
    assert!(year >= 2024, "{t:?}");
}

#[test]
fn daytime_over_tcp_sends_one_line_and_closes() {
    let server = start(&["daytime"]);
    let mut client = connect(tcp_addr(&server, "daytime"));
    let line = read_to_eof(&mut client, 64).unwrap();
    assert_daytime_line(&line);
}

#[test]
fn daytime_over_tcp_survives_a_client_that_talks_first() {
    // Closing with unread input would reset the connection and could destroy the line.
    let server = start(&["daytime"]);
    let mut client = connect(tcp_addr(&server, "daytime"));
    client.write_all(b"what time is it?\n").unwrap();
    let line = read_to_eof(&mut client, 64).unwrap();
    assert_daytime_line(&line);
}

#[test]
fn daytime_over_udp_answers_any_datagram() {
    let server = start(&["daytime"]);
    let client = udp_client();
    client.send_to(b"", udp_addr(&server, "daytime")).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = client.recv_from(&mut buf).unwrap();
    assert_daytime_line(&buf[..n]);
}

#[test]
fn ports_zero_bind_distinct_real_ports() {
    let server = start(&["echo", "daytime"]);
    let names: Vec<(String, u16)> = server
        .endpoints()
        .iter()
        .map(|e| {
            (
                format!("{}/{}", e.service, e.proto),
                e.addr.ip().unwrap().port(),
            )
        })
        .collect();
    assert_eq!(
        names.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["echo/tcp", "echo/udp", "daytime/tcp", "daytime/udp"]
    );
    assert!(names.iter().all(|(_, p)| *p != 0));
    assert!(server.local_addr("daytime", Proto::Tcp).is_some());
}

#[test]
fn serves_over_ipv6_loopback() {
    let mut opts = options(&["echo"]);
    opts.bind = "::1".parse().unwrap();
    let Ok(server) = threadsock::serve::start(&opts, Limits::default()) else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let addr = tcp_addr(&server, "echo");
    assert!(addr.is_ipv6());
    let mut client = connect(addr);
    assert_eq!(round_trip(&mut client, b"over v6"), b"over v6");
    let udp = UdpSocket::bind("[::1]:0").unwrap();
    udp.set_read_timeout(Some(WAIT)).unwrap();
    udp.send_to(b"v6 datagram", udp_addr(&server, "echo"))
        .unwrap();
    let mut buf = [0u8; 32];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"v6 datagram");
}
