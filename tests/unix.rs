//! Echo and chat over Unix domain sockets (`serve --unix-dir`): the round trip, a chat room
//! shared with TCP clients, stale and live socket files, the files' mode and removal, the
//! connection limit, and the clients (`talk`, `probe`, `bench`) given `unix:PATH`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::*;
use threadsock::client::bench::{self, BenchOptions, Scenario};
use threadsock::net::{Addr, Stream};
use threadsock::server::{Limits, Server, BUSY_LINE};

/// A fresh, empty directory for one test's socket files, removed when the test ends.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fresh_dir(tag: &str) -> TempDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("threadsock-unix-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Echo and chat, on TCP port 0 and in `dir`.
fn start_in(dir: &Path, limits: Limits) -> Server {
    let mut opts = options(&["echo", "chat"]);
    opts.unix_dir = Some(dir.to_path_buf());
    start_with(&opts, limits)
}

/// A Unix client whose reads and writes fail after [`WAIT`] instead of hanging.
fn connect_unix(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).expect("connect unix");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// A chat client over either transport.
struct Chatter {
    reader: BufReader<Stream>,
    writer: Stream,
    name: String,
}

impl Chatter {
    fn join(stream: Stream) -> Chatter {
        let mut c = Chatter {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            name: String::new(),
        };
        let welcome = c.line();
        let rest = welcome
            .strip_prefix("* welcome, you are ")
            .unwrap_or_else(|| panic!("welcome line: {welcome:?}"));
        c.name = rest.split(' ').next().unwrap().to_string();
        c
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn line(&mut self) -> String {
        let mut buf = String::new();
        let n = self.reader.read_line(&mut buf).expect("read a line");
        assert!(n > 0, "connection closed");
        buf.trim_end_matches('\n').to_string()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn echo_over_unix_then_the_files_go_with_the_server() {
    let dir = fresh_dir("echo");
    let mut server = start_in(&dir, Limits::default());
    let echo = server.unix_path("echo").expect("echo/unix");
    let chat = server.unix_path("chat").expect("chat/unix");
    assert_eq!(
        (echo.clone(), chat.clone()),
        (dir.join("echo.sock"), dir.join("chat.sock"))
    );
    assert_eq!((mode(&echo), mode(&chat)), (0o600, 0o600));
    let mut client = connect_unix(&echo);
    client.write_all(b"over a unix socket\n").unwrap();
    assert_eq!(read_exact(&mut client, 19), b"over a unix socket\n");
    // TCP is served as before, next to it.
    let mut tcp = connect(tcp_addr(&server, "echo"));
    assert_eq!(round_trip(&mut tcp, b"tcp"), b"tcp");
    assert!(server.wait_connections_at_least(2, WAIT));
    let report = server.stop();
    assert_eq!(report.unfinished, 0);
    assert_closed(&mut client);
    assert!(!echo.exists() && !chat.exists(), "socket files left behind");
}

#[test]
fn a_unix_client_and_a_tcp_client_chat_in_one_room() {
    let dir = fresh_dir("chat");
    let server = start_in(&dir, Limits::default());
    // One after the other: b must join after a is in the room, or a never sees b's notice.
    let mut a = Chatter::join(Stream::Tcp(connect(tcp_addr(&server, "chat"))));
    let mut b = Chatter::join(Stream::Unix(connect_unix(
        &server.unix_path("chat").unwrap(),
    )));
    assert_eq!(a.line(), format!("* {} joined lobby", b.name));
    b.send("/join den");
    assert_eq!(b.line(), "* you joined den (1 here)");
    assert_eq!(a.line(), format!("* {} left lobby", b.name));
    a.send("/join den");
    assert_eq!(a.line(), "* you joined den (2 here)");
    assert_eq!(b.line(), format!("* {} joined den", a.name));
    b.send("hello from unix");
    assert_eq!(a.line(), "-> hello from unix");
    a.send("hello from tcp");
    assert_eq!(b.line(), "-> hello from tcp");
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_refused() {
    let dir = fresh_dir("stale");
    // A socket file whose server is gone: bound, then closed.
    drop(UnixListener::bind(dir.join("echo.sock")).unwrap());
    assert!(dir.join("echo.sock").exists());
    let server = start_in(&dir, Limits::default());
    let mut client = connect_unix(&dir.join("echo.sock"));
    client.write_all(b"x").unwrap();
    assert_eq!(read_exact(&mut client, 1), b"x");

    // A second server finds the first one listening: it does not start, and leaves the file.
    let mut opts = options(&["echo"]);
    opts.unix_dir = Some(dir.to_path_buf());
    let err = threadsock::serve::start(&opts, Limits::default()).expect_err("a live socket");
    assert!(
        err.to_string().contains("another server is listening"),
        "{err}"
    );
    let out = run_bin(
        &[
            "serve",
            "--only",
            "echo",
            "--echo-port",
            "0",
            "--unix-dir",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("echo/unix"), "{stderr}");
    assert!(stderr.contains("another server is listening"), "{stderr}");
    client.write_all(b"y").unwrap();
    assert_eq!(read_exact(&mut client, 1), b"y");
    let mut again = connect_unix(&dir.join("echo.sock"));
    again.write_all(b"z").unwrap();
    assert_eq!(read_exact(&mut again, 1), b"z");
    drop(server);
}

#[test]
fn a_path_that_is_not_a_socket_is_left_alone() {
    let dir = fresh_dir("file");
    std::fs::write(dir.join("echo.sock"), b"keep me").unwrap();
    let mut opts = options(&["echo"]);
    opts.unix_dir = Some(dir.to_path_buf());
    let err = threadsock::serve::start(&opts, Limits::default()).expect_err("not a socket");
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(dir.join("echo.sock")).unwrap(), b"keep me");
}

#[test]
fn max_conns_counts_unix_clients_too() {
    let dir = fresh_dir("limit");
    let limits = Limits {
        max_conns: 1,
        ..Limits::default()
    };
    let server = start_in(&dir, limits);
    let path = server.unix_path("echo").unwrap();
    let mut unix = connect_unix(&path);
    unix.write_all(b"u").unwrap();
    assert_eq!(read_exact(&mut unix, 1), b"u");
    let mut tcp = connect(tcp_addr(&server, "echo"));
    assert_eq!(read_to_eof(&mut tcp, 64).unwrap(), BUSY_LINE);
    drop(unix);
    assert!(server.wait_connections_at_most(0, WAIT));
    let mut tcp = connect(tcp_addr(&server, "echo"));
    assert_eq!(round_trip(&mut tcp, b"t"), b"t");
    let mut refused = connect_unix(&path);
    assert_eq!(read_to_eof(&mut refused, 64).unwrap(), BUSY_LINE);
}

#[test]
fn probe_and_talk_take_unix_paths() {
    let dir = fresh_dir("clients");
    let mut server = start_in(&dir, Limits::default());
    let echo = format!("unix:{}", dir.join("echo.sock").display());
    let out = run_bin(&["probe", &echo], b"");
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(0), &b"open\n"[..])
    );
    let out = run_bin(&["talk", &echo], b"one\ntwo\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"one\ntwo\n");
    let chat = format!("unix:{}", dir.join("chat.sock").display());
    let out = run_bin(&["talk", &chat], b"/quit\n");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("* welcome, you are "), "{said}");
    server.stop();
    let out = run_bin(&["probe", &echo], b"");
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(1), &b"closed\n"[..])
    );
    let out = run_bin(&["talk", &echo], b"");
    assert_eq!(out.status.code(), Some(1));
}

fn bench_opts(scenario: Scenario, path: &Path) -> BenchOptions {
    BenchOptions {
        scenario,
        addr: Addr::Unix(path.to_path_buf()),
        conns: 3,
        size: 64,
        duration: Duration::from_millis(300),
        warmup: Duration::ZERO,
        hold: Duration::from_millis(50),
        messages: 20,
        stalled: 0,
        event: threadsock::defaults::BENCH_SIO_EVENT.into(),
        inflight: 1,
        threads: 1,
        sender: None,
        pid: None,
        target: "unix".into(),
        csv: None,
    }
}

#[test]
fn bench_runs_over_unix_sockets() {
    let dir = fresh_dir("bench");
    let server = start_in(&dir, Limits::default());
    let echo = server.unix_path("echo").unwrap();
    let chat = server.unix_path("chat").unwrap();
    for (scenario, path) in [
        (Scenario::Echo, &echo),
        (Scenario::Stream, &echo),
        (Scenario::Chat, &chat),
    ] {
        let r = bench::run(&bench_opts(scenario, path)).unwrap();
        assert!(r.ops > 0, "{scenario:?}: no operation");
        assert_eq!((r.errors, r.connect_failures), (0, 0), "{scenario:?}");
        assert_eq!(r.verdict(), Ok(()), "{scenario:?}");
    }
    let addr = format!("unix:{}", echo.display());
    let out = run_bin(
        &[
            "bench",
            "echo",
            "--addr",
            &addr,
            "--duration",
            "0.3",
            "--warmup",
            "0",
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut summary = String::new();
    out.stdout.as_slice().read_to_string(&mut summary).unwrap();
    assert!(summary.contains(&echo.display().to_string()), "{summary}");
}
