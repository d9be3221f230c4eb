//! The writer thread any transport uses: it drains a member's outbox, has the transport frame
//! the whole batch, and writes it in as few calls as it can, with a write timeout (a plain
//! transport's packets, `nc` lines, go out unframed in one vectored write). It can wake on a
//! timer (for a heartbeat). The transport supplies only a [`Framer`].

use super::delivery::Packet;
use super::outbox::Outbox;
use super::queue::NoItem;
use crate::net::Stream;
use crate::server::{is_timeout, CountingWriter};
use std::io::{self, IoSlice, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

/// Writes wait this long at a time, so a writer notices promptly that it was dropped.
pub(crate) const WRITE_SLICE: Duration = Duration::from_millis(250);
/// A client that has accepted no bytes for this long is closed even if no one else talks.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(30);
/// A write buffer larger than this after a flood is given back.
pub(crate) const KEEP_BUFFER: usize = 64 * 1024;
/// The most one `writev` call is given. A blocking write returns only once all it was given
/// is in the socket buffer (or at the timeout), and progress is counted when it returns:
/// smaller writes keep the stall clock true to what a slow reader actually accepts.
const WRITE_CHUNK: usize = 64 * 1024;
/// The most pieces one vectored write is given (an array of them sits on the writer's stack,
/// so it stays small; a flood's batch holds a few packets). A plain batch of more packets than
/// this (a crowd's presence notices, each a line) is joined in one buffer instead: a copy of
/// short lines costs less than many calls.
const WRITE_SLICES: usize = 16;

/// How a transport turns packets into bytes on its connection.
pub trait Framer: Send {
    /// Appends the framing of `packets` (one batch, in order) to `out`.
    fn frame(&mut self, packets: &[Packet], out: &mut Vec<u8>);

    /// True if [`Framer::frame`] only joins the packets' bytes: a batch is then written from
    /// the packets themselves (a vectored write), without copying them together first.
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
                // Plain packets (`nc` runs) go out as they are, not copied, unless there
                // are more than one vectored write takes.
                plain = framer.is_plain() && batch.len() <= WRITE_SLICES;
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
        let written = if plain {
            write_packets_patiently(&mut out, &batch_done, outbox)
        } else {
            write_patiently(&mut out, &buf, outbox)
        };
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

/// Writes all of `bytes`, at most [`WRITE_CHUNK`] per call (each waiting at most
/// [`WRITE_SLICE`]), until done, dropped, or stalled for [`WRITE_STALL`]. On failure the socket
/// is shut down so the reading thread ends as well.
pub(crate) fn write_patiently(
    out: &mut impl Output,
    bytes: &[u8],
    outbox: &Outbox,
) -> io::Result<()> {
    write_packets_patiently(out, &[bytes], outbox)
}

/// As [`write_patiently`], for `pieces` written one after the other (a batch of plain
/// packets): each call hands the socket up to [`WRITE_CHUNK`] bytes of them, in up to
/// [`WRITE_SLICES`] pieces, from where they lie (`writev`).
pub(crate) fn write_packets_patiently<P: AsRef<[u8]>>(
    out: &mut impl Output,
    pieces: &[P],
    outbox: &Outbox,
) -> io::Result<()> {
    // The first piece not wholly written, and how much of it is.
    let (mut index, mut offset) = (0, 0);
    let mut last_progress = Instant::now();
    loop {
        while pieces
            .get(index)
            .is_some_and(|p| p.as_ref().len() == offset)
        {
            (index, offset) = (index + 1, 0);
        }
        if index == pieces.len() {
            return Ok(());
        }
        let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
        let (mut count, mut room) = (0, WRITE_CHUNK);
        for (i, p) in pieces[index..].iter().enumerate() {
            if room == 0 || count == WRITE_SLICES {
                break;
            }
            let bytes = &p.as_ref()[if i == 0 { offset } else { 0 }..];
            let take = bytes.len().min(room);
            slices[count] = IoSlice::new(&bytes[..take]);
            (count, room) = (count + 1, room - take);
        }
        match out.write_vectored(&slices[..count]) {
            Ok(0) => return fail(out, io::ErrorKind::WriteZero.into()),
            Ok(mut n) => {
                while n > 0 {
                    let left = pieces[index].as_ref().len() - offset;
                    if n < left {
                        offset += n;
                        break;
                    }
                    n -= left;
                    (index, offset) = (index + 1, 0);
                }
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
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.0.write_vectored(bufs)
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

    /// Plain packets, joined when they must be (as `nc` lines are).
    struct Joined;

    impl Framer for Joined {
        fn frame(&mut self, packets: &[Packet], out: &mut Vec<u8>) {
            packets.iter().for_each(|p| out.extend_from_slice(p));
        }
        fn is_plain(&self) -> bool {
            true
        }
        fn too_slow(&mut self, _out: &mut Vec<u8>) {}
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

    #[test]
    fn plain_batches_reach_a_real_socket_whole_and_in_order() {
        let (server, mut client) = pair();
        let flow = Flow::new();
        let marks = Marks::for_outbox(1 << 20, 1 << 20);
        let (alive, _done) = crossbeam_channel::bounded::<()>(0);
        let (sender, outbox) = outbox(&flow, marks, alive);
        let mut expected = Vec::new();
        // Batches of one packet, of a few (a vectored write), of more than one write takes
        // (joined), and one far larger than the socket's buffer (partial writes).
        for (count, size) in [(1, 10), (5, 3000), (WRITE_SLICES + 3, 20), (3, 3 << 20)] {
            let batch: Vec<Packet> = (0..count)
                .map(|i| {
                    let line = format!("{count}/{i}:{}\n", "y".repeat(size));
                    expected.extend_from_slice(line.as_bytes());
                    Packet::from(line)
                })
                .collect();
            sender.hand_over(batch, &flow, marks);
        }
        drop(sender);
        let writer = std::thread::spawn(move || {
            run(Plain(server.into()), &outbox, &mut Joined, None);
        });
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        assert!(got == expected, "{} bytes of {}", got.len(), expected.len());
    }

    /// Takes at most `step` bytes per call, from however many slices.
    struct Trickle {
        got: Vec<u8>,
        step: usize,
        socket: Stream,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut room = self.step;
            for b in bufs {
                let take = b.len().min(room);
                self.got.extend_from_slice(&b[..take]);
                room -= take;
            }
            Ok(self.step - room)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Output for Trickle {
        fn socket(&self) -> &Stream {
            &self.socket
        }
    }

    #[test]
    fn plain_packets_are_written_whole_and_in_order_whatever_each_call_takes() {
        let (server, _client) = pair();
        let flow = Flow::new();
        let marks = Marks::for_outbox(16, 16);
        let (alive, _done) = crossbeam_channel::bounded::<()>(0);
        let (_sender, outbox) = outbox(&flow, marks, alive);
        // Empty packets, and more pieces and bytes than one call is given.
        let mut packets: Vec<Packet> = vec![Packet::from(""), Packet::from("ab")];
        packets.extend((0..WRITE_SLICES + 5).map(|i| Packet::from(format!("{i};"))));
        packets.push(Packet::from(vec![b'x'; WRITE_CHUNK + 3]));
        packets.push(Packet::from(""));
        let expected: Vec<u8> = packets.iter().flat_map(|p| p.to_vec()).collect();
        let mut out = Trickle {
            got: Vec::new(),
            step: 0,
            socket: server.into(),
        };
        for step in [1, 2, 7, 100, WRITE_CHUNK, usize::MAX / 2] {
            out.got.clear();
            out.step = step;
            write_packets_patiently(&mut out, &packets, &outbox).unwrap();
            assert_eq!(out.got, expected, "step {step}");
        }
    }
}
