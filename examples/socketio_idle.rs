//! Comparison server for idle memory: threadsock's Socket.IO accepting clients on namespace `/`
//! with default settings (ping 25 s / 20 s) and sending them nothing, so `threadsock bench
//! sio-idle` measures what a held connection costs and nothing else. Built from the public API
//! alone, like `socketio_conformance.rs`.
//!
//! ```sh
//! cargo run --release --example socketio_idle -- 9003 [MAX_CONNS]   # port 0 lets the OS pick
//! ```
//!
//! Prints `listening socketio/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
//! Holds at most MAX_CONNS connections, with no idle timeout. Without MAX_CONNS, as many as
//! `threadsock serve` would on this machine: the OS thread and mapping limits divided by the
//! threads a busy client may use (it says so on stderr). An idle client holds one thread, so
//! an explicit MAX_CONNS above that is safe while the clients stay idle.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use threadsock::server::{cap_max_conns, fd_table, Limits, OsLimits, Server};
use threadsock::service::socketio::SocketIo;
use threadsock::service::web::{self, Route};
use threadsock::service::Service;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(p) => p.parse()?,
        None => 0,
    };
    let wanted: Option<usize> = args.next().map(|n| n.parse()).transpose()?;
    let max_conns = wanted.unwrap_or_else(|| {
        let ceiling = OsLimits::read().ceiling();
        let per_client = Service::SocketIo.threads_per_client();
        let (max_conns, note) = cap_max_conns(100_000, ceiling.as_ref(), per_client);
        if let Some(note) = note {
            eprintln!("{note}");
        }
        max_conns
    });
    // As `threadsock serve` does, before the first thread: a descriptor table that grows under
    // load makes `accept` wait for an RCU grace period.
    fd_table::grow(max_conns + fd_table::SPARE, OsLimits::read().nofile);
    let limits = Limits {
        max_conns,
        idle_timeout: None,
        ..Limits::default()
    };
    let io = SocketIo::builder().build();
    io.of("/").on_connect(|_socket, _auth| Ok(()));
    let routes: Vec<Arc<dyn Route>> = vec![Arc::new(io)];
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let addr = listener.local_addr()?;
    let mut server = Server::new(limits);
    server.add_tcp("socketio", listener, move |conn| web::serve(conn, &routes))?;
    println!("listening socketio/tcp {addr}");
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
