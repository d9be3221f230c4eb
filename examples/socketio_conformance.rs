//! The server the official Engine.IO and Socket.IO protocol suites expect, built from
//! threadsock's public API alone: on `localhost:3000` (IPv4), `/engine.io/` echoes every
//! message, `/socket.io/` serves Socket.IO (see `../shared/conformance/README.md`).
//!
//!     cargo run --release --example socketio_conformance
//!     ../shared/conformance/run.sh all
//!
//! Optional arguments `[PORT [PING_INTERVAL_MS PING_TIMEOUT_MS]]` (defaults 3000, 300 and 200,
//! what the suites expect; port 0 lets the OS pick) serve it elsewhere: the comparison
//! (`examples/compare`) uses it as a Socket.IO app that sends a joining client nothing but
//! its `auth` event, with socket.io's default pings (25000 20000). Prints
//! `listening socketio/tcp ADDR` once bound.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use threadsock::server::{fd_table, Limits, OsLimits, Server};
use threadsock::service::chat::outbox::Flow;
use threadsock::service::engineio::{
    CloseReason, Engine, EngineApp, EngineConfig, EngineHandler, Message, Session,
};
use threadsock::service::socketio::{Namespace, SocketIo};
use threadsock::service::web::{self, Cors, Route};

/// `/engine.io/`: every message goes back as it came.
struct Echo;

impl EngineApp for Echo {
    fn open(&self, _session: &Arc<Session>) -> Box<dyn EngineHandler> {
        Box::new(Echo)
    }
}

impl EngineHandler for Echo {
    fn message(&mut self, session: &Arc<Session>, message: Message) -> Result<(), String> {
        session.send(message);
        Ok(())
    }

    fn close(&mut self, _reason: CloseReason) {}
}

/// Every namespace greets a client with the auth payload of its CONNECT.
fn emit_auth(ns: &Namespace) {
    ns.on_connect(|socket, auth| {
        socket.emit("auth", vec![auth.clone()]);
        Ok(())
    });
}

/// The numeric argument at `index`, or `default` when absent; a malformed one exits 2.
fn arg<T: std::str::FromStr>(index: usize, default: T) -> T {
    match std::env::args().nth(index) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: socketio_conformance [PORT [PING_INTERVAL_MS PING_TIMEOUT_MS]]");
            std::process::exit(2)
        }),
    }
}

/// Connections served at once: room for the comparison's 10,000 idle clients.
const MAX_CONNS: usize = 12_000;

fn main() -> std::io::Result<()> {
    // As `threadsock serve` does, while this is the only thread: a descriptor table that grows
    // under load makes `accept` wait for an RCU grace period.
    fd_table::grow(MAX_CONNS + fd_table::SPARE, OsLimits::read().nofile);
    let port: u16 = arg(1, 3000);
    let interval = Duration::from_millis(arg(2, 300));
    let timeout = Duration::from_millis(arg(3, 200));
    let config = |path: &str| EngineConfig {
        path: path.into(),
        ping_interval: interval,
        ping_timeout: timeout,
        max_payload: 1_000_000,
        cors: Cors::Any,
        ..EngineConfig::default()
    };
    let engine = Engine::new(config("/engine.io/"), Box::new(Echo), Flow::new());
    let io = SocketIo::builder()
        .ping(interval, timeout)
        .max_payload(1_000_000)
        .connect_timeout(Duration::from_millis(1000))
        .cors(Cors::Any)
        .build();
    io.of("/").on_connect(|socket, auth| {
        socket.emit("auth", vec![auth.clone()]);
        socket.on_quick("message", |socket, args, _| {
            socket.emit("message-back", args);
        });
        socket.on_quick("message-with-ack", |_, args, ack| {
            if let Some(ack) = ack {
                ack.send(args);
            }
        });
        Ok(())
    });
    emit_auth(&io.of("/custom"));
    let routes: Vec<Arc<dyn Route>> = vec![Arc::new(engine), Arc::new(io)];
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let addr = listener.local_addr()?;
    // Room for the comparison's 10,000 idle clients (the suites open a few).
    let mut server = Server::new(Limits {
        max_conns: MAX_CONNS,
        ..Limits::default()
    });
    server.add_tcp("socketio", listener, move |conn| web::serve(conn, &routes))?;
    println!("listening socketio/tcp {addr}");
    loop {
        std::thread::park();
    }
}
