//! What members do through the hub: take a nickname, move between rooms, say something to
//! the room, whisper to one member; and how a refused request is answered.

use super::{Hub, MemberId};
use crate::service::chat::delivery::{Delivery, Departure, Packet, Refusal, Render, Reply};
use crate::service::chat::rules;
use crate::service::chat::uplink::{MemberInfo, Remote};
use crossbeam_channel::Sender;
use std::sync::atomic::Ordering::Relaxed;

impl Hub {
    pub(super) fn rename(&mut self, id: MemberId, name: &str, reply: Option<Sender<Reply>>) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let key = rules::key(name);
        let refusal = if !rules::is_valid_name(name) {
            Some(Refusal::InvalidName(name))
        } else {
            match self.names.get(&key) {
                Some(&owner) if owner == id => Some(Refusal::AlreadyNamed(&m.label)),
                Some(_) => Some(Refusal::NickTaken(name)),
                None if rules::is_reserved(name) => Some(Refusal::NickReserved(name)),
                None => None,
            }
        };
        if let Some(r) = refusal {
            if let Some(packet) = refuse(m.render.as_ref(), r, reply) {
                self.push_to(id, packet);
            }
            return;
        }
        let m = self.members.get_mut(&id).expect("checked above");
        let old = std::mem::replace(&mut m.label, name.to_string());
        m.named = true;
        let room_key = m.room.clone();
        self.names.remove(&rules::key(&old));
        self.names.insert(key, id);
        match reply {
            Some(reply) => {
                let _ = reply.try_send(Reply::Done);
            }
            None => self.deliver(id, &Delivery::Named { nick: name }),
        }
        let room = self.room_name(&room_key);
        let renamed = Delivery::Renamed {
            room: &room,
            from: &old,
            to: name,
        };
        self.broadcast(&room_key, Some(id), &renamed);
    }

    pub(super) fn move_to(&mut self, id: MemberId, wanted: &str, reply: Option<Sender<Reply>>) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let key = rules::key(wanted);
        let room = self.room_name(&key);
        let refusal = if !rules::is_valid_name(wanted) {
            Some(Refusal::InvalidName(wanted))
        } else if m.room == key {
            Some(Refusal::AlreadyInRoom(&room))
        } else {
            None
        };
        if let Some(r) = refusal {
            if let Some(packet) = refuse(m.render.as_ref(), r, reply) {
                self.push_to(id, packet);
            }
            return;
        }
        let (label, old_key) = (m.label.clone(), m.room.clone());
        let old = self.exit(id, &old_key);
        let left = Delivery::Left {
            room: &old,
            nick: &label,
            why: Departure::Left,
        };
        self.broadcast(&old_key, None, &left);
        let here = self.enter(id, &key, wanted);
        if let Some(m) = self.members.get_mut(&id) {
            m.room = key.clone();
        }
        let room = self.room_name(&key);
        match reply {
            Some(reply) => {
                let mut members: Vec<String> = self.rooms[&key]
                    .members
                    .iter()
                    .filter_map(|m| self.members.get(m).map(|m| m.label.clone()))
                    .collect();
                members.sort_unstable();
                let _ = reply.try_send(Reply::Joined {
                    room: room.clone(),
                    members,
                });
            }
            None => self.deliver(id, &Delivery::RoomJoined { room: &room, here }),
        }
        let joined = Delivery::Joined {
            room: &room,
            nick: &label,
        };
        self.broadcast(&key, Some(id), &joined);
    }

    /// Messages (or actions) from a member to the others in its room, in one pass over them.
    pub(super) fn say(&mut self, id: MemberId, lines: &[String], action: bool) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let (key, from, named) = (m.room.clone(), m.label.clone(), m.named);
        let room = self.room_name(&key);
        let ds: Vec<Delivery<'_>> = lines
            .iter()
            .map(|text| {
                if action {
                    Delivery::Action {
                        room: &room,
                        from: &from,
                        text,
                    }
                } else {
                    Delivery::Message {
                        room: &room,
                        from: &from,
                        named,
                        text,
                    }
                }
            })
            .collect();
        self.stats.lines_in.fetch_add(lines.len() as u64, Relaxed);
        let sent = self.broadcast_all(&key, Some(id), &ds);
        self.stats
            .lines_out
            .fetch_add((sent * lines.len()) as u64, Relaxed);
    }

    /// Bytes from a member to the others in its room.
    pub(super) fn share(&mut self, id: MemberId, data: &[u8]) {
        let Some(m) = self.members.get(&id) else {
            return;
        };
        let (key, from) = (m.room.clone(), m.label.clone());
        let room = self.room_name(&key);
        let d = Delivery::Binary {
            room: &room,
            from: &from,
            data,
        };
        self.stats.lines_in.fetch_add(1, Relaxed);
        let sent = self.broadcast(&key, Some(id), &d);
        self.stats.lines_out.fetch_add(sent as u64, Relaxed);
    }

    pub(super) fn whisper(&mut self, id: MemberId, to: &str, text: &str) {
        let Some(from) = self.members.get(&id).map(|m| m.label.clone()) else {
            return;
        };
        match self.names.get(&rules::key(to)).copied() {
            Some(target) if target == id => {
                self.deliver(id, &Delivery::Refused(Refusal::MessageToSelf));
            }
            Some(target) => {
                self.stats.lines_in.fetch_add(1, Relaxed);
                self.stats.lines_out.fetch_add(1, Relaxed);
                self.deliver(target, &Delivery::Private { from: &from, text });
            }
            None => self.deliver(id, &Delivery::Refused(Refusal::NoSuchNick(to))),
        }
    }

    pub(super) fn room_name(&self, key: &str) -> String {
        self.rooms
            .get(key)
            .map_or_else(|| key.to_string(), |r| r.name.clone())
    }
}

/// Answers a refused request: on its reply channel if it has one (nothing to deliver), else as
/// the packet to deliver to the member.
fn refuse(render: &dyn Render, r: Refusal<'_>, reply: Option<Sender<Reply>>) -> Option<Packet> {
    match reply {
        Some(reply) => {
            let _ = reply.try_send(Reply::Refused(r.describe()));
            None
        }
        None => Some(render.render(&Delivery::Refused(r))),
    }
}

impl Hub {
    /// Delivers a broadcast made on another node to the members of the room `key` here (it
    /// goes no further: the other nodes had it from its own node).
    pub(super) fn remote(&mut self, key: &str, remote: Remote) {
        let named = |n: &str| !rules::is_reserved(n);
        let d = match &remote {
            Remote::Message { room, from, text } => Delivery::Message {
                room,
                from,
                named: named(from),
                text,
            },
            Remote::Action { room, from, text } => Delivery::Action { room, from, text },
            Remote::Binary { room, from, data } => Delivery::Binary { room, from, data },
            Remote::Joined { room, nick } => Delivery::Joined { room, nick },
            Remote::Left { room, nick } => Delivery::Left {
                room,
                nick,
                why: Departure::Left,
            },
            Remote::Renamed { from, to } => {
                let room = self.room_name(key);
                let d = Delivery::Renamed {
                    room: &room,
                    from,
                    to,
                };
                self.fan_out(key, None, &[d]);
                return;
            }
            Remote::Private { to, from, text } => {
                self.stats.lines_out.fetch_add(1, Relaxed);
                self.deliver(*to, &Delivery::Private { from, text });
                return;
            }
            Remote::Foreign(packets) => {
                let Some(room) = self.rooms.get(key) else {
                    return;
                };
                let ids = room.members.clone();
                for id in ids {
                    if let Some(m) = self.members.get(&id) {
                        let out = m.render.foreign(packets);
                        self.queue(id, out);
                    }
                }
                return;
            }
        };
        let sent = self.fan_out(key, None, &[d]);
        if matches!(
            remote,
            Remote::Message { .. } | Remote::Action { .. } | Remote::Binary { .. }
        ) {
            self.stats.lines_out.fetch_add(sent as u64, Relaxed);
        }
    }
}

impl Hub {
    /// The members in the rooms `keys` (every member if `keys` is empty), for other nodes.
    pub(super) fn members_in(&self, keys: &[String]) -> Vec<MemberInfo> {
        let info = |(&id, m): (&MemberId, &super::Member)| MemberInfo {
            id,
            nick: m.label.clone(),
            key: m.room.clone(),
            room: self.room_name(&m.room),
        };
        if keys.is_empty() {
            return self.members.iter().map(info).collect();
        }
        // Only the rooms asked about (each once), not every member.
        let keys: std::collections::BTreeSet<&String> = keys.iter().collect();
        keys.into_iter()
            .filter_map(|k| self.rooms.get(k))
            .flat_map(|room| &room.members)
            .filter_map(|id| self.members.get_key_value(id))
            .map(info)
            .collect()
    }
}
