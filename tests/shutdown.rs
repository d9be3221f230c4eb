//! Starting and stopping through the API: each service is bound on the sockets it declares;
//! stop wakes the accept loops and UDP threads, closes every live connection so its blocked
//! thread returns, and joins everything.

mod support;

use support::*;
use threadsock::server::{Limits, Proto};
use threadsock::service::Service;

#[test]
fn each_service_is_bound_on_the_sockets_it_declares_until_stopped() {
    let dir = std::env::temp_dir().join(format!("threadsock-protos-{}", std::process::id()));
    let mut opts = options(&["echo", "daytime", "chat", "files", "socketio"]);
    opts.files.dir = dir.clone();
    let mut server = start_with(&opts, Limits::default());
    let mut tcp = Vec::new();
    for service in Service::ALL {
        for proto in [Proto::Tcp, Proto::Udp] {
            let addr = server.local_addr(service.name(), proto);
            assert_eq!(
                addr.is_some(),
                service.protocols().contains(&proto),
                "{service}/{proto}"
            );
            tcp.extend(addr.filter(|_| proto == Proto::Tcp));
        }
    }
    assert_eq!(server.stop().unfinished, 0);
    for addr in tcp {
        assert!(std::net::TcpStream::connect(addr).is_err(), "{addr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

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
