//! The chat service over real sockets: the seed's format, commands, rooms, line handling,
//! disconnects, the slow consumer, and shutdown.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use support::*;
use threadsock::server::{Metric, Server};

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    label: String,
}

impl Client {
    /// Connects and reads the welcome line, which names the client (`guest<id>`).
    fn join(addr: SocketAddr) -> Client {
        let stream = connect(addr);
        let mut c = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            label: String::new(),
        };
        let welcome = c.line();
        let rest = welcome
            .strip_prefix("* welcome, you are ")
            .unwrap_or_else(|| panic!("welcome line: {welcome:?}"));
        c.label = rest.split(' ').next().unwrap().to_string();
        c
    }

    fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// The next line, without its newline; fails after WAIT or at end of stream.
    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut buf)
            .expect("read a line");
        assert!(n > 0, "connection closed");
        assert_eq!(buf.pop(), Some(b'\n'));
        String::from_utf8(buf).expect("utf-8 line")
    }

    fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want, "client {}", self.label);
    }

    /// True if the server closed the connection (after any lines still buffered).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match std::io::Read::read_to_end(&mut self.reader, &mut rest) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

/// Joins `n` clients in order; each earlier client has read every later one's join notice.
fn lobby(addr: SocketAddr, n: usize) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::new();
    for _ in 0..n {
        let c = Client::join(addr);
        for earlier in &mut clients {
            earlier.expect(&format!("* {} joined lobby", c.label));
        }
        clients.push(c);
    }
    clients
}

fn chat_server() -> (Server, SocketAddr) {
    let server = start(&["chat"]);
    let addr = tcp_addr(&server, "chat");
    (server, addr)
}

fn gauge(server: &Server, name: &str) -> u64 {
    server
        .sample()
        .metrics
        .iter()
        .find_map(|m| match *m {
            Metric::Gauge(n, v) if n == name => Some(v),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no metric {name}"))
}

#[test]
fn the_seeds_format_others_receive_and_the_sender_does_not() {
    let (_server, addr) = chat_server();
    let mut c = lobby(addr, 3);
    c[0].send("Client 1 says hi!");
    c[1].expect("-> Client 1 says hi!");
    c[2].expect("-> Client 1 says hi!");
    c[1].send("Client 2 says hi!");
    c[0].expect("-> Client 2 says hi!");
    c[2].expect("-> Client 2 says hi!");
    c[2].send("Client 3 says hi!");
    c[0].expect("-> Client 3 says hi!");
    c[1].expect("-> Client 3 says hi!");
    // Had any sender got its own line back, it would arrive before these answers.
    for client in &mut c {
        client.send("/who");
        let who = client.line();
        assert!(who.starts_with("* in lobby: "), "{who}");
    }
}

#[test]
fn each_senders_order_is_preserved() {
    let (_server, addr) = chat_server();
    let mut c = lobby(addr, 3);
    let burst: String = (0..2000).map(|i| format!("a{i}\n")).collect();
    let other: String = (0..2000).map(|i| format!("b{i}\n")).collect();
    c[0].send_raw(burst.as_bytes());
    c[1].send_raw(other.as_bytes());
    let (mut next_a, mut next_b) = (0, 0);
    while next_a < 2000 || next_b < 2000 {
        let line = c[2].line();
        if let Some(n) = line.strip_prefix("-> a") {
            assert_eq!(n.parse::<usize>().unwrap(), next_a);
            next_a += 1;
        } else if let Some(n) = line.strip_prefix("-> b") {
            assert_eq!(n.parse::<usize>().unwrap(), next_b);
            next_b += 1;
        } else {
            panic!("unexpected {line}");
        }
    }
}

#[test]
fn nicknames_rules_and_collisions() {
    let (_server, addr) = chat_server();
    let mut c = lobby(addr, 2);
    let guest0 = c[0].label.clone();
    c[0].send("/nick alice");
    c[0].expect("* you are now alice");
    c[1].expect(&format!("* {guest0} is now alice"));
    c[0].send("hello");
    c[1].expect("-> alice: hello");

    c[1].send("/nick ALICE");
    c[1].expect("! nickname ALICE is taken");
    c[1].send("/nick al ice");
    c[1].expect("! invalid name 'al ice': use 1-32 of A-Z a-z 0-9 _ -");
    c[1].send(&format!("/nick {}", "x".repeat(33)));
    assert!(c[1].line().starts_with("! invalid name"));
    c[1].send("/nick guest999");
    c[1].expect("! nickname guest999 is reserved");
    c[1].send("/nick");
    c[1].expect("! usage: /nick NAME");
    c[0].send("/nick alice");
    c[0].expect("! you are already alice");

    // A freed nickname can be taken again.
    c[0].send("/nick alicia");
    c[0].expect("* you are now alicia");
    c[1].expect("* alice is now alicia");
    c[1].send("/nick alice");
    c[1].expect("* you are now alice");
}

#[test]
fn rooms_are_isolated() {
    let (_server, addr) = chat_server();
    let mut c = lobby(addr, 3);
    let (l0, l1, l2) = (c[0].label.clone(), c[1].label.clone(), c[2].label.clone());
    c[0].send("/join games");
    c[0].expect("* you joined games (1 here)");
    c[1].expect(&format!("* {l0} left lobby"));
    c[2].expect(&format!("* {l0} left lobby"));
    c[1].send("/join games");
    c[1].expect("* you joined games (2 here)");
    c[0].expect(&format!("* {l1} joined games"));
    c[2].expect(&format!("* {l1} left lobby"));

    c[0].send("only for games");
    c[1].expect("-> only for games");
    c[2].send("only for the lobby");
    c[2].send("/who");
    c[2].expect(&format!("* in lobby: {l2}"));
    c[0].send("/who");
    let mut members = [l0.as_str(), l1.as_str()];
    members.sort_unstable();
    c[0].expect(&format!("* in games: {}", members.join(", ")));
    c[0].send("/rooms");
    c[0].expect("* rooms: games (2), lobby (1)");
    c[0].send("/join games");
    c[0].expect("! you are already in games");
    c[0].send("/join bad!room");
    assert!(c[0].line().starts_with("! invalid name 'bad!room'"));

    // Room names are case-insensitive; a room keeps the spelling it was created with.
    c[2].send("/join Games");
    c[2].expect("* you joined games (3 here)");
    c[0].expect(&format!("* {l2} joined games"));
    c[1].expect(&format!("* {l2} joined games"));
    c[2].send("/join GAMES");
    c[2].expect("! you are already in games");
    c[2].send("/join Arcade");
    c[2].expect("* you joined Arcade (1 here)");
    c[0].expect(&format!("* {l2} left games"));
    c[1].expect(&format!("* {l2} left games"));
    c[1].send("/join arcade");
    c[1].expect("* you joined Arcade (2 here)");
    c[2].expect(&format!("* {l1} joined Arcade"));
    c[0].expect(&format!("* {l1} left games"));
    c[0].send("/rooms");
    c[0].expect("* rooms: Arcade (2), games (1), lobby (0)");
}

#[test]
fn private_messages_actions_and_help() {
    let (_server, addr) = chat_server();
    let mut c = lobby(addr, 3);
    let l2 = c[2].label.clone();
    c[0].send("/nick alice");
    c[0].expect("* you are now alice");
    c[1].line();
    c[2].line();
    c[1].send("/nick bob");
    c[1].expect("* you are now bob");
    c[0].line();
    c[2].line();

    c[0].send("/msg bob psst, bob");
    c[1].expect("-> [private] alice: psst, bob");
    c[0].send(&format!("/msg {l2} hi guest"));
    c[2].expect("-> [private] alice: hi guest");
    c[0].send("/msg ALICE note to self");
    c[0].expect("! that is you: /msg sends to someone else");
    c[0].send("/msg carol anyone?");
    c[0].expect("! no such nickname: carol");
    c[0].send("/msg bob");
    c[0].expect("! usage: /msg NICK TEXT");

    c[1].send("/me waves");
    c[0].expect("-> * bob waves");
    c[2].expect("-> * bob waves");

    c[0].send("//etc/motd is not a command");
    c[1].expect("-> alice: /etc/motd is not a command");
    c[0].send("/frob");
    assert!(c[0].line().starts_with("! unknown command /frob"));
    c[0].send("/help");
    assert_eq!(c[0].line(), "* commands:");
    let mut help = Vec::new();
    for _ in 1..threadsock::service::chat::command::HELP.len() {
        help.push(c[0].line());
    }
    assert!(help.iter().any(|l| l.contains("/msg NICK TEXT")));
}

#[test]
fn long_lines_invalid_utf8_crlf_and_empty_lines() {
    let (_server, addr) = chat_server();
    let mut c = lobby(addr, 2);
    c[0].send(&"x".repeat(5000));
    c[0].expect("! line too long (over 4096 bytes), not sent");
    c[0].send("still connected");
    c[1].expect("-> still connected");

    c[0].send_raw(b"caf\xe9 \xfe\n");
    c[1].expect("-> caf\u{FFFD} \u{FFFD}");
    // Telnet's Ctrl-C (IAC IP, IAC DO TIMING-MARK) and an option offer are stripped.
    c[0].send_raw(b"hi\xff\xf4\xff\xfd\x06 there\xff\xfb\x03\r\n");
    c[1].expect("-> hi there");
    c[0].send_raw(b"telnet line\r\n");
    c[1].expect("-> telnet line");
    c[0].send_raw(b"\n\r\n\nafter blanks\n");
    c[1].expect("-> after blanks");
    c[0].send_raw(b"\x1b[2Jno escapes\n");
    c[1].expect("-> \u{FFFD}[2Jno escapes");
}

#[test]
fn quit_and_abrupt_disconnects_are_announced_and_cleaned_up() {
    let (server, addr) = chat_server();
    let mut c = lobby(addr, 3);
    let (l0, l1) = (c[0].label.clone(), c[1].label.clone());
    c[0].send("/quit");
    c[0].expect("* bye");
    assert!(c[0].closed());
    c[1].expect(&format!("* {l0} left lobby"));
    c[2].expect(&format!("* {l0} left lobby"));

    // Closing a socket with unread data in its receive buffer sends a reset (RST), not a FIN.
    let abrupt = c.remove(1);
    c[1].send("unread by the abrupt client");
    let mut peeked = [0u8; 1];
    abrupt.writer.peek(&mut peeked).unwrap();
    drop(abrupt);
    c[1].expect(&format!("* {l1} left lobby"));
    assert!(server.wait_connections_at_most(1, WAIT));
    assert_eq!(gauge(&server, "chat_clients"), 1);
    let last = c[1].label.clone();
    c[1].send("/who");
    c[1].expect(&format!("* in lobby: {last}"));
}

#[test]
fn a_client_that_never_reads_is_dropped_and_no_one_else_waits() {
    const LINES: usize = 100_000;
    let (server, addr) = chat_server();
    let mut c = lobby(addr, 3);
    let mut reader = c.pop().unwrap();
    let mut sender = c.pop().unwrap();
    let stalled = c.pop().unwrap(); // joined, then never reads again
    let stalled_label = stalled.label.clone();

    // 200-byte lines: 20 MB in all, far more than the socket buffers can hide.
    let pad = "x".repeat(190);
    let mut feeder_stream = sender.writer.try_clone().unwrap();
    let feeder = thread::spawn(move || {
        let mut batch = String::new();
        for i in 0..LINES {
            batch.push_str(&format!("{i:08} {pad}\n"));
            if batch.len() > 64 * 1024 {
                feeder_stream.write_all(batch.as_bytes()).unwrap();
                batch.clear();
            }
        }
        feeder_stream.write_all(batch.as_bytes()).unwrap();
    });

    let mut next = 0;
    let mut saw_drop = false;
    while next < LINES {
        let line = reader.line();
        if let Some(rest) = line.strip_prefix("-> ") {
            let n: usize = rest[..8].parse().unwrap();
            assert_eq!(n, next, "lines arrive complete and in order");
            next += 1;
        } else {
            assert_eq!(line, format!("* {stalled_label} left lobby (too slow)"));
            saw_drop = true;
        }
    }
    feeder.join().unwrap();
    assert!(saw_drop, "the non-reader was never dropped");
    sender.expect(&format!("* {stalled_label} left lobby (too slow)"));
    assert!(
        server.wait_connections_at_most(2, WAIT),
        "the non-reader's connection stayed open"
    );
    assert_eq!(gauge(&server, "chat_slow_dropped"), 1);
    drop(stalled);
}

#[test]
fn shutdown_tells_every_client_before_closing() {
    let (mut server, addr) = chat_server();
    let mut c = lobby(addr, 5);
    let report = server.stop();
    assert_eq!(report.unfinished, 0, "{report:?}");
    for client in &mut c {
        client.expect("* server shutting down");
        assert!(client.closed());
    }
}

#[test]
fn idle_means_neither_sending_nor_receiving() {
    use std::time::{Duration, Instant};
    let idle = Duration::from_millis(400);
    let limits = threadsock::server::Limits {
        idle_timeout: Some(idle),
        ..Default::default()
    };
    let server = start_with(&options(&["chat"]), limits);
    let mut c = lobby(tcp_addr(&server, "chat"), 2);
    // The watcher (c[1]) never sends, but keeps receiving for several idle periods: it stays.
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < idle * 3 && n < 1_000_000 {
        c[0].send(&format!("line {n}"));
        c[1].expect(&format!("-> line {n}"));
        n += 1;
    }
    assert!(
        start.elapsed() >= idle * 3,
        "{n} lines were not enough to span the test"
    );
    // Now both are silent: each is told, then closed. Both time out at about the same time,
    // so one may first hear that the other left.
    let labels: Vec<String> = c.iter().map(|c| c.label.clone()).collect();
    for client in &mut c {
        let mut line = client.line();
        if line.ends_with(" left lobby") {
            assert!(
                labels.iter().any(|l| line == format!("* {l} left lobby")),
                "{line}"
            );
            line = client.line();
        }
        assert_eq!(line, "! idle too long, disconnected");
        assert!(client.closed());
    }
    assert!(server.wait_connections_at_most(0, WAIT));
}
