//! Comparison server: the classic tokio chat. Every line a client sends goes to every other
//! client as `-> line`, through one `tokio::sync::broadcast` channel (capacity 1024).
//!
//! ```sh
//! cargo run --release --example tokio_chat -- 9002     # port 0 (the default) lets the OS pick
//! ```
//!
//! Prints `listening chat/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
//! A client that falls more than 1024 messages behind skips the ones it missed (`Lagged`).

use std::io::Write;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{self, error::RecvError};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening chat/tcp {}", listener.local_addr()?);
    std::io::stdout().flush()?;

    let (tx, _) = broadcast::channel::<(u64, String)>(1024);
    let mut next_id: u64 = 0;

    loop {
        let (mut socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let my_id = next_id;
        next_id += 1;
        let tx = tx.clone();
        let mut rx = tx.subscribe();

        tokio::spawn(async move {
            let (reader, mut writer) = socket.split();
            let mut lines = BufReader::new(reader).lines();
            loop {
                tokio::select! {
                    line = lines.next_line() => match line {
                        Ok(Some(line)) => {
                            // Fails only when nobody subscribes, and we do.
                            let _ = tx.send((my_id, line));
                        }
                        // EOF or a read error (reset, invalid UTF-8): drop the client.
                        Ok(None) | Err(_) => break,
                    },
                    msg = rx.recv() => match msg {
                        Ok((from, line)) => {
                            if from != my_id
                                && writer.write_all(format!("-> {line}\n").as_bytes()).await.is_err()
                            {
                                break;
                            }
                        }
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => break,
                    },
                }
            }
        });
    }
}
