//! A member of the chat as a handle: what a member can do, for any transport. Leaving happens
//! on `Drop`, so no code path can leak a member.

use super::delivery::{Packet, Refusal, Reply};
use super::outbox::{Flow, BYTES_PER_REQUEST, LINES_PER_REQUEST};
use super::request::{MemberId, Request};
use super::rules;
use super::uplink::Uplink;
use crossbeam_channel::Sender;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The longest a sender waits at the gate for one message before sending it anyway (a member
/// still behind then is dropped by the hard mark, not waited for).
const GATE_MAX: Duration = Duration::from_secs(5);

/// The longest [`Member::ask`] waits for the hub (which answers at once unless stopping).
pub const ASK_WAIT: Duration = Duration::from_secs(5);

/// What [`Member::ask`] can ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Take this nickname.
    Nick(String),
    /// Move to this room.
    Join(String),
    /// Who is in my room?
    Who,
    /// Which rooms are there?
    Rooms,
}

/// The chat has stopped; nothing more can be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatClosed;

impl fmt::Display for ChatClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the chat has stopped")
    }
}

impl std::error::Error for ChatClosed {}

/// A member of the chat; see [`Chat::join`](super::Chat::join). `Send`, so a transport may
/// act for it from any thread; dropping it leaves the chat.
#[derive(Debug)]
pub struct Member {
    id: MemberId,
    hub: Sender<Request>,
    flow: Arc<Flow>,
    left: bool,
    /// The other nodes, asked too by `who` and `rooms` questions.
    peers: Option<Arc<dyn Uplink>>,
}

impl Member {
    pub(super) fn new(
        id: MemberId,
        hub: Sender<Request>,
        flow: Arc<Flow>,
        peers: Option<Arc<dyn Uplink>>,
    ) -> Member {
        Member {
            id,
            hub,
            flow,
            left: false,
            peers,
        }
    }

    /// True if the chat spans other nodes: `who` and `rooms` answers then come from
    /// [`Member::ask`], which asks them too.
    pub fn is_clustered(&self) -> bool {
        self.peers.is_some()
    }

    /// The member's id (its guest label is `guest<id>`).
    pub fn id(&self) -> MemberId {
        self.id
    }

    /// A message to everyone else in the member's room. Waits first while some member is
    /// behind (at most a few seconds): the flow control that keeps a flood in the sender's
    /// TCP window rather than in memory.
    pub fn say(&self, text: String) -> Result<(), ChatClosed> {
        self.say_all(vec![text])
    }

    /// Several messages in a row to everyone else in the room, as one request: what a
    /// transport reads in one go goes to the hub, and on to every recipient, as one batch.
    /// Gated like [`Member::say`]; at most [`LINES_PER_REQUEST`] lines and
    /// [`BYTES_PER_REQUEST`] of text per request (longer runs are split; a longer line goes
    /// alone).
    pub fn say_all(&self, lines: Vec<String>) -> Result<(), ChatClosed> {
        if lines.len() <= LINES_PER_REQUEST
            && lines.iter().map(String::len).sum::<usize>() <= BYTES_PER_REQUEST
        {
            if lines.is_empty() {
                return Ok(());
            }
            return self.send_lines(lines.len(), Request::Say { id: self.id, lines });
        }
        // Taken from the front in requests' worth: the rest is never copied again.
        let mut rest = lines.into_iter().peekable();
        while rest.peek().is_some() {
            let (mut run, mut bytes) = (Vec::new(), 0);
            while let Some(line) = rest.next_if(|l| {
                run.is_empty()
                    || (run.len() < LINES_PER_REQUEST && bytes + l.len() <= BYTES_PER_REQUEST)
            }) {
                bytes += line.len();
                run.push(line);
            }
            self.send_lines(
                run.len(),
                Request::Say {
                    id: self.id,
                    lines: run,
                },
            )?;
        }
        Ok(())
    }

    /// An action (`/me`) to everyone else in the room; gated like [`Member::say`].
    pub fn act(&self, text: String) -> Result<(), ChatClosed> {
        self.send_lines(1, Request::Act { id: self.id, text })
    }

    /// Bytes to everyone else in the room (a transport that carries binary data gets them as
    /// they are; `nc` users read a notice); gated like [`Member::say`].
    pub fn binary(&self, data: Vec<u8>) -> Result<(), ChatClosed> {
        self.send_lines(1, Request::Binary { id: self.id, data })
    }

    /// A private message to the member named `to`; gated like [`Member::say`].
    pub fn whisper(&self, to: String, text: String) -> Result<(), ChatClosed> {
        self.send_lines(
            1,
            Request::Whisper {
                id: self.id,
                to,
                text,
            },
        )
    }

    /// Sends a request carrying `n` lines: past the gate, within the budget of lines in
    /// transit (which the hub gives back when it applies the request).
    fn send_lines(&self, n: usize, request: Request) -> Result<(), ChatClosed> {
        self.flow.wait_clear(GATE_MAX);
        self.flow.reserve(n, GATE_MAX);
        self.send(request).inspect_err(|_| self.flow.release(n))
    }

    /// Takes a nickname (the chat checks its form and that it is free).
    pub fn nick(&self, name: String) -> Result<(), ChatClosed> {
        self.send(Request::Rename {
            id: self.id,
            name,
            reply: None,
        })
    }

    /// Moves to another room, created on first use.
    pub fn join_room(&self, room: String) -> Result<(), ChatClosed> {
        self.send(Request::Move {
            id: self.id,
            room,
            reply: None,
        })
    }

    /// Asks for the list of rooms.
    pub fn rooms(&self) -> Result<(), ChatClosed> {
        self.send(Request::Rooms {
            id: self.id,
            reply: None,
        })
    }

    /// Asks who is in the member's room.
    pub fn who(&self) -> Result<(), ChatClosed> {
        self.send(Request::Who {
            id: self.id,
            reply: None,
        })
    }

    /// Asks the hub something and waits (at most 5 s) for its answer, for a
    /// transport that acknowledges requests: what a nickname, room, `who` or `rooms` request
    /// gives instead of a delivery.
    pub fn ask(&self, question: Question) -> Result<Reply, ChatClosed> {
        if let (Some(peers), Question::Nick(name)) = (&self.peers, &question) {
            // Best effort across nodes: two nodes granting one name at the same moment both win.
            let wanted = rules::key(name);
            if rules::is_valid_name(name) && peers.nicks().iter().any(|n| rules::key(n) == wanted) {
                return Ok(Reply::Refused(Refusal::NickTaken(name).describe()));
            }
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let id = self.id;
        let reply = Some(tx);
        self.send(match question {
            Question::Nick(name) => Request::Rename { id, name, reply },
            Question::Join(room) => Request::Move { id, room, reply },
            Question::Who => Request::Who { id, reply },
            Question::Rooms => Request::Rooms { id, reply },
        })?;
        let reply = rx.recv_timeout(ASK_WAIT).map_err(|_| ChatClosed)?;
        Ok(match (&self.peers, reply) {
            (Some(peers), Reply::Who { room, mut nicks }) => {
                nicks.extend(peers.who(&rules::key(&room)));
                nicks.sort_unstable();
                Reply::Who { room, nicks }
            }
            (Some(peers), Reply::Rooms(mut rooms)) => {
                for (name, n) in peers.rooms() {
                    match rooms
                        .iter_mut()
                        .find(|(r, _)| rules::key(r) == rules::key(&name))
                    {
                        Some(here) => here.1 += n,
                        None => rooms.push((name, n)),
                    }
                }
                Reply::Rooms(rooms)
            }
            (_, reply) => reply,
        })
    }

    /// Packets the transport made itself (help text, usage errors), delivered to this member
    /// in order with everything else it receives.
    pub fn relay(&self, packets: Vec<Packet>) -> Result<(), ChatClosed> {
        self.send(Request::Relay {
            id: self.id,
            packets,
        })
    }

    /// Leaves, with `last` packets for the member itself (a farewell) if it can still read.
    pub fn leave(mut self, last: Vec<Packet>) {
        self.left = true;
        let _ = self.send(Request::Leave { id: self.id, last });
    }

    fn send(&self, request: Request) -> Result<(), ChatClosed> {
        self.hub.send(request).map_err(|_| ChatClosed)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if !self.left {
            let _ = self.send(Request::Leave {
                id: self.id,
                last: Vec::new(),
            });
        }
    }
}
