//! Chat flow control over real sockets: clients that never read, in a room with clients that
//! do, while one client floods. The non-readers are dropped; every reader gets every line, in
//! order; the server stays within its bounds. (How long the non-readers delay the readers is
//! measured by `threadsock bench chat-slow`, not timed here.)

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use support::*;

const READERS: usize = 8;
const NON_READERS: usize = 8;
const LINES: usize = 20_000;

/// Connects and returns the stream and the label from its welcome line.
fn join(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>, String) {
    let stream = connect(addr);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut welcome = String::new();
    reader.read_line(&mut welcome).unwrap();
    let label = welcome
        .strip_prefix("* welcome, you are ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("welcome: {welcome:?}"))
        .to_string();
    (stream, reader, label)
}

#[test]
fn non_readers_are_dropped_and_every_reader_gets_every_line_in_order() {
    let server = start(&["chat"]);
    let addr = tcp_addr(&server, "chat");
    let (mut sender, _sender_reader, _) = join(addr);
    let non_readers: Vec<(TcpStream, String)> = (0..NON_READERS)
        .map(|_| {
            let (s, _, label) = join(addr);
            (s, label)
        })
        .collect();
    let labels: Vec<String> = non_readers.iter().map(|(_, l)| l.clone()).collect();
    // Each reader reads on its own thread, checking order, until it has every line and has
    // seen every non-reader dropped.
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (_stream, mut reader, _) = join(addr);
            let labels = labels.clone();
            thread::spawn(move || {
                let _keep = _stream;
                let mut next = 0;
                let mut dropped = 0;
                let mut line = String::new();
                while next < LINES || dropped < labels.len() {
                    line.clear();
                    let n = reader.read_line(&mut line).expect("reader read");
                    assert!(n > 0, "a reader was closed at line {next}");
                    if let Some(rest) = line.strip_prefix("-> ") {
                        let seq: usize = rest[..8].parse().unwrap();
                        assert_eq!(seq, next, "complete and in order");
                        next += 1;
                    } else if labels
                        .iter()
                        .any(|l| line.trim_end() == format!("* {l} left lobby (too slow)"))
                    {
                        dropped += 1;
                    }
                }
            })
        })
        .collect();
    // 20,000 lines of 1 KiB: 20 MB per member, far more than socket buffers hide.
    let pad = "x".repeat(1000);
    let mut batch = String::new();
    for i in 0..LINES {
        batch.push_str(&format!("{i:08} {pad}\n"));
        if batch.len() > 64 * 1024 {
            sender.write_all(batch.as_bytes()).unwrap();
            batch.clear();
        }
    }
    sender.write_all(batch.as_bytes()).unwrap();
    for r in readers {
        r.join().expect("a reader failed");
    }
    let dropped = gauge(&server, "chat_slow_dropped");
    assert_eq!(dropped, NON_READERS as u64, "exactly the non-readers");
    for (mut s, _) in non_readers {
        // Closed by the server: whatever was buffered, then the end (or a reset).
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut sink);
    }
}
