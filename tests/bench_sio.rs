//! The Socket.IO scenarios of the load generator, briefly, against the chat app (`serve --only
//! socketio`) and a Socket.IO app built here that acks `message-with-ack` as the conformance
//! example does: each reports non-zero figures, and a target that does not speak the
//! scenario is no result. Never a timing assertion.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use threadsock::client::bench::{self, BenchOptions, Scenario};
use threadsock::server::{Limits, Server};
use threadsock::service::socketio::SocketIo;
use threadsock::service::web::{self, Route};

fn opts(scenario: Scenario, addr: SocketAddr) -> BenchOptions {
    BenchOptions {
        scenario,
        addr: threadsock::net::Addr::Ip(addr),
        conns: 3,
        size: 64,
        duration: Duration::from_millis(400),
        warmup: Duration::ZERO,
        hold: Duration::from_millis(700),
        messages: 20,
        stalled: 0,
        inflight: 1,
        event: "message-with-ack".into(),
        threads: 2,
        sender: None,
        pid: Some(std::process::id()),
        target: "test".into(),
        csv: None,
    }
}

/// An app that acks `message-with-ack` with its args and pings every 100 ms.
fn ack_app() -> (Server, SocketAddr) {
    let io = SocketIo::builder()
        .ping(Duration::from_millis(100), Duration::from_millis(2000))
        .build();
    io.of("/").on_connect(|socket, _| {
        socket.on("message-with-ack", |_, args, ack| {
            if let Some(ack) = ack {
                ack.send(args);
            }
        });
        Ok(())
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut server = Server::new(Limits::default());
    let routes: Vec<Arc<dyn Route>> = vec![Arc::new(io)];
    server
        .add_tcp("socketio", listener, move |conn| web::serve(conn, &routes))
        .unwrap();
    (server, addr)
}

fn measured(o: &BenchOptions) -> bench::Report {
    let r = bench::run(o).unwrap();
    assert_eq!(r.verdict(), Ok(()), "{:?}: {r:?}", o.scenario);
    assert!(r.ops > 0, "{:?}: {r:?}", o.scenario);
    assert_eq!(r.connect_failures, 0, "{:?}: {r:?}", o.scenario);
    r
}

#[test]
fn sio_ack_against_the_ack_app_and_the_chat_app() {
    let (_server, addr) = ack_app();
    let r = measured(&opts(Scenario::SioAck, addr));
    assert!(r.latency.count() > 0 && r.ops_per_s() > 0.0);
    assert!(r.server.is_some_and(|s| s.threads.is_some()));
    let chat = start(&["socketio"]);
    let o = BenchOptions {
        event: "who".into(),
        ..opts(Scenario::SioAck, tcp_addr(&chat, "socketio"))
    };
    measured(&o);
}

#[test]
fn sio_fanout_against_the_chat_app() {
    let chat = start(&["socketio"]);
    let r = measured(&BenchOptions {
        duration: Duration::from_secs(5),
        ..opts(Scenario::SioFanout, tcp_addr(&chat, "socketio"))
    });
    assert!(r.latency.count() > 0);
    assert!(
        r.notes.iter().any(|n| n.contains("20 messages sent")),
        "{r:?}"
    );
}

#[test]
fn sio_idle_answers_pings_and_reads_the_server() {
    let (_server, addr) = ack_app();
    let r = measured(&opts(Scenario::SioIdle, addr));
    assert_eq!(r.ops, 3, "every client still connected: {r:?}");
    assert!(r.server.is_some_and(|s| s.rss_kb.is_some()));
    // The app pings every 100 ms; a client that did not answer would have been closed.
    let pings = r
        .notes
        .iter()
        .find(|n| n.contains("pings answered"))
        .unwrap();
    assert!(!pings.contains(" 0 pings"), "{pings}");
}

#[test]
fn sio_connect_through_polling_and_the_upgrade() {
    let chat = start(&["socketio"]);
    let r = measured(&BenchOptions {
        conns: 2,
        ..opts(Scenario::SioConnect, tcp_addr(&chat, "socketio"))
    });
    assert!(r.latency.count() > 0);
    let (_server, addr) = ack_app();
    measured(&opts(Scenario::SioConnect, addr));
}

#[test]
fn targets_that_do_not_speak_the_scenario_are_no_result() {
    let echo = start(&["echo"]);
    let addr = tcp_addr(&echo, "echo");
    for scenario in [Scenario::SioAck, Scenario::SioFanout, Scenario::SioIdle] {
        let r = bench::run(&opts(scenario, addr)).unwrap();
        let why = r.verdict().expect_err("echo is not Socket.IO");
        assert!(
            why.starts_with("no connection succeeded: no WebSocket upgrade at /socket.io/"),
            "{scenario:?}: {why}"
        );
    }
    let r = bench::run(&opts(Scenario::SioConnect, addr)).unwrap();
    let why = r.verdict().unwrap_err();
    assert!(why.contains("no polling handshake"), "{why}");
    // The chat app does not ack `message-with-ack`.
    let chat = start(&["socketio"]);
    let r = bench::run(&BenchOptions {
        conns: 1,
        ..opts(Scenario::SioAck, tcp_addr(&chat, "socketio"))
    })
    .unwrap();
    let why = r.verdict().unwrap_err();
    assert!(
        why.starts_with("the server does not acknowledge 'message-with-ack'"),
        "{why}"
    );
}

#[test]
fn the_binary_exits_1_with_the_reason() {
    let echo = start(&["echo"]);
    let addr = tcp_addr(&echo, "echo").to_string();
    let out = run_bin(
        &["bench", "sio-ack", "--addr", &addr, "--duration", "0.2"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "threadsock bench: sio-ack against {addr}: no connection succeeded: no WebSocket upgrade"
        )),
        "{stderr}"
    );
}
