//! What the adapter's parts share: this node's uid and link (the publisher, the state of both
//! connections), the counters, and the requests of ours that wait for other nodes' answers.

use super::{Health, Publisher, RedisConn, RedisUrl};
use crate::codec::sio_adapter::AdapterResponse;
use crate::log::RateLimit;
use crossbeam_channel::Sender;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The namespace the chat lives in.
pub(super) const NSP: &str = "/";

/// The connection that counts the nodes (`PUBSUB NUMSUB`), kept between requests.
#[derive(Default)]
pub(super) struct Counter(Mutex<Option<RedisConn>>);

impl Counter {
    pub(super) fn lock(&self) -> MutexGuard<'_, Option<RedisConn>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counters of what crossed between this node and the others.
#[derive(Debug, Default)]
pub struct ClusterStats {
    /// Room broadcasts made here and queued for the others.
    pub sent: AtomicU64,
    /// Broadcasts from other nodes handed to the hub.
    pub delivered: AtomicU64,
    /// Messages from Redis that could not be decoded or were not for the chat.
    pub ignored: AtomicU64,
    /// Broadcasts from other nodes the hub had no room for in time.
    pub dropped: AtomicU64,
    /// Requests of other nodes answered.
    pub answered: AtomicU64,
}

/// What the publisher, the subscriber's callback and the hub's uplink share.
pub(super) struct Shared {
    /// This node's id in the cluster (6 characters, as the adapter's).
    pub(super) uid: String,
    pub(super) url: RedisUrl,
    pub(super) publisher: Publisher,
    pub(super) health: Arc<Health>,
    pub(super) stats: ClusterStats,
    /// Requests of ours waiting for answers, by request id.
    pub(super) pending: Mutex<HashMap<String, Sender<AdapterResponse>>>,
    /// Counts the nodes before a request.
    pub(super) counter: Counter,
    /// How long a request waits for the other nodes' answers.
    pub(super) request_timeout: Duration,
    /// Keeps the "answer is partial" line to one a second while a node is slow.
    pub(super) partial_log: Mutex<RateLimit>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("uid", &self.uid)
            .field("url", &self.url.to_string())
            .finish()
    }
}

impl Shared {
    /// Queues a message for the publisher (never waits; a full queue counts a drop).
    pub(super) fn publish(&self, channel: String, payload: Vec<u8>) -> bool {
        self.publisher.publish(channel.into_bytes(), payload)
    }

    /// True while a request of ours waits for answers: only then is a message on the shared
    /// response channel worth decoding.
    pub(super) fn waiting_for_answers(&self) -> bool {
        !self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The id other nodes know the member `id` by (a room of its own, as a socket id is).
    pub(super) fn socket_id(&self, id: u64) -> String {
        format!("ts-{}-{id}", self.uid)
    }

    /// The member id in one of our socket ids.
    pub(super) fn member_of(&self, socket_id: &str) -> Option<u64> {
        socket_id
            .strip_prefix("ts-")?
            .strip_prefix(self.uid.as_str())?
            .strip_prefix('-')?
            .parse()
            .ok()
    }
}

/// A short random id (6 characters of the adapter's alphabet), as the adapter's node uids and
/// request ids are.
pub(super) fn short_id() -> String {
    crate::service::engineio::random_id()
        .chars()
        .take(6)
        .collect()
}
