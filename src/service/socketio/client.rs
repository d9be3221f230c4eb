//! One Socket.IO client (one Engine.IO session): packets are parsed, and binary attachments
//! gathered, on the thread that read them; acknowledgements are settled there at once; every
//! other packet goes to the client's own thread, where connect and event handlers run in
//! order. So a slow handler delays only its own client, and a handler waiting on
//! `emit_with_ack` still gets its answer. The client's thread runs only while there is work:
//! the first packet for it starts it, and it ends after [`LINGER`] without any (an idle
//! client costs no thread of its own). It is the session's own thread (see
//! [`Session::own_thread`]): what its handlers send this client (an ack, an emit) it writes to
//! the WebSocket itself when no writer thread is busy with it. A quick event (see
//! [`Socket::on_quick`]) that finds that thread not running a handler (absent, or lingering
//! idle) and nothing waiting runs on the reading thread instead ([`quick`]).

use super::namespace::socket::{lock, Ack, Args, Socket};
use super::IoInner;
use crate::codec::json::Value;
use crate::codec::socketio::{self, Packet, PacketType};
use crate::service::engineio::{CloseReason, EngineHandler, Message, Session};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::Duration;

mod quick;
mod sockets;

use sockets::Sockets;

/// Most binary attachments one packet may announce.
const MAX_ATTACHMENTS: usize = 10;
/// Packets that may wait for the client's thread; a reader that finds it full waits, which
/// slows only this client.
const INBOX: usize = 16;
/// Stack of a client thread: it runs the application's handlers. Roomy (only touched pages
/// cost memory), which also keeps few of them in glibc's cache of the stacks of ended threads
/// (bounded in bytes of address space).
const CLIENT_STACK: usize = 1024 * 1024;
/// How long a client's thread waits for more work before it ends.
const LINGER: Duration = Duration::from_millis(250);

/// A reader waiting for room in a full inbox looks again at least this often (it is woken
/// whenever room is made, or the client's thread ends).
const ROOM_RECHECK: Duration = Duration::from_secs(1);

/// What the reading side hands the client's thread.
enum Inbound {
    Connect {
        nsp: String,
        auth: Value,
    },
    Event {
        nsp: String,
        name: String,
        args: Args,
        id: Option<u64>,
    },
    Disconnect {
        nsp: String,
    },
}

/// Packets waiting for the client's thread, whether it runs, and whether a quick handler runs
/// on a reading thread.
#[derive(Default)]
struct Inbox {
    queue: VecDeque<Inbound>,
    /// The client's thread exists (or is being started).
    running: bool,
    /// The client's thread waits for work, the queue empty (it lingers).
    idle: bool,
    /// A quick handler runs on a reading thread: the client's thread takes nothing meanwhile.
    inline: bool,
    /// Threads waiting on `changed`: the client's thread for a packet, a reader for room.
    waiters: usize,
}

impl Shared {
    /// Lets go of the inbox and wakes whoever waits on it. Only if someone does: std's
    /// condition variable makes a futex call per notify, waiter or not, and a busy client
    /// would pay one per packet.
    fn tell(&self, inbox: MutexGuard<'_, Inbox>) {
        let wake = inbox.waiters > 0;
        // Told once the lock is let go: a thread woken under it would wait for it again.
        drop(inbox);
        if wake {
            self.changed.notify_all();
        }
    }

    /// Waits on `changed`, at most `timeout`, counted among its waiters; true if it timed out.
    fn wait<'a>(
        &self,
        mut inbox: MutexGuard<'a, Inbox>,
        timeout: Duration,
    ) -> (MutexGuard<'a, Inbox>, bool) {
        inbox.waiters += 1;
        let (mut inbox, timeout) = self
            .changed
            .wait_timeout(inbox, timeout)
            .unwrap_or_else(|e| e.into_inner());
        inbox.waiters -= 1;
        (inbox, timeout.timed_out())
    }
}

/// State shared by the reading side and the client's thread.
struct Shared {
    /// Connected sockets by namespace.
    sockets: Mutex<Sockets>,
    /// Set once any namespace connected (the connect timeout looks).
    ever_connected: AtomicBool,
    closed: Mutex<Option<CloseReason>>,
    inbox: Mutex<Inbox>,
    /// Signalled when the inbox gains or loses a packet, and when the session closes.
    changed: Condvar,
    io: Weak<IoInner>,
    session: Weak<Session>,
}

/// What the reading thread does with a packet once [`Client::dispatch`] has returned.
enum Then {
    /// Nothing more: it was settled, or queued for the client's thread.
    Nothing,
    /// Start the client's thread (marked running) with it.
    Start(Inbound),
    /// Run its quick handler here (marked `inline` meanwhile).
    RunHere(Socket, Inbound),
}

/// The reading side: the session's Engine.IO handler.
pub(super) struct Client {
    shared: Arc<Shared>,
    /// A binary packet waiting for its attachments.
    pending: Option<(Packet, Vec<Vec<u8>>)>,
}

/// The handler of a new session; its thread starts with the first packet for it.
pub(super) fn open(io: &Arc<IoInner>, session: &Arc<Session>) -> Client {
    let shared = Arc::new(Shared {
        sockets: Mutex::new(Sockets::default()),
        ever_connected: AtomicBool::new(false),
        closed: Mutex::new(None),
        inbox: Mutex::new(Inbox::default()),
        changed: Condvar::new(),
        io: Arc::downgrade(io),
        session: Arc::downgrade(session),
    });
    // No namespace within the connect timeout: the session is closed.
    let weak = Arc::downgrade(session);
    let watched = Arc::clone(&shared);
    io.engine().timer().after(io.connect_timeout, move || {
        if let Some(session) = weak.upgrade() {
            if !watched.ever_connected.load(SeqCst) {
                session.close(CloseReason::Server);
            }
        }
    });
    Client {
        shared,
        pending: None,
    }
}

impl EngineHandler for Client {
    fn message(&mut self, session: &Arc<Session>, message: Message) -> Result<(), String> {
        let Some(packet) = self.assemble(message)? else {
            return Ok(());
        };
        // The thread is started from here, with the dispatching frames gone: the deepest
        // thing an idle client's reader does (but for a quick handler, run from here too).
        match self.dispatch(packet)? {
            Then::Nothing => Ok(()),
            Then::Start(first) => {
                start(&self.shared, Some(first));
                Ok(())
            }
            Then::RunHere(socket, inbound) => self.run_quick(session, &socket, inbound),
        }
    }

    fn close(&mut self, reason: CloseReason) {
        *lock(&self.shared.closed) = Some(reason);
        let mut inbox = lock(&self.shared.inbox);
        if inbox.running {
            // The client's thread sees it, disconnects the sockets and ends.
            self.shared.tell(inbox);
            return;
        }
        if lock(&self.shared.sockets).is_empty() {
            return;
        }
        // Disconnect handlers are the application's: they run on a thread of their own.
        inbox.running = true;
        drop(inbox);
        start(&self.shared, None);
    }
}

impl Client {
    /// The packet `message` completes, if any: parsed, its binary attachments gathered.
    fn assemble(&mut self, message: Message) -> Result<Option<Packet>, String> {
        match message {
            Message::Text(text) => self.parse(&text),
            Message::Binary(data) => self.attach(data),
        }
    }

    /// A text message's packet, unless it announces attachments (then it waits for them).
    /// Out of line, as [`Client::attach`] and [`Client::dispatch`] are, so that no two of their
    /// frames are on the stack at once: the reader's deepest path decides how many pages of
    /// stack it keeps for the connection's life.
    #[inline(never)]
    fn parse(&mut self, text: &str) -> Result<Option<Packet>, String> {
        if self.pending.is_some() {
            return Err("text while binary attachments were expected".into());
        }
        let packet = socketio::parse(text, MAX_ATTACHMENTS).map_err(|e| e.to_string())?;
        if packet.kind.is_binary() && packet.attachments > 0 {
            self.pending = Some((packet, Vec::new()));
            return Ok(None);
        }
        Ok(Some(packet))
    }

    /// A binary attachment; the packet it completes, if it is the last.
    #[inline(never)]
    fn attach(&mut self, data: Vec<u8>) -> Result<Option<Packet>, String> {
        let Some((packet, parts)) = self.pending.as_mut() else {
            return Err("binary data with no packet to attach it to".into());
        };
        parts.push(data);
        if parts.len() < packet.attachments {
            return Ok(None);
        }
        let (mut packet, parts) = self.pending.take().expect("checked above");
        let data = packet.data.take().unwrap_or(Value::Null);
        packet.data = Some(socketio::reconstruct(data, parts).map_err(|e| e.to_string())?);
        Ok(Some(packet))
    }

    /// Settles an acknowledgement here; queues any other packet for the client's thread, or
    /// gives it back if that thread is to be started with it, or its quick handler run here.
    #[inline(never)]
    fn dispatch(&mut self, packet: Packet) -> Result<Then, String> {
        let Packet {
            kind,
            nsp,
            id,
            data,
            ..
        } = packet;
        let inbound = match kind {
            PacketType::Connect => Inbound::Connect {
                nsp,
                auth: data.unwrap_or_else(|| Value::Object(Vec::new())),
            },
            PacketType::Disconnect => Inbound::Disconnect { nsp },
            PacketType::Event | PacketType::BinaryEvent => {
                let Some(Value::Array(mut items)) = data else {
                    return Err("an event without arguments".into());
                };
                if items.is_empty() {
                    return Err("an event without a name".into());
                }
                let Value::String(name) = items.remove(0) else {
                    return Err("an event without a name".into());
                };
                let quick = self.quick_socket(&nsp, &name);
                let event = Inbound::Event {
                    nsp,
                    name,
                    args: items,
                    id,
                };
                return self.enqueue(event, quick);
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let socket = lock(&self.shared.sockets).get(&nsp);
                if let (Some(socket), Some(id), Some(Value::Array(args))) = (socket, id, data) {
                    socket.acked(id, args);
                }
                return Ok(Then::Nothing);
            }
            PacketType::ConnectError => return Err("CONNECT_ERROR from a client".into()),
        };
        self.enqueue(inbound, None)
    }

    /// Queues a packet for the client's thread; if that thread is not running, marks it
    /// running and gives the packet back, to start it with. An event of `quick`'s is given
    /// back to run its quick handler here instead if nothing is queued and the client's thread
    /// runs no handler (it is absent or idle). Waits while the inbox is full (the thread is
    /// busy: it makes room, or ends, and says so).
    fn enqueue(&self, inbound: Inbound, quick: Option<Socket>) -> Result<Then, String> {
        let shared = &self.shared;
        let mut inbox = lock(&shared.inbox);
        loop {
            if lock(&shared.closed).is_some() {
                return Err("the session has closed".into());
            }
            // Full, and a thread that empties it runs (the client's, or a quick handler on the
            // reader): wait for room. With neither, it would never be emptied: take it.
            if inbox.queue.len() < INBOX || !(inbox.running || inbox.inline) {
                break;
            }
            // Woken when it empties or ends; the bound only re-checks.
            inbox = shared.wait(inbox, ROOM_RECHECK).0;
        }
        if let Some(socket) = quick {
            if inbox.queue.is_empty() && !inbox.inline && (!inbox.running || inbox.idle) {
                // Marked so that nothing overtakes it (see `next`).
                inbox.inline = true;
                return Ok(Then::RunHere(socket, inbound));
            }
        }
        if inbox.running || inbox.inline {
            inbox.queue.push_back(inbound);
            shared.tell(inbox);
            return Ok(Then::Nothing);
        }
        // The queue is empty while no thread runs: the packet goes with the thread, and the
        // queue is not grown here (a deep path for an idle client's reader).
        inbox.running = true;
        Ok(Then::Start(inbound))
    }
}

/// Starts the client's thread (the caller has marked it running), from the timer thread;
/// `first` is the packet it handles first.
fn start(shared: &Arc<Shared>, first: Option<Inbound>) {
    let job = Job(Some((Arc::clone(shared), first)));
    let (Some(io), Some(session)) = (shared.io.upgrade(), shared.session.upgrade()) else {
        return; // The server is going: dropping the job says so.
    };
    let builder = thread::Builder::new()
        .name(session.thread_name("sio#"))
        .stack_size(CLIENT_STACK);
    io.engine().timer().spawn(builder, move || {
        let mut job = job;
        if let Some((shared, first)) = job.0.take() {
            run(&shared, first);
        }
    });
}

/// A client's thread to be. If it never runs (no thread to be had, or the server stopping),
/// the client is marked not running; a closed session's sockets are disconnected here and
/// now, an open session is closed (which disconnects them).
struct Job(Option<(Arc<Shared>, Option<Inbound>)>);

impl Drop for Job {
    fn drop(&mut self) {
        let Some((shared, _)) = self.0.take() else {
            return;
        };
        ended(&shared);
        if lock(&shared.closed).is_some() {
            disconnect_all(&shared);
        } else if let Some(session) = shared.session.upgrade() {
            session.close(CloseReason::Server);
        }
    }
}

/// The client's thread is no more (or never will be): marked not running, what waited for it
/// dropped (its session is closing, or its server gone), and a reader waiting on a full inbox
/// woken to see it.
fn ended(shared: &Shared) {
    let mut inbox = lock(&shared.inbox);
    inbox.queue = VecDeque::new();
    inbox.running = false;
    inbox.idle = false;
    shared.tell(inbox);
}

/// If the client's thread unwinds from a panicking handler: marks it ended, so the reader
/// does not wait on it, and closes the session (as a protocol error, as when a packet cannot
/// be handed to the client's thread), which disconnects its sockets on a thread of their own.
struct Unwinding<'a>(&'a Shared);

impl Drop for Unwinding<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            ended(self.0);
            if let Some(session) = self.0.session.upgrade() {
                session.close(CloseReason::ParseError);
            }
        }
    }
}

/// The client's thread: connects namespaces and runs handlers until the inbox has stayed
/// empty for [`LINGER`], or the session closes (then it disconnects every socket).
fn run(shared: &Shared, first: Option<Inbound>) {
    let _unwinding = Unwinding(shared);
    let (Some(io), Some(session)) = (shared.io.upgrade(), shared.session.upgrade()) else {
        ended(shared);
        return;
    };
    // What the handlers send to this client, this thread writes to its WebSocket itself.
    let _own = session.own_thread();
    // Like every packet, the first is skipped if the session has closed meanwhile.
    let mut first = first.filter(|_| lock(&shared.closed).is_none());
    while let Some(inbound) = first.take().or_else(|| next(shared)) {
        match inbound {
            Inbound::Connect { nsp, auth } => connect(&io, &session, shared, &nsp, &auth),
            Inbound::Event {
                nsp,
                name,
                args,
                id,
            } => {
                let socket = lock(&shared.sockets).get(&nsp);
                if let Some(socket) = socket {
                    let ack = id.map(|id| Ack::new(socket.clone(), id));
                    socket.dispatch(&name, args, ack);
                }
            }
            Inbound::Disconnect { nsp } => {
                let socket = lock(&shared.sockets).remove(&nsp);
                if let Some(socket) = socket {
                    socket.disconnected("client namespace disconnect");
                }
            }
        }
    }
}

/// The next packet for the client's thread; `None` when it is to end. It ends marked not
/// running, after disconnecting every socket if the session has closed.
fn next(shared: &Shared) -> Option<Inbound> {
    let mut inbox = lock(&shared.inbox);
    let mut waited = false;
    loop {
        if lock(&shared.closed).is_some() {
            drop(inbox);
            disconnect_all(shared);
            ended(shared);
            return None;
        }
        // Nothing is taken while a quick handler runs on a reader: it came first.
        if !inbox.inline {
            if let Some(inbound) = inbox.queue.pop_front() {
                inbox.idle = false;
                shared.tell(inbox);
                return Some(inbound);
            }
            if waited {
                // Idle: give the queue's memory back and end.
                inbox.queue = VecDeque::new();
                inbox.running = false;
                inbox.idle = false;
                return None;
            }
        }
        inbox.idle = inbox.queue.is_empty();
        (inbox, waited) = shared.wait(inbox, LINGER);
    }
}

/// Disconnects every socket of the client, with the reason the session closed.
fn disconnect_all(shared: &Shared) {
    let reason = lock(&shared.closed).unwrap_or(CloseReason::TransportClose);
    let sockets = std::mem::take(&mut *lock(&shared.sockets)).0;
    for (_, socket) in sockets {
        socket.disconnected(reason.as_str());
    }
}

fn connect(io: &Arc<IoInner>, session: &Arc<Session>, shared: &Shared, nsp: &str, auth: &Value) {
    let Some(ns) = io.namespace(nsp) else {
        let refusal = socketio::connect_error(nsp, "Invalid namespace", None);
        session.send_packets(super::namespace::socket::encode(&refusal));
        return;
    };
    if lock(&shared.sockets).get(nsp).is_some() {
        return;
    }
    let socket = Socket::new(
        crate::service::engineio::random_id(),
        ns.clone(),
        Arc::clone(session),
    );
    lock(&shared.sockets).insert(nsp.to_string(), socket.clone());
    let verdict = match ns.connect_handler() {
        Some(handler) => handler(&socket, auth),
        None => Ok(()),
    };
    match verdict {
        Ok(()) => {
            shared.ever_connected.store(true, SeqCst);
            let ok = socketio::connect_ok(nsp, socket.id());
            session.send_packets(super::namespace::socket::encode(&ok));
            ns.add(&socket);
            socket.connected();
        }
        Err(reject) => {
            lock(&shared.sockets).remove(nsp);
            let refusal = socketio::connect_error(nsp, &reject.message, reject.data);
            session.send_packets(super::namespace::socket::encode(&refusal));
        }
    }
}
