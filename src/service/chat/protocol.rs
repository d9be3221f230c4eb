//! What sessions and the hub exchange: requests in, deliveries out, and the codec that turns a
//! delivery into bytes for one member.

use super::outbox::OutboxSender;
use super::text;
use crossbeam_channel::Sender;

/// A member's id: the server's connection id.
pub type MemberId = u64;

/// How deliveries become bytes for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Text lines for `nc` and telnet (`-> `, `* `, `! `).
    Text,
}

impl Codec {
    /// Appends `d` in this encoding.
    pub fn encode(self, d: &Delivery<'_>, out: &mut Vec<u8>) {
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

/// What sessions ask of the hub.
#[derive(Debug)]
pub enum Request {
    /// A new member, placed in [`LOBBY`](super::hub::LOBBY) under the name `guest<id>`.
    Join {
        /// Its id.
        id: MemberId,
        /// Its encoding.
        codec: Codec,
        /// Where its deliveries go.
        outbox: OutboxSender,
    },
    /// The member is gone; `farewell` is a last notice (`Ok`) or error (`Err`) to it, if it can
    /// still read.
    Leave {
        /// Who.
        id: MemberId,
        /// Last line.
        farewell: Option<Result<String, String>>,
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
