//! The smallest use of the library: serve echo over TCP on a port you choose, with the core's
//! limits, until stdin closes (press Ctrl-D).
//!
//! ```sh
//! cargo run --example echo_server -- 7777     # then: nc 127.0.0.1 7777
//! ```

use std::io::Read;
use std::net::TcpListener;
use threadsock::server::{Limits, Server};
use threadsock::service::echo;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // The caller binds; the library runs. Port 0 lets the OS pick.
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let mut server = Server::new(Limits::default());
    let addr = server.add_tcp("echo", listener, |conn| echo::serve(conn, None).map(drop))?;
    println!("echo on {addr}; Ctrl-D stops");
    std::io::stdin().read_to_end(&mut Vec::new())?;
    let report = server.stop();
    println!("stopped in {:?}", report.elapsed);
    Ok(())
}
