//! The chat service: the seed's `nc` chat with nicknames and rooms, on a hub thread that no slow
//! client can stall.

pub mod command;
pub mod hub;
pub mod lines;
pub mod outbox;
pub mod protocol;
mod session;
pub mod text;

use crate::server::{Connection, Metric};
use crossbeam_channel::{Receiver, Sender};
use hub::{Hub, HubStats};
use outbox::Outboxes;
use protocol::Request;
use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Requests that may wait for the hub; a reader that finds the channel full waits, which slows
/// only its own client (TCP backpressure), never the hub.
const HUB_QUEUE: usize = 8192;

/// Settings of the chat service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatConfig {
    /// Longest line accepted, in bytes; longer lines get `! line too long`.
    pub max_line: usize,
    /// Lines that may wait for one client before it is dropped as too slow.
    pub outbox_lines: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_line: 4096,
            outbox_lines: 1024,
        }
    }
}

/// A running chat: the hub thread and what sessions need to reach it.
#[derive(Debug)]
pub struct Chat {
    config: ChatConfig,
    requests: Sender<Request>,
    outboxes: Outboxes,
    stats: Arc<HubStats>,
    /// Each writer thread holds a clone; shutdown drops this one and waits for disconnection.
    writers_alive: Mutex<Option<Sender<()>>>,
    writers_done: Receiver<()>,
}

impl Chat {
    /// Starts the hub thread.
    pub fn start(config: ChatConfig) -> io::Result<Arc<Chat>> {
        let (requests, inbox) = crossbeam_channel::bounded(HUB_QUEUE);
        let stats = Arc::new(HubStats::default());
        let (hub, outboxes) = Hub::new(config.outbox_lines, Arc::clone(&stats));
        thread::Builder::new()
            .name("chat-hub".into())
            .spawn(move || hub.run(&inbox))?;
        let (alive, done) = crossbeam_channel::bounded(0);
        Ok(Arc::new(Chat {
            config,
            requests,
            outboxes,
            stats,
            writers_alive: Mutex::new(Some(alive)),
            writers_done: done,
        }))
    }

    /// The connection handler: runs one client until it leaves.
    pub fn serve(&self, conn: &mut Connection) -> io::Result<()> {
        session::serve(self, conn)
    }

    fn writer_token(&self) -> Option<Sender<()>> {
        self.writers_alive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Tells every client `* server shutting down`, and waits (at most `timeout`) until each
    /// writer has put that line on the wire, so the server can then close the sockets.
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.writers_alive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let asked = self.requests.send_deadline(
            Request::Shutdown {
                farewell: "server shutting down".into(),
                done: done_tx,
            },
            deadline,
        );
        if asked.is_ok() {
            let _ = done_rx.recv_deadline(deadline);
        }
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
