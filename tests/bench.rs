//! The load generator's correctness (never its speed): error counting against an absent
//! server and one that closes early, lost-line detection in the chat scenario, and the CSV.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;
use support::*;
use threadsock::client::bench::{self, BenchOptions, Scenario, CSV_HEADER};

fn opts(scenario: Scenario, addr: SocketAddr) -> BenchOptions {
    BenchOptions {
        scenario,
        addr: threadsock::net::Addr::Ip(addr),
        conns: 3,
        size: 64,
        duration: Duration::from_millis(300),
        warmup: Duration::ZERO,
        hold: Duration::from_millis(50),
        messages: 20,
        stalled: 0,
        inflight: 4,
        event: "message-with-ack".into(),
        threads: 1,
        sender: None,
        pid: None,
        target: "test".into(),
        csv: None,
    }
}

#[test]
fn an_absent_server_counts_as_connection_failures() {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    for scenario in [
        Scenario::Echo,
        Scenario::Stream,
        Scenario::Idle,
        Scenario::Chat,
    ] {
        let r = bench::run(&opts(scenario, addr)).unwrap();
        assert_eq!(r.connect_failures, 3, "{scenario:?}");
        assert_eq!(r.ops, 0);
        assert_eq!(
            r.verdict(),
            Err("no connection succeeded: connection refused".into()),
            "{scenario:?}"
        );
    }
    let r = bench::run(&opts(Scenario::Udp, addr)).unwrap();
    assert!(r.errors > 0, "UDP to a closed port must show errors");
    assert_eq!(r.ops, 0);
    assert_eq!(
        r.verdict(),
        Err("no operation completed: connection refused".into())
    );
}

#[test]
fn a_server_that_does_not_echo_is_no_result() {
    // Daytime sends a date and closes, over TCP and UDP alike.
    let server = start(&["daytime"]);
    let (tcp, udp) = (tcp_addr(&server, "daytime"), udp_addr(&server, "daytime"));
    for (scenario, addr) in [
        (Scenario::Echo, tcp),
        (Scenario::Stream, tcp),
        (Scenario::Idle, tcp),
        (Scenario::Udp, udp),
    ] {
        let r = bench::run(&opts(scenario, addr)).unwrap();
        let why = r.verdict().expect_err("daytime is not an echo server");
        assert!(
            why.starts_with("the server does not echo (got \"20"),
            "{scenario:?}: {why}"
        );
    }
}

#[test]
fn the_binary_exits_1_and_writes_no_csv_when_nothing_was_measured() {
    let server = start(&["daytime"]);
    let daytime = tcp_addr(&server, "daytime").to_string();
    let closed = format!("127.0.0.1:{}", free_port());
    let csv = std::env::temp_dir().join(format!("threadsock-nocsv-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&csv);
    for (addr, why) in [
        (&daytime, "the server does not echo (got \"20"),
        (&closed, "no connection succeeded: connection refused"),
    ] {
        let out = run_bin(
            &[
                "bench",
                "echo",
                "--addr",
                addr,
                "--duration",
                "0.3",
                "--warmup",
                "0",
                "--csv",
                csv.to_str().unwrap(),
            ],
            b"",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{addr}: {err}");
        assert!(
            err.starts_with(&format!("threadsock bench: echo against {addr}: {why}")),
            "{addr}: {err}"
        );
        assert!(out.stdout.is_empty(), "{addr}: no summary of nothing");
        assert!(
            !csv.exists(),
            "{addr}: no CSV row for a run that measured nothing"
        );
    }
}

#[test]
fn a_server_that_closes_early_counts_errors() {
    // Echoes the first message of each connection, then closes it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for s in listener.incoming().take(3).flatten() {
            thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 64];
                if s.read_exact(&mut buf).is_ok() {
                    let _ = s.write_all(&buf);
                }
            });
        }
    });
    let r = bench::run(&opts(Scenario::Echo, addr)).unwrap();
    assert_eq!(r.connect_failures, 0);
    assert_eq!(
        r.errors, 3,
        "each connection fails once, then leaves the rotation"
    );
}

#[test]
fn the_echo_scenario_counts_round_trips_against_threadsock() {
    let server = start(&["echo"]);
    let r = bench::run(&opts(Scenario::Echo, tcp_addr(&server, "echo"))).unwrap();
    assert!(r.ops > 0);
    assert_eq!(r.ops, r.latency.count());
    assert_eq!((r.errors, r.connect_failures), (0, 0));
    let u = bench::run(&opts(Scenario::Udp, udp_addr(&server, "echo"))).unwrap();
    assert!(u.ops > 0);
}

/// A chat server that relays every line as `-> line` to the other clients, except the line
/// whose sequence number is `drop_seq`, which it drops on the way to one receiver.
fn lossy_chat(receivers: usize, drop_seq: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut outs = Vec::new();
        for _ in 0..receivers {
            outs.push(listener.accept().unwrap().0);
        }
        let (sender, _) = listener.accept().unwrap();
        for line in BufReader::new(sender).lines().map_while(Result::ok) {
            for (i, out) in outs.iter_mut().enumerate() {
                if i == 0 && line.split(' ').next() == Some(drop_seq) {
                    continue;
                }
                let _ = out.write_all(format!("-> {line}\n").as_bytes());
            }
        }
    });
    addr
}

#[test]
fn the_chat_scenario_detects_a_lost_line() {
    let addr = lossy_chat(3, "5");
    let mut o = opts(Scenario::Chat, addr);
    o.duration = Duration::from_secs(5);
    let r = bench::run(&o).unwrap();
    assert_eq!(r.ops, 3 * 20 - 1, "{:?}", r.notes);
    assert_eq!(r.errors, 1, "{:?}", r.notes);
    assert!(r.notes[0].contains("1 lost"), "{:?}", r.notes);
}

#[test]
fn the_chat_slow_scenario_runs_both_floods_and_reports_the_delay() {
    let server = start(&["chat"]);
    let mut o = opts(Scenario::ChatSlow, tcp_addr(&server, "chat"));
    o.messages = 500;
    o.stalled = 2;
    o.threads = 0;
    o.duration = Duration::from_secs(5);
    let r = bench::run(&o).unwrap();
    assert_eq!((r.ops, r.errors), (3 * 500, 0), "{:?}", r.notes);
    assert!(r.seconds > 0.0);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("2 clients in the room that never read")),
        "{:?}",
        r.notes
    );
    assert!(r.notes.iter().any(|n| n.contains("delay")), "{:?}", r.notes);
}

#[test]
fn the_chat_scenario_sees_every_line_through_threadsock() {
    let server = start(&["chat"]);
    let mut o = opts(Scenario::Chat, tcp_addr(&server, "chat"));
    o.messages = 500;
    o.duration = Duration::from_secs(5);
    let r = bench::run(&o).unwrap();
    assert_eq!((r.ops, r.errors), (3 * 500, 0), "{:?}", r.notes);
}

#[test]
fn csv_rows_append_under_one_header() {
    let server = start(&["echo"]);
    let path = std::env::temp_dir().join(format!("threadsock-bench-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut o = opts(Scenario::Echo, tcp_addr(&server, "echo"));
    o.csv = Some(path.to_string_lossy().into_owned());
    for _ in 0..2 {
        let r = bench::run(&o).unwrap();
        bench::append_csv(o.csv.as_deref().unwrap(), &o, &r).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], CSV_HEADER);
    for row in &lines[1..] {
        assert_eq!(row.split(',').count(), 16);
        assert!(row.starts_with("echo,test,3,64,"), "{row}");
    }
    std::fs::remove_file(&path).unwrap();
}
