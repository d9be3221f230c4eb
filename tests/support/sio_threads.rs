//! For the tests that count a Socket.IO server's threads by name: serve a `SocketIo` on
//! 127.0.0.1 port 0 in this process, count this process's threads, wait until they are gone,
//! and run such tests one at a time.

use super::WAIT;
use crossbeam_channel::Receiver;
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};
use threadsock::client::sio::SioClient;
use threadsock::server::{Limits, Server};
use threadsock::service::socketio::{Socket, SocketIo};
use threadsock::service::web::{self, Route};

/// The Socket.IO threads that come and go: client handler threads and WebSocket writers.
pub const HELPERS: &[&str] = &["sio#", "eio-ws#"];

/// The tests count this process's threads by name: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the other thread-counting tests of this process off while it lives.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves `io` on 127.0.0.1, port 0.
pub fn serve(io: SocketIo) -> (Server, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let routes: Vec<Arc<dyn Route>> = vec![Arc::new(io)];
    let mut server = Server::new(Limits::default());
    server
        .add_tcp("socketio", listener, move |conn| web::serve(conn, &routes))
        .unwrap();
    (server, addr)
}

/// This process's threads whose names start with one of `prefixes`.
pub fn threads_named(prefixes: &[&str]) -> usize {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("comm")).ok())
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
        .count()
}

/// Waits (at most [`WAIT`]) until `f` holds; whether it does.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Waits until no [`HELPERS`] thread is left (from an earlier test's server, say).
pub fn no_helpers_left() {
    assert!(
        eventually(|| threads_named(HELPERS) == 0),
        "helper threads left: {}",
        threads_named(HELPERS)
    );
}

/// Serves a `SocketIo` whose sockets acknowledge `echo` with its own arguments, the handler
/// registered with `on_quick` if `quick`, else with `on`.
pub fn serve_echo(quick: bool) -> (Server, SocketAddr) {
    let io = SocketIo::builder().build();
    io.of("/").on_connect(move |socket, _| {
        let echo = |_: &_, args, ack: Option<threadsock::service::socketio::Ack>| {
            if let Some(ack) = ack {
                ack.send(args);
            }
        };
        if quick {
            socket.on_quick("echo", echo);
        } else {
            socket.on("echo", echo);
        }
        Ok(())
    });
    serve(io)
}

/// Serves a `SocketIo` whose sockets get `handlers` registered on connect; also returns the
/// reasons its sockets disconnect with, in order.
pub fn serve_noting_disconnects(
    handlers: impl Fn(&Socket) + Send + Sync + 'static,
) -> (Server, SocketAddr, Receiver<String>) {
    let io = SocketIo::builder().build();
    let (tx, rx) = crossbeam_channel::unbounded();
    io.of("/").on_connect(move |socket, _| {
        let tx = tx.clone();
        socket.on_disconnect(move |_, reason| {
            let _ = tx.send(reason.to_string());
        });
        handlers(socket);
        Ok(())
    });
    let (server, addr) = serve(io);
    (server, addr, rx)
}

/// A client emits `boom` (whose handler panics): its session must close, and the server must
/// give "parse error" as the reason.
pub fn boom_closes_its_session(addr: SocketAddr, disconnects: &Receiver<String>) {
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    c.emit("boom", vec![], None).unwrap();
    assert!(c.next_packet().is_err(), "the session should be closed");
    assert_eq!(disconnects.recv_timeout(WAIT).unwrap(), "parse error");
}
