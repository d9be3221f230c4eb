//! Graceful shutdown through the API: stop wakes the accept loops and UDP threads, closes every
//! live connection so its blocked thread returns, and joins everything.

mod support;

use support::*;

#[test]
fn stop_closes_live_clients_and_joins_every_thread() {
    let mut server = start(&["echo", "daytime"]);
    let addr = tcp_addr(&server, "echo");
    let mut clients: Vec<_> = (0..200).map(|_| connect(addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        let msg = format!("{i}\n");
        assert_eq!(round_trip(c, msg.as_bytes()), msg.as_bytes());
    }
    assert_eq!(server.connections(), 200);

    let report = server.stop();
    assert_eq!(report.unfinished, 0, "{report:?}");
    assert_eq!(server.connections(), 0);
    // Every blocked client sees the close (EOF or reset), never the WAIT timeout.
    for c in &mut clients {
        assert_closed(c);
    }
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
    // A second stop is harmless.
    assert_eq!(server.stop().unfinished, 0);
}

#[test]
fn stop_with_no_clients_and_udp_sockets_returns() {
    let mut server = start(&["echo", "daytime"]);
    let report = server.stop();
    assert_eq!(report.unfinished, 0);
    assert!(server.is_stopping());
}

#[test]
fn dropping_the_server_stops_it() {
    let server = start(&["echo"]);
    let addr = tcp_addr(&server, "echo");
    let mut client = connect(addr);
    assert_eq!(round_trip(&mut client, b"hi"), b"hi");
    drop(server);
    assert_closed(&mut client);
    assert!(std::net::TcpStream::connect(addr).is_err());
}
