//! One `nc` chat client: its connection thread reads lines and acts for its [`Member`], and a
//! writer thread (the shared [`writer`](super::writer)) puts its deliveries on the wire.

use super::command::{self, Input};
use super::member::{ChatClosed, Member, Question};
use super::outbox::Activity;
use super::text::{self, LineFramer};
use super::{writer, Chat};
use super::{Delivery, Render, Reply};
use crate::codec::lines::{Line, LineSplitter};
use crate::server::{is_timeout, Connection};
use crossbeam_channel::RecvTimeoutError;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The read buffer's first size, and the most it grows to (see `read_lines`).
const READ_MIN: usize = 2048;
const READ_MAX: usize = 64 * 1024;
/// Stack of a writer thread: it only moves bytes.
const WRITER_STACK: usize = 64 * 1024;
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
    let Ok((member, outbox)) = chat.join(Arc::clone(&chat.text)) else {
        // The server is stopping.
        return Ok(());
    };
    let out = conn.writer();
    let activity = outbox.activity();
    // Dropped when the writer thread ends, however it ends: a bounded wait for it.
    let (writer_running, writer_done) = crossbeam_channel::bounded::<()>(0);
    let writer = thread::Builder::new()
        .name(format!("chat-out#{}", member.id()))
        .stack_size(WRITER_STACK)
        .spawn(move || {
            let _running = writer_running;
            writer::run(out, &outbox, &mut LineFramer, None);
        });
    let writer = match writer {
        Ok(w) => w,
        Err(_) => {
            let _ = conn.write_all(b"! server busy\n");
            return Ok(());
        }
    };
    let id = member.id();
    let end = read_lines(conn, &member, chat.config.max_line, &activity);
    let farewell = match &end {
        End::Quit => vec![text::notice("bye")],
        End::Idle => vec![text::error("idle too long, disconnected")],
        _ => Vec::new(),
    };
    member.leave(farewell);
    // The writer exits once the hub has dropped this member and it has written the last
    // batch, so the farewell is on the wire before the connection closes. Every wait for it is
    // bounded: a client that does not read its last lines has its socket shut down, and a
    // writer that still has not ended is left to end alone rather than hold this thread.
    let ended = |grace| {
        matches!(
            writer_done.recv_timeout(grace),
            Err(RecvTimeoutError::Disconnected)
        )
    };
    if !ended(FAREWELL_GRACE) {
        let _ = conn.stream().shutdown(Shutdown::Both);
    }
    if ended(WRITER_EXIT_GRACE) {
        let _ = writer.join();
    } else {
        crate::log!("chat: writer of member {id} did not end; leaving it");
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
///
/// The messages of one read go to the hub as one request, so a flood read in one go reaches
/// each recipient as one batch. The read buffer starts small and doubles, up to
/// [`READ_MAX`], while reads fill it: a client that chats costs 2 KiB, a flood is read 64 KiB
/// at a time.
fn read_lines(conn: &mut Connection, member: &Member, max_line: usize, activity: &Activity) -> End {
    let idle_limit = conn.stream().read_timeout().ok().flatten();
    let mut splitter = LineSplitter::new(max_line);
    let mut buf = vec![0u8; READ_MIN];
    let mut said = Said::default();
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) => {
                let mut end = End::Closed;
                splitter.finish(|line| {
                    if let Some(e) = handle(line, member, max_line, &mut said) {
                        end = e;
                    }
                });
                return said.send(member).map_or(end, |()| End::HubGone);
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
                end = handle(line, member, max_line, &mut said);
            }
        });
        if let Some(()) = said.send(member) {
            return End::HubGone;
        }
        if let Some(end) = end {
            return end;
        }
        if n == buf.len() && buf.len() < READ_MAX {
            buf.resize(buf.len() * 2, 0);
        }
    }
}

/// Messages read and not yet sent to the hub: consecutive plain lines, sent as one request
/// when the read ends or before any other command (so order is kept).
#[derive(Default)]
struct Said(Vec<String>);

impl Said {
    /// Sends what is held; `Some` if the hub is gone.
    fn send(&mut self, member: &Member) -> Option<()> {
        if self.0.is_empty() {
            return None;
        }
        member
            .say_all(std::mem::take(&mut self.0))
            .err()
            .map(|_| ())
    }
}

/// Acts on one line; `Some` ends the session.
fn handle(line: Line<'_>, member: &Member, max_line: usize, said: &mut Said) -> Option<End> {
    let decoded = match line {
        Line::TooLong => None,
        Line::Text(bytes) => Some(text::decode(bytes)),
    };
    let input = decoded.as_deref().map(command::parse);
    match input {
        Some(Input::Nothing) => return None,
        Some(Input::Say(t)) => {
            // A plain line is the whole decoded text: kept as it is, not copied again.
            let whole = decoded.as_ref().is_some_and(|d| d.len() == t.len());
            said.0.push(if whole {
                decoded.unwrap_or_default()
            } else {
                t.to_string()
            });
            return None;
        }
        _ => {}
    }
    if said.send(member).is_some() {
        return Some(End::HubGone);
    }
    let done = match input {
        None => member.relay(vec![text::error(&format!(
            "line too long (over {max_line} bytes), not sent"
        ))]),
        Some(Input::Nothing | Input::Say(_)) => return None,
        Some(Input::Nick(name)) if member.is_clustered() => {
            across(member, Question::Nick(name.to_string()))
        }
        Some(Input::Nick(name)) => member.nick(name.to_string()),
        Some(Input::Join(room)) => member.join_room(room.to_string()),
        Some(Input::Rooms) if member.is_clustered() => across(member, Question::Rooms),
        Some(Input::Who) if member.is_clustered() => across(member, Question::Who),
        Some(Input::Rooms) => member.rooms(),
        Some(Input::Who) => member.who(),
        Some(Input::Msg(to, t)) => member.whisper(to.to_string(), t.to_string()),
        Some(Input::Me(t)) => member.act(t.to_string()),
        Some(Input::Help) => member.relay(command::HELP.iter().map(|l| text::notice(l)).collect()),
        Some(Input::Invalid(why)) => member.relay(vec![text::error(&why)]),
        Some(Input::Quit) => return Some(End::Quit),
    };
    done.err().map(|_| End::HubGone)
}

/// Answers `/who`, `/rooms` or `/nick` with the other nodes asked too: on this client's
/// thread (their answers may take the cluster's request timeout), then delivered in order.
fn across(member: &Member, question: Question) -> Result<(), ChatClosed> {
    let name = match &question {
        Question::Nick(name) => name.clone(),
        _ => String::new(),
    };
    let packet = match member.ask(question)? {
        Reply::Who { room, nicks } => {
            let nicks: Vec<&str> = nicks.iter().map(String::as_str).collect();
            text::Text.render(&Delivery::Who {
                room: &room,
                nicks: &nicks,
            })
        }
        Reply::Rooms(rooms) => {
            let rooms: Vec<(&str, usize)> = rooms.iter().map(|(r, n)| (r.as_str(), *n)).collect();
            text::Text.render(&Delivery::Rooms(&rooms))
        }
        Reply::Done => text::Text.render(&Delivery::Named { nick: &name }),
        Reply::Refused(why) => text::error(&why),
        Reply::Joined { .. } => return Ok(()),
    };
    member.relay(vec![packet])
}
