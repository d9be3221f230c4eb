//! Connection limit, thread spawn failure and idle timeout: each refuses or closes one client
//! cleanly and the server keeps serving the others.

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;
use support::*;
use threadsock::server::{Limits, BUSY_LINE};

fn limits(max_conns: usize) -> Limits {
    Limits {
        max_conns,
        ..Limits::default()
    }
}

#[test]
fn past_max_conns_a_client_is_refused_then_served_once_a_slot_frees() {
    let server = start_with(&options(&["echo"]), limits(2));
    let addr = tcp_addr(&server, "echo");
    let mut a = connect(addr);
    let mut b = connect(addr);
    // A round trip proves each connection holds a slot.
    assert_eq!(round_trip(&mut a, b"a"), b"a");
    assert_eq!(round_trip(&mut b, b"b"), b"b");

    let mut refused = connect(addr);
    assert_eq!(read_to_eof(&mut refused, 64).unwrap(), BUSY_LINE);

    // The two admitted clients are unaffected.
    assert_eq!(round_trip(&mut a, b"still here"), b"still here");

    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut a, 0).unwrap(), b"");
    assert!(server.wait_connections_at_most(1, WAIT), "slot never freed");

    let mut c = connect(addr);
    assert_eq!(round_trip(&mut c, b"c"), b"c");
    assert_eq!(round_trip(&mut b, b"b2"), b"b2");
    let echo = server.stats()[0];
    assert_eq!(echo.refused, 1);
    assert_eq!(echo.total, 3);
}

#[test]
fn a_thread_that_cannot_be_spawned_is_a_refusal_not_a_crash() {
    // A 1 TiB stack cannot be mapped under the kernel's default overcommit heuristic, so
    // pthread_create fails for every client; that must read exactly like the limit.
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    if overcommit.trim() != "0" && overcommit.trim() != "2" {
        eprintln!("skipped: overcommit_memory={overcommit} would let the huge stack map");
        return;
    }
    let huge = Limits {
        stack_size: 1 << 40,
        ..Limits::default()
    };
    let server = start_with(&options(&["echo"]), huge);
    let addr = tcp_addr(&server, "echo");
    for _ in 0..3 {
        let mut client = connect(addr);
        assert_eq!(read_to_eof(&mut client, 64).unwrap(), BUSY_LINE);
    }
    assert_eq!(server.connections(), 0);
    assert_eq!(server.stats()[0].refused, 3);
}

#[test]
fn idle_clients_are_closed_and_others_keep_being_served() {
    let short = Limits {
        idle_timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let server = start_with(&options(&["echo"]), short);
    let addr = tcp_addr(&server, "echo");
    let mut idle = connect(addr);
    assert_eq!(round_trip(&mut idle, b"x"), b"x");
    // Silent now: the server closes it. The bound is WAIT, far above the timeout.
    assert_closed(&mut idle);
    assert!(server.wait_connections_at_most(0, WAIT));
    assert_eq!(server.stats()[0].idle_closed, 1);

    let mut fresh = connect(addr);
    assert_eq!(round_trip(&mut fresh, b"fresh"), b"fresh");
}

#[test]
fn a_client_that_never_reads_is_closed_by_the_idle_timeout_too() {
    let short = Limits {
        idle_timeout: Some(Duration::from_millis(300)),
        ..Limits::default()
    };
    let server = start_with(&options(&["echo"]), short);
    let mut hog = connect(tcp_addr(&server, "echo"));
    // Keep sending without reading: the echo's writes block, then time out.
    let chunk = vec![0u8; 64 * 1024];
    let mut sent = 0usize;
    while sent < 256 << 20 {
        match hog.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(sent < 256 << 20, "server never stopped accepting bytes");
    assert!(server.wait_connections_at_most(0, WAIT));
}

/// Starts `threadsock serve --only echo` on a free port; returns the child and its echo address.
fn spawn_serve() -> (std::process::Child, std::net::SocketAddr) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--only", "echo", "--echo-port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening echo/tcp ")
        .expect("listening line")
        .parse()
        .unwrap();
    (child, addr)
}

#[test]
fn out_of_file_descriptors_refuses_cleanly_and_recovers() {
    if !require_tool("prlimit") {
        return;
    }
    let (mut child, addr) = spawn_serve();
    let pid = child.id();
    // Leave the server room for only a few more sockets than it holds now.
    let open_now = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    let cap = (open_now + 4).to_string();
    let set = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={cap}:{cap}")])
        .status()
        .unwrap();
    assert!(set.success());

    let mut served = Vec::new();
    let mut refused = 0;
    for i in 0..12u8 {
        let mut c = connect(addr);
        c.write_all(&[i]).unwrap();
        // Each client is either echoed or told it is refused: never left hanging (WAIT bounds it).
        let mut first = [0u8; 1];
        c.read_exact(&mut first).unwrap();
        if first[0] == i {
            served.push(c);
        } else {
            let mut rest = read_to_eof(&mut c, 64).unwrap();
            rest.insert(0, first[0]);
            assert_eq!(rest, BUSY_LINE);
            refused += 1;
        }
    }
    assert!(
        !served.is_empty() && refused > 0,
        "served {} refused {refused}",
        served.len()
    );
    // The served clients are unaffected, and once they leave the server serves again.
    for c in &mut served {
        assert_eq!(round_trip(c, b"ok"), b"ok");
    }
    drop(served);
    let mut again = None;
    for _ in 0..50 {
        let mut c = connect(addr);
        c.write_all(b"z").unwrap();
        let mut first = [0u8; 1];
        if c.read_exact(&mut first).is_ok() && &first == b"z" {
            again = Some(c);
            break;
        }
    }
    assert!(
        again.is_some(),
        "never served again after descriptors were freed"
    );
    assert!(child.try_wait().unwrap().is_none(), "server died");
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = finish(child, "serve after SIGTERM").status;
    assert!(status.success(), "{status:?}");
}
