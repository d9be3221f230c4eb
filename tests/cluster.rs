//! Rooms shared across nodes through a real `redis-server`: two threadsock nodes (Socket.IO
//! users on the official client and `nc` users on both), a threadsock node beside a Node.js
//! socket.io 4.8 node with `@socket.io/redis-adapter` (messages, binary data and `who` across
//! both), and Redis stopped and restarted under traffic (local delivery never stops; cross-node
//! delivery comes back).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::node_chat::{NcUser, NodeServer, SioUser};
use support::redis::RedisServer;
use support::*;
use threadsock::server::{Limits, Server};

/// Waits (at most [`WAIT`]) until the node's `redis_up` gauge reads `up`.
fn wait_link(server: &Server, up: u64) {
    let deadline = Instant::now() + WAIT;
    while gauge(server, "redis_up") != up {
        assert!(Instant::now() < deadline, "redis_up never read {up}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `prefix N` lines from `talker` (N counting up) until `remote` reads one, within 20 s:
/// proof that lines cross between the nodes (again).
fn until_crossing(talker: &mut NcUser, remote: &mut NcUser, prefix: &str) {
    let start = Instant::now();
    for n in 0.. {
        talker.send(&format!("{prefix} {n}"));
        if remote
            .try_line()
            .is_some_and(|l| l.starts_with(&format!("-> {prefix} ")))
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{prefix}: never crossed"
        );
    }
}

/// A threadsock node (chat and Socket.IO) on `redis`, its link up.
fn node(redis: &RedisServer) -> (Server, SocketAddr, String) {
    let mut opts = options(&["chat", "socketio"]);
    opts.redis = Some(redis.url());
    let server = start_with(&opts, Limits::default());
    wait_link(&server, 1);
    let chat = tcp_addr(&server, "chat");
    let sio = format!("http://{}", tcp_addr(&server, "socketio"));
    (server, chat, sio)
}

/// Sends `line` from `nc` until `seen` returns true (a subscription made just now may miss the
/// first ones), at most 50 times.
fn until_across(nc: &mut NcUser, line: &str, mut seen: impl FnMut() -> bool) {
    for _ in 0..50 {
        nc.send(line);
        if seen() {
            return;
        }
    }
    panic!("{line:?} never crossed");
}

fn tools() -> bool {
    require_tool("redis-server") && require_node_packages("redis_adapter")
}

#[test]
fn two_threadsock_nodes_share_a_room_between_socketio_and_nc_users() {
    if !tools() {
        return;
    }
    let redis = RedisServer::start().unwrap();
    let (_a, chat_a, sio_a) = node(&redis);
    let (_b, chat_b, sio_b) = node(&redis);
    let ann = SioUser::connect(&sio_a, "ann", "websocket");
    let cy = SioUser::connect(&sio_b, "cy", "websocket");
    let mut bob = NcUser::join(chat_b);
    bob.send("/nick bob");
    bob.until("* you are now bob");
    let mut dee = NcUser::join(chat_a);
    bob.set_timeout(Duration::from_millis(200));
    // nc on B to Socket.IO on A, and everyone else.
    until_across(&mut bob, "warm-up", || {
        ann.within(&["warm-up"], Duration::from_millis(200))
            .is_some()
    });
    bob.send("hello from B");
    ann.until(&[r#""message""#, r#""from":"bob""#, "hello from B"]);
    cy.until(&["hello from B"]);
    dee.until("-> bob: hello from B");
    // Socket.IO on A to nc and Socket.IO on B.
    let mut ann = ann;
    ann.emit(r#"["message","hi from A"]"#);
    bob.set_timeout(WAIT);
    bob.until("-> ann: hi from A");
    cy.until(&[r#""from":"ann""#, "hi from A"]);
    // Bytes: an attachment for Socket.IO users there, a notice for nc users.
    ann.emit(r#"["binary",{"$binary":"0001ff"}]"#);
    cy.until(&[r#""binary""#, r#""from":"ann""#, r#"{"$binary":"0001ff"}"#]);
    bob.until("* ann sent 3 bytes of binary data");
    // A room other than the lobby: only its members, on both nodes, hear it.
    bob.send("/join games");
    bob.until("* you joined games (1 here)");
    let mut cy = cy;
    cy.emit(r#"{"ack":["join","games"]}"#);
    cy.until(&[r#""ack","join""#, r#""room":"games""#]);
    bob.until("* cy joined games");
    cy.emit(r#"["message","in games"]"#);
    bob.until("-> cy: in games");
    ann.emit(r#"["message","still in the lobby"]"#);
    dee.until("-> ann: still in the lobby");
    assert!(cy
        .within(&["still in the lobby"], Duration::from_millis(300))
        .is_none());
    // Who is in a room, and which rooms there are, asked on one node, answered by both.
    bob.send("/who");
    bob.until("* in games: bob, cy");
    let mut dee = dee;
    dee.send("/nick dee");
    dee.until("* you are now dee");
    dee.send("/who");
    dee.until("* in lobby: ann, dee");
    dee.send("/rooms");
    dee.until("* rooms: lobby (2), games (2)");
    // A nickname in use on another node is refused (best effort: asked, not locked).
    dee.send("/nick BOB");
    dee.until("! nickname BOB is taken");
    ann.emit(r#"{"ack":["rooms"]}"#);
    ann.until(&[r#""ack","rooms""#, r#"{"name":"games","members":2}"#]);
}

#[test]
fn a_node_socketio_node_and_a_threadsock_node_share_rooms_binary_included() {
    if !tools() {
        return;
    }
    let redis = RedisServer::start().unwrap();
    let (_a, chat_a, sio_a) = node(&redis);
    let js = NodeServer::start(&redis.url().to_string());
    // server.mjs checks nicknames across nodes with fetchSockets: this node must answer.
    let mut bob = SioUser::connect(&js.url(), "bob", "websocket");
    let mut ann = SioUser::connect(&sio_a, "ann", "websocket");
    let mut cy = NcUser::join(chat_a);
    cy.send("/nick cy");
    cy.until("* you are now cy");
    cy.set_timeout(Duration::from_millis(200));
    until_across(&mut cy, "warm-up", || {
        bob.within(&["warm-up"], Duration::from_millis(200))
            .is_some()
    });
    cy.set_timeout(WAIT);
    // Node to threadsock: Socket.IO and nc users.
    bob.emit(r#"["message","hello from node"]"#);
    ann.until(&[r#""from":"bob""#, "hello from node"]);
    cy.until("-> bob: hello from node");
    // threadsock to Node.
    ann.emit(r#"["message","hello from threadsock"]"#);
    bob.until(&[r#""from":"ann""#, "hello from threadsock"]);
    cy.send("and from nc");
    bob.until(&[r#""from":"cy""#, "and from nc"]);
    // Binary both ways, as attachments on the official client.
    bob.emit(r#"["binary",{"$binary":"00ff10"}]"#);
    ann.until(&[r#""binary""#, r#""from":"bob""#, r#"{"$binary":"00ff10"}"#]);
    cy.until("* bob sent 3 bytes of binary data");
    ann.emit(r#"["binary",{"$binary":"cafe"}]"#);
    bob.until(&[r#""binary""#, r#""from":"ann""#, r#"{"$binary":"cafe"}"#]);
    // Node asks every node who is in the lobby (fetchSockets): this node answers for its own.
    bob.emit(r#"{"ack":["who"]}"#);
    let who = bob.until(&[r#""ack","who""#]);
    for nick in ["\"ann\"", "\"bob\"", "\"cy\""] {
        assert!(who.contains(nick), "{who}");
    }
    // And this node asks Node's (its answer carries the nicknames in `data`).
    ann.emit(r#"{"ack":["who"]}"#);
    ann.until(&[r#""ack","who",["ann","bob","cy"]"#]);
    // And every room (allRooms): a room made on this node shows there.
    cy.send("/join games");
    cy.until("* you joined games (1 here)");
    bob.emit(r#"{"ack":["rooms"]}"#);
    let rooms = bob.until(&[r#""ack","rooms""#]);
    assert!(rooms.contains(r#""name":"games""#), "{rooms}");
}

#[test]
fn redis_going_away_never_stops_local_delivery_and_cross_node_delivery_comes_back() {
    if !tools() {
        return;
    }
    let mut redis = RedisServer::start().unwrap();
    let (a, chat_a, _) = node(&redis);
    let (_b, chat_b, _) = node(&redis);
    let mut talker = NcUser::join(chat_a);
    let mut local = NcUser::join(chat_a);
    let mut remote = NcUser::join(chat_b);
    remote.set_timeout(Duration::from_millis(200));
    until_crossing(&mut talker, &mut remote, "before");
    redis.stop();
    // Local delivery goes on, line for line, while Redis is away.
    for i in 0..200 {
        talker.send(&format!("down {i}"));
    }
    for i in 0..200 {
        let want = format!("-> down {i}");
        let seen = local.until(&want);
        assert!(seen.iter().all(|l| !l.starts_with("-> down")), "{seen:?}");
    }
    wait_link(&a, 0);
    redis.restart();
    // Cross-node delivery resumes within a few seconds of Redis's return.
    until_crossing(&mut talker, &mut remote, "after");
    // Both nodes still serve.
    let mut late = NcUser::join(chat_b);
    late.send("/who");
    let mut lines = 0;
    while !late.line().starts_with("* in lobby: ") {
        lines += 1;
        assert!(lines < 100, "no answer to /who");
    }
}

#[test]
fn a_node_that_never_answers_costs_a_question_the_timeout_and_not_the_answer() {
    if !tools() {
        return;
    }
    let redis = RedisServer::start().unwrap();
    let mut opts = options(&["chat"]);
    opts.redis = Some(redis.url());
    opts.redis_timeout = Duration::from_millis(300);
    let a = start_with(&opts, Limits::default());
    let (_b, chat_b, _) = node(&redis);
    // A subscriber on the request channel that never answers: counted as a node, silent.
    let mut silent = threadsock::service::cluster::RedisConn::connect(&redis.url(), WAIT).unwrap();
    silent
        .command(&[b"SUBSCRIBE", b"socket.io-request#/#"])
        .unwrap();
    wait_link(&a, 1);
    let mut there = NcUser::join(chat_b);
    there.send("/nick there");
    there.until("* you are now there");
    let mut here = NcUser::join(tcp_addr(&a, "chat"));
    here.send("/nick here");
    here.until("* you are now here");
    // The answering node's member is in the answer; the silent one only made it wait.
    here.send("/who");
    here.until("* in lobby: here, there");
}

#[test]
fn a_node_started_before_redis_serves_alone_then_joins_the_cluster() {
    if !tools() {
        return;
    }
    // A port nothing listens on yet: the node starts anyway, degraded.
    let port = free_port();
    let mut opts = options(&["chat"]);
    opts.redis = Some(threadsock::service::cluster::RedisUrl::new(
        "127.0.0.1",
        port,
    ));
    let a = start_with(&opts, Limits::default());
    let mut talker = NcUser::join(tcp_addr(&a, "chat"));
    let mut local = NcUser::join(tcp_addr(&a, "chat"));
    talker.send("alone");
    local.until("-> alone");
    assert_eq!(gauge(&a, "redis_up"), 0);
    // Redis appears on that port: the node joins, and a second node hears it.
    let redis = RedisServer::start_on(port, &[]).expect("redis-server on the chosen port");
    let (_b, chat_b, _) = node(&redis);
    let mut remote = NcUser::join(chat_b);
    remote.set_timeout(Duration::from_millis(200));
    until_crossing(&mut talker, &mut remote, "joined");
}

#[test]
fn a_hung_redis_never_holds_up_local_delivery() {
    if !tools() {
        return;
    }
    let redis = RedisServer::start().unwrap();
    let (_a, chat_a, _) = node(&redis);
    let mut talker = NcUser::join(chat_a);
    let mut local = NcUser::join(chat_a);
    // A Redis that keeps its connections and answers nothing: publishes wait in the bounded
    // queue (or are dropped and counted), never in the hub.
    redis.signal("STOP");
    for i in 0..2000 {
        talker.send(&format!("hung {i}"));
    }
    local.until("-> hung 1999");
    redis.signal("CONT");
}

#[test]
fn the_load_generator_measures_fan_out_across_nodes() {
    if !tools() {
        return;
    }
    use threadsock::client::bench::{self, BenchOptions, Scenario};
    use threadsock::net::Addr;
    let redis = RedisServer::start().unwrap();
    let (_a, chat_a, sio_a) = node(&redis);
    let (_b, chat_b, sio_b) = node(&redis);
    let sio_a: SocketAddr = sio_a.trim_start_matches("http://").parse().unwrap();
    let sio_b: SocketAddr = sio_b.trim_start_matches("http://").parse().unwrap();
    for (scenario, receivers, sender) in [
        (Scenario::Chat, chat_b, chat_a),
        (Scenario::SioFanout, sio_b, sio_a),
    ] {
        let o = BenchOptions {
            scenario,
            addr: Addr::Ip(receivers),
            conns: 5,
            size: 64,
            duration: Duration::from_secs(10),
            warmup: Duration::ZERO,
            hold: Duration::ZERO,
            messages: 200,
            stalled: 0,
            inflight: 1,
            event: "message".into(),
            threads: 1,
            sender: Some(Addr::Ip(sender)),
            pid: None,
            target: "cluster".into(),
            csv: None,
        };
        let r = bench::run(&o).unwrap();
        assert_eq!(r.failure, None, "{scenario:?}: {:?}", r.notes);
        assert_eq!(r.ops, 5 * 200, "{scenario:?}: {:?}", r.notes);
        assert_eq!(r.errors, 0, "{scenario:?}: {:?}", r.notes);
    }
}
