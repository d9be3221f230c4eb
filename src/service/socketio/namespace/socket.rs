//! A connected Socket.IO socket as a handle ([`Socket`]: `Send + Clone`): its event handlers,
//! emits (with or without an acknowledgement), rooms, and disconnection; and [`Ack`], the
//! reply to an event the client sent with an ack id.

use super::{Broadcast, Namespace};
use crate::codec::json::Value;
use crate::codec::socketio::{self, Packet};
use crate::service::chat::Packet as OutPacket;
use crate::service::engineio::session::binary_packet;
use crate::service::engineio::Session;
use crossbeam_channel::{RecvTimeoutError, Sender};
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The arguments of an event or an acknowledgement.
pub type Args = Vec<Value>;

type EventHandler = Box<dyn FnMut(&Socket, Args, Option<Ack>) + Send>;

/// An event's handler, and whether it may run on the thread that read the event.
struct Handler {
    run: EventHandler,
    quick: bool,
}
type DisconnectHandler = Box<dyn FnOnce(&Socket, &str) + Send>;
type ConnectedHandler = Box<dyn FnOnce(&Socket) + Send>;

/// Why [`Socket::emit_with_ack`] got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckError {
    /// No answer within the timeout.
    Timeout,
    /// The socket disconnected first.
    Disconnected,
    /// Called from a handler registered with [`Socket::on_quick`]: it runs on the thread that
    /// reads the client's packets, the one that would take the acknowledgement, so waiting
    /// for it there could never end. Nothing was sent.
    FromQuickHandler,
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "no acknowledgement in time",
            AckError::Disconnected => "disconnected before the acknowledgement",
            AckError::FromQuickHandler => {
                "emit_with_ack cannot wait inside a quick handler (it runs on the reading thread)"
            }
        })
    }
}

impl std::error::Error for AckError {}

pub(crate) struct SocketInner {
    id: String,
    ns: Namespace,
    session: Arc<Session>,
    handlers: Mutex<HashMap<String, Handler>>,
    /// Set once any handler is registered with [`Socket::on_quick`]: until then no event needs
    /// a look into `handlers` on the reading thread.
    has_quick: AtomicBool,
    on_disconnect: Mutex<Vec<DisconnectHandler>>,
    after_connect: Mutex<Vec<ConnectedHandler>>,
    acks: Mutex<HashMap<u64, Sender<Args>>>,
    next_ack: AtomicU64,
    connected: AtomicBool,
    /// Emits made before the CONNECT answer went out (in the connect handler).
    held: Mutex<Option<Vec<OutPacket>>>,
    rooms: Mutex<BTreeSet<String>>,
}

/// A client's connection to one namespace. Cheap to clone; every clone is the same socket.
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<SocketInner>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id)
            .field("nsp", &self.inner.ns.name())
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(id: String, ns: Namespace, session: Arc<Session>) -> Socket {
        Socket {
            inner: Arc::new(SocketInner {
                id,
                ns,
                session,
                handlers: Mutex::new(HashMap::new()),
                has_quick: AtomicBool::new(false),
                on_disconnect: Mutex::new(Vec::new()),
                after_connect: Mutex::new(Vec::new()),
                acks: Mutex::new(HashMap::new()),
                next_ack: AtomicU64::new(0),
                connected: AtomicBool::new(false),
                held: Mutex::new(Some(Vec::new())),
                rooms: Mutex::new(BTreeSet::new()),
            }),
        }
    }

    /// The socket's id (also the name of its own room).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Its namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.inner.ns
    }

    /// The Engine.IO session under it.
    pub fn session(&self) -> &Arc<Session> {
        &self.inner.session
    }

    /// True until it disconnects.
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(SeqCst) || lock(&self.inner.held).is_some()
    }

    /// Handles the client's event `event`: `handler` gets the arguments and, if the client
    /// asked for one, the [`Ack`] to answer with. Handlers run on this client's own thread, one
    /// at a time, in arrival order. A later `on` for the same event replaces the handler.
    pub fn on(
        &self,
        event: &str,
        handler: impl FnMut(&Socket, Args, Option<Ack>) + Send + 'static,
    ) {
        self.set_handler(event, Box::new(handler), false);
    }

    /// Handles `event` as [`Socket::on`] does, but quickly: when the client has no handler
    /// running and nothing waiting, `handler` runs on the thread that read the packet (the
    /// client's WebSocket reader, or the HTTP thread of a long-polling POST), saving the
    /// hand-over to the client's thread; otherwise it is queued behind the rest and runs there.
    /// Either way the client's events are handled one at a time in arrival order, and what
    /// `handler` sends this client (an [`Ack`], an emit) is written through as from the
    /// client's thread. `handler` must not block: no waiting on locks held long, no slow work,
    /// no [`Socket::emit_with_ack`] (which returns [`AckError::FromQuickHandler`] from it at
    /// once, wherever it runs): while it runs, no packet of this client is read. It may run on
    /// the reader's smaller stack. A panic in it closes the session, as one in any handler does.
    pub fn on_quick(
        &self,
        event: &str,
        handler: impl FnMut(&Socket, Args, Option<Ack>) + Send + 'static,
    ) {
        self.set_handler(event, Box::new(handler), true);
    }

    fn set_handler(&self, event: &str, run: EventHandler, quick: bool) {
        if quick {
            self.inner.has_quick.store(true, SeqCst);
        }
        lock(&self.inner.handlers).insert(event.to_string(), Handler { run, quick });
    }

    /// True if `event` has a handler registered with [`Socket::on_quick`] (and not running).
    pub(crate) fn is_quick(&self, event: &str) -> bool {
        self.inner.has_quick.load(SeqCst)
            && lock(&self.inner.handlers)
                .get(event)
                .is_some_and(|h| h.quick)
    }

    /// Runs `handler` once the client has been told it is connected (after the connect
    /// handler returned `Ok` and its CONNECT answer went out), on the client's thread: the
    /// place for work whose own messages must come after that answer.
    pub fn after_connect(&self, handler: impl FnOnce(&Socket) + Send + 'static) {
        lock(&self.inner.after_connect).push(Box::new(handler));
    }

    /// Runs `handler` once when the socket disconnects, with the reason.
    pub fn on_disconnect(&self, handler: impl FnOnce(&Socket, &str) + Send + 'static) {
        lock(&self.inner.on_disconnect).push(Box::new(handler));
    }

    /// Sends the client an event. Never waits on the client: from this client's own handlers
    /// it may be written at once (for at most a tick of the clock if its socket is full, then
    /// a writer thread takes over); false if the socket is gone, or its client had so much
    /// unread that it was just dropped.
    pub fn emit(&self, event: &str, args: Args) -> bool {
        let packet = socketio::event(self.inner.ns.name(), event, args, None);
        self.send(encode(&packet))
    }

    /// Sends the client an event and waits (at most `timeout`) for its acknowledgement. Do not
    /// call it from this socket's own handlers with a long timeout: they run on the thread
    /// that would run the next ones (the acknowledgement itself is taken on the reading thread,
    /// so it does arrive). From a quick handler ([`Socket::on_quick`]) it sends nothing and
    /// returns [`AckError::FromQuickHandler`] at once: that handler runs on a reading thread.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Args,
        timeout: Duration,
    ) -> Result<Args, AckError> {
        if in_quick_handler() {
            return Err(AckError::FromQuickHandler);
        }
        let id = self.inner.next_ack.fetch_add(1, SeqCst);
        let (tx, rx) = crossbeam_channel::bounded(1);
        lock(&self.inner.acks).insert(id, tx);
        let packet = socketio::event(self.inner.ns.name(), event, args, Some(id));
        if !self.send(encode(&packet)) {
            lock(&self.inner.acks).remove(&id);
            return Err(AckError::Disconnected);
        }
        let answer = rx.recv_timeout(timeout);
        lock(&self.inner.acks).remove(&id);
        answer.map_err(|e| match e {
            RecvTimeoutError::Timeout => AckError::Timeout,
            RecvTimeoutError::Disconnected => AckError::Disconnected,
        })
    }

    /// Joins `room` in this namespace.
    pub fn join(&self, room: &str) {
        if lock(&self.inner.rooms).insert(room.to_string()) {
            self.inner.ns.add_to_room(room, self);
        }
    }

    /// Leaves `room`.
    pub fn leave(&self, room: &str) {
        if lock(&self.inner.rooms).remove(room) {
            self.inner.ns.remove_from_room(room, self.id());
        }
    }

    /// The rooms it is in (besides its own).
    pub fn rooms(&self) -> Vec<String> {
        lock(&self.inner.rooms).iter().cloned().collect()
    }

    /// Everyone in `room` but this socket.
    pub fn to(&self, room: &str) -> Broadcast {
        self.inner.ns.to(room).except(self.id())
    }

    /// Everyone in the namespace but this socket.
    pub fn broadcast(&self) -> Broadcast {
        self.inner.ns.everyone().except(self.id())
    }

    /// Disconnects it from the namespace (the client is told; the Engine.IO session stays).
    pub fn disconnect(&self) {
        let packet = socketio::disconnect(self.inner.ns.name());
        self.send(encode(&packet));
        self.disconnected("server namespace disconnect");
    }

    /// Queues encoded packets: held until the CONNECT answer is out, then sent.
    pub(crate) fn send(&self, packets: Vec<OutPacket>) -> bool {
        if let Some(held) = lock(&self.inner.held).as_mut() {
            held.extend(packets);
            return true;
        }
        if !self.inner.connected.load(SeqCst) {
            return false;
        }
        self.inner.session.send_packets(packets)
    }

    /// The CONNECT answer went out: send what was held, and count as connected.
    pub(crate) fn connected(&self) {
        let held = lock(&self.inner.held).take().unwrap_or_default();
        self.inner.connected.store(true, SeqCst);
        if !held.is_empty() {
            self.inner.session.send_packets(held);
        }
        let hooks = std::mem::take(&mut *lock(&self.inner.after_connect));
        for hook in hooks {
            hook(self);
        }
    }

    /// Runs the handler for `event` (on the client's thread, or a quick one on the reader).
    pub(crate) fn dispatch(&self, event: &str, args: Args, ack: Option<Ack>) {
        let handler = lock(&self.inner.handlers).remove(event);
        if let Some(mut handler) = handler {
            // Wherever a quick handler runs (on the reader, or queued on the client's thread),
            // it may not wait on an acknowledgement.
            let _quick = handler.quick.then(QuickScope::enter);
            (handler.run)(self, args, ack);
            // Put it back unless the handler installed another meanwhile.
            lock(&self.inner.handlers)
                .entry(event.to_string())
                .or_insert(handler);
        }
    }

    /// An acknowledgement from the client.
    pub(crate) fn acked(&self, id: u64, args: Args) {
        if let Some(tx) = lock(&self.inner.acks).remove(&id) {
            let _ = tx.try_send(args);
        }
    }

    /// Ends the socket: out of its rooms and namespace, pending acks failed, handlers told.
    pub(crate) fn disconnected(&self, reason: &str) {
        let was =
            self.inner.connected.swap(false, SeqCst) | lock(&self.inner.held).take().is_some();
        if !was {
            return;
        }
        let rooms: Vec<String> = std::mem::take(&mut *lock(&self.inner.rooms))
            .into_iter()
            .collect();
        for room in rooms {
            self.inner.ns.remove_from_room(&room, self.id());
        }
        self.inner.ns.remove(self.id());
        lock(&self.inner.acks).clear();
        let handlers = std::mem::take(&mut *lock(&self.inner.on_disconnect));
        for h in handlers {
            h(self, reason);
        }
    }
}

thread_local! {
    /// Set while this thread runs a quick handler.
    static IN_QUICK: Cell<bool> = const { Cell::new(false) };
}

fn in_quick_handler() -> bool {
    IN_QUICK.with(Cell::get)
}

/// While it lives, the thread runs a quick handler: [`Socket::emit_with_ack`] refuses to wait.
pub(crate) struct QuickScope {
    previous: bool,
}

impl QuickScope {
    pub(crate) fn enter() -> QuickScope {
        QuickScope {
            previous: IN_QUICK.with(|q| q.replace(true)),
        }
    }
}

impl Drop for QuickScope {
    fn drop(&mut self) {
        IN_QUICK.with(|q| q.set(self.previous));
    }
}

/// The reply to an event the client sent with an ack id; answer it once with [`Ack::send`].
#[derive(Debug)]
pub struct Ack {
    socket: Socket,
    id: u64,
}

impl Ack {
    pub(crate) fn new(socket: Socket, id: u64) -> Ack {
        Ack { socket, id }
    }

    /// Answers with `args`.
    pub fn send(self, args: Args) {
        let packet = socketio::ack(self.socket.inner.ns.name(), self.id, args);
        self.socket.send(encode(&packet));
    }
}

/// A Socket.IO packet as Engine.IO packets: the text as a message, each binary attachment
/// after it.
pub(crate) fn encode(packet: &Packet) -> Vec<OutPacket> {
    let (text, binaries) = socketio::encode(packet);
    let mut out = Vec::with_capacity(1 + binaries.len());
    let mut first = Vec::with_capacity(text.len() + 1);
    first.push(b'4');
    first.extend_from_slice(text.as_bytes());
    out.push(first.into());
    out.extend(binaries.iter().map(|b| binary_packet(b)));
    out
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
