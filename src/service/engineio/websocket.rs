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
use crate::service::chat::Packet as OutPacket;
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

/// The 101 response to the handshake with `key`.
fn accepted(key: &str) -> Response {
    Response::new(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", ws::accept_key(key))
}

/// A new session over WebSocket from the start: the handshake is checked here, the session
/// opened once the request is off the stack (see [`start_session`]).
pub(super) fn open(engine: &Arc<EngineInner>, req: Request) -> Outcome {
    let key = handshake(&req.head);
    drop(req);
    let key = match key {
        Ok(k) => k,
        Err(e) => return Outcome::Close(e),
    };
    if engine.is_stopping() {
        return Outcome::Close(error(ErrorCode::BadRequest, 503));
    }
    let engine = Arc::clone(engine);
    Outcome::Continue(Takeover::new(move |conn, rest| {
        if let Some(session) = start_session(&engine, &key, conn) {
            read_loop(&engine, &session, conn, rest);
        }
    }))
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
) -> Option<Arc<Session>> {
    if write_response(conn, accepted(key), false).is_err() {
        return None;
    }
    let Some(session) = engine.open(Transport::WebSocket) else {
        // The server began to stop since the handshake was checked.
        let mut frame = Vec::new();
        ws::encode_close(1001, "", &mut frame);
        let _ = conn.write_all(&frame);
        return None;
    };
    let open = engine.open_packet(&session.sid, &[]);
    session.attach_websocket(conn.stream(), Some(conn.writer()));
    // The hand-over starts a writer for it.
    session.send_packets(vec![OutPacket::from(open.into_bytes())]);
    Some(session)
}

/// A WebSocket for a polling session: the upgrade.
pub(super) fn upgrade(
    engine: &Arc<EngineInner>,
    session: &Arc<Session>,
    req: Request,
    conn: &mut Connection,
) -> Outcome {
    let key = handshake(&req.head);
    drop(req);
    let key = match key {
        Ok(k) => k,
        Err(e) => return Outcome::Close(e),
    };
    let taken = {
        let mut state = lock(&session.state);
        let taken = state.closed || state.transport != Transport::Polling;
        if !taken {
            state.transport = Transport::Upgrading;
        }
        taken
    };
    if taken {
        // Already upgraded (or upgrading): as engine.io does, complete the handshake and close
        // this WebSocket at once; the session goes on over the other one.
        let mut frame = Vec::new();
        ws::encode_close(1000, "", &mut frame);
        if write_response(conn, accepted(&key), false).is_ok() {
            let _ = conn.write_all(&frame);
        }
        let _ = conn.stream().shutdown(Shutdown::Both);
        return Outcome::TakenOver;
    }
    let (engine, session) = (Arc::clone(engine), Arc::clone(session));
    // Answered and read once the request is off the stack, as in `start_session`.
    Outcome::Continue(Takeover::new(move |conn, rest| {
        if write_response(conn, accepted(&key), false).is_err() {
            lock(&session.state).transport = Transport::Polling;
            return;
        }
        session.attach_websocket(conn.stream(), None);
        read_loop(&engine, &session, conn, rest);
    }))
}

/// Reads frames until the connection ends, handing messages to the session; `buf` holds the
/// bytes read past the handshake.
fn read_loop(
    engine: &EngineInner,
    session: &Arc<Session>,
    conn: &mut Connection,
    mut buf: Vec<u8>,
) {
    let max = engine.config.max_payload;
    let mut asm = Assembler::new(max);
    let close_code = loop {
        match ws::parse_frame(&buf, Role::Server, max) {
            Ok(Some((used, frame))) => {
                buf.drain(..used);
                match asm.push(frame) {
                    Ok(Some(message)) => match on_message(engine, session, conn, message) {
                        Next::Read => continue,
                        Next::Stop => break None,
                        Next::Close(code) => break Some(code),
                    },
                    Ok(None) => continue,
                    Err(e) => break Some(e.close_code()),
                }
            }
            Ok(None) => {}
            Err(e) => break Some(e.close_code()),
        }
        match fill(conn, &mut buf) {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && !session.is_closed() => {}
            Err(_) => break None,
        }
    };
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
    // The session's close queued a close frame (or ours went first): a writer writes it, then
    // shuts the socket down. Shutting it down here first would lose the frame.
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
            if !on_packet(session, packet) {
                return Next::Close(1002);
            }
        }
        ws::Message::Binary(data) => {
            engine.counted_in(1);
            if !session.deliver(Message::Binary(data)) {
                return Next::Close(1002);
            }
        }
        ws::Message::Ping(data) => {
            let mut frame = Vec::new();
            ws::encode_frame(Opcode::Pong, &data, &mut frame);
            send_frame(session, conn, &frame, false);
        }
        ws::Message::Pong(_) => {}
        ws::Message::Close(code) => {
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
