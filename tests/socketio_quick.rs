//! Quick handlers (`Socket::on_quick`): one runs on the reader (no handler thread) when its
//! client has nothing else running or waiting, and otherwise waits its turn in order (over
//! WebSocket and long-polling alike); it never runs beside another handler of its client,
//! cannot wait on `emit_with_ack`, and closes only its own session when it panics.

mod support;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::sio_threads::*;
use support::WAIT;
use threadsock::client::sio::SioClient;
use threadsock::codec::json::Value;
use threadsock::codec::socketio::PacketType;
use threadsock::server::Server;
use threadsock::service::socketio::SocketIo;

#[test]
fn a_quick_handler_answers_from_the_reader_without_a_handler_thread() {
    let _one = one_at_a_time();
    no_helpers_left();
    let (_server, addr) = serve_echo(true);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    // The CONNECT was handled on a handler thread: let it end.
    no_helpers_left();
    for id in 0..20 {
        c.emit("echo", vec![Value::from(id)], Some(id)).unwrap();
        assert_eq!(c.wait_ack(id).unwrap(), vec![Value::from(id)]);
        assert_eq!(threads_named(HELPERS), 0, "ack {id} took a helper thread");
    }
}

/// What ran, in order, and the most handlers of the client ever running at once.
#[derive(Default)]
struct Record {
    log: Mutex<Vec<String>>,
    active: AtomicUsize,
    most: AtomicUsize,
}

impl Record {
    fn run(&self, what: String, pause: Duration) {
        let now = self.active.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        thread::sleep(pause);
        self.log.lock().unwrap().push(what);
        self.active.fetch_sub(1, SeqCst);
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// A server whose `slow` event takes 100 ms on the client's thread and whose `q` events are
/// quick; both are recorded, and answered if asked.
fn slow_and_quick() -> (Server, SocketAddr, Arc<Record>) {
    let record = Arc::new(Record::default());
    let io = SocketIo::builder().build();
    let handlers = Arc::clone(&record);
    io.of("/").on_connect(move |socket, _| {
        let slow = Arc::clone(&handlers);
        socket.on("slow", move |_, _, ack| {
            slow.run("slow".into(), Duration::from_millis(100));
            if let Some(ack) = ack {
                ack.send(vec![]);
            }
        });
        let quick = Arc::clone(&handlers);
        socket.on_quick("q", move |_, args, ack| {
            let n = args
                .first()
                .and_then(Value::as_number)
                .and_then(|n| n.as_i64())
                .unwrap_or(-1);
            quick.run(format!("q{n}"), Duration::ZERO);
            if let Some(ack) = ack {
                ack.send(args);
            }
        });
        Ok(())
    });
    let (server, addr) = serve(io);
    (server, addr, record)
}

#[test]
fn quick_events_behind_a_slow_handler_wait_their_turn_in_order() {
    let _one = one_at_a_time();
    let (_server, addr, record) = slow_and_quick();
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    let mut want = Vec::new();
    let mut id = 0;
    for round in 0..3 {
        c.emit("slow", vec![], Some(id)).unwrap();
        id += 1;
        want.push("slow".to_string());
        for k in 0..5 {
            let n = round * 10 + k;
            c.emit("q", vec![Value::from(n)], Some(id)).unwrap();
            id += 1;
            want.push(format!("q{n}"));
        }
    }
    // Then quick ones alone, on the reader.
    for n in 100..105 {
        c.emit("q", vec![Value::from(n)], Some(id)).unwrap();
        id += 1;
        want.push(format!("q{n}"));
    }
    for i in 0..id {
        c.wait_ack(i).unwrap();
    }
    assert_eq!(record.log(), want);
    assert_eq!(record.most.load(SeqCst), 1, "two handlers ran at once");
}

/// One long-polling request on a connection of its own; the response body.
fn poll(addr: SocketAddr, method: &str, query: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "{method} /socket.io/?EIO=4&transport=polling{query} HTTP/1.1\r\nHost: {addr}\r\n\
         Connection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let reply = support::read_to_eof(&mut s, 1 << 20).unwrap();
    let reply = String::from_utf8(reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

#[test]
fn quick_events_over_long_polling_wait_for_a_slow_handler_in_order() {
    let _one = one_at_a_time();
    let (_server, addr, record) = slow_and_quick();
    let open = poll(addr, "GET", "", "");
    let sid = support::sid_of(&open);
    let sid_query = format!("&sid={sid}");
    assert_eq!(poll(addr, "POST", &sid_query, "40"), "ok");
    assert!(poll(addr, "GET", &sid_query, "").starts_with("40"));
    // Each POST on a connection of its own (an HTTP thread each): a slow event and a quick
    // one, then a quick one alone while the slow one still runs.
    let mut want = Vec::new();
    for i in 0..5 {
        let body = format!("42[\"slow\"]\u{1e}42[\"q\",{i}]");
        assert_eq!(poll(addr, "POST", &sid_query, &body), "ok");
        let body = format!("42[\"q\",{}]", 50 + i);
        assert_eq!(poll(addr, "POST", &sid_query, &body), "ok");
        want.extend(["slow".to_string(), format!("q{i}"), format!("q{}", 50 + i)]);
    }
    assert!(eventually(|| record.log().len() == want.len()));
    assert_eq!(record.log(), want);
    assert_eq!(record.most.load(SeqCst), 1, "two handlers ran at once");
}

#[test]
fn emit_with_ack_from_a_quick_handler_fails_at_once() {
    let _one = one_at_a_time();
    let io = SocketIo::builder().build();
    io.of("/").on_connect(|socket, _| {
        socket.on_quick("ask", |socket, _, ack| {
            let started = Instant::now();
            let answer = socket.emit_with_ack("question", vec![], WAIT);
            let took = started.elapsed();
            if let Some(ack) = ack {
                let error = answer.err().map(|e| e.to_string()).unwrap_or_default();
                ack.send(vec![
                    Value::from(error.as_str()),
                    Value::from(took < WAIT / 2),
                ]);
            }
        });
        Ok(())
    });
    let (_server, addr) = serve(io);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    for round in 0..2 {
        if round == 1 {
            // The handler thread of the CONNECT (which ran the first) has ended: this time
            // the quick handler runs on the reader, and refuses as well.
            no_helpers_left();
        }
        c.emit("ask", vec![], Some(3)).unwrap();
        // The answer is the first packet: no question was sent.
        let p = c.next_packet().unwrap();
        assert_eq!(p.kind, PacketType::Ack);
        assert_eq!(p.id, Some(3));
        let Some(Value::Array(items)) = p.data else {
            panic!("an ack without arguments");
        };
        let error = items[0].as_str().unwrap();
        assert!(error.contains("quick handler"), "{error}");
        assert_eq!(items[1], Value::from(true), "it waited");
    }
}

#[test]
fn a_panicking_quick_handler_closes_its_session_and_others_are_served() {
    let _one = one_at_a_time();
    let (_server, addr, disconnects) = serve_noting_disconnects(|socket| {
        socket.on_quick("boom", |_, _, _| {
            panic!("a quick handler that panics (expected by this test)")
        });
        socket.on_quick("echo", |_, args, ack| {
            if let Some(ack) = ack {
                ack.send(args);
            }
        });
    });
    let mut other = SioClient::connect(addr, None, WAIT).unwrap();
    boom_closes_its_session(addr, &disconnects);
    other.emit("echo", vec![Value::from(1)], Some(1)).unwrap();
    assert_eq!(other.wait_ack(1).unwrap(), vec![Value::from(1)]);
    let mut later = SioClient::connect(addr, None, WAIT).unwrap();
    later.emit("echo", vec![Value::from(2)], Some(2)).unwrap();
    assert_eq!(later.wait_ack(2).unwrap(), vec![Value::from(2)]);
}

#[test]
fn a_lingering_handler_thread_leaves_quick_events_to_the_reader_and_ends() {
    let _one = one_at_a_time();
    no_helpers_left();
    let (_server, addr) = serve_echo(true);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    // Quick events more often than the CONNECT's thread lingers: it still ends, as they run
    // on the reader.
    // At least one quick event is sent, even if the thread is already gone.
    let deadline = Instant::now() + WAIT;
    let mut id = 0;
    loop {
        c.emit("echo", vec![Value::from(id)], Some(id)).unwrap();
        assert_eq!(c.wait_ack(id).unwrap(), vec![Value::from(id)]);
        id += 1;
        if threads_named(HELPERS) == 0 || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        threads_named(HELPERS),
        0,
        "the handler thread was kept busy"
    );
}
