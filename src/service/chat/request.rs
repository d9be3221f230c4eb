//! What members ask of the hub: one [`Request`] per action, over one bounded channel.

use super::delivery::{Packet, Render, Reply};
use super::outbox::OutboxSender;
use super::uplink::{MemberInfo, Remote};
use crossbeam_channel::Sender;
use std::sync::Arc;

/// A member's id, issued by the chat.
pub type MemberId = u64;

/// What sessions ask of the hub (through [`Member`](super::Member)).
#[derive(Debug)]
pub enum Request {
    /// A new member, placed in [`LOBBY`](super::rules::LOBBY) under the name `guest<id>`.
    Join {
        /// Its id.
        id: MemberId,
        /// Its wire format.
        render: Arc<dyn Render>,
        /// Where its deliveries go.
        outbox: OutboxSender,
    },
    /// The member is gone; `last` are packets (in its own format) to send it before it goes.
    Leave {
        /// Who.
        id: MemberId,
        /// Last packets.
        last: Vec<Packet>,
    },
    /// Take a nickname.
    Rename {
        /// Who.
        id: MemberId,
        /// The new name.
        name: String,
        /// Where to answer, instead of a delivery.
        reply: Option<Sender<Reply>>,
    },
    /// Leave the current room for another (created on first use).
    Move {
        /// Who.
        id: MemberId,
        /// Target room.
        room: String,
        /// Where to answer, instead of a delivery.
        reply: Option<Sender<Reply>>,
    },
    /// Messages to everyone else in the member's room, in order.
    Say {
        /// Who.
        id: MemberId,
        /// The messages (at most [`LINES_PER_REQUEST`](super::outbox::LINES_PER_REQUEST)).
        lines: Vec<String>,
    },
    /// An action (`/me`) to everyone else in the room.
    Act {
        /// Who.
        id: MemberId,
        /// The action.
        text: String,
    },
    /// Bytes to everyone else in the member's room.
    Binary {
        /// Who.
        id: MemberId,
        /// The bytes.
        data: Vec<u8>,
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
        /// Where to answer, instead of a delivery.
        reply: Option<Sender<Reply>>,
    },
    /// List the members of the member's room, to the member.
    Who {
        /// Who asks.
        id: MemberId,
        /// Where to answer, instead of a delivery.
        reply: Option<Sender<Reply>>,
    },
    /// Packets the member's own transport made (help, usage errors), in order with the rest.
    Relay {
        /// Who.
        id: MemberId,
        /// The packets.
        packets: Vec<Packet>,
    },
    /// A broadcast made on another node, for the members of the room `key` here.
    Remote {
        /// The room's key.
        key: String,
        /// What was broadcast.
        remote: Remote,
    },
    /// The members in the rooms `keys` (all members if none), for another node.
    Members {
        /// Room keys.
        keys: Vec<String>,
        /// Where to answer.
        reply: Sender<Vec<MemberInfo>>,
    },
    /// Tell every member the server is shutting down, drop them all, acknowledge, and stop.
    Shutdown {
        /// Acknowledged once every outbox has its last batch.
        done: Sender<()>,
    },
}

impl Request {
    /// The lines it carries: what it holds of the budget of lines in transit, and what it
    /// counts for in the hub's burst.
    pub fn lines(&self) -> usize {
        match self {
            Request::Say { lines, .. } => lines.len(),
            Request::Act { .. } | Request::Whisper { .. } | Request::Binary { .. } => 1,
            _ => 0,
        }
    }

    /// The bytes of text or data it carries: what it counts for in the hub's burst of bytes.
    pub fn bytes(&self) -> usize {
        match self {
            Request::Say { lines, .. } => lines.iter().map(String::len).sum(),
            Request::Act { text, .. } | Request::Whisper { text, .. } => text.len(),
            Request::Binary { data, .. } => data.len(),
            _ => 0,
        }
    }
}
