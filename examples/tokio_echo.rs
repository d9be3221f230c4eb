//! Comparison server: TCP echo written the ordinary tokio way (multi-thread runtime, one task
//! per connection, `tokio::io::copy` from the read half to the write half).
//!
//! ```sh
//! cargo run --release --example tokio_echo -- 9001     # port 0 (the default) lets the OS pick
//! ```
//!
//! Prints `listening echo/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.

use std::io::Write;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening echo/tcp {}", listener.local_addr()?);
    std::io::stdout().flush()?;

    loop {
        let (mut socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        tokio::spawn(async move {
            let (mut reader, mut writer) = socket.split();
            // Errors (reset, broken pipe) just end this connection.
            if tokio::io::copy(&mut reader, &mut writer).await.is_ok() {
                let _ = writer.shutdown().await;
            }
        });
    }
}
