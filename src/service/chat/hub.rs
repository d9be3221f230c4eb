//! The hub: one thread owns room membership and every member's outbox. Protocol-agnostic: it
//! knows rooms, members and their names, and hands each member bytes in its own encoding.
//!
//! Sessions send [`Request`]s over one bounded channel. The hub drains every request already
//! pending, applies them all, and only then hands each affected member one chunk, so a burst of
//! N lines costs each recipient one wake-up and one write, not N. It never touches a socket:
//! a member whose outbox is full is too slow and is dropped, and everyone else goes on.

use super::text;
use crossbeam_channel::{Receiver, Sender};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// A member's id: the server's connection id.
pub type MemberId = u64;

/// The room everyone starts in; it exists even when empty.
pub const LOBBY: &str = "lobby";

/// Requests applied per burst before the hub flushes outboxes (bounds one burst's memory).
const MAX_BURST: usize = 4096;

/// How deliveries become bytes for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Text lines for `nc` and telnet (`-> `, `* `, `! `).
    Text,
}

impl Codec {
    fn encode(self, d: &Delivery<'_>, out: &mut Vec<u8>) {
        match self {
            Codec::Text => text::encode(d, out),
        }
    }
}

/// One thing to show a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// A line from someone in the room; `from` is `None` for a member without a nickname.
    Message {
        /// The sender's nickname.
        from: Option<&'a str>,
        /// The line.
        text: &'a str,
    },
    /// `/me`.
    Action {
        /// The sender's name.
        from: &'a str,
        /// What they do.
        text: &'a str,
    },
    /// `/msg`.
    Private {
        /// The sender's name.
        from: &'a str,
        /// The message.
        text: &'a str,
    },
    /// A server notice.
    Notice(&'a str),
    /// An error about the member's own request.
    Error(&'a str),
}

/// Bytes for one member, and how many deliveries (lines) they hold.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Encoded deliveries.
    pub bytes: Vec<u8>,
    /// Number of deliveries in `bytes`.
    pub lines: usize,
}

/// The writer's side of a member's outbox.
#[derive(Debug)]
pub struct Outbox {
    /// Chunks to write, in order; disconnected once the hub has dropped the member.
    pub chunks: Receiver<Chunk>,
    /// Lines handed over but not yet written; the writer subtracts what it wrote.
    pub queued: Arc<AtomicUsize>,
    /// Set when the hub dropped the member for being too slow.
    pub kicked: Arc<AtomicBool>,
}

/// What the hub keeps of a member's outbox.
#[derive(Debug)]
pub struct OutboxSender {
    chunks: Sender<Chunk>,
    queued: Arc<AtomicUsize>,
    kicked: Arc<AtomicBool>,
}

/// A member's outbox holding at most `lines` lines.
pub fn outbox(lines: usize) -> (OutboxSender, Outbox) {
    let (tx, rx) = crossbeam_channel::bounded(lines.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    let kicked = Arc::new(AtomicBool::new(false));
    (
        OutboxSender {
            chunks: tx,
            queued: Arc::clone(&queued),
            kicked: Arc::clone(&kicked),
        },
        Outbox {
            chunks: rx,
            queued,
            kicked,
        },
    )
}

/// What sessions ask of the hub.
#[derive(Debug)]
pub enum Request {
    /// A new member, placed in [`LOBBY`] under the name `guest<id>`.
    Join {
        /// Its id.
        id: MemberId,
        /// Its encoding.
        codec: Codec,
        /// Where its deliveries go.
        outbox: OutboxSender,
    },
    /// The member is gone; `farewell` is a last notice to it, if it can still read.
    Leave {
        /// Who.
        id: MemberId,
        /// Last notice.
        farewell: Option<String>,
    },
    /// Take a nickname (already validated for form; the hub checks uniqueness).
    Rename {
        /// Who.
        id: MemberId,
        /// The new name.
        name: String,
    },
    /// Leave the current room for another (created on first use).
    Move {
        /// Who.
        id: MemberId,
        /// Target room.
        room: String,
    },
    /// A line to everyone else in the member's room.
    Say {
        /// Who.
        id: MemberId,
        /// The line.
        text: String,
    },
    /// An action (`/me`) to everyone else in the room.
    Act {
        /// Who.
        id: MemberId,
        /// The action.
        text: String,
    },
    /// A private message to the member named `to`.
    Whisper {
        /// Who.
        id: MemberId,
        /// Recipient's name.
        to: String,
        /// The message.
        text: String,
    },
    /// List rooms with member counts, to the member.
    Rooms {
        /// Who asks.
        id: MemberId,
    },
    /// List the members of the member's room, to the member.
    Who {
        /// Who asks.
        id: MemberId,
    },
    /// Notices (`Ok`) or errors (`Err`) for the member itself, in order with everything else.
    Tell {
        /// Who.
        id: MemberId,
        /// The lines.
        lines: Vec<Result<String, String>>,
    },
    /// Give every member `farewell`, drop them all, then acknowledge and stop.
    Shutdown {
        /// The last notice.
        farewell: String,
        /// Acknowledged once every outbox has its last chunk.
        done: Sender<()>,
    },
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
    /// Members dropped because their outbox was full.
    pub slow_dropped: AtomicU64,
}

#[derive(Debug)]
struct Member {
    label: String,
    named: bool,
    room: String,
    codec: Codec,
    outbox: OutboxSender,
    pending: Vec<u8>,
    pending_lines: usize,
    too_slow: bool,
}

/// The hub's state. Build with [`Hub::new`], then [`Hub::run`] on its own thread.
#[derive(Debug)]
pub struct Hub {
    members: HashMap<MemberId, Member>,
    rooms: BTreeMap<String, Vec<MemberId>>,
    /// Lower-cased names (nicknames and `guest<id>`) to members.
    names: HashMap<String, MemberId>,
    dirty: Vec<MemberId>,
    scratch: Vec<u8>,
    outbox_lines: usize,
    stats: Arc<HubStats>,
}

enum Flow {
    Continue,
    Stop,
}

impl Hub {
    /// An empty hub whose members may each have `outbox_lines` lines waiting.
    pub fn new(outbox_lines: usize, stats: Arc<HubStats>) -> Self {
        let mut rooms = BTreeMap::new();
        rooms.insert(LOBBY.to_string(), Vec::new());
        stats.rooms.store(1, Relaxed);
        Hub {
            members: HashMap::new(),
            rooms,
            names: HashMap::new(),
            dirty: Vec::new(),
            scratch: Vec::new(),
            outbox_lines,
            stats,
        }
    }

    /// Serves requests until a `Shutdown` or until every sender is gone.
    pub fn run(mut self, requests: &Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut next = Some(first);
            let mut applied = 0;
            while let Some(request) = next {
                if let Flow::Stop = self.apply(request) {
                    return;
                }
                applied += 1;
                next = if applied < MAX_BURST {
                    requests.try_recv().ok()
                } else {
                    None
                };
            }
            self.flush();
        }
    }

    fn apply(&mut self, request: Request) -> Flow {
        match request {
            Request::Join { id, codec, outbox } => self.join(id, codec, outbox),
            Request::Leave { id, farewell } => {
                if let Some(f) = farewell {
                    self.deliver(id, &Delivery::Notice(&f));
                }
                self.remove(id, "");
            }
            Request::Rename { id, name } => self.rename(id, name),
            Request::Move { id, room } => self.move_to(id, room),
            Request::Say { id, text } => self.say(id, &text, false),
            Request::Act { id, text } => self.say(id, &text, true),
            Request::Whisper { id, to, text } => self.whisper(id, &to, &text),
            Request::Rooms { id } => {
                let list: Vec<String> = self
                    .rooms
                    .iter()
                    .map(|(name, m)| format!("{name} ({})", m.len()))
                    .collect();
                self.deliver(
                    id,
                    &Delivery::Notice(&format!("rooms: {}", list.join(", "))),
                );
            }
            Request::Who { id } => {
                let Some(room) = self.members.get(&id).map(|m| m.room.clone()) else {
                    return Flow::Continue;
                };
                let mut labels: Vec<&str> = self.rooms[&room]
                    .iter()
                    .filter_map(|m| self.members.get(m).map(|m| m.label.as_str()))
                    .collect();
                labels.sort_unstable();
                let line = format!("in {room}: {}", labels.join(", "));
                self.deliver(id, &Delivery::Notice(&line));
            }
            Request::Tell { id, lines } => {
                for line in &lines {
                    match line {
                        Ok(n) => self.deliver(id, &Delivery::Notice(n)),
                        Err(e) => self.deliver(id, &Delivery::Error(e)),
                    }
                }
            }
            Request::Shutdown { farewell, done } => {
                let ids: Vec<MemberId> = self.members.keys().copied().collect();
                for id in &ids {
                    self.deliver(*id, &Delivery::Notice(&farewell));
                }
                self.flush();
                // Dropping the members drops their outbox senders: each writer drains what it
                // has and exits.
                self.members.clear();
                self.stats.members.store(0, Relaxed);
                let _ = done.send(());
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    fn join(&mut self, id: MemberId, codec: Codec, outbox: OutboxSender) {
        let label = format!("guest{id}");
        self.names.insert(label.clone(), id);
        self.members.insert(
            id,
            Member {
                label: label.clone(),
                named: false,
                room: LOBBY.to_string(),
                codec,
                outbox,
                pending: Vec::new(),
                pending_lines: 0,
                too_slow: false,
            },
        );
        let lobby = self.rooms.entry(LOBBY.to_string()).or_default();
        lobby.push(id);
        let here = lobby.len();
        self.stats.members.fetch_add(1, Relaxed);
        let welcome =
            format!("welcome, you are {label} in {LOBBY} ({here} here); /help lists commands");
        self.deliver(id, &Delivery::Notice(&welcome));
        let joined = format!("{label} joined {LOBBY}");
        self.broadcast(LOBBY, Some(id), &Delivery::Notice(&joined));
    }

    /// Removes a member: its last pending bytes go out, its room hears that it left.
    fn remove(&mut self, id: MemberId, why: &str) {
        let Some(mut m) = self.members.remove(&id) else {
            return;
        };
        self.stats.members.fetch_sub(1, Relaxed);
        if !m.too_slow && m.pending_lines > 0 {
            let chunk = Chunk {
                bytes: std::mem::take(&mut m.pending),
                lines: m.pending_lines,
            };
            let _ = m.outbox.chunks.try_send(chunk);
        }
        self.names.remove(&m.label.to_ascii_lowercase());
        self.leave_room(id, &m.room);
        let left = format!("{} left {}{why}", m.label, m.room);
        self.broadcast(&m.room, None, &Delivery::Notice(&left));
    }

    fn leave_room(&mut self, id: MemberId, room: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            if let Some(pos) = members.iter().position(|&m| m == id) {
                members.swap_remove(pos);
            }
            if members.is_empty() && room != LOBBY {
                self.rooms.remove(room);
            }
        }
        self.stats.rooms.store(self.rooms.len(), Relaxed);
    }

    fn rename(&mut self, id: MemberId, name: String) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let key = name.to_ascii_lowercase();
        let error = match self.names.get(&key) {
            Some(&owner) if owner == id => Some(format!("you are already {}", m.label)),
            Some(_) => Some(format!("nickname {name} is taken")),
            None if is_guest_label(&key) => Some(format!("nickname {name} is reserved")),
            None => None,
        };
        if let Some(e) = error {
            self.deliver(id, &Delivery::Error(&e));
            return;
        }
        let m = self.members.get_mut(&id).expect("checked above");
        let old = std::mem::replace(&mut m.label, name.clone());
        m.named = true;
        let room = m.room.clone();
        self.names.remove(&old.to_ascii_lowercase());
        self.names.insert(key, id);
        self.deliver(id, &Delivery::Notice(&format!("you are now {name}")));
        let notice = format!("{old} is now {name}");
        self.broadcast(&room, Some(id), &Delivery::Notice(&notice));
    }

    fn move_to(&mut self, id: MemberId, room: String) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        if m.room == room {
            self.deliver(id, &Delivery::Error(&format!("you are already in {room}")));
            return;
        }
        let (label, old) = (m.label.clone(), m.room.clone());
        self.leave_room(id, &old);
        self.broadcast(
            &old,
            None,
            &Delivery::Notice(&format!("{label} left {old}")),
        );
        let members = self.rooms.entry(room.clone()).or_default();
        members.push(id);
        let here = members.len();
        self.stats.rooms.store(self.rooms.len(), Relaxed);
        if let Some(m) = self.members.get_mut(&id) {
            m.room = room.clone();
        }
        self.deliver(
            id,
            &Delivery::Notice(&format!("you joined {room} ({here} here)")),
        );
        let joined = format!("{label} joined {room}");
        self.broadcast(&room, Some(id), &Delivery::Notice(&joined));
    }

    fn say(&mut self, id: MemberId, text: &str, action: bool) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let room = m.room.clone();
        let label = m.label.clone();
        let d = if action {
            Delivery::Action { from: &label, text }
        } else {
            Delivery::Message {
                from: m.named.then_some(label.as_str()),
                text,
            }
        };
        self.stats.lines_in.fetch_add(1, Relaxed);
        let sent = self.broadcast(&room, Some(id), &d);
        self.stats.lines_out.fetch_add(sent as u64, Relaxed);
    }

    fn whisper(&mut self, id: MemberId, to: &str, text: &str) {
        let Some(from) = self.members.get(&id).map(|m| m.label.clone()) else {
            return;
        };
        match self.names.get(&to.to_ascii_lowercase()).copied() {
            Some(target) => {
                self.stats.lines_in.fetch_add(1, Relaxed);
                self.stats.lines_out.fetch_add(1, Relaxed);
                self.deliver(target, &Delivery::Private { from: &from, text });
            }
            None => self.deliver(id, &Delivery::Error(&format!("no such nickname: {to}"))),
        }
    }

    /// Queues `d` for everyone in `room` but `except`; returns how many it was queued for.
    fn broadcast(&mut self, room: &str, except: Option<MemberId>, d: &Delivery<'_>) -> usize {
        let Some(members) = self.rooms.get(room) else {
            return 0;
        };
        // Encode once per codec, not once per member: a room usually shares one.
        let mut encoded_as: Option<Codec> = None;
        let mut count = 0;
        for &id in members {
            if Some(id) == except {
                continue;
            }
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            if encoded_as != Some(m.codec) {
                self.scratch.clear();
                m.codec.encode(d, &mut self.scratch);
                encoded_as = Some(m.codec);
            }
            if append(m, &self.scratch, self.outbox_lines) {
                self.dirty.push(id);
            }
            count += 1;
        }
        count
    }

    /// Queues `d` for one member.
    fn deliver(&mut self, id: MemberId, d: &Delivery<'_>) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        self.scratch.clear();
        m.codec.encode(d, &mut self.scratch);
        if append(m, &self.scratch, self.outbox_lines) {
            self.dirty.push(id);
        }
    }

    /// Hands every member with pending deliveries one chunk; drops the ones that are too slow.
    fn flush(&mut self) {
        // Dropping a member notifies its room, which can dirty others: loop until quiet.
        while !self.dirty.is_empty() {
            let dirty = std::mem::take(&mut self.dirty);
            for id in dirty {
                let Some(m) = self.members.get_mut(&id) else {
                    continue;
                };
                if m.pending_lines == 0 {
                    continue;
                }
                let slow = m.too_slow || {
                    let chunk = Chunk {
                        bytes: std::mem::take(&mut m.pending),
                        lines: std::mem::take(&mut m.pending_lines),
                    };
                    let lines = chunk.lines;
                    m.outbox.queued.fetch_add(lines, Relaxed);
                    let full = m.outbox.chunks.try_send(chunk).is_err();
                    if full {
                        m.outbox.queued.fetch_sub(lines, Relaxed);
                    }
                    full
                };
                if slow {
                    m.too_slow = true;
                    m.outbox.kicked.store(true, Relaxed);
                    self.stats.slow_dropped.fetch_add(1, Relaxed);
                    self.remove(id, " (too slow)");
                }
            }
        }
    }
}

/// Adds one encoded delivery to a member's pending bytes; true if the member just became dirty.
/// A member whose pending and queued lines would pass `limit` is marked too slow instead.
fn append(m: &mut Member, bytes: &[u8], limit: usize) -> bool {
    if m.too_slow {
        return false;
    }
    let was_clean = m.pending_lines == 0;
    if m.pending_lines + m.outbox.queued.load(Relaxed) >= limit {
        m.too_slow = true;
        m.pending.clear();
        // Keep it dirty so flush drops it.
        m.pending_lines = 1;
        return was_clean;
    }
    m.pending.extend_from_slice(bytes);
    m.pending_lines += 1;
    was_clean
}

/// True for `guest` followed by digits: the names members have before `/nick`.
fn is_guest_label(lower: &str) -> bool {
    lower
        .strip_prefix("guest")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}
