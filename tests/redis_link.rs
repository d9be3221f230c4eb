//! The Redis link against a real `redis-server` (tests/support/redis.rs): commands, AUTH and
//! SELECT, delivery from the publisher thread to the subscriber's callback, order, and what
//! happens when Redis stops, hangs, comes back on the same port, or is not there at the start.

mod support;

use crossbeam_channel::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::redis::RedisServer;
use support::{free_port, require_tool, WAIT};
use threadsock::codec::resp::Reply;
use threadsock::service::cluster::{
    Health, HealthSnapshot, LinkState, PubSub, Publisher, RedisConn, RedisUrl, Role, Subscriber,
};

fn is_up(s: &LinkState) -> bool {
    *s == LinkState::Up
}

fn is_down(s: &LinkState) -> bool {
    matches!(s, LinkState::Down { .. })
}

/// A subscriber whose messages arrive on the returned channel.
fn subscriber(
    url: RedisUrl,
    patterns: &[&str],
    channels: &[&str],
    health: &Arc<Health>,
) -> (Subscriber, Receiver<PubSub>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let owned = |names: &[&str]| names.iter().map(|n| n.as_bytes().to_vec()).collect();
    let sub = Subscriber::spawn(
        url,
        owned(patterns),
        owned(channels),
        Arc::clone(health),
        move |m| {
            let _ = tx.send(m);
        },
    );
    (sub, rx)
}

fn message(channel: &str, payload: &str) -> PubSub {
    PubSub::Message {
        channel: channel.into(),
        payload: payload.into(),
    }
}

/// Publishes probes on `channel` until one arrives on `rx`, within [`WAIT`]. Returns every
/// payload received meanwhile on any channel, or fails the test.
fn deliver_eventually(publisher: &Publisher, rx: &Receiver<PubSub>, channel: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    for i in 0.. {
        assert!(
            Instant::now() < deadline,
            "nothing arrived on {channel}: {seen:?}"
        );
        publisher.publish(channel.into(), format!("probe-{i}").into_bytes());
        let until = (Instant::now() + Duration::from_millis(200)).min(deadline);
        while let Ok(m) = rx.recv_deadline(until) {
            if let PubSub::Message {
                channel: c,
                payload,
            } = m
            {
                let payload = String::from_utf8(payload).unwrap();
                let done = c == channel.as_bytes() && payload.starts_with("probe-");
                seen.push(payload);
                if done {
                    return seen;
                }
            }
        }
    }
    unreachable!()
}

/// Polls `health` until `done` holds for its counters, within [`WAIT`].
fn wait_counters(health: &Health, done: impl Fn(&HealthSnapshot) -> bool) -> HealthSnapshot {
    let deadline = Instant::now() + WAIT;
    loop {
        let snap = health.snapshot();
        if done(&snap) {
            return snap;
        }
        assert!(Instant::now() < deadline, "counters stuck at {snap}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn commands_round_trip() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut conn = RedisConn::connect(&server.url(), WAIT).unwrap();
    let value = b"v\r\n\0\xff";
    assert_eq!(
        conn.command(&[b"SET", b"k", value]).unwrap(),
        Reply::Simple("OK".into())
    );
    assert_eq!(
        conn.command(&[b"GET", b"k"]).unwrap(),
        Reply::bulk(&value[..])
    );
    assert_eq!(
        conn.command(&[b"GET", b"missing"]).unwrap(),
        Reply::Bulk(None)
    );
    let Reply::Error(e) = conn.command(&[b"NOSUCHCOMMAND"]).unwrap() else {
        panic!("no error reply")
    };
    assert!(e.starts_with("ERR"), "{e}");
    conn.command(&[b"RPUSH", b"l", b"a", b"b"]).unwrap();
    assert_eq!(
        conn.command(&[b"LRANGE", b"l", b"0", b"-1"]).unwrap(),
        Reply::Array(Some(vec![Reply::bulk("a"), Reply::bulk("b")]))
    );
    // Pipelined: a thousand commands in one write, their replies in order.
    for _ in 0..1000 {
        conn.queue(&[b"INCR", b"n"]);
    }
    conn.flush().unwrap();
    for i in 1..=1000 {
        assert_eq!(conn.read_reply().unwrap(), Reply::Integer(i));
    }
    // A reply far larger than one read.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    conn.command(&[b"SET", b"big", &big]).unwrap();
    assert_eq!(conn.command(&[b"GET", b"big"]).unwrap(), Reply::bulk(big));
}

#[test]
fn auth_and_select() {
    let Some(server) = RedisServer::start_with(&["--requirepass", "p@ss:word"]) else {
        return;
    };
    let port = server.port();
    // Without the password the connection opens, and commands are refused.
    let mut anon = RedisConn::connect(&server.url(), WAIT).unwrap();
    let Reply::Error(e) = anon.command(&[b"GET", b"k"]).unwrap() else {
        panic!("no error reply")
    };
    assert!(e.starts_with("NOAUTH"), "{e}");

    let bad = RedisUrl::parse(&format!("redis://:nope@127.0.0.1:{port}")).unwrap();
    let e = RedisConn::connect(&bad, WAIT).unwrap_err();
    assert!(e.to_string().contains("WRONGPASS"), "{e}");

    let url = RedisUrl::parse(&format!("redis://:p%40ss%3Aword@127.0.0.1:{port}/3")).unwrap();
    let mut db3 = RedisConn::connect(&url, WAIT).unwrap();
    db3.command(&[b"SET", b"where", b"3"]).unwrap();
    let db0_url = RedisUrl {
        db: 0,
        ..url.clone()
    };
    let mut db0 = RedisConn::connect(&db0_url, WAIT).unwrap();
    assert_eq!(db0.command(&[b"GET", b"where"]).unwrap(), Reply::Bulk(None));
    assert_eq!(db3.command(&[b"GET", b"where"]).unwrap(), Reply::bulk("3"));
    let e = RedisConn::connect(
        &RedisUrl {
            db: 99,
            ..url.clone()
        },
        WAIT,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("SELECT: ERR"), "{e}");

    // An ACL user: AUTH with user name and password.
    let setuser: [&[u8]; 8] = [
        b"ACL",
        b"SETUSER",
        b"alice",
        b"on",
        b">alice-pw",
        b"~*",
        b"&*",
        b"+@all",
    ];
    assert_eq!(db0.command(&setuser).unwrap(), Reply::Simple("OK".into()));
    let alice = RedisUrl::parse(&format!("redis://alice:alice-pw@127.0.0.1:{port}")).unwrap();
    let mut conn = RedisConn::connect(&alice, WAIT).unwrap();
    assert_eq!(
        conn.command(&[b"ACL", b"WHOAMI"]).unwrap(),
        Reply::bulk("alice")
    );

    // The link threads report a missing password as the reason they are down.
    let health = Arc::new(Health::new());
    let publisher = Publisher::spawn(server.url(), 16, Arc::clone(&health));
    assert!(health.wait_for(Role::Publisher, WAIT, is_down));
    let LinkState::Down { last_error, .. } = health.state(Role::Publisher) else {
        unreachable!()
    };
    assert!(last_error.contains("NOAUTH"), "{last_error}");
    drop(publisher);
    // And connect with it.
    let health = Arc::new(Health::new());
    let (_sub, rx) = subscriber(url.clone(), &[], &["room"], &health);
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    let publisher = Publisher::spawn(url, 16, Arc::clone(&health));
    assert!(publisher.publish(b"room".to_vec(), b"authed".to_vec()));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), message("room", "authed"));
}

#[test]
fn publisher_to_subscriber() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let health = Arc::new(Health::new());
    let (sub, rx) = subscriber(server.url(), &["pat.*"], &["room"], &health);
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    let publisher = Publisher::spawn(server.url(), 64, Arc::clone(&health));
    assert!(publisher.publish(b"room".to_vec(), b"hello".to_vec()));
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), message("room", "hello"));
    assert!(publisher.publish(b"pat.x".to_vec(), b"\0binary\xff".to_vec()));
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap(),
        PubSub::PMessage {
            pattern: b"pat.*".to_vec(),
            channel: b"pat.x".to_vec(),
            payload: b"\0binary\xff".to_vec(),
        }
    );

    // A channel added at run time.
    sub.subscribe(b"later".to_vec());
    deliver_eventually(&publisher, &rx, "later");
    // Removed again: Redis counts no subscriber on it.
    sub.unsubscribe(b"later");
    let mut conn = RedisConn::connect(&server.url(), WAIT).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = conn.command(&[b"PUBSUB", b"NUMSUB", b"later"]).unwrap();
        if reply == Reply::Array(Some(vec![Reply::bulk("later"), Reply::Integer(0)])) {
            break;
        }
        assert!(Instant::now() < deadline, "still subscribed: {reply:?}");
        std::thread::sleep(Duration::from_millis(5));
    }

    drop(publisher);
    let snap = health.snapshot();
    assert!(snap.published >= 3, "{snap}");
    assert!(snap.received >= 3, "{snap}");
    assert_eq!(
        snap.dropped_full + snap.dropped_down + snap.reconnects,
        0,
        "{snap}"
    );
}

#[test]
fn many_messages_arrive_in_order() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    const N: usize = 20_000;
    let health = Arc::new(Health::new());
    let (_sub, rx) = subscriber(server.url(), &[], &["seq"], &health);
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    let publisher = Publisher::spawn(server.url(), N, Arc::clone(&health));
    for i in 0..N {
        assert!(publisher.publish(b"seq".to_vec(), i.to_string().into_bytes()));
    }
    for i in 0..N {
        assert_eq!(
            rx.recv_timeout(WAIT).unwrap(),
            message("seq", &i.to_string()),
            "message {i}"
        );
    }
    drop(publisher);
    let snap = health.snapshot();
    assert_eq!(
        (snap.published, snap.received),
        (N as u64, N as u64),
        "{snap}"
    );
    assert_eq!(
        snap.dropped_full + snap.dropped_down + snap.rejected,
        0,
        "{snap}"
    );
}

#[test]
fn redis_stopped_then_restarted_on_the_same_port() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let health = Arc::new(Health::new());
    let (sub, rx) = subscriber(server.url(), &[], &["room"], &health);
    let publisher = Publisher::spawn(server.url(), 1024, Arc::clone(&health));
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    assert!(health.wait_for(Role::Publisher, WAIT, is_up));
    deliver_eventually(&publisher, &rx, "room");

    server.stop();
    assert!(health.wait_for(Role::Subscriber, WAIT, is_down));
    assert!(health.wait_for(Role::Publisher, WAIT, is_down));

    // A burst while Redis is down: publish never blocks, and every message is accounted for.
    let before = health.snapshot();
    const BURST: u64 = 100_000;
    let t0 = Instant::now();
    let mut accepted = 0;
    for i in 0..BURST {
        if publisher.publish(b"room".to_vec(), format!("stale-{i}").into_bytes()) {
            accepted += 1;
        }
    }
    let took = t0.elapsed();
    // A liveness bound, not a speed goal: none of them waited on the absent Redis.
    assert!(took < WAIT, "100k publishes took {took:?}");
    let after = health.snapshot();
    assert_eq!(after.dropped_full - before.dropped_full, BURST - accepted);
    let after = wait_counters(&health, |s| {
        s.dropped_down - before.dropped_down >= accepted
    });
    assert_eq!(after.published, before.published);
    assert_eq!(after.dropped_down - before.dropped_down, accepted);

    server.restart();
    let seen = deliver_eventually(&publisher, &rx, "room");
    // Nothing published while Redis was down went out after the reconnection.
    assert!(seen.iter().all(|p| p.starts_with("probe-")), "{seen:?}");
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    assert!(health.wait_for(Role::Publisher, WAIT, is_up));
    assert_eq!(health.snapshot().reconnects, 2);

    let t0 = Instant::now();
    drop(publisher);
    drop(sub);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn redis_down_at_spawn_then_appearing() {
    if !require_tool("redis-server") {
        return;
    }
    let port = free_port();
    let url = RedisUrl::new("127.0.0.1", port);
    let health = Arc::new(Health::new());
    let (sub, rx) = subscriber(url.clone(), &[], &["room"], &health);
    let publisher = Publisher::spawn(url, 16, Arc::clone(&health));
    assert!(health.wait_for(Role::Subscriber, WAIT, is_down));
    assert!(health.wait_for(Role::Publisher, WAIT, is_down));

    let _server = RedisServer::start_on(port, &[]).expect("redis-server on the chosen port");
    deliver_eventually(&publisher, &rx, "room");
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    assert!(health.wait_for(Role::Publisher, WAIT, is_up));
    // A first connection is not a reconnection.
    assert_eq!(health.snapshot().reconnects, 0);
    drop(publisher);
    drop(sub);
}

#[test]
fn a_hung_redis_is_noticed_while_idle() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let health = Arc::new(Health::new());
    let (sub, rx) = subscriber(server.url(), &[], &["room"], &health);
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));

    // Stopped, the server keeps the connection open and answers nothing.
    server.signal("STOP");
    let t0 = Instant::now();
    assert!(health.wait_for(Role::Subscriber, WAIT, is_down));
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(6), "noticed after {took:?}");
    // A publisher against the hung server never comes up, and its publish never blocks.
    let publisher = Publisher::spawn(server.url(), 4, Arc::clone(&health));
    assert!(health.wait_for(Role::Publisher, WAIT, is_down));
    let t0 = Instant::now();
    for _ in 0..100 {
        publisher.publish(b"room".to_vec(), b"x".to_vec());
    }
    assert!(t0.elapsed() < Duration::from_secs(1));

    server.signal("CONT");
    deliver_eventually(&publisher, &rx, "room");
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));

    // Hung again: dropping both handles stays bounded.
    server.signal("STOP");
    let t0 = Instant::now();
    drop(publisher);
    drop(sub);
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn a_panicking_handler_leaves_the_subscriber_down() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let health = Arc::new(Health::new());
    let sub = Subscriber::spawn(
        server.url(),
        vec![],
        vec![b"room".to_vec()],
        Arc::clone(&health),
        |_| panic!("handler bug (expected by the test)"),
    );
    assert!(health.wait_for(Role::Subscriber, WAIT, is_up));
    let publisher = Publisher::spawn(server.url(), 4, Arc::clone(&health));
    assert!(publisher.publish(b"room".to_vec(), b"boom".to_vec()));
    assert!(health.wait_for(Role::Subscriber, WAIT, is_down));
    let LinkState::Down { last_error, .. } = health.state(Role::Subscriber) else {
        unreachable!()
    };
    assert!(last_error.contains("panicked"), "{last_error}");
    drop(sub);
}
