//! The chat's link to other nodes: [`Uplink`], which the hub tells of every broadcast made
//! here, and [`Remote`], a broadcast made on another node that the hub delivers to the members
//! of the room here. The hub knows neither Redis nor the wire format the nodes share; the
//! cluster module implements both sides.

use super::delivery::{Delivery, Packet};
use std::fmt;

/// Where the hub sends each room broadcast made on this node, after handing it to the
/// members here. It must never block the hub: an implementation queues and returns.
pub trait Uplink: Send + Sync + fmt::Debug {
    /// `ds` were broadcast, in order, to the room whose key is `key` (the room may have no
    /// members left here: the last one just left).
    fn broadcast(&self, key: &str, ds: &[Delivery<'_>]);

    /// The members of the room `key` on other nodes, by name. It may wait (a bounded time) for
    /// their answers: call it from a member's own thread, never the hub's.
    fn who(&self, _key: &str) -> Vec<String> {
        Vec::new()
    }

    /// Every nickname on other nodes; may wait as [`Uplink::who`].
    fn nicks(&self) -> Vec<String> {
        Vec::new()
    }

    /// The rooms on other nodes, by name, with their member counts; may wait as
    /// [`Uplink::who`].
    fn rooms(&self) -> Vec<(String, usize)> {
        Vec::new()
    }
}

/// A broadcast made on another node, to the members of one room here. Rooms are keyed as
/// here ([`rules::key`](super::rules::key)); names are shown as the other node sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A message to the room.
    Message {
        /// The room as displayed.
        room: String,
        /// The sender.
        from: String,
        /// The message.
        text: String,
    },
    /// An action (`/me`).
    Action {
        /// The room as displayed.
        room: String,
        /// The actor.
        from: String,
        /// What they do.
        text: String,
    },
    /// Bytes sent to the room.
    Binary {
        /// The room as displayed.
        room: String,
        /// The sender.
        from: String,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Someone joined the room there.
    Joined {
        /// The room as displayed.
        room: String,
        /// Who.
        nick: String,
    },
    /// Someone left the room there.
    Left {
        /// The room as displayed.
        room: String,
        /// Who.
        nick: String,
    },
    /// Someone in the room there took a nickname.
    Renamed {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A private message to the member here with this id (a node that found it in a fetch
    /// answer wrote to it).
    Private {
        /// The member's id here.
        to: u64,
        /// The sender.
        from: String,
        /// The message.
        text: String,
    },
    /// Something that is no chat delivery (another event, binary data): packets for members
    /// whose wire format takes them as they are ([`Render::foreign`](super::Render::foreign)).
    Foreign(Vec<Packet>),
}

/// A member as other nodes see it: who and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// Its id here.
    pub id: u64,
    /// Its nickname or guest label.
    pub nick: String,
    /// Its room's key.
    pub key: String,
    /// Its room as displayed.
    pub room: String,
}
