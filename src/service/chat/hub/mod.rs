//! The hub: one thread owns rooms, nicknames and every member's outbox. It knows rooms and
//! members, not wire formats: it hands each member typed [`Delivery`] values rendered by the
//! member's own [`Render`], once per wire format present in a room. It never touches a socket
//! and never waits on a writer.
//!
//! Sessions send [`Request`]s over one bounded channel (the lines of one read travel as one
//! request, within the budget of [`LINES_IN_TRANSIT`](super::outbox::LINES_IN_TRANSIT)). The hub
//! drains every request already pending (up to [`MAX_BURST`] lines or [`MAX_BURST_BYTES`] of
//! text), applies them all, and only then hands each affected member one batch, so a burst of
//! N lines costs each recipient one wake-up and one write, not N. Presence notices alone linger up to [`LINGER`].
//!
//! Flow control. A member with more than `high` packets in flight is *behind*; while any
//! member is behind, senders wait at the chat's gate before each message (see
//! [`Member::say`](super::Member::say)), so a flood backs up into the flooder's own TCP window
//! instead of into memory. The hub itself goes on taking requests (joins, leaves, nicknames).
//! A behind member whose writer has written nothing for the stall time (`--chat-stall`, 300 ms
//! by default) is dropped as too slow, and so is any member that would pass `hard` packets in
//! flight; a member whose writer is gone (reset, broken pipe) is removed at once. So a client
//! that reads is not dropped, a client that does not read is dropped within the stall time of
//! falling behind, and every outbox stays under `hard`.

mod acts;
mod fanout;

use super::delivery::{Delivery, Departure, Packet, Render, Reply};
use super::outbox::{Flow, Marks, OutboxSender};
pub use super::request::{MemberId, Request};
use super::rules::{self, LOBBY};
use super::uplink::Uplink;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Requests applied per burst before the hub hands batches over (bounds one burst's memory),
/// a request that carries lines counting once per line; the last request may pass it by at
/// most [`LINES_PER_REQUEST`](super::outbox::LINES_PER_REQUEST).
pub const MAX_BURST: usize = 1024;
/// Bytes of text applied per burst before the hub hands batches over; the last request may
/// pass it by at most [`BYTES_PER_REQUEST`](super::flow::BYTES_PER_REQUEST) (or one line). What
/// a burst gives each recipient then stays under about 32 KiB, inside the receive window a
/// fresh Linux connection advertises (64 KiB), so the kernel sends it at once, on the
/// writer's core. A writer that queues more than the window holds leaves the rest to be sent
/// when the reader's next read opens the window, and on loopback that work lands on the
/// reader's core: with bursts of 1,024 lines of 64 bytes, a load generator on the other core
/// sent 25-55% of the server's bytes itself, and flooded 1,000 clients 16-30% slower.
pub const MAX_BURST_BYTES: usize = 24 * 1024;
/// While some member is behind, the hub looks at it at least this often.
const TICK: Duration = Duration::from_millis(50);
/// How long presence notices (joined, left, renamed) alone may wait for a member before they
/// are handed over: a crowd joining at once then wakes each member's writer once per `LINGER`,
/// not once per newcomer. Anything else for the member takes them along at once, in order.
pub const LINGER: Duration = Duration::from_millis(20);

/// Hashes member ids, which the chat issues in sequence: a multiply, not SipHash, since a
/// broadcast looks up every member of the room (ids are not chosen by clients, so there is no
/// flooding attack to resist).
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Counters the hub keeps; read by the stats line.
#[derive(Debug, Default)]
pub struct HubStats {
    /// Members now.
    pub members: AtomicUsize,
    /// Rooms now (the lobby included).
    pub rooms: AtomicUsize,
    /// Lines members sent to rooms or privately.
    pub lines_in: AtomicU64,
    /// Deliveries of those lines to members.
    pub lines_out: AtomicU64,
    /// Members dropped because they did not read.
    pub slow_dropped: AtomicU64,
}

#[derive(Debug)]
struct Member {
    label: String,
    named: bool,
    /// The key of its room.
    room: String,
    render: Arc<dyn Render>,
    outbox: OutboxSender,
    pending: Vec<Packet>,
    /// Something in `pending` is not a presence notice: hand it over at the end of the burst.
    urgent: bool,
    /// In the hub's `lingering` queue.
    lingering: bool,
}

impl Member {
    /// Identifies the member's wire format: members sharing a renderer share rendered packets.
    fn format(&self) -> usize {
        Arc::as_ptr(&self.render).cast::<()>() as usize
    }
}

#[derive(Debug)]
struct Room {
    /// As first created.
    name: String,
    members: Vec<MemberId>,
}

/// The hub's state. Build with [`Hub::new`], then [`Hub::run`] on its own thread.
#[derive(Debug)]
pub struct Hub {
    members: HashMap<MemberId, Member, BuildHasherDefault<IdHasher>>,
    /// By [`rules::key`].
    rooms: BTreeMap<String, Room>,
    /// Nicknames and guest labels by [`rules::key`].
    names: HashMap<String, MemberId>,
    /// Members with pending packets.
    dirty: Vec<MemberId>,
    /// Members behind, looked at every [`TICK`].
    behind: Vec<MemberId>,
    /// Members with presence notices only, by when they are due ([`LINGER`] after the first).
    lingering: VecDeque<(u64, MemberId)>,
    /// One broadcast's packets, per wire format.
    rendered: Vec<(usize, Vec<Packet>)>,
    marks: Marks,
    /// A behind member whose writer has written nothing for this long is too slow.
    stall: Duration,
    stats: Arc<HubStats>,
    flow: Arc<Flow>,
    /// Told of every room broadcast made here (other nodes), if the chat has one.
    uplink: Option<Arc<dyn Uplink>>,
}

enum Next {
    Continue,
    Stop,
}

impl Hub {
    /// An empty hub with the lobby, whose members' outboxes use `marks`, on the clock `flow`;
    /// a member behind whose writer writes nothing for `stall` is dropped.
    pub fn new(marks: Marks, stall: Duration, stats: Arc<HubStats>, flow: Arc<Flow>) -> Self {
        let mut rooms = BTreeMap::new();
        rooms.insert(
            LOBBY.to_string(),
            Room {
                name: LOBBY.to_string(),
                members: Vec::new(),
            },
        );
        stats.rooms.store(1, Relaxed);
        Hub {
            members: HashMap::default(),
            rooms,
            names: HashMap::new(),
            dirty: Vec::new(),
            behind: Vec::new(),
            lingering: VecDeque::new(),
            rendered: Vec::new(),
            marks,
            stall,
            stats,
            flow,
            uplink: None,
        }
    }

    /// The hub, telling `uplink` of every room broadcast it makes.
    pub fn with_uplink(mut self, uplink: Option<Arc<dyn Uplink>>) -> Self {
        self.uplink = uplink;
        self
    }

    /// Serves requests until a `Shutdown` or until every sender is gone.
    pub fn run(mut self, requests: &Receiver<Request>) {
        loop {
            let due = self.expire_lingering(false);
            let wait = match (self.behind.is_empty(), due) {
                (true, None) => None,
                (true, Some(d)) => Some(d),
                (false, d) => Some(d.map_or(TICK, |d| d.min(TICK))),
            };
            let first = match wait {
                None => match requests.recv() {
                    Ok(r) => Some(r),
                    Err(_) => return,
                },
                Some(wait) => match requests.recv_timeout(wait) {
                    Ok(r) => Some(r),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
            };
            let mut next = first;
            let (mut applied, mut bytes) = (0, 0);
            while let Some(request) = next {
                let lines = request.lines();
                applied += lines.max(1);
                bytes += request.bytes();
                if let Next::Stop = self.apply(request) {
                    return;
                }
                if lines > 0 {
                    self.flow.release(lines);
                }
                next = if applied < MAX_BURST && bytes < MAX_BURST_BYTES {
                    requests.try_recv().ok()
                } else {
                    None
                };
            }
            self.flush();
            self.check_behind();
        }
    }

    /// Applies one request (also the entry point of the socket-free tests).
    fn apply(&mut self, request: Request) -> Next {
        match request {
            Request::Join { id, render, outbox } => self.join(id, render, outbox),
            Request::Leave { id, last } => {
                self.queue(id, last);
                self.remove(id, Departure::Left);
            }
            Request::Rename { id, name, reply } => self.rename(id, &name, reply),
            Request::Move { id, room, reply } => self.move_to(id, &room, reply),
            Request::Say { id, lines } => self.say(id, &lines, false),
            Request::Act { id, text } => self.say(id, std::slice::from_ref(&text), true),
            Request::Whisper { id, to, text } => self.whisper(id, &to, &text),
            Request::Binary { id, data } => self.share(id, &data),
            Request::Rooms { id, reply } => {
                let list: Vec<(&str, usize)> = self
                    .rooms
                    .values()
                    .map(|r| (r.name.as_str(), r.members.len()))
                    .collect();
                if let Some(reply) = reply {
                    let owned = list.iter().map(|(n, c)| (n.to_string(), *c)).collect();
                    let _ = reply.try_send(Reply::Rooms(owned));
                    return Next::Continue;
                }
                let d = Delivery::Rooms(&list);
                if let Some(m) = self.members.get_mut(&id) {
                    let packet = m.render.render(&d);
                    Self::push(&mut self.dirty, id, m, packet);
                }
            }
            Request::Who { id, reply } => {
                let Some(key) = self.members.get(&id).map(|m| m.room.clone()) else {
                    return Next::Continue;
                };
                let Some(room) = self.rooms.get(&key) else {
                    return Next::Continue;
                };
                let mut nicks: Vec<&str> = room
                    .members
                    .iter()
                    .filter_map(|m| self.members.get(m).map(|m| m.label.as_str()))
                    .collect();
                nicks.sort_unstable();
                if let Some(reply) = reply {
                    let _ = reply.try_send(Reply::Who {
                        room: room.name.clone(),
                        nicks: nicks.iter().map(|n| n.to_string()).collect(),
                    });
                    return Next::Continue;
                }
                let d = Delivery::Who {
                    room: &room.name,
                    nicks: &nicks,
                };
                if let Some(m) = self.members.get(&id) {
                    let packet = m.render.render(&d);
                    let m = self.members.get_mut(&id).expect("just seen");
                    Self::push(&mut self.dirty, id, m, packet);
                }
            }
            Request::Relay { id, packets } => self.queue(id, packets),
            Request::Remote { key, remote } => self.remote(&key, remote),
            Request::Members { keys, reply } => {
                let _ = reply.try_send(self.members_in(&keys));
            }
            Request::Shutdown { done } => {
                let ids: Vec<MemberId> = self.members.keys().copied().collect();
                for id in ids {
                    self.deliver(id, &Delivery::ShuttingDown);
                }
                self.flush();
                // Dropping the members drops their outboxes' hub ends: each writer writes what
                // it has and exits.
                self.members.clear();
                self.stats.members.store(0, Relaxed);
                self.flow.stop();
                let _ = done.send(());
                return Next::Stop;
            }
        }
        Next::Continue
    }

    fn join(&mut self, id: MemberId, render: Arc<dyn Render>, outbox: OutboxSender) {
        let label = rules::guest_label(id);
        self.names.insert(rules::key(&label), id);
        self.members.insert(
            id,
            Member {
                label: label.clone(),
                named: false,
                room: LOBBY.to_string(),
                render,
                outbox,
                pending: Vec::new(),
                urgent: false,
                lingering: false,
            },
        );
        let here = self.enter(id, LOBBY, LOBBY);
        self.stats.members.fetch_add(1, Relaxed);
        let welcome = Delivery::Welcome {
            nick: &label,
            room: LOBBY,
            here,
        };
        self.deliver(id, &welcome);
        let joined = Delivery::Joined {
            room: LOBBY,
            nick: &label,
        };
        self.broadcast(LOBBY, Some(id), &joined);
    }

    /// Removes a member: its pending packets go out (unless it is too slow), its room hears
    /// that it left, and it no longer holds the gate.
    fn remove(&mut self, id: MemberId, why: Departure) {
        let Some(mut m) = self.members.remove(&id) else {
            return;
        };
        self.stats.members.fetch_sub(1, Relaxed);
        if why == Departure::Left && !m.pending.is_empty() {
            let last = std::mem::take(&mut m.pending);
            let _ = m.outbox.hand_over(last, &self.flow, self.marks);
        }
        m.outbox.release(&self.flow);
        self.names.remove(&rules::key(&m.label));
        let room = self.exit(id, &m.room);
        let left = Delivery::Left {
            room: &room,
            nick: &m.label,
            why,
        };
        self.broadcast(&m.room, None, &left);
    }

    /// Puts a member in the room `key` (created as `name` if missing); returns how many are
    /// there now.
    fn enter(&mut self, id: MemberId, key: &str, name: &str) -> usize {
        let room = self.rooms.entry(key.to_string()).or_insert_with(|| Room {
            name: name.to_string(),
            members: Vec::new(),
        });
        room.members.push(id);
        let here = room.members.len();
        self.stats.rooms.store(self.rooms.len(), Relaxed);
        here
    }

    /// Takes a member out of the room `key` (removing the room if it empties, the lobby aside);
    /// returns the room's name.
    fn exit(&mut self, id: MemberId, key: &str) -> String {
        let Some(room) = self.rooms.get_mut(key) else {
            return key.to_string();
        };
        if let Some(pos) = room.members.iter().position(|&m| m == id) {
            room.members.swap_remove(pos);
        }
        let name = room.name.clone();
        if room.members.is_empty() && key != LOBBY {
            self.rooms.remove(key);
        }
        self.stats.rooms.store(self.rooms.len(), Relaxed);
        name
    }
}
