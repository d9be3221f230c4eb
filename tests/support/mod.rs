//! Test support: start services on 127.0.0.1 port 0 through the same wiring as `serve`, and
//! client helpers whose every wait is bounded. Dropping the returned `Server` stops and joins it.
//! [`redis`] runs a real `redis-server` for the tests of the Redis link, [`nginx`] a real nginx
//! in front of cluster nodes.
#![allow(dead_code)]

pub mod nginx;
pub mod node_chat;
pub mod redis;
pub mod sio_threads;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;
use threadsock::cli::ServeOptions;
use threadsock::server::{Limits, Proto, Server};
use threadsock::service::Service;

/// Upper bound on any single wait in a test; reaching it is a failure, not a timing assertion.
pub const WAIT: Duration = Duration::from_secs(10);

/// Options for `services` (by name) on 127.0.0.1 with every port 0.
pub fn options(services: &[&'static str]) -> ServeOptions {
    let services = services
        .iter()
        .map(|name| Service::parse(name).unwrap_or_else(|| panic!("no service {name}")))
        .collect();
    ServeOptions {
        bind: [127, 0, 0, 1].into(),
        services,
        echo_port: 0,
        daytime_port: 0,
        chat_port: 0,
        chat: threadsock::service::chat::ChatConfig::default(),
        files_port: 0,
        files: threadsock::service::files::FilesConfig::default(),
        socketio_port: 0,
        cors_origin: threadsock::service::web::Cors::SameOrigin,
        max_payload: threadsock::defaults::MAX_PAYLOAD,
        client_js: None,
        max_conns: threadsock::defaults::MAX_CONNS,
        idle_timeout: Some(threadsock::defaults::IDLE_TIMEOUT),
        stack_size: threadsock::defaults::STACK_SIZE,
        banner: None,
        stats: None,
        unix_dir: None,
        redis: None,
        redis_timeout: Duration::from_millis(threadsock::defaults::REDIS_REQUEST_TIMEOUT_MS),
        unix_mode: threadsock::defaults::UNIX_MODE,
    }
}

/// Starts the services `opts` selects under `limits`.
pub fn start_with(opts: &ServeOptions, limits: Limits) -> Server {
    threadsock::serve::start(opts, limits).expect("start test server")
}

/// Starts `services` with default limits.
pub fn start(services: &[&'static str]) -> Server {
    start_with(&options(services), Limits::default())
}

/// The address of `service` over TCP.
pub fn tcp_addr(server: &Server, service: &str) -> SocketAddr {
    server
        .local_addr(service, Proto::Tcp)
        .expect("tcp endpoint")
}

/// The address of `service` over UDP.
pub fn udp_addr(server: &Server, service: &str) -> SocketAddr {
    server
        .local_addr(service, Proto::Udp)
        .expect("udp endpoint")
}

/// A connected client whose reads and writes fail after [`WAIT`] instead of hanging.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// Reads until end of stream (at most `limit` bytes).
pub fn read_to_eof(stream: &mut impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    stream.take(limit as u64 + 1).read_to_end(&mut out)?;
    assert!(out.len() <= limit, "more than {limit} bytes before EOF");
    Ok(out)
}

/// Asserts that the server closed `stream` without sending anything more: end of stream or a
/// reset, never the [`WAIT`] timeout of a connection left open.
pub fn assert_closed(stream: &mut impl Read) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(
            rest.is_empty(),
            "unexpected bytes before the close: {rest:?}"
        ),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "not closed: {e}"),
    }
}

/// Reads exactly `n` bytes.
pub fn read_exact(stream: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).expect("read_exact");
    buf
}

/// Sends `msg` and reads the same number of bytes back: proof the connection is being served.
pub fn round_trip(stream: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    stream.write_all(msg).expect("write");
    read_exact(stream, msg.len())
}

/// A UDP client on an ephemeral loopback port, bounded like [`connect`].
pub fn udp_client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

/// Path of the `threadsock` binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_threadsock");

/// Runs the binary with `args`, feeding `stdin`, and returns its output; fails the test (and
/// kills the process) if it has not exited within [`WAIT`].
pub fn run_bin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threadsock");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    finish(child, &format!("threadsock {args:?}"))
}

/// Starts the binary with `args` (stdout and stderr piped) and reads its stdout on a thread of
/// its own, a line per message: a silent server then fails a `recv_timeout` instead of hanging
/// the test.
pub fn spawn_bin(args: &[&str]) -> (std::process::Child, crossbeam_channel::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn threadsock");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = crossbeam_channel::bounded(16);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// The first `n` lines from [`spawn_bin`]'s channel (`serve`'s listening lines), each waited
/// for at most [`WAIT`].
pub fn first_lines(lines: &crossbeam_channel::Receiver<String>, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| lines.recv_timeout(WAIT).expect("a listening line"))
        .collect()
}

/// Sends `child` SIGTERM (a graceful stop); fails the test naming `what` if it cannot.
pub fn sigterm(child: &std::process::Child, what: &str) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -TERM {what}");
}

/// Sends `child` SIGTERM and collects its output as [`finish`] does.
pub fn terminate(child: std::process::Child, what: &str) -> std::process::Output {
    sigterm(&child, what);
    finish(child, what)
}

/// Waits for `child` to exit and collects its output; if it has not exited within [`WAIT`],
/// kills it and fails the test naming `what`.
pub fn finish(child: std::process::Child, what: &str) -> std::process::Output {
    finish_within(child, WAIT, what)
}

/// As [`finish`], with a bound of `limit`.
pub fn finish_within(
    child: std::process::Child,
    limit: Duration,
    what: &str,
) -> std::process::Output {
    let pid = child.id().to_string();
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for the child process"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid])
                .status();
            panic!("{what} did not exit within {limit:?}");
        }
    }
}

/// The address after `listening <what> ` among `serve`'s listening lines.
pub fn listening_addr(lines: &[String], what: &str) -> SocketAddr {
    let prefix = format!("listening {what} ");
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {what} line in {lines:?}"))
        .parse()
        .unwrap()
}

/// A loopback port with nothing listening on it (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// True if the external tool `name` runs (`name --version`). Where it is missing a test is
/// skipped locally (returns false, saying so on stderr), but under CI (`CI` set to anything
/// non-empty; `.ci/run` sets it) a missing tool fails the test: CI must not pass by skipping.
pub fn require_tool(name: &str) -> bool {
    let found = std::process::Command::new(name)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        tool_missing(name);
    }
    found
}

/// Says that the external tool `name` is missing: a failure under CI (`CI` set to anything
/// non-empty), a note on stderr otherwise (the caller then skips its test).
pub fn tool_missing(name: &str) {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    assert!(
        !ci,
        "`{name}` is required under CI (CI is set) but cannot be run; install it"
    );
    eprintln!("skipped: `{name}` is not installed (set CI=1 to make this a failure)");
}

/// True if `node` runs and the npm packages of `tests/<dir>` are installed (`.ci/run` installs
/// them with `npm ci`). Missing: skipped locally, a failure under CI, as [`require_tool`].
pub fn require_node_packages(dir: &str) -> bool {
    if !require_tool("node") {
        return false;
    }
    let modules = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir)
        .join("node_modules");
    if !modules.is_dir() {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        assert!(
            !ci,
            "tests/{dir}/node_modules is missing under CI: run `npm ci` in tests/{dir}"
        );
        eprintln!("skipped: run `npm ci` in tests/{dir} first (CI=1 makes this a failure)");
        return false;
    }
    true
}

/// The gauge `name` of `server`'s stats now; fails the test if there is none.
pub fn gauge(server: &threadsock::server::Server, name: &str) -> u64 {
    server
        .sample()
        .metrics
        .iter()
        .find_map(|m| match *m {
            threadsock::server::Metric::Gauge(n, v) if n == name => Some(v),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no gauge {name}"))
}

/// Option entries of a usage text such as `--help`'s or README's flag reference: a line that
/// starts (after indentation) with `-` begins one, and the indented lines right after it
/// continue it (wrapped text). Returns (`--option`, the entry's text on one line).
pub fn option_entries(block: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut open = false;
    for line in block.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('-') {
            let name = trimmed
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
                .unwrap_or_default()
                .to_string();
            entries.push((name, trimmed.to_string()));
            open = true;
        } else if open && line.starts_with(' ') && !trimmed.is_empty() {
            let last = entries.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(trimmed);
        } else {
            open = false;
        }
    }
    entries
}

/// The session id in an Engine.IO open packet as the polling handshake returns it
/// (`0{"sid":"…",…}`); panics, naming the body, if there is none.
pub fn sid_of(open: &str) -> String {
    open.split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no sid in the open packet {open:?}"))
        .to_string()
}
