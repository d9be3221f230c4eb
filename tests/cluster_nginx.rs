//! Two threadsock nodes sharing their rooms through a real `redis-server`, behind a real nginx
//! running `examples/cluster/nginx.conf` (sticky by `hash $remote_addr consistent`). Users of
//! the official socket.io-client connect through nginx from distinct source addresses until
//! both nodes have some; then every message reaches everyone on both nodes, over long-polling
//! alone and with the upgrade to WebSocket, and nginx's access log shows each client's requests
//! all went to one node, the one that counts its socket.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::nginx::{self, Nginx};
use support::node_chat::{NcUser, SioUser};
use support::redis::RedisServer;
use support::*;
use threadsock::server::{Limits, Server};

/// Users tried, one source address each (127.0.0.2, ...), before both nodes must have one.
const MAX_USERS: u8 = 30;

/// A threadsock node (chat and Socket.IO) on `redis`, its link up: the server, its chat
/// address and its Socket.IO port.
fn node(redis: &RedisServer) -> (Server, SocketAddr, u16) {
    let mut opts = options(&["chat", "socketio"]);
    opts.redis = Some(redis.url());
    let server = start_with(&opts, Limits::default());
    wait_until("the node's Redis link is up", || {
        gauge(&server, "redis_up") == 1
    });
    let chat = tcp_addr(&server, "chat");
    let sio = tcp_addr(&server, "socketio").port();
    (server, chat, sio)
}

/// Polls `done` every 10 ms until it holds; fails naming `what` after [`WAIT`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A user connected through nginx, and the node that counts its socket.
struct Placed {
    user: SioUser,
    nick: String,
    source: String,
    on_a: bool,
}

/// Sends `text` from `users[from]` (repeatedly, at most 50 times) until `users[to]` sees it:
/// a room's subscription made just now may miss the first messages.
fn warm_up(users: &mut [Placed], from: usize, to: usize, text: &str) {
    for _ in 0..50 {
        users[from].user.emit(&format!(r#"["message","{text}"]"#));
        if users[to]
            .user
            .within(&[text], Duration::from_millis(200))
            .is_some()
        {
            return;
        }
    }
    panic!("{text:?} never crossed to the other node");
}

/// The clients' requests in nginx's access log (`CLIENT -> NODE "REQUEST" STATUS`): for each
/// client address, the upstream addresses that served it and how many requests there were.
fn served_by(log: &str) -> BTreeMap<String, (Vec<String>, usize)> {
    let mut by_client: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for line in log.lines() {
        let Some((client, rest)) = line.split_once(" -> ") else {
            panic!("not an access log line: {line}")
        };
        let upstream = rest.split(' ').next().unwrap_or_default().to_string();
        let entry = by_client.entry(client.to_string()).or_default();
        if !entry.0.contains(&upstream) {
            entry.0.push(upstream);
        }
        entry.1 += 1;
    }
    by_client
}

fn tools() -> Option<std::path::PathBuf> {
    if !(require_tool("redis-server") && require_node_packages("redis_adapter")) {
        return None;
    }
    nginx::binary()
}

/// The whole scenario with the client's `transports` (`polling`, or `polling,websocket`).
fn chat_through_nginx(transports: &str) {
    let Some(binary) = tools() else { return };
    let redis = RedisServer::start().unwrap();
    let (a, chat_a, sio_a) = node(&redis);
    let (b, chat_b, sio_b) = node(&redis);
    let proxy = Nginx::start(&binary, sio_a, sio_b);
    let url = proxy.url();
    let sockets = |s: &Server| gauge(s, "sio_sockets");

    // One user per source address until both nodes have at least one.
    let mut users: Vec<Placed> = Vec::new();
    for host in 2..2 + MAX_USERS {
        if users.iter().any(|u| u.on_a) && users.iter().any(|u| !u.on_a) {
            break;
        }
        let (before_a, before_b) = (sockets(&a), sockets(&b));
        let source = format!("127.0.0.{host}");
        let nick = format!("u{host}");
        let user = SioUser::connect_from(&url, &nick, transports, Some(&source));
        wait_until(&format!("{nick}'s socket counted on a node"), || {
            sockets(&a) + sockets(&b) == before_a + before_b + 1
        });
        let on_a = sockets(&a) == before_a + 1;
        users.push(Placed {
            user,
            nick,
            source,
            on_a,
        });
    }
    let (on_a, on_b) = (
        users.iter().filter(|u| u.on_a).count(),
        users.iter().filter(|u| !u.on_a).count(),
    );
    assert!(
        on_a > 0 && on_b > 0,
        "{} users from distinct addresses all reached one node (A: {on_a}, B: {on_b})",
        users.len()
    );

    // Every session on the transport asked for: with the upgrade, the WebSocket request of a
    // session reached the node holding it (the other would refuse the unknown sid).
    let (want, other) = if transports.ends_with("websocket") {
        ("sio_sessions_websocket", "sio_sessions_polling")
    } else {
        ("sio_sessions_polling", "sio_sessions_websocket")
    };
    wait_until(&format!("every session on {want}"), || {
        gauge(&a, want) + gauge(&b, want) == users.len() as u64
            && gauge(&a, other) + gauge(&b, other) == 0
    });

    // nc users on both nodes too.
    let mut nc_a = NcUser::join(chat_a);
    nc_a.send("/nick nca");
    nc_a.until("* you are now nca");
    let mut nc_b = NcUser::join(chat_b);
    nc_b.send("/nick ncb");
    nc_b.until("* you are now ncb");

    let first_a = users.iter().position(|u| u.on_a).unwrap();
    let first_b = users.iter().position(|u| !u.on_a).unwrap();
    warm_up(&mut users, first_a, first_b, "warm-up A to B");
    warm_up(&mut users, first_b, first_a, "warm-up B to A");

    // A message from a user on each node reaches every other user, on both nodes.
    for from in [first_a, first_b] {
        let nick = users[from].nick.clone();
        let text = format!("hello from {nick} over {transports}");
        users[from].user.emit(&format!(r#"["message","{text}"]"#));
        for (i, other) in users.iter().enumerate() {
            if i != from {
                other
                    .user
                    .until(&[r#""message""#, &format!(r#""from":"{nick}""#), &text]);
            }
        }
        nc_a.until(&format!("-> {nick}: {text}"));
        nc_b.until(&format!("-> {nick}: {text}"));
    }
    // And from nc on each node to every Socket.IO user.
    for (nc, nick) in [(&mut nc_a, "nca"), (&mut nc_b, "ncb")] {
        nc.send(&format!("{nick} says hi"));
        for u in &users {
            u.user
                .until(&[&format!(r#""from":"{nick}""#), &format!("{nick} says hi")]);
        }
    }

    // Sticky: every request of a client went to one node, the one that counts its socket, and
    // none was refused (a poll on the wrong node gets 400 "Session ID unknown").
    let log = proxy.access_log();
    assert!(
        !log.lines().any(|l| l.ends_with(" 400")),
        "refused requests:\n{log}"
    );
    let served = served_by(&log);
    for u in &users {
        let (upstreams, requests) = served
            .get(&u.source)
            .unwrap_or_else(|| panic!("no request from {} in\n{log}", u.source));
        let node = if u.on_a { sio_a } else { sio_b };
        assert_eq!(
            upstreams,
            &[format!("127.0.0.1:{node}")],
            "{} ({}) not served by one node:\n{log}",
            u.nick,
            u.source
        );
        // The handshake, the CONNECT's POST and polls since: several requests, one node.
        assert!(
            *requests >= 2,
            "{}: only {requests} requests:\n{log}",
            u.nick
        );
    }
}

#[test]
fn long_polling_users_on_both_nodes_chat_through_nginx() {
    chat_through_nginx("polling");
}

#[test]
fn users_upgrading_to_websocket_on_both_nodes_chat_through_nginx() {
    chat_through_nginx("polling,websocket");
}
