//! The official `socket.io-client` (npm, `tests/socketio_client/`) against threadsock's
//! Socket.IO server over long-polling only, WebSocket only, and polling with the upgrade: the
//! scenarios of `scenarios.mjs` against the test app below, built from the public API.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::sio_threads::serve;
use support::*;
use threadsock::codec::json::Value;
use threadsock::service::socketio::{Reject, SocketIo};

/// The test app: echoes, acks, a question the server asks, rooms, namespaces, a kick.
fn app() -> SocketIo {
    let io = SocketIo::builder()
        .ping(Duration::from_millis(200), Duration::from_millis(1000))
        .connect_timeout(Duration::from_secs(5))
        .build();
    io.of("/").on_connect(|socket, auth| {
        socket.emit("auth", vec![auth.clone()]);
        socket.on("echo", |s, args, _| {
            s.emit("echo-back", args);
        });
        socket.on("echo-ack", |_, args, ack| {
            if let Some(ack) = ack {
                ack.send(args);
            }
        });
        socket.on("add", |_, args, ack| {
            let sum: i64 = args
                .iter()
                .filter_map(|a| a.as_number().and_then(|n| n.as_i64()))
                .sum();
            if let Some(ack) = ack {
                ack.send(vec![Value::from(sum)]);
            }
        });
        // Asked from the handler itself: the acknowledgement is taken on the reading thread,
        // so this does not deadlock.
        socket.on("ask-me", |s, args, _| {
            let answer = s.emit_with_ack("question", args, Duration::from_secs(3));
            s.emit("answered", answer.unwrap_or_default());
        });
        socket.on("join", |s, args, ack| {
            if let Some(room) = args.first().and_then(Value::as_str) {
                s.join(room);
            }
            if let Some(ack) = ack {
                ack.send(vec![Value::Bool(true)]);
            }
        });
        socket.on("say-to", |s, args, _| {
            if let (Some(room), Some(text)) = (args.first().and_then(Value::as_str), args.get(1)) {
                s.to(room).emit("room-said", vec![text.clone()]);
            }
        });
        socket.on("kick-me", |s, _, _| s.disconnect());
        Ok(())
    });
    io.of("/custom").on_connect(|socket, _| {
        socket.on("where", |s, _, _| {
            let name = s.namespace().name().to_string();
            s.emit("where", vec![Value::from(name)]);
        });
        Ok(())
    });
    io.of("/guarded").on_connect(|_, _| {
        Err(Reject {
            message: "not allowed".into(),
            data: Some(Value::object([("reason", Value::from("no token"))])),
        })
    });
    io
}

fn run_scenarios(mode: &str) {
    if !require_node_packages("socketio_client") {
        return;
    }
    let (_server, addr) = serve(app());
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/socketio_client");
    let child = Command::new("node")
        .current_dir(dir)
        .args(["scenarios.mjs", &format!("http://{addr}"), mode])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = finish_within(child, Duration::from_secs(60), "scenarios.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{mode}:\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        8,
        "{stdout}"
    );
}

#[test]
fn the_official_client_over_long_polling() {
    run_scenarios("polling");
}

#[test]
fn the_official_client_over_websocket() {
    run_scenarios("websocket");
}

#[test]
fn the_official_client_with_the_upgrade() {
    run_scenarios("upgrade");
}
