//! One chat client: its connection thread reads lines and turns them into hub requests, and a
//! writer thread drains its outbox into the socket, a whole burst per write.

use super::command::{self, Input};
use super::lines::{Line, LineSplitter};
use super::outbox::{Activity, Outbox};
use super::protocol::{Codec, MemberId, Request};
use super::text;
use super::Chat;
use crate::server::{is_timeout, Connection, CountingWriter};
use crossbeam_channel::Sender;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::thread;
use std::time::{Duration, Instant};

/// Stack of a writer thread: it only moves bytes.
const WRITER_STACK: usize = 64 * 1024;
/// Writes wait this long at a time, so a writer notices promptly that it was dropped.
const WRITE_SLICE: Duration = Duration::from_millis(250);
/// A client that has accepted no bytes for this long is closed even if no one else talks.
const WRITE_STALL: Duration = Duration::from_secs(30);
/// After leaving, how long the connection thread lets its writer put the last lines on the
/// wire before it shuts the socket (which fails any write in progress).
const FAREWELL_GRACE: Duration = Duration::from_secs(5);
/// After that shutdown, how long it still waits before leaving the writer to finish alone.
const WRITER_EXIT_GRACE: Duration = Duration::from_secs(2);

/// How reading a client ended.
enum End {
    Closed,
    Quit,
    Idle,
    Failed(io::Error),
    HubGone,
}

/// Runs one chat client on its connection thread until it leaves.
pub fn serve(chat: &Chat, conn: &mut Connection) -> io::Result<()> {
    let id = conn.id();
    let (sender, outbox) = chat.outboxes.create();
    let Some(alive) = chat.writer_token() else {
        // The server is stopping.
        return Ok(());
    };
    let out = conn.writer();
    let activity = outbox.activity();
    // Dropped when the writer thread ends, however it ends: a bounded wait for it.
    let (writer_running, writer_done) = crossbeam_channel::bounded::<()>(0);
    let writer = thread::Builder::new()
        .name(format!("chat-out#{id}"))
        .stack_size(WRITER_STACK)
        .spawn(move || {
            let _alive = alive;
            let _running = writer_running;
            write_outbox(out, &outbox);
        });
    let writer = match writer {
        Ok(w) => w,
        Err(_) => {
            let _ = conn.write_all(b"! server busy\n");
            return Ok(());
        }
    };
    let hub = &chat.requests;
    let joined = hub.send(Request::Join {
        id,
        codec: Codec::Text,
        outbox: sender,
    });
    let end = if joined.is_ok() {
        read_lines(conn, hub, chat.config.max_line, &activity)
    } else {
        End::HubGone
    };
    let farewell = match &end {
        End::Quit => Some(Ok("bye".to_string())),
        End::Idle => Some(Err("idle too long, disconnected".to_string())),
        _ => None,
    };
    let _ = hub.send(Request::Leave { id, farewell });
    // The writer exits once the hub has dropped this member's outbox and it has written the
    // last chunk, so the farewell is on the wire before the connection closes. Every wait for
    // it is bounded: a client that does not read its last lines has its socket shut down, and
    // a writer that still has not ended is left to end alone rather than hold this thread.
    let ended = |grace| {
        matches!(
            writer_done.recv_timeout(grace),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        )
    };
    if !ended(FAREWELL_GRACE) {
        let _ = conn.stream().shutdown(Shutdown::Both);
    }
    if ended(WRITER_EXIT_GRACE) {
        let _ = writer.join();
    } else {
        crate::log!("chat: writer of connection {id} did not end; leaving it");
    }
    match end {
        End::Idle => Err(io::ErrorKind::TimedOut.into()),
        End::Failed(e) => Err(e),
        End::Closed | End::Quit | End::HubGone => Ok(()),
    }
}

/// Reads and handles lines until the client leaves. The idle timeout (the socket's read
/// timeout) closes a client only if it has neither sent nor received anything for that long: a
/// reader who only watches the room is not idle.
fn read_lines(
    conn: &mut Connection,
    hub: &Sender<Request>,
    max_line: usize,
    activity: &Activity,
) -> End {
    let id = conn.id();
    let idle_limit = conn.stream().read_timeout().ok().flatten();
    let mut splitter = LineSplitter::new(max_line);
    let mut buf = [0u8; 2048];
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) => {
                let mut end = End::Closed;
                splitter.finish(|line| {
                    if let Some(e) = handle(id, line, hub, max_line) {
                        end = e;
                    }
                });
                return end;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => {
                if idle_limit.is_some_and(|limit| activity.idle_for() < limit) {
                    continue;
                }
                return End::Idle;
            }
            Err(e) => return End::Failed(e),
        };
        let mut end = None;
        splitter.push(&buf[..n], |line| {
            if end.is_none() {
                end = handle(id, line, hub, max_line);
            }
        });
        if let Some(end) = end {
            return end;
        }
    }
}

/// Turns one line into a hub request; `Some` ends the session.
fn handle(id: MemberId, line: Line<'_>, hub: &Sender<Request>, max_line: usize) -> Option<End> {
    let tell = |lines: Vec<Result<String, String>>| Request::Tell { id, lines };
    let request = match line {
        Line::TooLong => tell(vec![Err(format!(
            "line too long (over {max_line} bytes), not sent"
        ))]),
        Line::Text(bytes) => {
            let decoded = text::decode(bytes);
            match command::parse(&decoded) {
                Input::Nothing => return None,
                Input::Say(t) => Request::Say {
                    id,
                    text: t.to_string(),
                },
                Input::Nick(name) => Request::Rename {
                    id,
                    name: name.to_string(),
                },
                Input::Join(room) => Request::Move {
                    id,
                    room: room.to_string(),
                },
                Input::Rooms => Request::Rooms { id },
                Input::Who => Request::Who { id },
                Input::Msg(to, t) => Request::Whisper {
                    id,
                    to: to.to_string(),
                    text: t.to_string(),
                },
                Input::Me(t) => Request::Act {
                    id,
                    text: t.to_string(),
                },
                Input::Help => tell(command::HELP.iter().map(|l| Ok(l.to_string())).collect()),
                Input::Invalid(why) => tell(vec![Err(why)]),
                Input::Quit => return Some(End::Quit),
            }
        }
    };
    hub.send(request).err().map(|_| End::HubGone)
}

/// The writer thread: waits for chunks, merges whatever is queued into one write, and gives
/// up (closing the socket so the reader wakes too) when dropped as too slow or stalled.
fn write_outbox(mut out: CountingWriter, outbox: &Outbox) {
    let _ = out.stream().set_write_timeout(Some(WRITE_SLICE));
    while let Ok(first) = outbox.chunks.recv() {
        if outbox.kicked.load(Relaxed) {
            break;
        }
        outbox.progressed();
        // Merge everything already queued into one write.
        let (mut bytes, mut lines) = (first.bytes, first.lines);
        while let Ok(more) = outbox.chunks.try_recv() {
            bytes.extend_from_slice(&more.bytes);
            lines += more.lines;
        }
        let written = write_patiently(&mut out, &bytes, outbox);
        outbox.queued.fetch_sub(lines, SeqCst);
        outbox.progressed();
        if written.is_err() {
            break;
        }
    }
    if outbox.kicked.load(Relaxed) {
        // Best effort: if the client reads again it learns why it was dropped.
        let _ = out.write(b"! too slow, disconnected\n");
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
                if outbox.kicked.load(Relaxed) {
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
