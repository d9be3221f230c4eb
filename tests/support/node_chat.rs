//! Chat users for the cluster tests: the official socket.io-client driven line by line
//! (`tests/redis_adapter/client.mjs`), an `nc` user, and a Node.js socket.io node with
//! `@socket.io/redis-adapter` (`tests/redis_adapter/server.mjs`). Every wait is bounded.

use super::{connect, WAIT};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/redis_adapter")
        .join(file)
}

/// The lines a child prints, on a channel (a thread reads them).
fn lines_of(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = crossbeam_channel::unbounded();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing every one of `parts`; returns it, or panics with what came.
fn until(rx: &Receiver<String>, parts: &[&str], within: Duration, who: &str) -> String {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        match rx.recv_deadline(deadline) {
            Ok(line) => {
                if parts.iter().all(|p| line.contains(p)) {
                    return line;
                }
                seen.push(line);
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("{who}: no line with {parts:?} within {within:?}; saw {seen:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("{who}: ended before a line with {parts:?}; saw {seen:?}")
            }
        }
    }
}

/// A Socket.IO user on the official client.
pub struct SioUser {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    name: String,
}

impl SioUser {
    /// Connects to `url` (e.g. `http://127.0.0.1:PORT`) as `nick`; `transports` as the client
    /// takes them (`websocket`, or `polling` alone, or both to upgrade). Waits until ready.
    pub fn connect(url: &str, nick: &str, transports: &str) -> SioUser {
        SioUser::connect_from(url, nick, transports, None)
    }

    /// As [`SioUser::connect`], every connection (polling requests and the WebSocket) from the
    /// source address `local` if given (e.g. `127.0.0.7`: a distinct client to nginx's hash).
    pub fn connect_from(url: &str, nick: &str, transports: &str, local: Option<&str>) -> SioUser {
        let mut command = Command::new("node");
        if let Some(local) = local {
            command.env("LOCAL_ADDRESS", local);
        }
        let mut child = command
            .arg(fixture("client.mjs"))
            .args([url, nick])
            .env("TRANSPORTS", transports)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node client.mjs");
        let stdin = child.stdin.take().expect("piped stdin");
        let lines = lines_of(&mut child);
        let user = SioUser {
            child,
            stdin,
            lines,
            name: nick.to_string(),
        };
        until(&user.lines, &["[\"ready\""], WAIT, nick);
        user
    }

    /// Emits `[event, ...args]`, given as JSON.
    pub fn emit(&mut self, json: &str) {
        writeln!(self.stdin, "{json}").expect("write to client.mjs");
    }

    /// The first event line containing all of `parts` (other lines are skipped).
    pub fn until(&self, parts: &[&str]) -> String {
        until(&self.lines, parts, WAIT, &self.name)
    }

    /// Like [`SioUser::until`] with a shorter wait; `None` if nothing matched in `within`.
    pub fn within(&self, parts: &[&str], within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        while let Ok(line) = self.lines.recv_deadline(deadline) {
            if parts.iter().all(|p| line.contains(p)) {
                return Some(line);
            }
        }
        None
    }
}

impl Drop for SioUser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `nc` user of the chat.
pub struct NcUser {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl NcUser {
    /// Connects and reads the welcome.
    pub fn join(addr: SocketAddr) -> NcUser {
        let s = connect(addr);
        let mut nc = NcUser {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        };
        let first = nc.line();
        assert!(first.starts_with("* welcome, you are "), "{first}");
        nc
    }

    /// Sends a line.
    pub fn send(&mut self, line: &str) {
        writeln!(self.writer, "{line}").unwrap();
    }

    /// The next line (without its newline).
    pub fn line(&mut self) -> String {
        let mut l = String::new();
        let n = self.reader.read_line(&mut l).expect("read a line");
        assert!(n > 0, "closed");
        l.trim_end_matches('\n').to_string()
    }

    /// Lines until one equals `want` (bounded); returns those before it.
    pub fn until(&mut self, want: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..100_000 {
            let mut l = String::new();
            match self.reader.read_line(&mut l) {
                Ok(n) if n > 0 => {}
                other => panic!("no {want:?} ({other:?}) after {seen:?}"),
            }
            let l = l.trim_end_matches('\n').to_string();
            if l == want {
                return seen;
            }
            seen.push(l);
        }
        panic!("no {want:?} after {seen:?}");
    }

    /// Sets how long a read may wait.
    pub fn set_timeout(&self, t: Duration) {
        self.writer.set_read_timeout(Some(t)).unwrap();
    }

    /// The next line within the read timeout, if any.
    pub fn try_line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(n) if n > 0 => Some(l.trim_end_matches('\n').to_string()),
            _ => None,
        }
    }
}

/// A Node.js socket.io 4.8 node with `@socket.io/redis-adapter` (the chat app).
pub struct NodeServer {
    child: Child,
    /// Where it listens.
    pub port: u16,
}

impl NodeServer {
    /// Starts it on `redis` (a `redis://` URL), on a free port.
    pub fn start(redis: &str) -> NodeServer {
        let mut child = Command::new("node")
            .arg(fixture("server.mjs"))
            .env("PORT", "0")
            .env("REDIS_URL", redis)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node server.mjs");
        let lines = lines_of(&mut child);
        let line = until(&lines, &["listening "], WAIT, "server.mjs");
        let port = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        NodeServer { child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
