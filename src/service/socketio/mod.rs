//! A Socket.IO v5 server with a small blocking API, on Engine.IO v4.
//!
//! ```no_run
//! use std::time::Duration;
//! use threadsock::service::socketio::SocketIo;
//!
//! let io = SocketIo::builder().ping(Duration::from_secs(25), Duration::from_secs(20)).build();
//! io.of("/").on_connect(|socket, _auth| {
//!     socket.on("hi", |socket, args, ack| {
//!         socket.broadcast().emit("hi", args.clone()); // everyone else
//!         if let Some(ack) = ack {
//!             ack.send(args); // answer the sender
//!         }
//!     });
//!     socket.join("lobby");
//!     Ok(())
//! });
//! // Serve it with `threadsock::service::web::serve(conn, &[Arc::new(io.clone())])` on each
//! // connection, as `threadsock serve` does.
//! ```
//!
//! # Threading model
//!
//! Blocking, thread per connection, as the rest of threadsock: each HTTP connection runs on
//! its own thread (a long-poll GET waits there), each WebSocket has its connection thread
//! reading, and each client (Engine.IO session) has a thread of its own where its connect and
//! event handlers run, one at a time, in order. A slow handler delays only its own client. A
//! client's handler thread, and its WebSocket's writer thread, run only while they have work:
//! each ends after a quarter of a second idle and the next packet starts another, so an idle
//! WebSocket client holds one thread, its reader. A quick handler ([`Socket::on_quick`]) runs
//! on the reading thread itself when the client's thread has no handler running and nothing
//! waiting. One timer thread keeps every heartbeat.
//! Handles ([`Socket`], [`Namespace`], [`SocketIo`]) are `Send + Clone`: emit from any
//! thread. An emit never blocks: packets wait in the client's outbox, which is bounded; a
//! client that does not read is dropped when it passes the bound (Socket.IO itself buffers
//! without limit).

pub mod chat_app;
mod client;
mod namespace;
pub mod pages;
pub mod stats_feed;

use crate::server::{Connection, Metric};
use crate::service::chat::outbox::Flow;
use crate::service::engineio::{Engine, EngineApp, EngineConfig, EngineHandler, Session};
use crate::service::web::{Cors, Outcome, Request, Route};
pub use namespace::socket::{Ack, AckError, Args, Socket};
pub use namespace::{Broadcast, Namespace, Reject};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

/// Settings of a Socket.IO server.
#[derive(Debug, Clone)]
pub struct Builder {
    engine: EngineConfig,
    connect_timeout: Duration,
    flow: Option<Arc<Flow>>,
}

impl Builder {
    /// Ping interval and ping timeout (25 s and 20 s by default).
    pub fn ping(mut self, interval: Duration, timeout: Duration) -> Builder {
        self.engine.ping_interval = interval;
        self.engine.ping_timeout = timeout;
        self
    }

    /// Largest message or HTTP body, in bytes (1,000,000 by default).
    pub fn max_payload(mut self, bytes: usize) -> Builder {
        self.engine.max_payload = bytes;
        self
    }

    /// How long a client has to connect to a namespace (45 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connect_timeout = timeout;
        self
    }

    /// Where it is served (`/socket.io/` by default).
    pub fn path(mut self, path: &str) -> Builder {
        self.engine.path = path.to_string();
        self
    }

    /// Origins allowed besides the server's own (none by default).
    pub fn cors(mut self, cors: Cors) -> Builder {
        self.engine.cors = cors;
        self
    }

    /// Packets that may wait for one client before it is dropped as too slow.
    pub fn outbox(mut self, packets: usize) -> Builder {
        self.engine.outbox_packets = packets.max(1);
        self
    }

    /// Shares a chat's clock and gate (for clients that are also chat members).
    pub fn flow(mut self, flow: Arc<Flow>) -> Builder {
        self.flow = Some(flow);
        self
    }

    /// The server, with the main namespace `/`.
    pub fn build(self) -> SocketIo {
        let inner = Arc::new(IoInner {
            namespaces: RwLock::new(HashMap::new()),
            engine: OnceLock::new(),
            connect_timeout: self.connect_timeout,
        });
        let app = App {
            io: Arc::downgrade(&inner),
        };
        let flow = self.flow.unwrap_or_else(Flow::new);
        let engine = Engine::new(self.engine, Box::new(app), flow);
        let _ = inner.engine.set(engine);
        let io = SocketIo { inner };
        io.of("/");
        io
    }
}

pub(crate) struct IoInner {
    namespaces: RwLock<HashMap<String, Namespace>>,
    engine: OnceLock<Engine>,
    connect_timeout: Duration,
}

impl IoInner {
    fn engine(&self) -> &Engine {
        self.engine.get().expect("set by build")
    }

    fn namespace(&self, name: &str) -> Option<Namespace> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
}

/// A Socket.IO server. Cheap to clone; clones are the same server. It is a [`Route`]: serve
/// it on HTTP connections with [`web::serve`](crate::service::web::serve).
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<IoInner>,
}

impl fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIo")
            .field("path", &self.inner.engine().config().path)
            .finish()
    }
}

impl SocketIo {
    /// Settings with engine.io's and socket.io's defaults.
    pub fn builder() -> Builder {
        Builder {
            engine: EngineConfig::default(),
            connect_timeout: crate::defaults::CONNECT_TIMEOUT,
            flow: None,
        }
    }

    /// The namespace `name`, created on first use (clients may connect to it from then on).
    pub fn of(&self, name: &str) -> Namespace {
        let mut map = self
            .inner
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_string())
            .or_insert_with(|| Namespace::new(name))
            .clone()
    }

    /// The Engine.IO server under it.
    pub fn engine(&self) -> &Engine {
        self.inner.engine()
    }

    /// Closes every session (WebSockets get close 1001, pending polls a close packet) and
    /// waits at most `timeout` for their writers.
    pub fn shutdown(&self, timeout: Duration) {
        self.engine().shutdown(timeout);
    }

    /// Figures for the `--stats` line: sessions per transport, sockets, packets.
    pub fn metrics(&self) -> Vec<Metric> {
        let mut m = self.engine().metrics();
        let sockets: usize = self
            .inner
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|ns| ns.sockets().len())
            .sum();
        m.push(Metric::Gauge("sio_sockets", sockets as u64));
        m
    }
}

impl Route for SocketIo {
    fn claims(&self, path: &str) -> bool {
        self.engine().claims(path)
    }

    fn max_body(&self) -> usize {
        self.engine().max_body()
    }

    fn serve(&self, req: Request, conn: &mut Connection, rest: &mut Vec<u8>) -> Outcome {
        self.engine().serve(req, conn, rest)
    }
}

/// Socket.IO as an Engine.IO application.
struct App {
    io: Weak<IoInner>,
}

impl EngineApp for App {
    fn open(&self, session: &Arc<Session>) -> Box<dyn EngineHandler> {
        match self.io.upgrade() {
            Some(io) => Box::new(client::open(&io, session)),
            None => Box::new(Refused),
        }
    }
}

/// A session of a server that is being dropped: closed at its first message.
struct Refused;

impl EngineHandler for Refused {
    fn message(
        &mut self,
        _: &Arc<Session>,
        _: crate::service::engineio::Message,
    ) -> Result<(), String> {
        Err("the server is gone".into())
    }

    fn close(&mut self, _: crate::service::engineio::CloseReason) {}
}
