//! The Socket.IO service's WebSocket transport seen through a hand-rolled client: the RFC 6455
//! handshake, fragments with a control frame between them, the close codes for invalid UTF-8,
//! unmasked and oversized frames, the close handshake, and a raw Socket.IO exchange.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;
use support::{connect, start, start_with, tcp_addr, WAIT};
use threadsock::codec::websocket::{self as ws, accept_key, Frame, Opcode, Role};

/// The key of RFC 6455's example handshake, and the accept value the RFC gives for it.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A WebSocket client: the stream and the bytes read past the last frame.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// Reads an HTTP response head from `stream`: (status, headers lower-cased, bytes after it).
fn read_head(stream: &mut TcpStream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        assert!(buf.len() < 64 * 1024, "response head too long");
        let n = stream.read(&mut chunk).expect("read response head");
        assert!(n > 0, "EOF before the response head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..end].to_vec()).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header line");
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    (status.parse().unwrap(), headers, buf[end + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Opens a WebSocket session at `addr` and checks the handshake.
fn open(addr: SocketAddr) -> Client {
    let mut stream = connect(addr);
    let req = format!(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).unwrap();
    let (status, headers, rest) = read_head(&mut stream);
    assert_eq!(status, 101, "{headers:?}");
    assert_eq!(header(&headers, "sec-websocket-accept"), Some(RFC_ACCEPT));
    assert!(header(&headers, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")));
    Client { stream, buf: rest }
}

impl Client {
    /// The next frame from the server (unmasked, as a server must send).
    fn frame(&mut self) -> Frame {
        let mut chunk = [0u8; 4096];
        loop {
            match ws::parse_frame(&self.buf, Role::Client, 1 << 20) {
                Ok(Some((used, frame))) => {
                    self.buf.drain(..used);
                    return frame;
                }
                Ok(None) => {}
                Err(e) => panic!("bad frame from the server: {e}"),
            }
            let n = self.stream.read(&mut chunk).expect("read a frame");
            assert!(n > 0, "EOF while waiting for a frame");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next text message (fragments are not expected from the server).
    fn text(&mut self) -> String {
        let f = self.frame();
        assert_eq!((f.fin, f.opcode), (true, Opcode::Text), "{f:?}");
        String::from_utf8(f.payload).unwrap()
    }

    /// The next text message that is not a chat notice or event the test did not ask for.
    /// (The chat's welcome notice can even come before the CONNECT answer `40{..}`.)
    fn text_skipping_events(&mut self) -> String {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let t = self.text();
            if !t.starts_with("42[") {
                return t;
            }
        }
        panic!("only events for {WAIT:?}");
    }

    /// Sends a masked frame.
    fn send(&mut self, fin: bool, opcode: Opcode, payload: &[u8]) {
        let mut out = Vec::new();
        ws::encode_frame_parts(fin, opcode, payload, Some(MASK), &mut out);
        self.stream.write_all(&out).unwrap();
    }

    /// Reads frames until a Close, returns its code, and checks the TCP connection then ends.
    fn expect_close(&mut self) -> u16 {
        let deadline = Instant::now() + WAIT;
        let code = loop {
            assert!(Instant::now() < deadline, "no close frame within {WAIT:?}");
            let f = self.frame();
            if f.opcode == Opcode::Close {
                assert!(f.payload.len() >= 2, "close without a code");
                break u16::from_be_bytes([f.payload[0], f.payload[1]]);
            }
        };
        assert!(self.buf.is_empty(), "bytes after the close: {:?}", self.buf);
        support::assert_closed(&mut self.stream);
        code
    }
}

#[test]
fn handshake_accept_key_and_open_packet() {
    assert_eq!(accept_key(KEY), RFC_ACCEPT);
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    let open = c.text();
    assert!(open.starts_with("0{"), "{open}");
    assert!(open.contains("\"upgrades\":[]"), "{open}");
    assert!(open.contains("\"sid\":\""), "{open}");
    assert!(open.contains("\"maxPayload\":1000000"), "{open}");
}

#[test]
fn fragmented_connect_with_a_ping_between_fragments() {
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    assert!(c.text().starts_with("0{"));
    c.send(false, Opcode::Text, b"4");
    c.send(true, Opcode::Ping, b"hi");
    let pong = c.frame();
    assert_eq!((pong.fin, pong.opcode), (true, Opcode::Pong), "{pong:?}");
    assert_eq!(pong.payload, b"hi");
    c.send(false, Opcode::Continuation, b"0");
    c.send(true, Opcode::Continuation, b"");
    let connected = c.text_skipping_events();
    assert!(connected.starts_with("40{\"sid\":\""), "{connected}");
}

#[test]
fn invalid_utf8_closes_with_1007() {
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    assert!(c.text().starts_with("0{"));
    c.send(true, Opcode::Text, b"4\xff\xfe");
    assert_eq!(c.expect_close(), 1007);
}

#[test]
fn invalid_utf8_across_fragments_closes_with_1007() {
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    assert!(c.text().starts_with("0{"));
    // U+03xx starts with 0xCE; 0x41 cannot continue it.
    c.send(false, Opcode::Text, b"4\xce");
    c.send(true, Opcode::Continuation, b"\x41");
    assert_eq!(c.expect_close(), 1007);
}

#[test]
fn unmasked_client_frame_closes_with_1002() {
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    assert!(c.text().starts_with("0{"));
    let mut out = Vec::new();
    ws::encode_frame(Opcode::Text, b"40", &mut out);
    c.stream.write_all(&out).unwrap();
    assert_eq!(c.expect_close(), 1002);
}

#[test]
fn frame_over_max_payload_closes_with_1009_from_its_header() {
    let mut opts = support::options(&["socketio"]);
    opts.max_payload = 1024;
    let server = start_with(&opts, threadsock::server::Limits::default());
    let mut c = open(tcp_addr(&server, "socketio"));
    let open = c.text();
    assert!(open.contains("\"maxPayload\":1024"), "{open}");
    // Only the header announcing 2000 bytes: the server must not wait for the payload.
    let mut header = vec![0x82, 0x80 | 126];
    header.extend_from_slice(&2000u16.to_be_bytes());
    header.extend_from_slice(&MASK);
    c.stream.write_all(&header).unwrap();
    assert_eq!(c.expect_close(), 1009);
}

#[test]
fn close_handshake_echoes_the_code_and_ends_the_connection() {
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    assert!(c.text().starts_with("0{"));
    c.send(true, Opcode::Close, &1000u16.to_be_bytes());
    assert_eq!(c.expect_close(), 1000);
}

#[test]
fn socketio_connect_and_acknowledged_who() {
    let server = start(&["socketio"]);
    let mut c = open(tcp_addr(&server, "socketio"));
    assert!(c.text().starts_with("0{"));
    c.send(true, Opcode::Text, b"40");
    let connected = c.text_skipping_events();
    assert!(connected.starts_with("40{\"sid\":\""), "{connected}");
    c.send(true, Opcode::Text, br#"421["who"]"#);
    let ack = c.text_skipping_events();
    assert!(ack.starts_with("431[["), "{ack}");
    assert!(ack.ends_with("]]"), "{ack}");
    // The session goes on: an Engine.IO ping from the client is answered with a pong.
    c.send(true, Opcode::Text, b"2x");
    assert_eq!(c.text_skipping_events(), "3x");
}
