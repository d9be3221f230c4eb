//! The hub's fan-out and flow control: rendering a delivery once per wire format, pending
//! batches, hand-over to outboxes, and the members that are behind.

use super::{Hub, Member, LINGER};
use crate::service::chat::delivery::{Delivery, Departure, Packet};
use crate::service::chat::outbox::HandOver;
use crate::service::chat::request::MemberId;
use std::sync::atomic::Ordering::Relaxed;
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
        self.broadcast_all(key, except, std::slice::from_ref(d))
    }

    /// Queues every one of `ds`, in order, for everyone in the room `key` but `except`, each
    /// rendered once per wire format, and tells the uplink (other nodes); returns how many
    /// members here they were queued for.
    pub(super) fn broadcast_all(
        &mut self,
        key: &str,
        except: Option<MemberId>,
        ds: &[Delivery<'_>],
    ) -> usize {
        if let Some(uplink) = &self.uplink {
            uplink.broadcast(key, ds);
        }
        self.fan_out(key, except, ds)
    }

    /// Queues every one of `ds`, in order, for everyone in the room `key` here but `except`.
    pub(super) fn fan_out(
        &mut self,
        key: &str,
        except: Option<MemberId>,
        ds: &[Delivery<'_>],
    ) -> usize {
        let Some(room) = self.rooms.get(key) else {
            return 0;
        };
        self.rendered.clear();
        let urgent = ds.iter().any(|d| !d.is_presence());
        let mut count = 0;
        for &id in &room.members {
            if Some(id) == except {
                continue;
            }
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            let format = m.format();
            let at = match self.rendered.iter().position(|(f, _)| *f == format) {
                Some(at) => at,
                None => {
                    let mut packets = Vec::with_capacity(ds.len());
                    m.render.render_run(ds, &mut packets);
                    self.rendered.push((format, packets));
                    self.rendered.len() - 1
                }
            };
            Self::mark(&mut self.dirty, id, m, urgent);
            m.pending.extend(self.rendered[at].1.iter().cloned());
            count += 1;
        }
        self.rendered.clear();
        count
    }

    /// Queues `d` for one member, in its format.
    pub(super) fn deliver(&mut self, id: MemberId, d: &Delivery<'_>) {
        if let Some(m) = self.members.get_mut(&id) {
            Self::mark(&mut self.dirty, id, m, true);
            m.render.render_into(d, &mut m.pending);
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

    /// Adds a packet that is not a presence notice to a member's pending batch. Pending
    /// packets are handed over at the end of every burst, presence notices alone at most
    /// [`LINGER`] later.
    pub(super) fn push(dirty: &mut Vec<MemberId>, id: MemberId, m: &mut Member, packet: Packet) {
        Self::mark(dirty, id, m, true);
        m.pending.push(packet);
    }

    /// Notes that a member is about to get a packet: dirty if it had none pending, or if this
    /// is the first urgent one behind lingering notices.
    fn mark(dirty: &mut Vec<MemberId>, id: MemberId, m: &mut Member, urgent: bool) {
        if m.pending.is_empty() || (urgent && !m.urgent) {
            dirty.push(id);
        }
        m.urgent |= urgent;
    }

    /// Hands every member with urgent pending packets one batch; a member with presence
    /// notices only lingers (see [`LINGER`]). Never waits.
    pub(super) fn flush(&mut self) {
        let now = self.flow.now_ms();
        // Removing a member notifies its room, which can dirty others: loop until quiet.
        while !self.dirty.is_empty() {
            for id in std::mem::take(&mut self.dirty) {
                let Some(m) = self.members.get_mut(&id) else {
                    continue;
                };
                if m.urgent {
                    self.hand_over(id);
                } else if !m.pending.is_empty() && !m.lingering {
                    m.lingering = true;
                    self.lingering
                        .push_back((now + LINGER.as_millis() as u64, id));
                }
            }
        }
    }

    /// Hands over the batches of members whose presence notices have lingered long enough
    /// (every one of them if `all`); returns how long until the next is due.
    pub(super) fn expire_lingering(&mut self, all: bool) -> Option<Duration> {
        let now = self.flow.now_ms();
        while let Some(&(due, id)) = self.lingering.front() {
            if due > now && !all {
                return Some(Duration::from_millis(due - now));
            }
            self.lingering.pop_front();
            if self.members.get(&id).is_some_and(|m| m.lingering) {
                self.hand_over(id);
            }
        }
        self.flush();
        None
    }

    pub(super) fn hand_over(&mut self, id: MemberId) {
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        m.urgent = false;
        m.lingering = false;
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
