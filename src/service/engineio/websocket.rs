//! The WebSocket transport: the RFC 6455 handshake, the reader on the connection's own
//! thread, and the upgrade of a polling session: `2probe` is answered `3probe`, a waiting GET
//! is answered `6`, and `5` moves the session to the WebSocket for good. Writing is
//! `ws_writer`'s: a thread that runs only while there is something to write.

use super::polling::on_packet;
use super::session::{lock, CloseReason, Session, Transport, Wake};
use super::{error, EngineInner, Message};
use crate::codec::engineio::{self, ErrorCode, Packet};
use crate::codec::http::{RequestHead, Response};
use crate::codec::websocket::{self as ws, Assembler, Opcode, Role};
use crate::server::{is_timeout, Connection};
use crate::service::web::{write_response, Outcome, Request, Takeover};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

/// What an idle connection reads into: enough for the frames an idle client sends (a pong
/// is 7 bytes) without holding a heap buffer while it waits.
const SMALL_READ: usize = 256;
/// Largest read into the heap buffer while a frame is incomplete.
const BIG_READ: usize = 64 * 1024;

/// The client's key of a valid WebSocket handshake, or the error response.
fn handshake(head: &RequestHead) -> Result<String, Response> {
    if !head.is_websocket_upgrade() {
        return Err(error(ErrorCode::BadRequest, 400));
    }
    if head.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Err(Response::new(426).header("Sec-WebSocket-Version", "13"));
    }
    let key = head
        .header("sec-websocket-key")
        .map(str::trim)
        .unwrap_or("");
    if crate::codec::base64::decode(key.as_bytes()).map_or(true, |k| k.len() != 16) {
        return Err(error(ErrorCode::BadRequest, 400));
    }
    Ok(key.to_string())
}

/// Appends the 101 response to the handshake with `key`.
fn accepted(key: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
    out.extend_from_slice(b"Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.extend_from_slice(ws::accept_key(key).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// A new session over WebSocket from the start: the handshake is checked, answered and the
/// session opened once the request loop is off the stack (see [`start_session`]).
pub(super) fn open(engine: &Arc<EngineInner>, req: Request) -> Outcome {
    let engine = Arc::clone(engine);
    Outcome::Continue(Takeover::new(move |conn, mut rest| {
        let Some(key) = checked_key(req, conn) else {
            return;
        };
        if engine.is_stopping() {
            let _ = write_response(conn, error(ErrorCode::BadRequest, 503), true);
            return;
        }
        if let Some(session) = start_session(&engine, &key, conn, &mut rest) {
            read_loop(&engine, &session, conn, rest);
        }
    }))
}

/// The client's key if `req` is a valid WebSocket handshake; if not, the error response is
/// written (the connection then closes).
#[inline(never)]
fn checked_key(req: Request, conn: &mut Connection) -> Option<String> {
    match handshake(&req.head) {
        Ok(key) => Some(key),
        Err(resp) => {
            drop(req);
            let _ = write_response(conn, resp, true);
            None
        }
    }
}

/// Answers the handshake and opens the session, at the bottom of the connection thread's
/// stack, and out of line, so that its frame is gone when the reading begins: opening a
/// session is among the deepest things a reader does, and the pages of stack it touches stay
/// with the thread for the connection's life.
#[inline(never)]
fn start_session(
    engine: &Arc<EngineInner>,
    key: &str,
    conn: &mut Connection,
    rest: &mut Vec<u8>,
) -> Option<Arc<Session>> {
    // The 101 and the session's open packet go in one write, by this thread: no writer thread
    // starts until there is more to send.
    let session = engine.open(Transport::WebSocket);
    let written = in_read_buffer(rest, |out| {
        accepted(key, out);
        match &session {
            Some(session) => {
                let open = engine.open_packet(&session.sid, &[]);
                ws::encode_frame(Opcode::Text, open.as_bytes(), out);
            }
            // The server began to stop since the handshake was checked.
            None => ws::encode_close(1001, "", out),
        }
        conn.write_all(out)
    });
    let session = session?;
    if written.is_err() {
        session.close(CloseReason::TransportClose);
        return None;
    }
    session.attach_websocket(conn.stream(), Some(conn.writer()));
    Some(session)
}

/// Runs `f` with a buffer to build an answer in: the request's read buffer, if it is empty
/// (it is, unless the client sent more before the answer). That buffer is larger than the
/// blocks glibc keeps cached for the thread that frees them, so when the reader frees it, it
/// goes back to the shared pool, where a small buffer freed now would stay with this
/// long-lived thread.
fn in_read_buffer<R>(rest: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    if !rest.is_empty() {
        return f(&mut Vec::new());
    }
    let result = f(rest);
    rest.clear();
    result
}

/// A WebSocket for a polling session: the upgrade, once the request loop is off the stack.
pub(super) fn upgrade(engine: &Arc<EngineInner>, session: &Arc<Session>, req: Request) -> Outcome {
    let (engine, session) = (Arc::clone(engine), Arc::clone(session));
    Outcome::Continue(Takeover::new(move |conn, mut rest| {
        let Some(key) = checked_key(req, conn) else {
            return;
        };
        let taken = {
            let mut state = lock(&session.state);
            let taken = state.closed || state.transport != Transport::Polling;
            if !taken {
                state.transport = Transport::Upgrading;
            }
            taken
        };
        let written = in_read_buffer(&mut rest, |out| {
            accepted(&key, out);
            if taken {
                // Already upgraded (or upgrading): as engine.io does, complete the handshake
                // and close this WebSocket at once; the session goes on over the other one.
                ws::encode_close(1000, "", out);
            }
            conn.write_all(out)
        });
        if taken {
            let _ = conn.stream().shutdown(Shutdown::Both);
            return;
        }
        if written.is_err() {
            lock(&session.state).transport = Transport::Polling;
            return;
        }
        session.attach_websocket(conn.stream(), None);
        read_loop(&engine, &session, conn, rest);
    }))
}

/// Reads frames until the connection ends, handing messages to the session; `buf` holds the
/// bytes read past the handshake. Kept lean (the parsing and the ending are out of line): its
/// frame is under every message the reader handles.
fn read_loop(
    engine: &EngineInner,
    session: &Arc<Session>,
    conn: &mut Connection,
    mut buf: Vec<u8>,
) {
    let max = engine.config.max_payload;
    let mut asm = Assembler::new(max);
    let close_code = loop {
        let message = match next_message(&mut buf, &mut asm, max) {
            Ok(Some(message)) => message,
            Ok(None) => match fill(conn, &mut buf) {
                Ok(0) => break None,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) && !session.is_closed() => continue,
                Err(_) => break None,
            },
            Err(code) => break Some(code),
        };
        match on_message(engine, session, conn, message) {
            Next::Read => {}
            // Delivered from here, not from inside `on_message`: the deepest path of a reader
            // (a Socket.IO packet parsed and queued) stays a frame shallower.
            Next::Deliver(message) => {
                if !session.deliver(message) {
                    break Some(1002);
                }
                if session.is_closed() {
                    break None;
                }
            }
            Next::Stop => break None,
            Next::Close(code) => break Some(code),
        }
    };
    finish(session, conn, close_code);
}

/// The next whole message in `buf` (taken off it), `None` if more bytes are needed, or the
/// close code of a protocol error.
#[inline(never)]
fn next_message(
    buf: &mut Vec<u8>,
    asm: &mut Assembler,
    max: usize,
) -> Result<Option<ws::Message>, u16> {
    loop {
        match ws::parse_frame(buf, Role::Server, max) {
            Ok(Some((used, frame))) => {
                buf.drain(..used);
                match asm.push(frame) {
                    Ok(Some(message)) => return Ok(Some(message)),
                    Ok(None) => {}
                    Err(e) => return Err(e.close_code()),
                }
            }
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.close_code()),
        }
    }
}

/// The reading has ended: the close frame (with `close_code` if the client broke the
/// protocol) is sent, the session closed (or, if this WebSocket was only probing, left to go
/// on polling), and the socket shut down once a writer has written what was queued.
#[inline(never)]
fn finish(session: &Arc<Session>, conn: &mut Connection, close_code: Option<u16>) {
    // Nothing more is read: the reader writes the last frames itself when no writer holds the
    // outbox, rather than start a writer thread for them (see `Session::send_frame`).
    let own = session.own_thread();
    if let Some(code) = close_code {
        let mut frame = Vec::new();
        ws::encode_close(code, "", &mut frame);
        send_frame(session, conn, &frame, true);
    }
    let upgrading = {
        let mut state = lock(&session.state);
        let upgrading = state.transport == Transport::Upgrading;
        if upgrading {
            // The probe failed: the session goes on polling.
            state.transport = Transport::Polling;
        }
        upgrading
    };
    if upgrading {
        session.detach_websocket();
        // A GET waiting for the upgrade to settle goes on polling.
        session.wake(Wake::Noop);
    } else {
        session.close(CloseReason::TransportClose);
    }
    drop(own);
    // The session's close queued a close frame (or ours went first). This thread wrote it if
    // no writer held the outbox; otherwise that writer writes it, then shuts the socket down.
    // Shutting it down here first would lose the frame.
    session.wait_writers();
    let _ = conn.stream().shutdown(Shutdown::Both);
}

/// Reads more into `buf` (never inlined: its small buffer is on the stack only while it
/// reads, not under every message the reader handles). With nothing buffered (an idle connection) it reads into a small
/// buffer on the stack and copies what came, so that no heap buffer is held while it waits;
/// `buf` is given back once empty. With a frame incomplete it reads straight into `buf`,
/// up to [`BIG_READ`] at a time.
#[inline(never)]
fn fill(conn: &mut Connection, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.is_empty() {
        *buf = Vec::new();
        let mut small = [0u8; SMALL_READ];
        let n = conn.read(&mut small)?;
        buf.extend_from_slice(&small[..n]);
        return Ok(n);
    }
    let len = buf.len();
    let want = len.clamp(4 * 1024, BIG_READ);
    buf.resize(len + want, 0);
    let read = conn.read(&mut buf[len..]);
    buf.truncate(len + *read.as_ref().unwrap_or(&0));
    read
}

enum Next {
    Read,
    /// Hand this message to the session.
    Deliver(Message),
    Stop,
    Close(u16),
}

fn on_message(
    engine: &EngineInner,
    session: &Arc<Session>,
    conn: &mut Connection,
    message: ws::Message,
) -> Next {
    match message {
        ws::Message::Text(text) => {
            let Ok(packet) = engineio::parse_text(&text) else {
                session.close(CloseReason::ParseError);
                return Next::Close(1002);
            };
            engine.counted_in(1);
            if session.transport() == Transport::Upgrading {
                match packet {
                    Packet::Ping(data) if data == "probe" => {
                        let mut frame = Vec::new();
                        ws::encode_frame(Opcode::Text, b"3probe", &mut frame);
                        send_frame(session, conn, &frame, false);
                        session.wake(Wake::Noop);
                        return Next::Read;
                    }
                    Packet::Upgrade => {
                        lock(&session.state).transport = Transport::WebSocket;
                        session.attach_websocket(conn.stream(), Some(conn.writer()));
                        // A pending GET hands the outbox back (and a writer takes what waits
                        // in it); if it is parked here already, a writer starts now.
                        session.wake(Wake::Noop);
                        session.ensure_writer();
                        return if session.is_closed() {
                            Next::Stop
                        } else {
                            Next::Read
                        };
                    }
                    _ => {}
                }
            }
            if let Packet::Message(text) = packet {
                return Next::Deliver(Message::Text(text));
            }
            if !on_packet(session, packet) {
                return Next::Close(1002);
            }
        }
        ws::Message::Binary(data) => {
            engine.counted_in(1);
            return Next::Deliver(Message::Binary(data));
        }
        ws::Message::Ping(data) => {
            let mut frame = Vec::new();
            ws::encode_frame(Opcode::Pong, &data, &mut frame);
            send_frame(session, conn, &frame, false);
        }
        ws::Message::Pong(_) => {}
        ws::Message::Close(code) => {
            // The reader writes the answering close frame itself (see `Session::send_frame`).
            let _own = session.own_thread();
            let mut frame = Vec::new();
            ws::encode_close(code.map_or(1000, |c| c.0), "", &mut frame);
            send_frame(session, conn, &frame, true);
            session.close(CloseReason::ClientClose);
            return Next::Stop;
        }
    }
    if session.is_closed() {
        Next::Stop
    } else {
        Next::Read
    }
}

/// Sends a frame after what is queued once the session is on this WebSocket for good (then
/// `last` closes after it), or writes it directly before that (only the reader writes then).
fn send_frame(session: &Session, conn: &mut Connection, frame: &[u8], last: bool) {
    if session.on_websocket() {
        session.send_frame(frame, last);
    } else {
        let _ = conn.write_all(frame);
    }
}
