//! Comparison server: a tokio chat as a tokio user writes a broadcast server that must not drop
//! lines. One task per connection reads lines; a shared registry maps each peer to the sender of
//! its unbounded queue; one writer task per peer drains everything queued into one buffer and
//! one `write_all`. Every line a client sends goes to every other client as `-> line`.
//!
//! ```sh
//! cargo run --release --example tokio_chat_batched -- 9002     # port 0 (the default) lets the OS pick
//! ```
//!
//! Prints `listening chat/tcp 127.0.0.1:PORT` on stdout once bound, then runs until killed.
//! Unlike `tokio_chat` (one `broadcast` channel), no line is skipped: a slow reader's queue
//! grows instead.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

/// One formatted `-> line\n`, shared by every peer it goes to.
type Line = Arc<[u8]>;
type Peers = Arc<Mutex<HashMap<u64, UnboundedSender<Line>>>>;

/// The most a writer gathers into one `write_all`.
const MAX_BATCH: usize = 64 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening chat/tcp {}", listener.local_addr()?);
    std::io::stdout().flush()?;

    let peers: Peers = Arc::default();
    let mut next_id: u64 = 0;
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let id = next_id;
        next_id += 1;
        tokio::spawn(serve(id, socket, Arc::clone(&peers)));
    }
}

async fn serve(id: u64, socket: TcpStream, peers: Peers) {
    let _ = socket.set_nodelay(true);
    let (reader, writer) = socket.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    peers.lock().unwrap().insert(id, tx);
    tokio::spawn(write_loop(writer, rx));

    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            // EOF, or a read error (reset): drop the client. A final unterminated line is lost.
            Ok(0) | Err(_) => break,
            Ok(_) if line.last() != Some(&b'\n') => break,
            Ok(_) => {}
        }
        let mut out = Vec::with_capacity(line.len() + 3);
        out.extend_from_slice(b"-> ");
        out.extend_from_slice(&line);
        let out: Line = out.into();
        for (&peer, tx) in peers.lock().unwrap().iter() {
            if peer != id {
                // Fails only when that peer's writer has stopped; its reader removes it.
                let _ = tx.send(Arc::clone(&out));
            }
        }
    }
    // Dropping the sender ends this peer's writer once its queue is written.
    peers.lock().unwrap().remove(&id);
}

/// Writes everything queued for one peer, as few writes as the queue allows.
async fn write_loop(mut writer: OwnedWriteHalf, mut rx: UnboundedReceiver<Line>) {
    let mut buf = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        buf.clear();
        buf.extend_from_slice(&first);
        while buf.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if writer.write_all(&buf).await.is_err() {
            break;
        }
    }
}
