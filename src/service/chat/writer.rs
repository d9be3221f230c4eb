//! The writer thread any transport uses: it drains a member's outbox, has the transport frame
//! the whole batch, and writes it in one call, with a write timeout. It also takes control
//! input (a transport's own frames, such as a ping, or a last frame and close) and can wake on
//! a timer. The transport supplies only a [`Framer`].

use super::delivery::Packet;
use super::outbox::Outbox;
use crate::server::{is_timeout, CountingWriter};
use crossbeam_channel::{select, Receiver};
use std::io::{self, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

/// Writes wait this long at a time, so a writer notices promptly that it was dropped.
const WRITE_SLICE: Duration = Duration::from_millis(250);
/// A client that has accepted no bytes for this long is closed even if no one else talks.
const WRITE_STALL: Duration = Duration::from_secs(30);
/// A write buffer larger than this after a flood is given back.
const KEEP_BUFFER: usize = 64 * 1024;

/// Input to a writer other than deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Write these bytes (already framed) after what is pending.
    Send(Vec<u8>),
    /// Write these bytes, then close the connection.
    Close(Vec<u8>),
}

/// How a transport turns packets into bytes on its connection.
pub trait Framer: Send {
    /// Appends the framing of `packets` (one batch, in order) to `out`.
    fn frame(&mut self, packets: &[Packet], out: &mut Vec<u8>);

    /// Appends what a member dropped as too slow is told before the close.
    fn too_slow(&mut self, out: &mut Vec<u8>);

    /// Called every `tick` given to [`run`]; appends what is due (a heartbeat) to `out`.
    /// Returns false to close the connection.
    fn tick(&mut self, _out: &mut Vec<u8>) -> bool {
        true
    }
}

/// Runs until the hub drops the member (after writing everything it was handed), the
/// connection fails or stalls, the member is dropped as too slow, or a [`Control::Close`].
/// On any failure the socket is shut down so the connection's reader wakes too.
pub fn run(
    mut out: CountingWriter,
    outbox: &Outbox,
    controls: &Receiver<Control>,
    framer: &mut dyn Framer,
    tick: Option<Duration>,
) {
    let _ = out.stream().set_write_timeout(Some(WRITE_SLICE));
    let mut controls = controls.clone();
    let mut buf = Vec::new();
    loop {
        let mut packets = 0;
        let mut close = false;
        select! {
            recv(outbox.batches()) -> batch => match batch {
                Ok(mut batch) => {
                    if outbox.is_kicked() {
                        break;
                    }
                    outbox.take_waiting(&mut batch);
                    framer.frame(&batch, &mut buf);
                    packets = batch.len();
                }
                // The hub dropped the member and everything it was handed is written.
                Err(_) => break,
            },
            recv(controls) -> control => match control {
                Ok(Control::Send(bytes)) => buf.extend_from_slice(&bytes),
                Ok(Control::Close(bytes)) => {
                    buf.extend_from_slice(&bytes);
                    close = true;
                }
                Err(_) => controls = crossbeam_channel::never(),
            },
            default(tick.unwrap_or(Duration::from_secs(3600))) => {
                close = tick.is_some() && !framer.tick(&mut buf);
            }
        }
        let written = write_patiently(&mut out, &buf, outbox);
        outbox.written(packets);
        buf.clear();
        if buf.capacity() > KEEP_BUFFER {
            buf = Vec::new();
        }
        if written.is_err() {
            break;
        }
        if close {
            let _ = out.stream().shutdown(Shutdown::Both);
            break;
        }
    }
    if outbox.is_kicked() {
        // Best effort: if the client reads again it learns why it was dropped.
        buf.clear();
        framer.too_slow(&mut buf);
        let _ = out.write(&buf);
        let _ = out.stream().shutdown(Shutdown::Both);
    }
}

/// Writes all of `bytes`, in slices of [`WRITE_SLICE`], until done, dropped, or stalled for
/// [`WRITE_STALL`]. On failure the socket is shut down so the reading thread ends as well.
fn write_patiently(out: &mut CountingWriter, mut bytes: &[u8], outbox: &Outbox) -> io::Result<()> {
    let mut last_progress = Instant::now();
    while !bytes.is_empty() {
        match out.write(bytes) {
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

fn fail(out: &CountingWriter, e: io::Error) -> io::Result<()> {
    let _ = out.stream().shutdown(Shutdown::Both);
    Err(e)
}
