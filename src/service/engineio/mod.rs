//! Engine.IO v4 server: sessions over HTTP long-polling and WebSocket, the upgrade between
//! them, and the heartbeat. An application (Socket.IO, or the plain echo of the conformance
//! suite) sees only sessions and messages.
//!
//! Threads: each HTTP request runs on its connection's thread (a long-poll GET waits there
//! for packets); a WebSocket's connection thread reads it, and a writer thread of its own
//! writes it while there is something to write (it ends after a quarter of a second without,
//! and the next packet starts another); one timer thread sends every session's pings,
//! enforces every pong timeout, and starts those writer threads. The application may mark a
//! thread as a session's own ([`Session::own_thread`]): what that thread sends it writes to
//! the WebSocket itself when no writer is busy, with no writer thread woken.

mod polling;
pub mod session;
mod websocket;
mod write_through;
mod ws_writer;

use crate::codec::engineio::ErrorCode;
use crate::codec::http::Response;
use crate::server::{Connection, Metric, Timer};
use crate::service::chat::outbox::{Flow, Marks};
use crate::service::web::{Cors, Outcome, Request, Route};
use crossbeam_channel::{Receiver, Sender};
pub use session::{CloseReason, Session, Transport};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
pub use write_through::OwnThread;

/// Bytes that may wait for one client before it is dropped as too slow (at least two
/// messages of the largest size).
const SOCKETIO_HARD_BYTES: usize = 8 << 20;

/// A message between client and application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// An application on top of Engine.IO: gives each new session its handler.
pub trait EngineApp: Send + Sync {
    /// A session opened.
    fn open(&self, session: &Arc<Session>) -> Box<dyn EngineHandler>;
}

/// One session's application state. Calls for one session never overlap.
pub trait EngineHandler: Send {
    /// A message from the client. An error closes the session (the client broke the protocol).
    fn message(&mut self, session: &Arc<Session>, message: Message) -> Result<(), String>;

    /// The session ended. Must not block: it may be called on the timer thread.
    fn close(&mut self, reason: CloseReason);
}

/// Engine.IO settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Where it is served, e.g. `/socket.io/`.
    pub path: String,
    /// Time between pings.
    pub ping_interval: Duration,
    /// How long a pong may take.
    pub ping_timeout: Duration,
    /// Largest message and HTTP body accepted, in bytes.
    pub max_payload: usize,
    /// Packets that may wait for one client before it is dropped as too slow.
    pub outbox_packets: usize,
    /// Origins allowed.
    pub cors: Cors,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: crate::defaults::SOCKETIO_PATH.to_string(),
            ping_interval: crate::defaults::PING_INTERVAL,
            ping_timeout: crate::defaults::PING_TIMEOUT,
            max_payload: crate::defaults::MAX_PAYLOAD,
            outbox_packets: crate::defaults::SOCKETIO_OUTBOX,
            cors: Cors::SameOrigin,
        }
    }
}

/// Counters for `--stats`.
#[derive(Debug, Default)]
pub(crate) struct EngineStats {
    opened: AtomicU64,
    packets_in: AtomicU64,
    /// Long-poll GETs waiting for packets now.
    pub(crate) polls_waiting: AtomicU64,
}

/// The shared state of an engine.
pub(crate) struct EngineInner {
    pub(crate) config: EngineConfig,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    app: Box<dyn EngineApp>,
    pub(crate) timer: Timer,
    pub(crate) flow: Arc<Flow>,
    pub(crate) marks: Marks,
    pub(crate) stats: EngineStats,
    alive: Mutex<Option<Sender<()>>>,
    all_gone: Receiver<()>,
}

impl fmt::Debug for EngineInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.config.path)
            .finish()
    }
}

/// An Engine.IO server: a [`Route`] for its path. Clones share it.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl Engine {
    /// An engine serving `app` with `config`; `flow` is the clock and gate its outboxes use
    /// (the chat's, when its sessions join the chat).
    pub fn new(config: EngineConfig, app: Box<dyn EngineApp>, flow: Arc<Flow>) -> Engine {
        let timer = Timer::start("engineio-timer").expect("start the timer thread");
        let marks = Marks {
            hard_bytes: SOCKETIO_HARD_BYTES.max(2 * config.max_payload),
            ..Marks::for_outbox(config.outbox_packets, config.outbox_packets)
        };
        let (alive, all_gone) = crossbeam_channel::bounded(0);
        Engine {
            inner: Arc::new(EngineInner {
                config,
                sessions: Mutex::new(HashMap::new()),
                app,
                timer,
                flow,
                marks,
                stats: EngineStats::default(),
                alive: Mutex::new(Some(alive)),
                all_gone,
            }),
        }
    }

    /// The timer thread, for the application's own timeouts.
    pub fn timer(&self) -> &Timer {
        &self.inner.timer
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Closes every session (WebSockets get close 1001, pending polls a close packet) and
    /// waits at most `timeout` for their writers to finish.
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        session::lock(&self.inner.alive).take();
        let sessions: Vec<Arc<Session>> = session::lock(&self.inner.sessions)
            .values()
            .cloned()
            .collect();
        for s in sessions {
            s.close(CloseReason::Shutdown);
        }
        let _ = self.inner.all_gone.recv_deadline(deadline);
        self.inner.timer.stop();
    }

    /// Figures for the `--stats` line.
    pub fn metrics(&self) -> Vec<Metric> {
        let sessions = session::lock(&self.inner.sessions);
        let ws = sessions
            .values()
            .filter(|s| s.transport() == Transport::WebSocket)
            .count();
        vec![
            Metric::Gauge("sio_sessions_polling", (sessions.len() - ws) as u64),
            Metric::Gauge("sio_sessions_websocket", ws as u64),
            Metric::Rate("sio_sessions_opened", self.inner.stats.opened.load(Relaxed)),
            Metric::Rate("sio_packets_in", self.inner.stats.packets_in.load(Relaxed)),
            Metric::Gauge(
                "sio_polls_waiting",
                self.inner.stats.polls_waiting.load(Relaxed),
            ),
        ]
    }
}

impl EngineInner {
    /// A clone of the token every outbox holds while its writer runs (none once stopping).
    pub(crate) fn alive_token(&self) -> Sender<()> {
        session::lock(&self.alive).clone().unwrap_or_else(|| {
            // Stopping: a token nobody waits for.
            crossbeam_channel::bounded(0).0
        })
    }

    /// Forgets a closed session.
    pub(crate) fn forget(&self, session: &Session, _reason: CloseReason) {
        session::lock(&self.sessions).remove(&session.sid);
    }

    /// True once [`Engine::shutdown`] has begun: no new sessions.
    fn is_stopping(&self) -> bool {
        session::lock(&self.alive).is_none()
    }

    fn open(self: &Arc<Self>, transport: Transport) -> Option<Arc<Session>> {
        if self.is_stopping() {
            return None;
        }
        let sid = new_sid();
        let session = Session::new(self, sid.clone(), transport, self.app.as_ref());
        session::lock(&self.sessions).insert(sid, Arc::clone(&session));
        self.stats.opened.fetch_add(1, Relaxed);
        session.schedule_ping(self.config.ping_interval);
        Some(session)
    }

    fn find(&self, sid: &str) -> Option<Arc<Session>> {
        session::lock(&self.sessions).get(sid).cloned()
    }

    /// The handshake packet for a new session.
    fn open_packet(&self, sid: &str, upgrades: &[&str]) -> String {
        let c = &self.config;
        let mut packet = String::with_capacity(1 + crate::codec::engineio::OPEN_PAYLOAD_LEN);
        packet.push('0');
        crate::codec::engineio::open_payload_into(
            sid,
            upgrades,
            (
                c.ping_interval.as_millis() as u64,
                c.ping_timeout.as_millis() as u64,
            ),
            c.max_payload as u64,
            &mut packet,
        );
        packet
    }

    fn counted_in(&self, n: usize) {
        self.stats.packets_in.fetch_add(n as u64, Relaxed);
    }
}

impl Route for Engine {
    fn claims(&self, path: &str) -> bool {
        let p = &self.inner.config.path;
        path == p || path == p.trim_end_matches('/')
    }

    fn max_body(&self) -> usize {
        self.inner.config.max_payload
    }

    fn serve(&self, req: Request, _conn: &mut Connection, _rest: &mut Vec<u8>) -> Outcome {
        let inner = &self.inner;
        let cors = &inner.config.cors;
        let head = &req.head;
        if head.method == "OPTIONS" {
            return Outcome::Respond(cors.preflight(head));
        }
        if !cors.allows(head) {
            return Outcome::Respond(error(ErrorCode::Forbidden, 403));
        }
        let transport = head.query_param("transport");
        let sid = head.query_param("sid");
        let reply = |resp: Response| Outcome::Respond(cors.apply(head, resp));
        match transport.as_deref() {
            Some("polling") | Some("websocket") => {}
            _ => return reply(error(ErrorCode::UnknownTransport, 400)),
        }
        let websocket = transport.as_deref() == Some("websocket");
        let Some(sid) = sid else {
            if head.query_param("EIO").as_deref() != Some("4") {
                return reply(error(ErrorCode::UnsupportedProtocolVersion, 400));
            }
            if head.method != "GET" {
                return reply(error(ErrorCode::BadHandshakeMethod, 400));
            }
            if websocket {
                return websocket::open(inner, req);
            }
            return match inner.open(Transport::Polling) {
                Some(s) => reply(polling::text(inner.open_packet(&s.sid, &["websocket"]))),
                None => reply(error(ErrorCode::BadRequest, 503)),
            };
        };
        let Some(session) = inner.find(&sid).filter(|s| !s.check_pong()) else {
            return reply(error(ErrorCode::UnknownSid, 400));
        };
        if websocket {
            return websocket::upgrade(inner, &session, req);
        }
        let resp = match head.method.as_str() {
            "GET" => polling::get(inner, &session),
            "POST" => polling::post(inner, &session, &req.body),
            _ => error(ErrorCode::BadRequest, 400),
        };
        reply(resp)
    }
}

/// An Engine.IO error response: `{"code":N,"message":"..."}`.
pub(crate) fn error(code: ErrorCode, status: u16) -> Response {
    Response::new(status).body("application/json", code.body().into_bytes())
}

/// A new session id: 15 random bytes from the OS, base64url without padding (20 characters).
fn new_sid() -> String {
    let mut bytes = [0u8; 15];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !filled {
        // No /dev/urandom: time and a counter, still unique in this process.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes[..8].copy_from_slice(&t.to_le_bytes());
        bytes[8..15].copy_from_slice(&n.to_le_bytes()[..7]);
    }
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(20);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
        }
    }
    out
}

/// Random ids for Socket.IO sockets too.
pub fn random_id() -> String {
    new_sid()
}
