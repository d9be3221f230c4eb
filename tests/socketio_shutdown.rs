//! Stopping a server with Socket.IO clients: a WebSocket gets close 1001, a pending long-poll
//! GET is answered with a close packet, within the stop's bound, and every thread ends.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::*;
use threadsock::codec::websocket::{self, Opcode, Role};

/// Reads one HTTP response (head and a Content-Length body) from `s`.
fn response(s: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("response head");
        buf.push(byte[0]);
        assert!(buf.len() < 8192);
    }
    let head = String::from_utf8(buf).unwrap();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head, body)
}

#[test]
fn stop_closes_websockets_with_1001_and_answers_pending_polls() {
    let mut server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");

    // A polling session with a GET waiting.
    let mut poll = connect(addr);
    write!(
        poll,
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let (_, body) = response(&mut poll);
    let open = String::from_utf8(body).unwrap();
    let sid = support::sid_of(&open);
    write!(
        poll,
        "GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();

    // A WebSocket session, past its open packet.
    let mut ws = connect(addr);
    write!(
        ws,
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let (head, _) = response(&mut ws);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let mut frames = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut next_frame = |ws: &mut TcpStream, frames: &mut Vec<u8>| loop {
        if let Some((used, frame)) = websocket::parse_frame(frames, Role::Client, 1 << 20).unwrap()
        {
            frames.drain(..used);
            return frame;
        }
        let n = ws.read(&mut chunk).expect("a frame");
        assert!(n > 0, "closed without a close frame");
        frames.extend_from_slice(&chunk[..n]);
    };
    let first = next_frame(&mut ws, &mut frames);
    assert!(first.payload.starts_with(b"0{"), "open packet first");

    // The GET must be waiting in the server (not still in flight) for a stop to answer it.
    let waiting = || {
        server.sample().metrics.iter().any(|m| {
            matches!(
                *m,
                threadsock::server::Metric::Gauge("sio_polls_waiting", 1)
            )
        })
    };
    let deadline = std::time::Instant::now() + WAIT;
    while !waiting() {
        assert!(std::time::Instant::now() < deadline, "the GET never waited");
        std::thread::sleep(Duration::from_millis(5));
    }
    let report = server.stop();
    assert_eq!(report.unfinished, 0, "every connection thread ended");
    assert!(
        report.elapsed < Duration::from_secs(2),
        "{:?}",
        report.elapsed
    );

    let close = next_frame(&mut ws, &mut frames);
    assert_eq!(close.opcode, Opcode::Close);
    assert_eq!(
        u16::from_be_bytes([close.payload[0], close.payload[1]]),
        1001
    );
    let (head, body) = response(&mut poll);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"1", "a close packet");
}
