//! What the hub hands members: typed [`Delivery`] values (no wording: each wire format words
//! them), the [`Packet`]s a wire format renders them into, and the [`Render`] trait it
//! implements. A broadcast is rendered once per wire format present in the room and the packet
//! is shared by every recipient.

use std::fmt;
use std::sync::Arc;

/// One rendered delivery, as its wire format will frame it (an `nc` line with its newline, a
/// Socket.IO packet), or the run of deliveries a wire format that needs no framing joins into
/// one (`nc` lines: see [`Render::render_run`]). Shared, not copied, between the recipients of a
/// broadcast. Flow control counts the deliveries in it, its [`Packet::lines`].
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    bytes: Arc<[u8]>,
    lines: usize,
}

impl Packet {
    /// A packet holding `lines` deliveries' bytes, joined.
    pub fn joined(bytes: Vec<u8>, lines: usize) -> Packet {
        Packet {
            bytes: bytes.into(),
            lines,
        }
    }

    /// How many deliveries it holds (1 unless [`Packet::joined`]).
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// True if both are the same shared bytes (one rendering, not two equal ones).
    pub fn ptr_eq(a: &Packet, b: &Packet) -> bool {
        Arc::ptr_eq(&a.bytes, &b.bytes)
    }
}

impl std::ops::Deref for Packet {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Packet {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl From<Arc<[u8]>> for Packet {
    fn from(bytes: Arc<[u8]>) -> Packet {
        Packet { bytes, lines: 1 }
    }
}

impl From<Vec<u8>> for Packet {
    fn from(bytes: Vec<u8>) -> Packet {
        Packet::from(Arc::<[u8]>::from(bytes))
    }
}

impl From<&[u8]> for Packet {
    fn from(bytes: &[u8]) -> Packet {
        Packet::from(Arc::<[u8]>::from(bytes))
    }
}

impl From<String> for Packet {
    fn from(text: String) -> Packet {
        Packet::from(text.into_bytes())
    }
}

impl From<&str> for Packet {
    fn from(text: &str) -> Packet {
        Packet::from(text.as_bytes())
    }
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Packet({:?}, {} lines)",
            String::from_utf8_lossy(&self.bytes),
            self.lines
        )
    }
}

/// A wire format's way of turning deliveries into packets. Members of one transport share one
/// `Arc<dyn Render>`: the hub renders a broadcast once per distinct renderer in the room.
pub trait Render: Send + Sync + fmt::Debug {
    /// The packet for `d`.
    fn render(&self, d: &Delivery<'_>) -> Packet;

    /// The packets for `d`, appended to `out`: one, unless the wire format carries binary data
    /// in packets of its own (Socket.IO attachments).
    fn render_into(&self, d: &Delivery<'_>, out: &mut Vec<Packet>) {
        out.push(self.render(d));
    }

    /// The packets for the run `ds`, in order, appended to `out`: one per delivery (or more,
    /// see [`Render::render_into`]), unless the wire format joins a run into one packet.
    fn render_run(&self, ds: &[Delivery<'_>], out: &mut Vec<Packet>) {
        for d in ds {
            self.render_into(d, out);
        }
    }

    /// What to send of a broadcast from another node that is no chat delivery (see
    /// [`Remote::Foreign`](super::uplink::Remote::Foreign)): nothing, unless the wire format is
    /// the one those packets are in.
    fn foreign(&self, _packets: &[Packet]) -> Vec<Packet> {
        Vec::new()
    }
}

/// Why a member left its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// It left, moved on, or its connection ended.
    Left,
    /// The chat dropped it: it did not read what it was sent.
    TooSlow,
}

/// A request the chat turned down, addressed to the member who made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal<'a> {
    /// The nickname belongs to someone else.
    NickTaken(&'a str),
    /// The nickname has the form of a guest label.
    NickReserved(&'a str),
    /// The member already has that nickname.
    AlreadyNamed(&'a str),
    /// The member is already in that room.
    AlreadyInRoom(&'a str),
    /// Nobody has that nickname.
    NoSuchNick(&'a str),
    /// A private message to oneself.
    MessageToSelf,
    /// The name is not a valid nickname or room name.
    InvalidName(&'a str),
}

impl Refusal<'_> {
    /// What it says, in English, for any wire format (`nickname bob is taken`).
    pub fn describe(&self) -> String {
        match *self {
            Refusal::NickTaken(n) => format!("nickname {n} is taken"),
            Refusal::NickReserved(n) => format!("nickname {n} is reserved"),
            Refusal::AlreadyNamed(n) => format!("you are already {n}"),
            Refusal::AlreadyInRoom(room) => format!("you are already in {room}"),
            Refusal::NoSuchNick(n) => format!("no such nickname: {n}"),
            Refusal::MessageToSelf => "that is you: /msg sends to someone else".into(),
            Refusal::InvalidName(n) => format!(
                "invalid name '{n}': use 1-{} of A-Z a-z 0-9 _ -",
                super::rules::MAX_NAME
            ),
        }
    }
}

/// The hub's answer to a request that asked for one (a transport with acknowledgements):
/// given instead of the delivery the member would otherwise get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done (a nickname taken).
    Done,
    /// Turned down; the words of [`Refusal::describe`].
    Refused(String),
    /// Now in `room`, with these members (sorted, the asker included).
    Joined {
        /// The room as displayed.
        room: String,
        /// Its members.
        members: Vec<String>,
    },
    /// The members of the asker's room, sorted.
    Who {
        /// The room.
        room: String,
        /// Its members.
        nicks: Vec<String>,
    },
    /// Every room and its member count.
    Rooms(Vec<(String, usize)>),
}

/// One thing to show a member. Rooms are given as they are displayed (the spelling the room
/// was created with); nicknames as the member chose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// A message from a member to its room. `named` is false while the sender has only its
    /// guest label.
    Message {
        /// The room.
        room: &'a str,
        /// The sender's nickname or guest label.
        from: &'a str,
        /// Whether `from` is a chosen nickname.
        named: bool,
        /// The message.
        text: &'a str,
    },
    /// An action (`/me`) in a room.
    Action {
        /// The room.
        room: &'a str,
        /// The actor.
        from: &'a str,
        /// What they do.
        text: &'a str,
    },
    /// Bytes a member sent its room (a Socket.IO client's `binary` event).
    Binary {
        /// The room.
        room: &'a str,
        /// The sender.
        from: &'a str,
        /// The bytes.
        data: &'a [u8],
    },
    /// A private message.
    Private {
        /// The sender.
        from: &'a str,
        /// The message.
        text: &'a str,
    },
    /// To a new member: who it is, where, with how many there (itself included).
    Welcome {
        /// Its guest label.
        nick: &'a str,
        /// The room it starts in.
        room: &'a str,
        /// Members in that room now.
        here: usize,
    },
    /// Someone joined the recipient's room.
    Joined {
        /// The room.
        room: &'a str,
        /// Who.
        nick: &'a str,
    },
    /// Someone left the recipient's room.
    Left {
        /// The room.
        room: &'a str,
        /// Who.
        nick: &'a str,
        /// Why.
        why: Departure,
    },
    /// Someone in the recipient's room took a nickname.
    Renamed {
        /// The room.
        room: &'a str,
        /// The old name.
        from: &'a str,
        /// The new name.
        to: &'a str,
    },
    /// To the member who took a nickname.
    Named {
        /// The new name.
        nick: &'a str,
    },
    /// To the member who moved: it is now in `room`, with `here` members.
    RoomJoined {
        /// The room.
        room: &'a str,
        /// Members there now, the recipient included.
        here: usize,
    },
    /// The rooms and their member counts, by name.
    Rooms(&'a [(&'a str, usize)]),
    /// The members of the recipient's room, sorted.
    Who {
        /// The room.
        room: &'a str,
        /// Their names.
        nicks: &'a [&'a str],
    },
    /// A request turned down.
    Refused(Refusal<'a>),
    /// The server is stopping; the connection closes next.
    ShuttingDown,
}

impl Delivery<'_> {
    /// A notice about someone else coming, going or renaming: news that may wait a few
    /// milliseconds to travel with the next batch (see the hub's `LINGER`).
    pub fn is_presence(&self) -> bool {
        matches!(
            self,
            Delivery::Joined { .. } | Delivery::Left { .. } | Delivery::Renamed { .. }
        )
    }
}
