//! Socket.IO threads that come and go: an idle WebSocket client holds only its reader; a
//! client's handler thread and its writer start with work, keep the order of what is sent,
//! and end once idle; a handler may wait on `emit_with_ack` (the answer is taken on the
//! reader); a panicking handler closes its session. What a handler sends its own client it
//! writes itself (no writer thread), while a broadcast from another thread goes by a writer,
//! and a client that does not read holds the handler for a tick at most.

mod support;

use support::sio_threads::*;
use support::WAIT;
use threadsock::client::sio::SioClient;
use threadsock::codec::json::Value;
use threadsock::codec::socketio::PacketType;
use threadsock::service::socketio::SocketIo;

#[test]
fn an_idle_websocket_client_holds_only_its_reader() {
    let _one = one_at_a_time();
    let io = SocketIo::builder().build();
    io.of("/").on_connect(|_, _| Ok(()));
    let (_server, addr) = serve(io.clone());
    let mut clients: Vec<SioClient> = (0..10)
        .map(|_| SioClient::connect(addr, None, WAIT).unwrap())
        .collect();
    no_helpers_left();
    assert_eq!(threads_named(&["socketio#"]), 10);
    // An emit to everyone starts writers again; each client gets it, then they end.
    io.of("/").emit("news", vec![Value::from("hi")]);
    for c in &mut clients {
        let p = c.next_packet().unwrap();
        assert_eq!(p.kind, PacketType::Event);
    }
    assert!(eventually(|| threads_named(HELPERS) == 0));
}

#[test]
fn what_a_handler_sends_keeps_its_order_across_idle_gaps() {
    let _one = one_at_a_time();
    let io = SocketIo::builder().build();
    io.of("/").on_connect(|socket, _| {
        socket.on("burst", |socket, _, _| {
            for i in 0..50 {
                socket.emit("n", vec![Value::from(i)]);
            }
        });
        Ok(())
    });
    let (_server, addr) = serve(io);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    for round in 0..2 {
        // The handler thread and the writer have ended in between.
        no_helpers_left();
        c.emit("burst", vec![], None).unwrap();
        for i in 0..50 {
            let p = c.next_packet().unwrap();
            let want = Value::array([Value::from("n"), Value::from(i)]);
            assert_eq!(p.data, Some(want), "round {round}");
        }
    }
}

#[test]
fn a_handler_waits_on_emit_with_ack_and_gets_the_answer() {
    let _one = one_at_a_time();
    let io = SocketIo::builder().build();
    io.of("/").on_connect(|socket, _| {
        socket.on("ask", |socket, _, ack| {
            let answer = socket.emit_with_ack("question", vec![], WAIT);
            if let Some(ack) = ack {
                ack.send(answer.unwrap_or_default());
            }
        });
        Ok(())
    });
    let (_server, addr) = serve(io);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    c.emit("ask", vec![], Some(7)).unwrap();
    let question = c.next_packet().unwrap();
    assert_eq!(question.kind, PacketType::Event);
    let id = question.id.expect("asked with an ack id");
    c.writer().send_eio(&format!("43{id}[\"yes\"]")).unwrap();
    assert_eq!(c.wait_ack(7).unwrap(), vec![Value::from("yes")]);
}

#[test]
fn a_panicking_handler_closes_its_session() {
    let _one = one_at_a_time();
    let (_server, addr, disconnects) = serve_noting_disconnects(|socket| {
        socket.on("boom", |_, _, _| {
            panic!("a handler that panics (expected by this test)")
        });
    });
    boom_closes_its_session(addr, &disconnects);
}

#[test]
fn a_handler_writes_its_acks_through_without_a_writer_thread() {
    let _one = one_at_a_time();
    no_helpers_left();
    let (_server, addr) = serve_echo(false);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    for id in 0..20 {
        c.emit("echo", vec![Value::from(id)], Some(id)).unwrap();
        assert_eq!(c.wait_ack(id).unwrap(), vec![Value::from(id)]);
        // A writer thread would linger a quarter of a second after writing the answer.
        assert_eq!(threads_named(&["eio-ws#"]), 0, "ack {id} went by a writer");
    }
    // The handler's thread ran them all.
    assert_eq!(threads_named(&["sio#"]), 1);
}

#[test]
fn a_broadcast_from_another_thread_goes_by_a_writer_while_the_handler_is_busy() {
    let _one = one_at_a_time();
    no_helpers_left();
    let io = SocketIo::builder().build();
    let (busy_tx, busy_rx) = crossbeam_channel::bounded::<()>(1);
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
    io.of("/").on_connect(move |socket, _| {
        let (busy_tx, release_rx) = (busy_tx.clone(), release_rx.clone());
        socket.on("hold", move |_, _, ack| {
            busy_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(WAIT);
            if let Some(ack) = ack {
                ack.send(vec![Value::from("released")]);
            }
        });
        Ok(())
    });
    let (_server, addr) = serve(io.clone());
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    c.emit("hold", vec![], Some(1)).unwrap();
    busy_rx
        .recv_timeout(WAIT)
        .expect("the handler should be running");
    // The handler's thread is held: this thread's emit reaches the client by a writer thread.
    assert_eq!(io.of("/").emit("news", vec![Value::from("hi")]), 1);
    let news = c.next_packet().unwrap();
    assert_eq!(
        news.data,
        Some(Value::array([Value::from("news"), Value::from("hi")]))
    );
    assert!(threads_named(&["eio-ws#"]) >= 1, "no writer wrote the news");
    release_tx.send(()).unwrap();
    assert_eq!(c.wait_ack(1).unwrap(), vec![Value::from("released")]);
}

#[test]
fn a_handler_is_not_held_by_a_client_that_does_not_read_and_order_is_kept() {
    let _one = one_at_a_time();
    no_helpers_left();
    // More than the socket buffers hold: the handler's write-through finds the socket full
    // and a writer thread goes on with the rest.
    const MESSAGES: usize = 120;
    const SIZE: usize = 60_000;
    let io = SocketIo::builder().build();
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    io.of("/").on_connect(move |socket, _| {
        let done_tx = done_tx.clone();
        socket.on("flood", move |socket, _, _| {
            let text = "x".repeat(SIZE);
            for i in 0..MESSAGES {
                socket.emit("n", vec![Value::from(i), Value::from(text.as_str())]);
            }
            let _ = done_tx.send(());
        });
        Ok(())
    });
    let (_server, addr) = serve(io);
    let mut c = SioClient::connect(addr, None, WAIT).unwrap();
    c.emit("flood", vec![], None).unwrap();
    // Nothing is read until the handler is done with all of it.
    done_rx
        .recv_timeout(WAIT)
        .expect("the handler waited on a client that does not read");
    // The rest waits in a writer thread, blocked on the socket.
    assert!(threads_named(&["eio-ws#"]) >= 1, "no writer took the rest");
    for i in 0..MESSAGES {
        let p = c.next_packet().unwrap();
        let Some(Value::Array(items)) = p.data else {
            panic!("message {i} has no arguments");
        };
        assert_eq!(
            items.get(1),
            Some(&Value::from(i)),
            "message {i} out of order"
        );
        assert_eq!(
            items.get(2).and_then(Value::as_str).map(str::len),
            Some(SIZE)
        );
    }
}
