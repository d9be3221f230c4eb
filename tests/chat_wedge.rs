//! The chat under crowds that leave at once: no client, and no crowd of clients closing by FIN
//! or reset, may stop the chat for the others. One test function runs every scenario in turn,
//! so this process's thread and fd counts belong to the server under test alone.

mod support;

use socket2::SockRef;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::*;

/// How a crowd leaves.
#[derive(Debug, Clone, Copy)]
enum Leave {
    Fin,
    Reset,
}

fn close(stream: TcpStream, how: Leave) {
    if let Leave::Reset = how {
        // SO_LINGER 0: close() sends RST instead of FIN.
        let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    }
    drop(stream);
}

/// Connects and reads the welcome line: the client is a member of the lobby.
fn member(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = connect(addr);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut welcome = String::new();
    reader.read_line(&mut welcome).expect("welcome");
    assert!(welcome.starts_with("* welcome, you are "), "{welcome:?}");
    (stream, reader)
}

/// Reads lines until one equals `want`; fails on end of stream, timeout, or 100,000 lines.
fn wait_line(reader: &mut BufReader<TcpStream>, want: &str) {
    let mut line = String::new();
    for _ in 0..100_000 {
        line.clear();
        let n = reader.read_line(&mut line).expect("read a line");
        assert!(n > 0, "closed while waiting for {want:?}");
        if line.trim_end() == want {
            return;
        }
    }
    panic!("no {want:?} in 100,000 lines");
}

/// A fresh pair joins, one speaks, the other hears it: the chat is serving.
fn fresh_pair_chats(addr: SocketAddr, tag: &str) {
    let (mut a, mut ra) = member(addr);
    let (_b, mut rb) = member(addr);
    let room = format!("check-{tag}");
    writeln!(a, "/join {room}").unwrap();
    wait_line(&mut ra, &format!("* you joined {room} (1 here)"));
    writeln!(_b.try_clone().unwrap(), "/join {room}").unwrap();
    wait_line(&mut rb, &format!("* you joined {room} (2 here)"));
    writeln!(a, "hello {tag}").unwrap();
    wait_line(&mut rb, &format!("-> hello {tag}"));
}

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits (bounded) until the thread and fd counts are back to `base`.
fn wait_back_to(base: (usize, usize), what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = (threads(), fds());
        if now.0 <= base.0 && now.1 <= base.1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: threads/fds still {now:?}, started at {base:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `n` members join, then all close within a few microseconds of each other.
fn crowd_leaves(addr: SocketAddr, n: usize, how: Leave) {
    let crowd: Vec<TcpStream> = (0..n).map(|_| member(addr).0).collect();
    for s in crowd {
        close(s, how);
    }
}

/// A tiny deterministic generator for hostile input.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Up to 64 KiB of NULs, 0xFF runs, lone CRs, newlines and random bytes.
    fn garbage(&mut self) -> Vec<u8> {
        let len = (self.next() % 65_536) as usize;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let run = 1 + (self.next() % 512) as usize;
            let byte = match self.next() % 6 {
                0 => 0,
                1 => 0xFF,
                2 => b'\r',
                3 => b'\n',
                _ => 0xFE,
            };
            if self.next().is_multiple_of(3) {
                out.extend((0..run).map(|_| self.next() as u8));
            } else {
                out.extend_from_slice(&vec![byte; run]);
            }
        }
        out.truncate(len);
        out
    }
}

#[test]
fn no_crowd_or_client_wedges_the_chat() {
    let server = start(&["chat"]);
    let addr = tcp_addr(&server, "chat");
    fresh_pair_chats(addr, "warmup");
    assert!(server.wait_connections_at_most(0, WAIT));
    wait_back_to((usize::MAX, usize::MAX), "warmup");
    let base = (threads(), fds());

    for how in [Leave::Fin, Leave::Reset] {
        for round in 0..30 {
            crowd_leaves(addr, 200, how);
            fresh_pair_chats(addr, &format!("{how:?}-{round}"));
        }
        assert!(server.wait_connections_at_most(0, WAIT), "{how:?}");
        wait_back_to(base, &format!("200 clients leaving by {how:?}, 30 rounds"));
    }

    // A line longer than the limit, then a reset, again and again.
    let long = vec![b'x'; 60_000];
    for _ in 0..300 {
        let (mut s, _r) = member(addr);
        let _ = s.write_all(&long);
        close(s, Leave::Reset);
    }
    fresh_pair_chats(addr, "long-line");
    assert!(server.wait_connections_at_most(0, WAIT));
    wait_back_to(base, "300 long-line-then-reset clients");

    // 2,000 connections of random bytes, 50 at a time, half closed by reset.
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for batch in 0..40 {
        let conns: Vec<TcpStream> = (0..50).map(|_| connect(addr)).collect();
        for s in &conns {
            let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = (&*s).write_all(&rng.garbage());
        }
        for (i, s) in conns.into_iter().enumerate() {
            close(
                s,
                if (i + batch) % 2 == 0 {
                    Leave::Fin
                } else {
                    Leave::Reset
                },
            );
        }
    }
    fresh_pair_chats(addr, "garbage");
    assert!(server.wait_connections_at_most(0, WAIT));
    wait_back_to(base, "2,000 random-bytes connections");
}
