//! Comparison server for idle memory: [socketioxide](https://docs.rs/socketioxide) 0.18 behind
//! axum, accepting clients on namespace `/` with default settings (ping 25 s / 20 s) and
//! sending them nothing, so `threadsock bench sio-idle` measures what a held connection costs
//! and nothing else.
//!
//! ```sh
//! cargo run --release --example socketioxide_idle -- 9003     # port 0 (the default) lets the OS pick
//! ```
//!
//! Prints `listening socketio/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.

use socketioxide::extract::SocketRef;
use socketioxide::SocketIo;
use std::io::Write;

/// Accepts the socket and sends it nothing.
async fn on_connect(_socket: SocketRef) {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening socketio/tcp {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    axum::serve(listener, app).await?;
    Ok(())
}
