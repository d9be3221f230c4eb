//! The hub's fan-out and flow control: rendering a delivery once per wire format, pending
//! batches, hand-over to outboxes, and the members that are behind.

use super::{Hub, Member};
use crate::service::chat::delivery::{Delivery, Departure, Packet};
use crate::service::chat::outbox::HandOver;
use crate::service::chat::request::MemberId;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

impl Hub {
    /// Queues `d` for everyone in the room `key` but `except`, rendered once per wire format;
    /// returns how many it was queued for.
    pub(super) fn broadcast(
        &mut self,
        key: &str,
        except: Option<MemberId>,
        d: &Delivery<'_>,
    ) -> usize {
        let Some(room) = self.rooms.get(key) else {
            return 0;
        };
        self.rendered.clear();
        let mut count = 0;
        for &id in &room.members {
            if Some(id) == except {
                continue;
            }
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            let format = m.format();
            let packet = match self.rendered.iter().find(|(f, _)| *f == format) {
                Some((_, p)) => Arc::clone(p),
                None => {
                    let p = m.render.render(d);
                    self.rendered.push((format, Arc::clone(&p)));
                    p
                }
            };
            Self::push(&mut self.dirty, id, m, packet);
            count += 1;
        }
        self.rendered.clear();
        count
    }

    /// Queues `d` for one member, in its format.
    pub(super) fn deliver(&mut self, id: MemberId, d: &Delivery<'_>) {
        if let Some(m) = self.members.get_mut(&id) {
            let packet = m.render.render(d);
            Self::push(&mut self.dirty, id, m, packet);
        }
    }

    pub(super) fn push_to(&mut self, id: MemberId, packet: Packet) {
        if let Some(m) = self.members.get_mut(&id) {
            Self::push(&mut self.dirty, id, m, packet);
        }
    }

    pub(super) fn queue(&mut self, id: MemberId, packets: Vec<Packet>) {
        for p in packets {
            self.push_to(id, p);
        }
    }

    /// Adds a packet to a member's pending batch. Pending packets are bounded by one burst:
    /// they are handed over at the end of every burst.
    pub(super) fn push(dirty: &mut Vec<MemberId>, id: MemberId, m: &mut Member, packet: Packet) {
        if m.pending.is_empty() {
            dirty.push(id);
        }
        m.pending.push(packet);
    }

    /// Hands every member with pending packets one batch. Never waits.
    pub(super) fn flush(&mut self) {
        // Removing a member notifies its room, which can dirty others: loop until quiet.
        while !self.dirty.is_empty() {
            for id in std::mem::take(&mut self.dirty) {
                self.hand_over(id);
            }
        }
    }

    pub(super) fn hand_over(&mut self, id: MemberId) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        if m.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut m.pending);
        match m.outbox.hand_over(batch, &self.flow, self.marks) {
            HandOver::Sent => {}
            HandOver::Behind => self.behind.push(id),
            HandOver::Overflow => self.drop_slow(id),
            HandOver::Gone => self.remove(id, Departure::Left),
        }
    }

    /// Looks at every member that is behind: caught up, gone, or stalled past the stall time.
    pub(super) fn check_behind(&mut self) {
        if self.behind.is_empty() {
            return;
        }
        for id in std::mem::take(&mut self.behind) {
            let Some(m) = self.members.get(&id) else {
                continue;
            };
            if m.outbox.is_gone() {
                self.remove(id, Departure::Left);
            } else if !m.outbox.is_behind() {
                // Caught up: the writer took it off the gate.
            } else if Duration::from_millis(m.outbox.idle_ms(&self.flow)) >= self.stall {
                self.drop_slow(id);
            } else {
                self.behind.push(id);
            }
        }
        self.flush();
    }

    /// Drops a member that does not read; its writer tells the client why and closes.
    pub(super) fn drop_slow(&mut self, id: MemberId) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        m.pending.clear();
        m.outbox.kick(&self.flow);
        self.stats.slow_dropped.fetch_add(1, Relaxed);
        self.remove(id, Departure::TooSlow);
    }
}
