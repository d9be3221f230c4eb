//! One Engine.IO session: its transport state (polling, upgrading, WebSocket), the outbox its
//! packets wait in for whichever transport drains it, the heartbeat, and the close that ends it
//! once, whoever asks.
//!
//! Packets in the outbox are Engine.IO packets as bytes: a text packet as its text (`4hello`,
//! `2`), a binary one as `b` followed by the raw bytes. Polling frames them as a payload, a
//! WebSocket writer (`ws_writer`) as one frame each.

use super::{EngineApp, EngineHandler, EngineInner, Message};
use crate::net::Stream;
use crate::server::CountingWriter;
use crate::service::chat::outbox::{self, Batch, Flow, HandOver, Marks, Outbox, OutboxSender};
use crate::service::chat::Packet;
use crossbeam_channel::{Receiver, Sender};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Which transport carries the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// A WebSocket has connected with this sid and is probing; polling goes on meanwhile.
    Upgrading,
    /// WebSocket only.
    WebSocket,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent a close packet.
    ClientClose,
    /// The connection carrying the session closed or failed.
    TransportClose,
    /// No pong within the ping timeout.
    PingTimeout,
    /// The client sent something the protocol does not allow.
    ParseError,
    /// A second GET while one was pending, or a second POST.
    Overlap,
    /// The client did not read what it was sent.
    TooSlow,
    /// The application closed it (e.g. no Socket.IO connect in time).
    Server,
    /// The server is stopping.
    Shutdown,
}

impl CloseReason {
    /// Socket.IO's name for it (what `disconnect` handlers are told).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClose => "transport close",
            CloseReason::TransportClose => "transport close",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::Overlap => "transport error",
            CloseReason::TooSlow => "too slow",
            CloseReason::Server => "server namespace disconnect",
            CloseReason::Shutdown => "server shutting down",
        }
    }
}

/// What wakes a pending long-poll GET besides packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// Answer `6` (noop): an upgrade is under way, or the client closed.
    Noop,
    /// Answer `1` (close): the server closed the session.
    Close,
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) transport: Transport,
    pub(super) closed: bool,
    /// Bumped by every ping sent; a timeout fires only for the ping it was set for.
    ping_seq: u64,
    awaiting_pong: bool,
    /// When the pong for the last ping is due: from the ping's planned time, not from when
    /// the timer thread got to it.
    pong_due: Option<Instant>,
    reason: Option<CloseReason>,
}

/// The WebSocket under a session.
#[derive(Debug, Default)]
pub(super) struct WsLink {
    /// The socket of the WebSocket carrying the session, or probing to: a close shuts it down
    /// to wake its reader when no writer can send a close frame.
    pub(super) stream: Option<Arc<Stream>>,
    /// Its writing end, once the session has moved to it for good; each writer gets a clone.
    pub(super) out: Option<CountingWriter>,
    /// Writers running (one at a time; a second starts only after the first parked): writer
    /// threads, and the session's own thread while it writes through.
    pub(super) writers: usize,
    /// Threads in `wait_writers`, waiting for `writers` to reach 0: the last writer wakes
    /// them only if there are any (a futex call per write-through otherwise).
    pub(super) writer_waiters: usize,
    /// True while the socket's write timeout is the write-through's brief one (a writer
    /// thread sets its own when it starts).
    pub(super) brief_timeout: bool,
    /// Writer threads waiting, without the outbox, to be handed it (see `ws_writer`).
    pub(super) idle_writers: usize,
    /// The outbox handed to one of them, until it takes it.
    pub(super) handed: Option<Handed>,
}

/// An outbox handed to a writer thread, and what it is to write first.
#[derive(Debug)]
pub(super) struct Handed {
    pub(super) outbox: Outbox,
    pub(super) pending: Option<Pending>,
}

/// The rest of a write the own thread began (see `write_through`): its bytes, the batch they
/// carry, and whether the last frame is among them.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) bytes: Vec<u8>,
    pub(super) batch: Batch,
    pub(super) last: bool,
}

/// One Engine.IO session; shared by the threads of the requests that carry it.
pub struct Session {
    /// The session id.
    pub sid: String,
    pub(super) state: Mutex<State>,
    pub(super) sender: OutboxSender,
    /// The receiving end, parked here while no transport drains it; taken by a GET, or by a
    /// WebSocket writer thread while it runs.
    pub(super) outbox: Mutex<Option<Outbox>>,
    /// What wakes a pending long-poll GET; only sessions that begin on polling have one.
    wake: Option<(Sender<Wake>, Receiver<Wake>)>,
    /// The WebSocket under the session, and its writer threads (see `ws_writer`).
    pub(super) ws: Mutex<WsLink>,
    /// Signalled when the last writer (a thread, or a write-through) ends while
    /// `wait_writers` waits.
    pub(super) ws_idle: Condvar,
    /// Signalled when the outbox is handed to an idle writer thread.
    pub(super) ws_handed: Condvar,
    /// This session, for the threads it starts.
    pub(super) me: Weak<Session>,
    pub(super) get_busy: AtomicBool,
    pub(super) post_busy: AtomicBool,
    handler: Mutex<Option<Box<dyn EngineHandler>>>,
    pub(super) engine: Weak<EngineInner>,
    pub(super) flow: Arc<Flow>,
    marks: Marks,
    /// Threads marked as the session's own now (see `write_through`).
    pub(super) own_threads: AtomicUsize,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("sid", &self.sid).finish()
    }
}

impl Session {
    /// A new session on `transport`; `app` gives it its handler.
    ///
    /// Its parts are made one after another, not one inside the other (the calls below are
    /// kept out of line): a WebSocket's reader opens its session, and the deepest point of that
    /// is the deepest its stack ever gets, whose pages it keeps for the connection's life.
    pub(super) fn new(
        engine: &Arc<EngineInner>,
        sid: String,
        transport: Transport,
        app: &dyn EngineApp,
    ) -> Arc<Session> {
        let (sender, outbox) = new_outbox(engine);
        let session = Session::assemble(engine, sid, transport, sender, outbox);
        let me = Weak::clone(&session.me);
        session.sender.on_first(move || {
            if let Some(session) = me.upgrade() {
                // (The own thread hands over quietly and writes the packets itself: see
                // `send_packets` and `send_frame`.)
                session.ensure_writer();
            }
        });
        let handler = app.open(&session);
        *lock(&session.handler) = Some(handler);
        session
    }

    #[inline(never)]
    fn assemble(
        engine: &Arc<EngineInner>,
        sid: String,
        transport: Transport,
        sender: OutboxSender,
        outbox: Outbox,
    ) -> Arc<Session> {
        let wake = (transport == Transport::Polling).then(|| crossbeam_channel::bounded(4));
        Arc::new_cyclic(|me: &Weak<Session>| Session {
            sid,
            state: Mutex::new(State {
                transport,
                closed: false,
                ping_seq: 0,
                awaiting_pong: false,
                pong_due: None,
                reason: None,
            }),
            sender,
            outbox: Mutex::new(Some(outbox)),
            wake,
            ws: Mutex::new(WsLink::default()),
            ws_idle: Condvar::new(),
            ws_handed: Condvar::new(),
            me: me.clone(),
            get_busy: AtomicBool::new(false),
            post_busy: AtomicBool::new(false),
            handler: Mutex::new(None),
            engine: Arc::downgrade(engine),
            flow: Arc::clone(&engine.flow),
            marks: engine.marks,
            own_threads: AtomicUsize::new(0),
        })
    }

    /// A name for a thread of this session: `prefix` and the sid's first six characters, made
    /// in one allocation (`format!` grows its string as it goes, a deeper path for the reader
    /// that asks).
    pub(crate) fn thread_name(&self, prefix: &str) -> String {
        let tag = &self.sid[..6.min(self.sid.len())];
        let mut name = String::with_capacity(prefix.len() + tag.len());
        name.push_str(prefix);
        name.push_str(tag);
        name
    }

    /// The session's transport now.
    pub fn transport(&self) -> Transport {
        lock(&self.state).transport
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Queues a message for the client. False if the session is closed or was just closed for
    /// not reading (the outbox passed its hard mark).
    pub fn send(&self, message: Message) -> bool {
        let packet: Packet = match message {
            Message::Text(text) => {
                let mut bytes = Vec::with_capacity(text.len() + 1);
                bytes.push(b'4');
                bytes.extend_from_slice(text.as_bytes());
                bytes.into()
            }
            Message::Binary(data) => binary_packet(&data),
        };
        self.send_packets(vec![packet])
    }

    /// Queues already-encoded Engine.IO packets (see the module docs), in order, as one batch.
    /// On the session's own thread (see [`Session::own_thread`]) they are written through to
    /// the WebSocket at once when no writer thread is busy with it.
    pub fn send_packets(&self, packets: Vec<Packet>) -> bool {
        if self.is_closed() {
            return false;
        }
        match self.hand_over(packets, self.marks) {
            HandOver::Sent | HandOver::Behind => true,
            HandOver::Overflow => {
                self.outbox_kick();
                self.close(CloseReason::TooSlow);
                false
            }
            HandOver::Gone => false,
        }
    }

    /// The sending end of this session's outbox, for a producer of its own (a chat member).
    pub fn outbox_sender(&self) -> OutboxSender {
        self.sender.clone()
    }

    fn outbox_kick(&self) {
        self.sender.kick(&self.flow);
    }

    /// Closes the session (once): the pending GET is answered, the WebSocket closed, the
    /// application told, the session forgotten.
    pub fn close(&self, reason: CloseReason) {
        {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            state.closed = true;
        }
        let wake = if reason == CloseReason::ClientClose {
            Wake::Noop
        } else {
            Wake::Close
        };
        self.wake(wake);
        self.close_websocket(reason);
        if let Some(engine) = self.engine.upgrade() {
            engine.forget(self, reason);
        }
        lock(&self.state).reason = Some(reason);
        // Never wait here (the timer thread closes sessions): if a transport thread is inside
        // the handler, it tells the handler when it comes out (see `deliver`).
        let handler = match self.handler.try_lock() {
            Ok(mut guard) => guard.take(),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(mut handler) = handler {
            handler.close(reason);
        }
    }

    /// Hands a message from the client to the application; on a protocol error, closes and
    /// returns false.
    pub(super) fn deliver(self: &Arc<Self>, message: Message) -> bool {
        let result = match lock(&self.handler).as_mut() {
            Some(handler) => handler.message(self, message),
            None => Ok(()),
        };
        if result.is_err() {
            self.close(CloseReason::ParseError);
        }
        // A close that came while the handler was busy left the telling to this thread.
        let reason = {
            let state = lock(&self.state);
            if state.closed {
                state.reason
            } else {
                None
            }
        };
        if let Some(reason) = reason {
            let handler = lock(&self.handler).take();
            if let Some(mut handler) = handler {
                handler.close(reason);
            }
        }
        result.is_ok()
    }

    /// Schedules the next ping `after` from now, and the pong timeout after it.
    pub(super) fn schedule_ping(self: &Arc<Self>, after: Duration) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        let weak = Arc::downgrade(self);
        let timeout = engine.config.ping_timeout;
        let timer = engine.timer.clone();
        let ping_at = Instant::now() + after;
        engine.timer.at(ping_at, move || {
            let Some(session) = weak.upgrade() else {
                return;
            };
            let due = ping_at + timeout;
            let seq = {
                let mut state = lock(&session.state);
                if state.closed {
                    return;
                }
                state.ping_seq += 1;
                state.awaiting_pong = true;
                state.pong_due = Some(due);
                state.ping_seq
            };
            session.send_packets(vec![Packet::from(&b"2"[..])]);
            let weak = Arc::downgrade(&session);
            timer.at(due, move || {
                let Some(session) = weak.upgrade() else {
                    return;
                };
                let late = {
                    let state = lock(&session.state);
                    state.awaiting_pong && state.ping_seq == seq
                };
                if late {
                    session.close(CloseReason::PingTimeout);
                }
            });
        });
    }

    /// Closes the session if its pong is overdue, whether or not the timer thread has got to
    /// it yet; true if the session is (now) closed. Requests check this first.
    pub(super) fn check_pong(&self) -> bool {
        let overdue = {
            let state = lock(&self.state);
            if state.closed {
                return true;
            }
            state.awaiting_pong && state.pong_due.is_some_and(|due| Instant::now() >= due)
        };
        if overdue {
            self.close(CloseReason::PingTimeout);
        }
        overdue
    }

    /// A pong arrived: the next ping is due a ping interval from now.
    pub(super) fn pong(self: &Arc<Self>) {
        let interval = {
            let mut state = lock(&self.state);
            if !state.awaiting_pong {
                return;
            }
            state.awaiting_pong = false;
            self.engine.upgrade().map(|e| e.config.ping_interval)
        };
        if let Some(interval) = interval {
            self.schedule_ping(interval);
        }
    }
}

/// A session's outbox, both ends.
#[inline(never)]
fn new_outbox(engine: &EngineInner) -> (OutboxSender, Outbox) {
    outbox::outbox(&engine.flow, engine.marks, engine.alive_token())
}

/// An Engine.IO binary packet as the outbox holds it.
pub fn binary_packet(data: &[u8]) -> Packet {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(b'b');
    bytes.extend_from_slice(data);
    bytes.into()
}

impl Session {
    /// Puts the outbox back after a GET; if the session has moved to a WebSocket meanwhile,
    /// a writer takes what waits in it.
    pub(super) fn return_outbox(&self, outbox: Outbox) {
        *lock(&self.outbox) = Some(outbox);
        self.ensure_writer();
    }

    /// Wakes a pending long-poll GET (a session that began on WebSocket has none): the wake
    /// is queued, then the GET's wait on the outbox interrupted.
    pub(super) fn wake(&self, wake: Wake) {
        if let Some((tx, _)) = &self.wake {
            let _ = tx.try_send(wake);
            self.sender.interrupt();
        }
    }

    /// What wakes this session's long-poll GETs; `None` for a session that began on WebSocket.
    pub(super) fn wake_rx(&self) -> Option<&Receiver<Wake>> {
        self.wake.as_ref().map(|(_, rx)| rx)
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
