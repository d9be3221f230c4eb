//! A namespace: its connect handler, its sockets and their rooms, and [`Broadcast`], an emit
//! to many sockets that is encoded once and shared by every recipient.

pub mod socket;

use crate::codec::json::Value;
use crate::codec::socketio;
use socket::{encode, lock, Args, Socket};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

/// Why a connect handler turned a client away: sent as `CONNECT_ERROR {message, data}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The message the client's `connect_error` gets.
    pub message: String,
    /// Anything more for the client.
    pub data: Option<Value>,
}

impl Reject {
    /// A rejection with a message and no data.
    pub fn new(message: impl Into<String>) -> Reject {
        Reject {
            message: message.into(),
            data: None,
        }
    }
}

type ConnectHandler = Arc<dyn Fn(&Socket, &Value) -> Result<(), Reject> + Send + Sync>;

struct NsInner {
    name: String,
    on_connect: RwLock<Option<ConnectHandler>>,
    sockets: Mutex<HashMap<String, Socket>>,
    rooms: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

/// A Socket.IO namespace (`/`, `/admin`...). Cheap to clone; clones are the same namespace.
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<NsInner>,
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.inner.name)
            .finish()
    }
}

impl Namespace {
    pub(super) fn new(name: &str) -> Namespace {
        Namespace {
            inner: Arc::new(NsInner {
                name: name.to_string(),
                on_connect: RwLock::new(None),
                sockets: Mutex::new(HashMap::new()),
                rooms: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Runs `handler` for each client that connects, with the auth payload of its CONNECT
    /// (`{}` when none). `Ok` accepts it; `Err` sends `CONNECT_ERROR`. Emits made in the
    /// handler reach the client after the CONNECT answer. It runs on the client's thread.
    pub fn on_connect(
        &self,
        handler: impl Fn(&Socket, &Value) -> Result<(), Reject> + Send + Sync + 'static,
    ) {
        *self
            .inner
            .on_connect
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
    }

    pub(super) fn connect_handler(&self) -> Option<ConnectHandler> {
        self.inner
            .on_connect
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Everyone in `room`.
    pub fn to(&self, room: &str) -> Broadcast {
        self.everyone().to(room)
    }

    /// Everyone in the namespace.
    pub fn everyone(&self) -> Broadcast {
        Broadcast {
            ns: self.clone(),
            rooms: Vec::new(),
            except: BTreeSet::new(),
        }
    }

    /// Sends every socket in the namespace an event; returns how many it was queued for.
    pub fn emit(&self, event: &str, args: Args) -> usize {
        self.everyone().emit(event, args)
    }

    /// The sockets connected now.
    pub fn sockets(&self) -> Vec<Socket> {
        lock(&self.inner.sockets).values().cloned().collect()
    }

    /// The socket with this id.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        lock(&self.inner.sockets).get(id).cloned()
    }

    /// Rooms and how many sockets are in each.
    pub fn rooms(&self) -> Vec<(String, usize)> {
        lock(&self.inner.rooms)
            .iter()
            .map(|(name, ids)| (name.clone(), ids.len()))
            .collect()
    }

    pub(super) fn add(&self, socket: &Socket) {
        lock(&self.inner.sockets).insert(socket.id().to_string(), socket.clone());
    }

    pub(super) fn remove(&self, id: &str) {
        lock(&self.inner.sockets).remove(id);
    }

    pub(super) fn add_to_room(&self, room: &str, socket: &Socket) {
        lock(&self.inner.rooms)
            .entry(room.to_string())
            .or_default()
            .insert(socket.id().to_string());
    }

    pub(super) fn remove_from_room(&self, room: &str, id: &str) {
        let mut rooms = lock(&self.inner.rooms);
        if let Some(ids) = rooms.get_mut(room) {
            ids.remove(id);
            if ids.is_empty() {
                rooms.remove(room);
            }
        }
    }
}

/// An emit to several sockets of one namespace: all of it, or the union of some rooms, less
/// some sockets. Built by [`Namespace::to`], [`Socket::to`], [`Socket::broadcast`].
#[derive(Debug, Clone)]
pub struct Broadcast {
    ns: Namespace,
    rooms: Vec<String>,
    except: BTreeSet<String>,
}

impl Broadcast {
    /// Adds a room (the targets are the union of the rooms named).
    pub fn to(mut self, room: &str) -> Broadcast {
        self.rooms.push(room.to_string());
        self
    }

    /// Leaves out the socket with this id.
    pub fn except(mut self, id: &str) -> Broadcast {
        self.except.insert(id.to_string());
        self
    }

    /// Sends the event; encoded once, shared by every target. Never blocks (a target that
    /// does not read is dropped by its own outbox's bound). Returns how many it was queued for.
    pub fn emit(&self, event: &str, args: Args) -> usize {
        let packets = encode(&socketio::event(self.ns.name(), event, args, None));
        let targets: Vec<Socket> = {
            let sockets = lock(&self.ns.inner.sockets);
            if self.rooms.is_empty() {
                sockets
                    .values()
                    .filter(|s| !self.except.contains(s.id()))
                    .cloned()
                    .collect()
            } else {
                let rooms = lock(&self.ns.inner.rooms);
                let ids: BTreeSet<&String> = self
                    .rooms
                    .iter()
                    .filter_map(|r| rooms.get(r))
                    .flatten()
                    .filter(|id| !self.except.contains(*id))
                    .collect();
                ids.into_iter()
                    .filter_map(|id| sockets.get(id).cloned())
                    .collect()
            }
        };
        targets.iter().filter(|s| s.send(packets.clone())).count()
    }
}
