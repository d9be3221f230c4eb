//! The chat's rooms across nodes, as `@socket.io/redis-adapter` 8.x shares a socket.io
//! namespace: every room broadcast made here is published (namespace `/`, the room's own
//! channel), every broadcast another node publishes reaches the members of that room here
//! (`nc` and Socket.IO alike), and the requests other nodes make (all rooms, the sockets in some
//! rooms, an emit that waits for acknowledgements) are answered, so that Node.js nodes that
//! count this one as a peer never wait for it in vain.
//!
//! Nothing here can stall the hub: a broadcast is queued for the publisher thread without
//! waiting (a full queue drops and counts it); what comes from Redis is handled on the
//! subscriber's thread, which waits at most [`REMOTE_WAIT`](crate::service::chat::REMOTE_WAIT)
//! on the hub.

use super::shared::{short_id, ClusterStats, Counter, Shared, NSP};
use super::{Health, LinkState, PubSub, Publisher, RedisUrl, Subscriber};
use crate::codec::json::Value as Json;
use crate::codec::sio_adapter::{self as wire, AdapterRequest, AdapterResponse, Broadcast};
use crate::defaults;
use crate::server::Metric;
use crate::service::chat::{rules, Chat, Delivery, MemberInfo, Remote, Uplink, REMOTE_WAIT};
use crate::service::socketio::chat_app;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A node's membership in a cluster: the Redis link and the adapter on both ends of it. Made
/// with [`Cluster::start`] before the chat (the hub's [`Uplink`]), then
/// [`attached`](Cluster::attach) to it. Dropping it stops both threads.
#[derive(Debug)]
pub struct Cluster {
    pub(super) shared: Arc<Shared>,
    subscriber: Mutex<Option<Subscriber>>,
}

/// The hub's side: room broadcasts go to the publisher's queue.
#[derive(Debug)]
struct Up(Arc<Shared>);

impl Uplink for Up {
    fn broadcast(&self, key: &str, ds: &[Delivery<'_>]) {
        // What every delivery of the run shares, made once (this runs on the hub thread).
        let mut b = Broadcast {
            uid: self.0.uid.clone(),
            nsp: NSP.to_string(),
            data: Json::Null,
            rooms: vec![key.to_string()],
            except: Vec::new(),
        };
        let channel = b.channel();
        for d in ds {
            let (event, payload) = chat_app::event_of(d);
            b.data = Json::array([Json::from(event), payload]);
            self.0.stats.sent.fetch_add(1, Relaxed);
            self.0.publish(channel.clone(), wire::encode_broadcast(&b));
        }
    }

    fn who(&self, key: &str) -> Vec<String> {
        self.0.who(key)
    }

    fn rooms(&self) -> Vec<(String, usize)> {
        self.0.rooms()
    }

    fn nicks(&self) -> Vec<String> {
        self.0.who_all()
    }
}

impl Cluster {
    /// Starts the publisher for `url` (it connects, and reconnects, on its own thread);
    /// requests to the other nodes wait `request_timeout` for their answers.
    pub fn start(url: RedisUrl, request_timeout: Duration) -> Arc<Cluster> {
        let health = Arc::new(Health::new());
        let publisher = Publisher::spawn(
            url.clone(),
            defaults::REDIS_PUBLISH_QUEUE,
            Arc::clone(&health),
        );
        let uid = short_id();
        Arc::new(Cluster {
            shared: Arc::new(Shared {
                uid,
                url,
                publisher,
                health,
                stats: ClusterStats::default(),
                pending: Mutex::new(HashMap::new()),
                counter: Counter::default(),
                request_timeout,
                partial_log: Mutex::new(crate::log::RateLimit::new(Duration::from_secs(1))),
            }),
            subscriber: Mutex::new(None),
        })
    }

    /// What the chat's hub tells of its room broadcasts.
    pub fn uplink(&self) -> Arc<dyn Uplink> {
        Arc::new(Up(Arc::clone(&self.shared)))
    }

    /// Starts the subscriber: broadcasts and requests from other nodes now reach `chat`.
    pub fn attach(&self, chat: &Arc<Chat>) {
        let s = &self.shared;
        let patterns = vec![wire::broadcast_pattern(NSP).into_bytes()];
        let channels = vec![
            wire::request_channel(NSP).into_bytes(),
            wire::response_channel(NSP).into_bytes(),
            wire::own_response_channel(NSP, &s.uid).into_bytes(),
        ];
        let shared = Arc::clone(s);
        let chat = Arc::downgrade(chat);
        let requests = wire::request_channel(NSP).into_bytes();
        let subscriber = Subscriber::spawn(
            s.url.clone(),
            patterns,
            channels,
            Arc::clone(&s.health),
            move |m| on_message(&shared, &chat, &requests, m),
        );
        *self.subscriber.lock().unwrap_or_else(|e| e.into_inner()) = Some(subscriber);
    }

    /// This node's uid.
    pub fn uid(&self) -> &str {
        &self.shared.uid
    }

    /// The link's state and counters.
    pub fn health(&self) -> &Arc<Health> {
        &self.shared.health
    }

    /// What crossed between this node and the others.
    pub fn stats(&self) -> &ClusterStats {
        &self.shared.stats
    }

    /// Figures for the `--stats` line: whether both Redis connections are up, broadcasts
    /// sent to and received from other nodes (per second), and what was dropped (totals).
    pub fn metrics(&self) -> Vec<Metric> {
        let h = self.shared.health.snapshot();
        let st = &self.shared.stats;
        let up = h.publisher == LinkState::Up && h.subscriber == LinkState::Up;
        vec![
            Metric::Gauge("redis_up", u64::from(up)),
            Metric::Rate("cluster_sent", st.sent.load(Relaxed)),
            Metric::Rate("cluster_received", st.delivered.load(Relaxed)),
            Metric::Gauge(
                "cluster_dropped",
                h.dropped_full + h.dropped_down + st.dropped.load(Relaxed),
            ),
            Metric::Gauge("cluster_reconnects", h.reconnects),
        ]
    }

    /// Stops the subscriber (the publisher stops when the last handle goes).
    pub fn stop(&self) {
        self.subscriber
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

/// Everything the subscriber receives; `requests` is the request channel's name.
fn on_message(s: &Arc<Shared>, chat: &Weak<Chat>, requests: &[u8], m: PubSub) {
    let Some(chat) = chat.upgrade() else {
        return;
    };
    match m {
        PubSub::PMessage { payload, .. } => match wire::decode_broadcast(&payload) {
            Ok(b) if b.uid != s.uid && b.nsp == NSP => {
                deliver(s, &chat, &b);
            }
            Ok(_) => {}
            Err(_) => {
                s.stats.ignored.fetch_add(1, Relaxed);
            }
        },
        PubSub::Message { channel, payload } => {
            if channel == requests {
                match wire::decode_request(&payload) {
                    Ok(r) => answer(s, &chat, r),
                    Err(_) => {
                        s.stats.ignored.fetch_add(1, Relaxed);
                    }
                }
            } else if s.waiting_for_answers() {
                let Ok(r) = wire::decode_response(&payload) else {
                    return;
                };
                let id = match &r {
                    AdapterResponse::Rooms { request_id, .. }
                    | AdapterResponse::Sockets { request_id, .. } => Some(request_id.as_str()),
                    AdapterResponse::Other { request_id } => request_id.as_deref(),
                };
                let waiter = id.and_then(|id| {
                    s.pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(id)
                        .cloned()
                });
                if let Some(waiter) = waiter {
                    let _ = waiter.try_send(r);
                }
            }
        }
        _ => {}
    }
}

/// A broadcast from another node, to the rooms it names here (every room if none).
fn deliver(s: &Shared, chat: &Chat, b: &Broadcast) -> usize {
    let Some(event) = b.event() else {
        s.stats.ignored.fetch_add(1, Relaxed);
        return 0;
    };
    let mut rooms: Vec<String> = if b.rooms.is_empty() {
        chat.room_counts()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _)| rules::key(&name))
            .collect()
    } else {
        b.rooms.clone()
    };
    // A room left out (`io.except(room)`) is left out whole: a chat member is in one room.
    let except = Except::new(&b.except);
    rooms.retain(|r| !except.has(r));
    // What the rooms here get, made once; a private message, only if it is one.
    let for_rooms = chat_app::remote_of(event, b.args())
        .unwrap_or_else(|| Remote::Foreign(chat_app::packets_of(&b.data)));
    let field = |k: &str| {
        b.args()
            .first()
            .and_then(|p| p.get(k))
            .and_then(Json::as_str)
            .map(str::to_string)
    };
    let private = match (event, field("from"), field("text")) {
        ("private", Some(from), Some(text)) => Some((from, text)),
        _ => None,
    };
    // One deadline for the whole broadcast: however many rooms it names, a busy hub holds
    // this thread at most REMOTE_WAIT for it.
    let deadline = Instant::now() + REMOTE_WAIT;
    let mut handed = 0;
    // A room named twice (or in two spellings of one key) gets the broadcast once.
    let mut seen = HashSet::new();
    for room in &rooms {
        let key = rules::key(room);
        if !seen.insert(key.clone()) {
            continue;
        }
        let (key, remote) = match (s.member_of(room), &private) {
            // To one member here (a private message, found by a fetch).
            (Some(to), Some((from, text))) => (
                String::new(),
                Remote::Private {
                    to,
                    from: from.clone(),
                    text: text.clone(),
                },
            ),
            (Some(_), None) => continue,
            (None, _) => (key, for_rooms.clone()),
        };
        if chat.remote_until(key, remote, deadline) {
            handed += 1;
            s.stats.delivered.fetch_add(1, Relaxed);
        } else {
            s.stats.dropped.fetch_add(1, Relaxed);
        }
    }
    handed
}

/// The rooms a request leaves out, as a set of room keys ([`rules::key`]) to look rooms up in:
/// one message can name a great many rooms and a great many exceptions.
struct Except(HashSet<String>);

impl Except {
    fn new(except: &[String]) -> Except {
        Except(except.iter().map(|e| rules::key(e)).collect())
    }

    /// True if `room` is one of the rooms left out.
    fn has(&self, room: &str) -> bool {
        !self.0.is_empty() && self.0.contains(&rules::key(room))
    }
}

/// Answers another node's request (our own come back to us too: skipped).
fn answer(s: &Shared, chat: &Chat, r: AdapterRequest) {
    let response = wire::response_channel(NSP);
    match r {
        AdapterRequest::AllRooms { uid, request_id } if uid != s.uid => {
            let Some(rooms) = chat.room_counts() else {
                return;
            };
            let keys: Vec<String> = rooms
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(name, _)| rules::key(&name))
                .collect();
            s.publish(response, wire::encode_rooms_response(&request_id, &keys));
        }
        AdapterRequest::Fetch {
            uid,
            request_id,
            rooms,
            except,
        } if uid != s.uid => {
            let keys = rooms.iter().map(|r| rules::key(r)).collect();
            let Some(members) = chat.members_in(keys) else {
                return;
            };
            let except = Except::new(&except);
            let sockets: Vec<_> = members
                .iter()
                .map(|m| remote_socket(s, m))
                .filter(|sock| !sock.rooms.iter().any(|r| except.has(r)))
                .collect();
            s.publish(response, wire::encode_fetch_response(&request_id, &sockets));
        }
        AdapterRequest::BroadcastWithAck {
            request_id,
            broadcast,
        } if broadcast.uid != s.uid => {
            // Delivered without an ack id: nobody here answers, and the count says so, so the
            // sender waits for no acknowledgement from this node.
            deliver(s, chat, &broadcast);
            s.publish(response, wire::encode_client_count(&request_id, 0));
        }
        _ => return,
    }
    s.stats.answered.fetch_add(1, Relaxed);
}

/// A member as a fetch answer shows it: `data` holds `{nick, room}`, as the Node chat app
/// keeps them in `socket.data`.
fn remote_socket(s: &Shared, m: &MemberInfo) -> wire::RemoteSocket {
    let id = s.socket_id(m.id);
    wire::RemoteSocket {
        rooms: vec![id.clone(), m.key.clone()],
        id,
        data: Json::object([
            ("nick", Json::from(m.nick.as_str())),
            ("room", Json::from(m.room.as_str())),
        ]),
    }
}
