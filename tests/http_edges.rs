//! The HTTP/1.1 layer of the Socket.IO service at its edges: 404, CORS (preflight, polling and
//! WebSocket handshakes by origin), keep-alive, pipelining, `Connection: close`, chunked
//! bodies, size limits (413, 431), garbage (400), and Engine.IO's JSON errors.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use support::{assert_closed, connect, start, start_with, tcp_addr};

const HANDSHAKE: &str = "/socket.io/?EIO=4&transport=polling";

/// One response: status, headers (names lower-cased), body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client connection and the bytes read past the last response.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client {
            stream: connect(addr),
            buf: Vec::new(),
        }
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).expect("read a response");
        assert!(n > 0, "EOF inside a response: {:?}", self.buf);
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Reads one response (a body of `Content-Length` bytes, none without it).
    fn reply(&mut self) -> Reply {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            assert!(self.buf.len() < 64 * 1024, "response head too long");
            self.fill();
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("UTF-8 head");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').expect("header line");
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
        assert!(len < 1 << 20, "body too long");
        while self.buf.len() < len {
            self.fill();
        }
        let body = self.buf.drain(..len).collect();
        Reply {
            status: status.unwrap(),
            headers,
            body,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }
}

/// A request with a `Host` header and `extra` header lines (each ending in CRLF).
fn request(method: &str, target: &str, addr: SocketAddr, extra: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n")
}

/// One request on a new connection, and its response.
fn exchange(addr: SocketAddr, req: &str) -> Reply {
    let mut c = Client::new(addr);
    c.send(req.as_bytes());
    c.reply()
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    exchange(addr, &request("GET", target, addr, ""))
}

/// Opens a polling session and returns its sid.
fn polling_sid(addr: SocketAddr) -> String {
    let r = get(addr, HANDSHAKE);
    assert_eq!(r.status, 200, "{r:?}");
    support::sid_of(&r.text())
}

#[test]
fn unknown_path_is_404() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    assert_eq!(get(addr, "/nowhere").status, 404);
}

#[test]
fn preflight_by_origin() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let same = format!("Origin: http://{addr}\r\nAccess-Control-Request-Method: POST\r\n");
    let r = exchange(addr, &request("OPTIONS", HANDSHAKE, addr, &same));
    assert_eq!(r.status, 204, "{r:?}");
    let methods = r.header("access-control-allow-methods").expect("methods");
    assert!(methods.contains("POST"), "{methods}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(format!("http://{addr}").as_str())
    );
    let evil = "Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n";
    let r = exchange(addr, &request("OPTIONS", HANDSHAKE, addr, evil));
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.header("access-control-allow-methods"), None);
}

#[test]
fn polling_handshake_by_origin() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let r = exchange(
        addr,
        &request("GET", HANDSHAKE, addr, "Origin: http://evil.example\r\n"),
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), None);
    let origin = format!("http://{addr}");
    let r = exchange(
        addr,
        &request("GET", HANDSHAKE, addr, &format!("Origin: {origin}\r\n")),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().starts_with("0{"), "{r:?}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some(origin.as_str())
    );
}

#[test]
fn websocket_upgrade_from_a_foreign_origin_is_403() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let extra = "Origin: http://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    let target = "/socket.io/?EIO=4&transport=websocket";
    let r = exchange(addr, &request("GET", target, addr, extra));
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.header("sec-websocket-accept"), None);
}

#[test]
fn keep_alive_answers_two_requests_on_one_connection() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let mut c = Client::new(addr);
    c.send(request("GET", "/nowhere", addr, "").as_bytes());
    assert_eq!(c.reply().status, 404);
    c.send(request("GET", HANDSHAKE, addr, "").as_bytes());
    let r = c.reply();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().starts_with("0{"));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let mut c = Client::new(addr);
    let both = request("GET", "/nowhere", addr, "") + &request("GET", HANDSHAKE, addr, "");
    c.send(both.as_bytes());
    assert_eq!(c.reply().status, 404);
    let r = c.reply();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.text().starts_with("0{"));
    // Still open for a third.
    c.send(request("GET", "/nowhere", addr, "").as_bytes());
    assert_eq!(c.reply().status, 404);
}

#[test]
fn connection_close_is_honoured() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let mut c = Client::new(addr);
    c.send(request("GET", HANDSHAKE, addr, "Connection: close\r\n").as_bytes());
    let r = c.reply();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(c.buf.is_empty(), "{:?}", c.buf);
    assert_closed(&mut c.stream);
}

#[test]
fn chunked_post_to_a_polling_session() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let sid = polling_sid(addr);
    let target = format!("{HANDSHAKE}&sid={sid}");
    // A Socket.IO CONNECT (`40`), as an Engine.IO message, in two chunks.
    let post = request(
        "POST",
        &target,
        addr,
        "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n",
    ) + "1\r\n4\r\n1\r\n0\r\n0\r\n\r\n";
    let r = exchange(addr, &post);
    assert_eq!((r.status, r.text().as_str()), (200, "ok"), "{r:?}");
    // The chat's welcome notice may come before the CONNECT answer (the app joins the chat
    // before the server queues `40`), so look through a few polls for it.
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = get(addr, &target);
        assert_eq!(r.status, 200, "{r:?}");
        let text = r.text();
        if text.split('\x1e').any(|p| p.starts_with("40{\"sid\":\"")) {
            return;
        }
        seen.push(text);
    }
    panic!("no CONNECT answer in {seen:?}");
}

#[test]
fn chunked_post_of_a_non_socketio_message_is_refused() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let sid = polling_sid(addr);
    let target = format!("{HANDSHAKE}&sid={sid}");
    // `4hello`: an Engine.IO message whose text is no Socket.IO packet.
    let post = request("POST", &target, addr, "Transfer-Encoding: chunked\r\n")
        + "3\r\n4he\r\n3\r\nllo\r\n0\r\n\r\n";
    let r = exchange(addr, &post);
    assert_eq!(r.status, 400, "{r:?}");
    // The session is closed for the protocol error.
    let r = get(addr, &target);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.text().starts_with("{\"code\":1,"), "{r:?}");
}

#[test]
fn body_over_max_payload_is_413() {
    let mut opts = support::options(&["socketio"]);
    opts.max_payload = 1024;
    let server = start_with(&opts, threadsock::server::Limits::default());
    let addr = tcp_addr(&server, "socketio");
    let sid = polling_sid(addr);
    let target = format!("{HANDSHAKE}&sid={sid}");
    // Only the head: the size is refused from Content-Length.
    let r = exchange(
        addr,
        &request("POST", &target, addr, "Content-Length: 5000\r\n"),
    );
    assert_eq!(r.status, 413, "{r:?}");
}

#[test]
fn head_over_8_kib_is_431() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let big = format!("X-Filler: {}\r\n", "a".repeat(9 * 1024));
    let r = exchange(addr, &request("GET", HANDSHAKE, addr, &big));
    assert_eq!(r.status, 431, "{r:?}");
}

#[test]
fn garbage_request_line_is_400_and_closes() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let mut c = Client::new(addr);
    c.send(b"\x16\x03\x01 garbage\r\n\r\n");
    assert_eq!(c.reply().status, 400);
    assert_closed(&mut c.stream);
}

#[test]
fn engineio_errors_as_json() {
    let server = start(&["socketio"]);
    let addr = tcp_addr(&server, "socketio");
    let r = get(addr, "/socket.io/?EIO=3&transport=polling");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"code":5,"message":"Unsupported protocol version"}"#
    );
    let r = get(addr, "/socket.io/?EIO=4&transport=polling&sid=nosuchsid");
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with(r#"{"code":1,"#), "{r:?}");
    let r = get(addr, "/socket.io/?EIO=4&transport=bogus");
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with(r#"{"code":0,"#), "{r:?}");
}
