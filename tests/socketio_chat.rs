//! `nc` users and Socket.IO users in one chat, through `serve`'s own wiring (`chat` and
//! `socketio` on one hub): the official socket.io-client and an `nc` client see each other's
//! lines, joins and leaves; and a Socket.IO client that never reads is dropped while an `nc`
//! user floods the room, without costing the readers a line.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;
use support::*;
use threadsock::codec::websocket::{self, Opcode};

struct Nc {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Nc {
    fn join(addr: SocketAddr) -> Nc {
        let s = connect(addr);
        let mut nc = Nc {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        };
        assert!(nc.line().starts_with("* welcome, you are "));
        nc
    }

    fn send(&mut self, line: &str) {
        writeln!(self.writer, "{line}").unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        let n = self.reader.read_line(&mut l).expect("read a line");
        assert!(n > 0, "closed");
        l.trim_end_matches('\n').to_string()
    }

    /// Lines until one equals `want` (bounded).
    fn until(&mut self, want: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..100_000 {
            let l = self.line();
            if l == want {
                return seen;
            }
            seen.push(l);
        }
        panic!("no {want:?} after {seen:?}");
    }
}

fn chat_and_socketio() -> (threadsock::server::Server, SocketAddr, SocketAddr) {
    let server = start(&["chat", "socketio"]);
    let chat = tcp_addr(&server, "chat");
    let sio = tcp_addr(&server, "socketio");
    (server, chat, sio)
}

fn nc_and_browser_share_a_room(mode: &str) {
    if !require_node_packages("socketio_client") {
        return;
    }
    let (_server, chat, sio) = chat_and_socketio();
    let mut nc = Nc::join(chat);
    nc.send("/nick ncuser");
    nc.until("* you are now ncuser");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/socketio_client");
    let mut child = Command::new("node")
        .current_dir(dir)
        .args(["chat.mjs", &format!("http://{sio}"), mode])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().and_then(Result::ok);
    assert_eq!(ready.as_deref(), Some("ready"), "node said {ready:?}");
    nc.send("/join games");
    nc.until("* you joined games (2 here)");
    nc.until("-> webuser: hello from the browser ☃");
    nc.send("hello from nc");
    nc.until("* webuser left games");
    let done = lines.next().and_then(Result::ok);
    assert_eq!(done.as_deref(), Some("done"));
    let out = finish_within(child, Duration::from_secs(30), "chat.mjs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn nc_and_the_official_client_share_a_room_over_polling() {
    nc_and_browser_share_a_room("polling");
}

#[test]
fn nc_and_the_official_client_share_a_room_over_websocket() {
    nc_and_browser_share_a_room("websocket");
}

#[test]
fn nc_and_the_official_client_share_a_room_with_the_upgrade() {
    nc_and_browser_share_a_room("upgrade");
}

/// A Socket.IO client over WebSocket that connects to `/` and then never reads.
fn stalled_socketio_client(addr: SocketAddr) -> TcpStream {
    let mut s = connect(addr);
    write!(
        s,
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    // The 101 response, up to its blank line.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
        assert!(head.len() < 4096);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut frame = Vec::new();
    websocket::encode_frame_masked(Opcode::Text, b"40", [1, 2, 3, 4], &mut frame);
    s.write_all(&frame).unwrap();
    s
}

#[test]
fn a_socketio_client_that_never_reads_is_dropped_and_nc_readers_get_every_line() {
    const LINES: usize = 20_000;
    let (server, chat, sio) = chat_and_socketio();
    let mut reader = Nc::join(chat);
    let flooder = Nc::join(chat);
    reader.line(); // the flooder's join
    let stalled = stalled_socketio_client(sio);
    let joined = reader.line();
    let label = joined
        .strip_prefix("* ")
        .and_then(|l| l.strip_suffix(" joined lobby"))
        .unwrap_or_else(|| panic!("{joined:?}"))
        .to_string();
    // 1 KiB lines: 20 MB for every member, far more than socket buffers hide.
    let pad = "x".repeat(1000);
    let mut out = flooder.writer.try_clone().unwrap();
    let feeder = thread::spawn(move || {
        let mut batch = String::new();
        for i in 0..LINES {
            batch.push_str(&format!("{i:08} {pad}\n"));
            if batch.len() > 64 * 1024 {
                out.write_all(batch.as_bytes()).unwrap();
                batch.clear();
            }
        }
        out.write_all(batch.as_bytes()).unwrap();
    });
    let (mut next, mut dropped) = (0, false);
    while next < LINES || !dropped {
        let line = reader.line();
        if let Some(rest) = line.strip_prefix("-> ") {
            assert_eq!(
                rest[..8].parse::<usize>().unwrap(),
                next,
                "complete and in order"
            );
            next += 1;
        } else if line == format!("* {label} left lobby (too slow)") {
            dropped = true;
        }
    }
    feeder.join().unwrap();
    let slow = gauge(&server, "chat_slow_dropped");
    assert_eq!(slow, 1);
    drop(stalled);
    drop(flooder);
}
