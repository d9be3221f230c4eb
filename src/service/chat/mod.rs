//! The chat service: rooms and nicknames on a hub thread that no slow client can stall, shared
//! by every transport (members join through [`Chat::join`] with their own wire format), and the
//! seed's `nc` chat as its first transport.

pub mod command;
pub mod delivery;
pub mod flow;
pub mod hub;
mod member;
pub mod outbox;
pub mod queue;
mod request;
pub mod rules;
mod session;
#[cfg(test)]
mod tests;
pub mod text;
pub mod uplink;
pub mod writer;

use crate::defaults;
use crate::server::{Connection, Metric};
use crossbeam_channel::{Receiver, Sender};
pub use delivery::{Delivery, Departure, Packet, Refusal, Render, Reply};
use hub::{Hub, HubStats, Request};
pub use member::{ChatClosed, Member, Question};
use outbox::{Flow, Marks, Outbox, LINES_IN_TRANSIT, LINES_PER_REQUEST};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
pub use uplink::{MemberInfo, Remote, Uplink};

/// Requests that may wait for the hub; a reader that finds the channel full waits, which slows
/// only its own client (TCP backpressure), never the hub.
const HUB_QUEUE: usize = 1024;
/// Senders that may each hold one request past the gate when it closes, allowed for in the
/// hard mark; past that many simultaneous senders a reader that is behind may be dropped.
const SENDERS_IN_HAND: usize = 1024;

/// Longest a broadcast from another node waits for room in the hub's queue before it is
/// dropped: the thread that reads the other nodes never waits on a stuck hub for long.
pub const REMOTE_WAIT: Duration = Duration::from_secs(1);

/// Settings of the chat service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatConfig {
    /// Longest line accepted, in bytes; longer lines get `! line too long`.
    pub max_line: usize,
    /// Lines that may wait for one client before it is dropped as too slow.
    pub outbox_lines: usize,
    /// A client that is behind and whose writer has written nothing for this long is dropped
    /// as too slow.
    pub stall: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_line: defaults::MAX_LINE,
            outbox_lines: defaults::OUTBOX_LINES,
            stall: defaults::CHAT_STALL,
        }
    }
}

/// A running chat: the hub thread and what members need to reach it.
#[derive(Debug)]
pub struct Chat {
    config: ChatConfig,
    requests: Sender<Request>,
    flow: Arc<Flow>,
    marks: Marks,
    stats: Arc<HubStats>,
    next_id: AtomicU64,
    /// The `nc` wire format, shared by every `nc` member.
    text: Arc<dyn Render>,
    /// Each outbox holds a clone; shutdown drops this one and waits for disconnection.
    writers_alive: Mutex<Option<Sender<()>>>,
    writers_done: Receiver<()>,
    /// The other nodes, if the rooms are shared.
    uplink: Option<Arc<dyn Uplink>>,
}

impl Chat {
    /// Starts the hub thread.
    pub fn start(config: ChatConfig) -> io::Result<Arc<Chat>> {
        Chat::start_with(config, None)
    }

    /// Starts the hub thread, which tells `uplink` (other nodes) of every room broadcast.
    pub fn start_with(
        config: ChatConfig,
        uplink: Option<Arc<dyn Uplink>>,
    ) -> io::Result<Arc<Chat>> {
        let (requests, inbox) = crossbeam_channel::bounded(HUB_QUEUE);
        let stats = Arc::new(HubStats::default());
        let flow = Flow::new();
        // After a member falls behind it may still be handed the rest of the burst that made it
        // behind (its last request may pass the burst's count by one request's lines), every
        // line in transit to the hub, and one notice per request that needs no gate (joins,
        // leaves, renames: queued, or in hand per sender): that is the slack before it is
        // dropped regardless.
        let marks = Marks::for_outbox(
            config.outbox_lines,
            hub::MAX_BURST + LINES_PER_REQUEST + LINES_IN_TRANSIT + HUB_QUEUE + SENDERS_IN_HAND,
        );
        let hub = Hub::new(marks, config.stall, Arc::clone(&stats), Arc::clone(&flow))
            .with_uplink(uplink.clone());
        thread::Builder::new()
            .name("chat-hub".into())
            .spawn(move || hub.run(&inbox))?;
        let (alive, done) = crossbeam_channel::bounded(0);
        Ok(Arc::new(Chat {
            config,
            requests,
            flow,
            marks,
            stats,
            next_id: AtomicU64::new(1),
            text: Arc::new(text::Text),
            writers_alive: Mutex::new(Some(alive)),
            writers_done: done,
            uplink,
        }))
    }

    /// Adds a member whose deliveries are rendered by `render`: it starts in the lobby under a
    /// guest label, and receives through the returned [`Outbox`] (run a
    /// [`writer`](writer::run) on it). Fails once the chat is stopping.
    pub fn join(&self, render: Arc<dyn Render>) -> Result<(Member, Outbox), ChatClosed> {
        let alive = self
            .writers_alive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(ChatClosed)?;
        let id = self.next_id.fetch_add(1, Relaxed);
        let (sender, outbox) = outbox::outbox(&self.flow, self.marks, alive);
        self.requests
            .send(Request::Join {
                id,
                render,
                outbox: sender,
            })
            .map_err(|_| ChatClosed)?;
        let member = Member::new(
            id,
            self.requests.clone(),
            Arc::clone(&self.flow),
            self.uplink.clone(),
        );
        Ok((member, outbox))
    }

    /// Adds a member whose deliveries go to an outbox its transport already has (a Socket.IO
    /// session's, which also carries the session's own packets). Fails once stopping.
    pub fn join_outbox(
        &self,
        render: Arc<dyn Render>,
        outbox: outbox::OutboxSender,
    ) -> Result<Member, ChatClosed> {
        if self
            .writers_alive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
        {
            return Err(ChatClosed);
        }
        let id = self.next_id.fetch_add(1, Relaxed);
        self.requests
            .send(Request::Join { id, render, outbox })
            .map_err(|_| ChatClosed)?;
        Ok(Member::new(
            id,
            self.requests.clone(),
            Arc::clone(&self.flow),
            self.uplink.clone(),
        ))
    }

    /// Hands the hub a broadcast made on another node, for the members of the room `key` here.
    /// Waits at most [`REMOTE_WAIT`] for room in the hub's queue; false if it was dropped (the
    /// hub is that busy, or stopping).
    pub fn remote(&self, key: String, remote: Remote) -> bool {
        self.remote_until(key, remote, Instant::now() + REMOTE_WAIT)
    }

    /// As [`Chat::remote`], waiting for room in the hub's queue until `deadline` at most.
    pub fn remote_until(&self, key: String, remote: Remote, deadline: Instant) -> bool {
        self.requests
            .send_deadline(Request::Remote { key, remote }, deadline)
            .is_ok()
    }

    /// The members in the rooms `keys` (all if empty); `None` if the hub did not answer within
    /// [`REMOTE_WAIT`].
    pub fn members_in(&self, keys: Vec<String>) -> Option<Vec<MemberInfo>> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let deadline = Instant::now() + REMOTE_WAIT;
        self.requests
            .send_deadline(Request::Members { keys, reply }, deadline)
            .ok()?;
        answer.recv_deadline(deadline).ok()
    }

    /// Every room here (by name) with its member count; `None` if the hub did not answer within
    /// [`REMOTE_WAIT`].
    pub fn room_counts(&self) -> Option<Vec<(String, usize)>> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let deadline = Instant::now() + REMOTE_WAIT;
        let ask = Request::Rooms {
            id: 0,
            reply: Some(reply),
        };
        self.requests.send_deadline(ask, deadline).ok()?;
        match answer.recv_deadline(deadline).ok()? {
            Reply::Rooms(rooms) => Some(rooms),
            _ => None,
        }
    }

    /// The clock and gate of the chat's flow control, for a transport with outboxes of its own.
    pub fn flow(&self) -> Arc<Flow> {
        Arc::clone(&self.flow)
    }

    /// Longest line a member may send, in bytes.
    pub fn max_line(&self) -> usize {
        self.config.max_line
    }

    /// The connection handler of the `nc` chat: runs one client until it leaves.
    pub fn serve(&self, conn: &mut Connection) -> io::Result<()> {
        session::serve(self, conn)
    }

    /// Tells every client the server is shutting down, and waits (at most `timeout`) until
    /// each writer has put that on the wire, so the server can then close the sockets.
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.writers_alive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let asked = self
            .requests
            .send_deadline(Request::Shutdown { done: done_tx }, deadline);
        if asked.is_ok() {
            let _ = done_rx.recv_deadline(deadline);
        }
        self.flow.stop();
        let _ = self.writers_done.recv_deadline(deadline);
    }

    /// Figures for the `--stats` line: clients and rooms now, lines in and out per second.
    pub fn metrics(&self) -> Vec<Metric> {
        let s = &self.stats;
        vec![
            Metric::Gauge("chat_clients", s.members.load(Relaxed) as u64),
            Metric::Gauge("chat_rooms", s.rooms.load(Relaxed) as u64),
            Metric::Rate("chat_lines_in", s.lines_in.load(Relaxed)),
            Metric::Rate("chat_lines_out", s.lines_out.load(Relaxed)),
            Metric::Gauge("chat_slow_dropped", s.slow_dropped.load(Relaxed)),
        ]
    }
}
