//! The hub: one thread owns room membership and every member's outbox. Protocol-agnostic: it
//! knows rooms, members and their names, and hands each member bytes in its own encoding.
//!
//! Sessions send [`Request`]s over one bounded channel. The hub drains every request already
//! pending, applies them all, and only then hands each affected member one chunk, so a burst of
//! N lines costs each recipient one wake-up and one write, not N. It never touches a socket.
//!
//! Flow control. When a member's outbox is full the hub looks at its writer: if it has written
//! nothing for [`STALL`] while holding data, the member is too slow and is dropped at once. If
//! it is still writing (a reader that is merely behind a flood), the hub stops taking requests
//! until that writer catches up or stalls; the flood then backs up into the bounded request
//! channel and from there into the sender's own TCP window. So a non-reader is dropped within
//! [`STALL`], an active reader is never dropped, and no buffer grows past its bound.

use super::outbox::{Chunk, Flow, OutboxSender, Outboxes};
use super::protocol::{Codec, Delivery, MemberId, Request};
use crossbeam_channel::{Receiver, TrySendError};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// The room everyone starts in; it exists even when empty.
pub const LOBBY: &str = "lobby";

/// Requests applied per burst before the hub flushes outboxes (bounds one burst's memory).
const MAX_BURST: usize = 1024;
/// A member whose writer holds data and has written nothing for this long is too slow.
pub const STALL: Duration = Duration::from_secs(2);
/// While waiting for a writer to catch up, the hub rechecks at least this often.
const CATCH_UP_POLL: Duration = Duration::from_millis(50);

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
    /// Members with pending bytes whose outbox is full but whose writer is still writing.
    waiting: Vec<MemberId>,
    scratch: Vec<u8>,
    outbox_lines: usize,
    stats: Arc<HubStats>,
    flow: Arc<Flow>,
    wakeups: Receiver<()>,
}

enum Next {
    Continue,
    Stop,
}

impl Hub {
    /// An empty hub whose members may each have `outbox_lines` lines waiting, and the factory
    /// of its members' outboxes.
    pub fn new(outbox_lines: usize, stats: Arc<HubStats>) -> (Self, Outboxes) {
        let mut rooms = BTreeMap::new();
        rooms.insert(LOBBY.to_string(), Vec::new());
        stats.rooms.store(1, Relaxed);
        let (flow, wakeups) = Flow::new();
        let outboxes = Outboxes::new(outbox_lines, Arc::clone(&flow));
        let hub = Hub {
            members: HashMap::new(),
            rooms,
            names: HashMap::new(),
            dirty: Vec::new(),
            waiting: Vec::new(),
            scratch: Vec::new(),
            outbox_lines,
            stats,
            flow,
            wakeups,
        };
        (hub, outboxes)
    }

    /// Serves requests until a `Shutdown` or until every sender is gone.
    pub fn run(mut self, requests: &Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut next = Some(first);
            let mut applied = 0;
            while let Some(request) = next {
                if let Next::Stop = self.apply(request) {
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

    fn apply(&mut self, request: Request) -> Next {
        match request {
            Request::Join { id, codec, outbox } => self.join(id, codec, outbox),
            Request::Leave { id, farewell } => {
                if let Some(line) = &farewell {
                    self.tell(id, line);
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
                    return Next::Continue;
                };
                let mut labels: Vec<&str> = self
                    .rooms
                    .get(&room)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| self.members.get(m).map(|m| m.label.as_str()))
                    .collect();
                labels.sort_unstable();
                let line = format!("in {room}: {}", labels.join(", "));
                self.deliver(id, &Delivery::Notice(&line));
            }
            Request::Tell { id, lines } => {
                for line in &lines {
                    self.tell(id, line);
                }
            }
            Request::Shutdown { farewell, done } => {
                let ids: Vec<MemberId> = self.members.keys().copied().collect();
                for id in &ids {
                    self.deliver(*id, &Delivery::Notice(&farewell));
                }
                // No catch-up wait here: a member whose outbox is full misses the farewell.
                self.hand_over_dirty();
                // Dropping the members drops their outbox senders: each writer drains what it
                // has and exits.
                self.members.clear();
                self.stats.members.store(0, Relaxed);
                let _ = done.send(());
                return Next::Stop;
            }
        }
        Next::Continue
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
        // Room names are case-insensitive; a room keeps the spelling it was created with.
        let room = self
            .rooms
            .keys()
            .find(|name| name.eq_ignore_ascii_case(&room))
            .cloned()
            .unwrap_or(room);
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
            Some(target) if target == id => self.deliver(
                id,
                &Delivery::Error("that is you: /msg sends to someone else"),
            ),
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
            if append(m, &self.scratch) {
                self.dirty.push(id);
            }
            count += 1;
        }
        count
    }

    /// Queues a notice (`Ok`) or an error (`Err`) for one member.
    fn tell(&mut self, id: MemberId, line: &Result<String, String>) {
        match line {
            Ok(notice) => self.deliver(id, &Delivery::Notice(notice)),
            Err(error) => self.deliver(id, &Delivery::Error(error)),
        }
    }

    /// Queues `d` for one member.
    fn deliver(&mut self, id: MemberId, d: &Delivery<'_>) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        self.scratch.clear();
        m.codec.encode(d, &mut self.scratch);
        if append(m, &self.scratch) {
            self.dirty.push(id);
        }
    }

    /// Hands every member with pending deliveries one chunk, drops the stalled ones, and waits
    /// (taking no new requests) while a member that is still writing catches up, but never
    /// longer than [`STALL`] in all: a member still behind at that deadline is dropped as too
    /// slow. A member whose writer is gone is removed at once.
    fn flush(&mut self) {
        self.hand_over_dirty();
        let deadline = self.flow.now_ms() + STALL.as_millis() as u64;
        while !self.waiting.is_empty() {
            self.flow.hub_waiting.store(true, SeqCst);
            // Recheck after raising the flag, so a writer's progress cannot slip between.
            for id in std::mem::take(&mut self.waiting) {
                self.hand_over(id);
            }
            if !self.waiting.is_empty() {
                let left = deadline.saturating_sub(self.flow.now_ms());
                if left == 0 {
                    for id in std::mem::take(&mut self.waiting) {
                        self.drop_slow(id);
                    }
                } else {
                    let poll = CATCH_UP_POLL.min(Duration::from_millis(left));
                    let _ = self.wakeups.recv_timeout(poll);
                }
            }
            self.flow.hub_waiting.store(false, SeqCst);
            self.hand_over_dirty();
        }
    }

    fn hand_over_dirty(&mut self) {
        // Dropping a member notifies its room, which can dirty others: loop until quiet.
        while !self.dirty.is_empty() {
            for id in std::mem::take(&mut self.dirty) {
                self.hand_over(id);
            }
        }
    }

    /// Moves a member's pending bytes into its outbox if there is room; otherwise drops it if
    /// its writer has stalled, or leaves it waiting. A member whose writer is gone is removed.
    fn hand_over(&mut self, id: MemberId) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        if m.outbox.gone.load(SeqCst) {
            // Its writer failed (reset, broken pipe) and exited: nothing will drain this outbox.
            self.remove(id, "");
            return;
        }
        if m.pending_lines == 0 {
            return;
        }
        if m.outbox.queued.load(SeqCst) < self.outbox_lines {
            let chunk = Chunk {
                bytes: std::mem::take(&mut m.pending),
                lines: std::mem::take(&mut m.pending_lines),
            };
            let lines = chunk.lines;
            let was_idle = m.outbox.queued.fetch_add(lines, SeqCst) == 0;
            match m.outbox.chunks.try_send(chunk) {
                Ok(()) => {
                    if was_idle {
                        // The stall clock starts when the writer has something to write: time
                        // it spent idle with an empty queue is not its fault.
                        m.outbox.progress.store(self.flow.now_ms(), SeqCst);
                    }
                    return;
                }
                Err(TrySendError::Full(chunk)) => {
                    m.outbox.queued.fetch_sub(lines, SeqCst);
                    m.pending = chunk.bytes;
                    m.pending_lines = chunk.lines;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.remove(id, "");
                    return;
                }
            }
        }
        let idle_ms = self
            .flow
            .now_ms()
            .saturating_sub(m.outbox.progress.load(Relaxed));
        if Duration::from_millis(idle_ms) >= STALL {
            self.drop_slow(id);
        } else if !self.waiting.contains(&id) {
            self.waiting.push(id);
        }
    }

    /// Drops a member whose writer cannot keep up; its writer tells the client why.
    fn drop_slow(&mut self, id: MemberId) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        m.too_slow = true;
        m.outbox.kicked.store(true, SeqCst);
        self.stats.slow_dropped.fetch_add(1, Relaxed);
        self.remove(id, " (too slow)");
    }
}

/// Adds one encoded delivery to a member's pending bytes; true if the member just became dirty.
/// Pending bytes are bounded by one burst: they are handed over, or the hub waits, every burst.
fn append(m: &mut Member, bytes: &[u8]) -> bool {
    if m.too_slow {
        return false;
    }
    let was_clean = m.pending_lines == 0;
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
