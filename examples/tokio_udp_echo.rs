//! Comparison server: UDP echo written the ordinary tokio way: one socket, `recv_from` into a
//! 64 KiB buffer, `send_to` the same bytes back.
//!
//! ```sh
//! cargo run --release --example tokio_udp_echo -- 9003     # port 0 (the default) lets the OS pick
//! ```
//!
//! Prints `listening echo/udp 127.0.0.1:PORT` on stdout once bound, then runs until killed.

use std::io::Write;
use tokio::net::UdpSocket;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let socket = UdpSocket::bind(("127.0.0.1", port)).await?;
    println!("listening echo/udp {}", socket.local_addr()?);
    std::io::stdout().flush()?;

    let mut buf = vec![0u8; 65536];
    loop {
        // Errors (e.g. an ICMP-reported refusal) concern one datagram: ignore them.
        if let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let _ = socket.send_to(&buf[..n], peer).await;
        }
    }
}
