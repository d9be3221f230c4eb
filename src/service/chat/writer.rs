//! The writer thread any transport uses: it drains a member's outbox, has the transport frame
//! the whole batch, and writes it in one call, with a write timeout. It can wake on a timer
//! (for a heartbeat). The transport supplies only a [`Framer`].

use super::delivery::Packet;
use super::outbox::Outbox;
use super::queue::NoItem;
use crate::net::Stream;
use crate::server::{is_timeout, CountingWriter};
use std::io::{self, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

/// Writes wait this long at a time, so a writer notices promptly that it was dropped.
pub(crate) const WRITE_SLICE: Duration = Duration::from_millis(250);
/// A client that has accepted no bytes for this long is closed even if no one else talks.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(30);
/// A write buffer larger than this after a flood is given back.
pub(crate) const KEEP_BUFFER: usize = 64 * 1024;
/// The most one `write` call is given. A blocking write returns only once all it was given is
/// in the socket buffer (or at the timeout), and progress is counted when it returns: smaller
/// writes keep the stall clock true to what a slow reader actually accepts.
const WRITE_CHUNK: usize = 64 * 1024;

/// How a transport turns packets into bytes on its connection.
pub trait Framer: Send {
    /// Appends the framing of `packets` (one batch, in order) to `out`.
    fn frame(&mut self, packets: &[Packet], out: &mut Vec<u8>);

    /// True if [`Framer::frame`] only joins the packets' bytes: a batch of one packet is then
    /// written as it is, without copying it first.
    fn is_plain(&self) -> bool {
        false
    }

    /// Appends what a member dropped as too slow is told before the close.
    fn too_slow(&mut self, out: &mut Vec<u8>);

    /// Called every `tick` given to [`run`]; appends what is due (a heartbeat) to `out`.
    /// Returns false to close the connection.
    fn tick(&mut self, _out: &mut Vec<u8>) -> bool {
        true
    }
}

/// Where a writer writes: a byte sink on a socket it can shut down and time out.
pub trait Output: Write + Send {
    /// The socket under the sink.
    fn socket(&self) -> &Stream;
}

impl Output for CountingWriter {
    fn socket(&self) -> &Stream {
        self.stream()
    }
}

/// Runs until the hub drops the member (after writing everything it was handed), the
/// connection fails or stalls, the member is dropped as too slow, or a tick says to close.
/// On any failure the socket is shut down so the connection's reader wakes too.
pub fn run<W: Output>(
    mut out: W,
    outbox: &Outbox,
    framer: &mut dyn Framer,
    tick: Option<Duration>,
) {
    let _ = out.socket().set_write_timeout(Some(WRITE_SLICE));
    let mut buf = Vec::new();
    loop {
        let mut batch_done: Vec<Packet> = Vec::new();
        let (mut close, mut plain) = (false, false);
        match outbox.recv_timeout(tick.unwrap_or(Duration::from_secs(3600))) {
            Ok(mut batch) => {
                if outbox.is_kicked() {
                    break;
                }
                outbox.take_waiting(&mut batch);
                // One plain packet (an `nc` run) goes out as it is, not copied.
                plain = batch.len() == 1 && framer.is_plain();
                if !plain {
                    framer.frame(&batch, &mut buf);
                }
                batch_done = batch;
            }
            // The hub dropped the member and everything it was handed is written.
            Err(NoItem::Disconnected) => break,
            Err(NoItem::Timeout | NoItem::Interrupted) => {
                close = tick.is_some() && !framer.tick(&mut buf);
            }
        }
        let bytes: &[u8] = match &batch_done[..] {
            [only] if plain => only,
            _ => &buf,
        };
        let written = write_patiently(&mut out, bytes, outbox);
        outbox.written(&batch_done);
        buf.clear();
        if buf.capacity() > KEEP_BUFFER {
            buf = Vec::new();
        }
        if written.is_err() {
            break;
        }
        if close {
            let _ = out.socket().shutdown(Shutdown::Both);
            break;
        }
    }
    if outbox.is_kicked() {
        // Best effort: if the client reads again it learns why it was dropped.
        buf.clear();
        framer.too_slow(&mut buf);
        let _ = out.write(&buf);
        let _ = out.socket().shutdown(Shutdown::Both);
    }
}

/// Writes all of `bytes`, in slices of [`WRITE_SLICE`], until done, dropped, or stalled for
/// [`WRITE_STALL`]. On failure the socket is shut down so the reading thread ends as well.
pub(crate) fn write_patiently(
    out: &mut impl Output,
    mut bytes: &[u8],
    outbox: &Outbox,
) -> io::Result<()> {
    let mut last_progress = Instant::now();
    while !bytes.is_empty() {
        match out.write(&bytes[..bytes.len().min(WRITE_CHUNK)]) {
            Ok(0) => return fail(out, io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                bytes = &bytes[n..];
                last_progress = Instant::now();
                outbox.progressed();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if outbox.is_kicked() {
                    return Err(e);
                }
                if last_progress.elapsed() >= WRITE_STALL {
                    return fail(out, e);
                }
            }
            Err(e) => return fail(out, e),
        }
    }
    Ok(())
}

/// Shuts the socket under `out` down (so the connection's reader ends too) and returns `e`.
pub(crate) fn fail<T>(out: &impl Output, e: io::Error) -> io::Result<T> {
    let _ = out.socket().shutdown(Shutdown::Both);
    Err(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::chat::outbox::{outbox, Flow, Marks};
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    struct Plain(Stream);

    impl Write for Plain {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Output for Plain {
        fn socket(&self) -> &Stream {
            &self.0
        }
    }

    /// Frames each packet as `[packet]`; the second tick closes.
    struct Brackets {
        ticks: usize,
    }

    impl Framer for Brackets {
        fn frame(&mut self, packets: &[Packet], out: &mut Vec<u8>) {
            for p in packets {
                out.push(b'[');
                out.extend_from_slice(p);
                out.push(b']');
            }
        }
        fn too_slow(&mut self, out: &mut Vec<u8>) {
            out.extend_from_slice(b"slow");
        }
        fn tick(&mut self, out: &mut Vec<u8>) -> bool {
            self.ticks += 1;
            out.extend_from_slice(b"tick");
            self.ticks < 2
        }
    }

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (server, client)
    }

    fn read_exactly(client: &mut TcpStream, n: usize) -> String {
        let mut buf = vec![0u8; n];
        client.read_exact(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn batches_and_ticks_share_one_writer() {
        let (server, mut client) = pair();
        let flow = Flow::new();
        let marks = Marks::for_outbox(16, 16);
        let (alive, _done) = crossbeam_channel::bounded::<()>(0);
        let (sender, outbox) = outbox(&flow, marks, alive);
        let writer = std::thread::spawn(move || {
            let mut framer = Brackets { ticks: 0 };
            run(
                Plain(server.into()),
                &outbox,
                &mut framer,
                Some(Duration::from_millis(200)),
            );
        });
        let p = |s: &str| -> Packet { Packet::from(s) };
        sender.hand_over(vec![p("a"), p("b")], &flow, marks);
        assert_eq!(read_exactly(&mut client, 6), "[a][b]");
        // No input: the timer wakes the writer; the second tick closes the connection.
        assert_eq!(read_exactly(&mut client, 8), "ticktick");
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest);
        assert!(rest.is_empty(), "{rest:?}");
        writer.join().unwrap();
    }

    #[test]
    fn the_writer_ends_after_the_last_batch_once_the_senders_are_gone() {
        let (server, mut client) = pair();
        let flow = Flow::new();
        let marks = Marks::for_outbox(16, 16);
        let (alive, _done) = crossbeam_channel::bounded::<()>(0);
        let (sender, outbox) = outbox(&flow, marks, alive);
        let p = |s: &str| -> Packet { Packet::from(s) };
        sender.hand_over(vec![p("bye")], &flow, marks);
        drop(sender);
        let mut framer = Brackets { ticks: 0 };
        run(Plain(server.into()), &outbox, &mut framer, None);
        drop(outbox);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"[bye]");
    }
}
