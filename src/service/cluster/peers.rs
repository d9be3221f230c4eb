//! Asking the other nodes, as the adapter's `fetchSockets()` does: count them (`PUBSUB
//! NUMSUB` of the request channel, this node included), publish one request, and collect the
//! answers until every other node has answered or the timeout passes; then whatever came is
//! the answer (a slow node's sockets are missing from it, and the log says so).

use super::shared::{short_id, Shared, NSP};
use super::{LinkConfig, Role};
use crate::codec::json::Value as Json;
use crate::codec::resp::Reply;
use crate::codec::sio_adapter::{self as wire, AdapterResponse, RemoteSocket};
use crate::service::chat::rules;
use std::collections::BTreeMap;
use std::time::Instant;

/// Most nodes a request waits for: a count from Redis above it is taken as this many.
const MAX_NODES: i64 = 1024;

impl Shared {
    /// How many connections listen on the request channel (this node's subscriber among
    /// them); `None` if Redis cannot be asked.
    fn nodes(&self) -> Option<usize> {
        // Redis away: answer at once from this node alone, rather than have every asker queue
        // behind connection attempts that will fail.
        if !self.health.is_up(Role::Subscriber) {
            return None;
        }
        let channel = wire::request_channel(NSP);
        let mut slot = self.counter.lock();
        for _ in 0..2 {
            if slot.is_none() {
                *slot = LinkConfig::default().connect(&self.url).ok();
            }
            let conn = slot.as_mut()?;
            match conn.command(&[b"PUBSUB", b"NUMSUB", channel.as_bytes()]) {
                Ok(Reply::Array(Some(items))) => {
                    return match items.get(1) {
                        // Redis's count, kept to a sane size (it sizes the answers' channel).
                        Some(Reply::Integer(n)) => Some((*n).clamp(0, MAX_NODES) as usize),
                        _ => None,
                    };
                }
                // A broken connection: once more on a new one.
                _ => *slot = None,
            }
        }
        None
    }

    /// The sockets other nodes have in the rooms `keys` (all if empty): every answer that came
    /// within the request timeout.
    pub(super) fn fetch(&self, keys: &[String]) -> Vec<RemoteSocket> {
        let Some(others) = self.nodes().map(|n| n.saturating_sub(1)) else {
            return Vec::new();
        };
        if others == 0 {
            return Vec::new();
        }
        let id = short_id();
        let (tx, rx) = crossbeam_channel::bounded(others);
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), tx);
        let request = wire::encode_fetch_request(&self.uid, &id, keys);
        self.publish(wire::request_channel(NSP), request);
        let deadline = Instant::now() + self.request_timeout;
        let mut sockets = Vec::new();
        let mut answers = 0;
        while answers < others {
            match rx.recv_deadline(deadline) {
                Ok(AdapterResponse::Sockets { sockets: s, .. }) => {
                    sockets.extend(s);
                    answers += 1;
                }
                Ok(_) => answers += 1,
                Err(_) => break,
            }
        }
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if answers < others {
            let held = self
                .partial_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .allow(Instant::now());
            if let Some(held) = held {
                crate::log!(
                    "cluster: {answers} of {others} other nodes answered within {:?}; the \
                     answer is partial{}",
                    self.request_timeout,
                    crate::log::held_note(held)
                );
            }
        }
        sockets
    }

    /// The nicknames in the room `key` on other nodes.
    pub(super) fn who(&self, key: &str) -> Vec<String> {
        self.fetch(&[key.to_string()]).iter().map(nick_of).collect()
    }

    /// Every nickname on other nodes.
    pub(super) fn who_all(&self) -> Vec<String> {
        self.fetch(&[]).iter().map(nick_of).collect()
    }

    /// The rooms on other nodes (by name) with their member counts.
    pub(super) fn rooms(&self) -> Vec<(String, usize)> {
        let mut rooms: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for s in self.fetch(&[]) {
            let name = s
                .data
                .get("room")
                .and_then(Json::as_str)
                .map(str::to_string)
                .or_else(|| s.rooms.iter().find(|r| **r != s.id).cloned());
            if let Some(name) = name {
                rooms.entry(rules::key(&name)).or_insert((name, 0)).1 += 1;
            }
        }
        rooms.into_values().collect()
    }
}

/// What a socket is called: its `data.nick`, or its id.
fn nick_of(s: &RemoteSocket) -> String {
    s.data
        .get("nick")
        .and_then(Json::as_str)
        .map_or_else(|| s.id.clone(), str::to_string)
}
