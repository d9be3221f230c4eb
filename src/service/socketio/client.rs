//! One Socket.IO client (one Engine.IO session): packets are parsed, and binary attachments
//! gathered, on the thread that read them; acknowledgements are settled there at once; every
//! other packet goes to the client's own thread, where connect and event handlers run in
//! order. So a slow handler delays only its own client, and a handler waiting on
//! `emit_with_ack` still gets its answer.

use super::namespace::socket::{lock, Ack, Args, Socket};
use super::IoInner;
use crate::codec::json::Value;
use crate::codec::socketio::{self, Packet, PacketType};
use crate::service::engineio::{CloseReason, EngineHandler, Message, Session};
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;

/// Most binary attachments one packet may announce.
const MAX_ATTACHMENTS: usize = 10;
/// Packets that may wait for the client's thread; a reader that finds it full waits, which
/// slows only this client.
const INBOX: usize = 16;
/// Stack of a client thread: it runs the application's handlers.
const CLIENT_STACK: usize = 256 * 1024;

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

/// State shared by the reading side and the client's thread.
struct Shared {
    /// Connected sockets by namespace.
    sockets: Mutex<HashMap<String, Socket>>,
    /// Set once any namespace connected (the connect timeout looks).
    ever_connected: AtomicBool,
    closed: Mutex<Option<CloseReason>>,
}

/// The reading side: the session's Engine.IO handler.
pub(super) struct Client {
    shared: Arc<Shared>,
    inbox: Sender<Inbound>,
    /// A binary packet waiting for its attachments.
    pending: Option<(Packet, Vec<Vec<u8>>)>,
}

/// Starts a client's thread for `session`; `None` if no thread could be had (the session is
/// then refused).
pub(super) fn open(io: &Arc<IoInner>, session: &Arc<Session>) -> Option<Client> {
    let shared = Arc::new(Shared {
        sockets: Mutex::new(HashMap::new()),
        ever_connected: AtomicBool::new(false),
        closed: Mutex::new(None),
    });
    let (inbox, rx) = crossbeam_channel::bounded(INBOX);
    let (io_t, session_t, shared_t) = (Arc::clone(io), Arc::clone(session), Arc::clone(&shared));
    let started = thread::Builder::new()
        .name(format!("sio#{}", &session.sid[..6.min(session.sid.len())]))
        .stack_size(CLIENT_STACK)
        .spawn(move || run(&io_t, &session_t, &shared_t, &rx));
    if started.is_err() {
        return None;
    }
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
    Some(Client {
        shared,
        inbox,
        pending: None,
    })
}

impl EngineHandler for Client {
    fn message(&mut self, _session: &Arc<Session>, message: Message) -> Result<(), String> {
        let packet = match message {
            Message::Text(text) => {
                if self.pending.is_some() {
                    return Err("text while binary attachments were expected".into());
                }
                let packet = socketio::parse(&text, MAX_ATTACHMENTS).map_err(|e| e.to_string())?;
                if packet.kind.is_binary() && packet.attachments > 0 {
                    self.pending = Some((packet, Vec::new()));
                    return Ok(());
                }
                packet
            }
            Message::Binary(data) => {
                let Some((packet, parts)) = self.pending.as_mut() else {
                    return Err("binary data with no packet to attach it to".into());
                };
                parts.push(data);
                if parts.len() < packet.attachments {
                    return Ok(());
                }
                let (mut packet, parts) = self.pending.take().expect("checked above");
                let data = packet.data.take().unwrap_or(Value::Null);
                packet.data = Some(socketio::reconstruct(data, parts).map_err(|e| e.to_string())?);
                packet
            }
        };
        self.dispatch(packet)
    }

    fn close(&mut self, reason: CloseReason) {
        *lock(&self.shared.closed) = Some(reason);
        // The client's thread ends when this handler (and with it the inbox's sender) drops.
    }
}

impl Client {
    fn dispatch(&mut self, packet: Packet) -> Result<(), String> {
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
                Inbound::Event {
                    nsp,
                    name,
                    args: items,
                    id,
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let socket = lock(&self.shared.sockets).get(&nsp).cloned();
                if let (Some(socket), Some(id), Some(Value::Array(args))) = (socket, id, data) {
                    socket.acked(id, args);
                }
                return Ok(());
            }
            PacketType::ConnectError => return Err("CONNECT_ERROR from a client".into()),
        };
        match self.inbox.send(inbound) {
            Ok(()) => Ok(()),
            Err(_) => Err("the client's thread has ended".into()),
        }
    }
}

/// The client's thread: connects namespaces and runs handlers until the session closes.
fn run(io: &Arc<IoInner>, session: &Arc<Session>, shared: &Arc<Shared>, inbox: &Receiver<Inbound>) {
    while let Ok(inbound) = inbox.recv() {
        if lock(&shared.closed).is_some() {
            break;
        }
        match inbound {
            Inbound::Connect { nsp, auth } => connect(io, session, shared, &nsp, &auth),
            Inbound::Event {
                nsp,
                name,
                args,
                id,
            } => {
                let socket = lock(&shared.sockets).get(&nsp).cloned();
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
    let reason = lock(&shared.closed).unwrap_or(CloseReason::TransportClose);
    let sockets: Vec<Socket> = lock(&shared.sockets).drain().map(|(_, s)| s).collect();
    for socket in sockets {
        socket.disconnected(reason.as_str());
    }
}

fn connect(io: &Arc<IoInner>, session: &Arc<Session>, shared: &Shared, nsp: &str, auth: &Value) {
    let Some(ns) = io.namespace(nsp) else {
        let refusal = socketio::connect_error(nsp, "Invalid namespace", None);
        session.send_packets(super::namespace::socket::encode(&refusal));
        return;
    };
    if lock(&shared.sockets).contains_key(nsp) {
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
