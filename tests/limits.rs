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
    let mut rest = Vec::new();
    let closed = idle.read_to_end(&mut rest);
    assert!(closed.is_ok() || closed.unwrap_err().kind() == std::io::ErrorKind::ConnectionReset);
    assert!(rest.is_empty());
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
