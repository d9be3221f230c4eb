//! The WebSocket transport: the RFC 6455 handshake, a reader on the connection's own thread,
//! a writer thread that drains the session's outbox (one frame per packet, a batch per write),
//! and the upgrade of a polling session: `2probe` is answered `3probe`, a waiting GET is
//! answered `6`, and `5` moves the session to the WebSocket for good.

use super::polling::on_packet;
use super::session::{lock, CloseReason, Session, Transport, Wake};
use super::{error, EngineInner, Message};
use crate::codec::engineio::{self, ErrorCode, Packet};
use crate::codec::http::{RequestHead, Response};
use crate::codec::websocket::{self as ws, Assembler, Opcode, Role};
use crate::server::{is_timeout, Connection};
use crate::service::chat::writer::{self, Control, Framer};
use crate::service::chat::Packet as OutPacket;
use crate::service::web::{write_response, Outcome, Request};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Stack of a WebSocket writer thread: it only frames and writes.
const WRITER_STACK: usize = 64 * 1024;
/// How long an upgrade waits for a long-poll GET to hand the outbox back.
const OUTBOX_WAIT: Duration = Duration::from_secs(2);

/// Frames outbox packets as WebSocket frames: text packets as text frames, `b`-tagged ones
/// as binary frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct WsFramer;

impl Framer for WsFramer {
    fn frame(&mut self, packets: &[OutPacket], out: &mut Vec<u8>) {
        for p in packets {
            match p.split_first() {
                Some((b'b', data)) => ws::encode_frame(Opcode::Binary, data, out),
                _ => ws::encode_frame(Opcode::Text, p, out),
            }
        }
    }

    fn too_slow(&mut self, out: &mut Vec<u8>) {
        ws::encode_close(1008, "too slow", out);
    }
}

/// The 101 response to a valid WebSocket handshake, or the error response.
fn handshake(head: &RequestHead) -> Result<Response, Response> {
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
    Ok(Response::new(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", ws::accept_key(key)))
}

/// A new session over WebSocket from the start.
pub(super) fn open(
    engine: &Arc<EngineInner>,
    req: Request,
    conn: &mut Connection,
    rest: &mut Vec<u8>,
) -> Outcome {
    let resp = match handshake(&req.head) {
        Ok(r) => r,
        Err(e) => return Outcome::Close(e),
    };
    let Some(session) = engine.open(Transport::WebSocket) else {
        return Outcome::Close(error(ErrorCode::BadRequest, 503));
    };
    if write_response(conn, resp, false).is_err() {
        session.close(CloseReason::TransportClose);
        return Outcome::TakenOver;
    }
    let open = engine.open_packet(&session.sid, &[]);
    *lock(&session.ws_stream) = Some(Arc::clone(conn.stream()));
    session.send_packets(vec![OutPacket::from(open.into_bytes())]);
    let writer = start_writer(&session, conn);
    read_loop(engine, &session, conn, rest, writer);
    Outcome::TakenOver
}

/// A WebSocket for a polling session: the upgrade.
pub(super) fn upgrade(
    engine: &Arc<EngineInner>,
    session: &Arc<Session>,
    req: Request,
    conn: &mut Connection,
    rest: &mut Vec<u8>,
) -> Outcome {
    let resp = match handshake(&req.head) {
        Ok(r) => r,
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
        if write_response(conn, resp, false).is_ok() {
            let _ = conn.write_all(&frame);
        }
        let _ = conn.stream().shutdown(Shutdown::Both);
        return Outcome::TakenOver;
    }
    if write_response(conn, resp, false).is_err() {
        lock(&session.state).transport = Transport::Polling;
        return Outcome::TakenOver;
    }
    *lock(&session.ws_stream) = Some(Arc::clone(conn.stream()));
    read_loop(engine, session, conn, rest, None);
    Outcome::TakenOver
}

/// Moves the outbox to a writer thread of this connection and returns the thread. None if the
/// outbox could not be had (a GET kept it past [`OUTBOX_WAIT`]) or the thread not started: the
/// session is closed.
fn start_writer(session: &Arc<Session>, conn: &Connection) -> Option<JoinHandle<()>> {
    let Some(outbox) = session.take_outbox(OUTBOX_WAIT) else {
        session.close(CloseReason::Overlap);
        return None;
    };
    let (controls_tx, controls) = crossbeam_channel::unbounded();
    *lock(&session.ws) = Some(controls_tx);
    let out = conn.writer();
    let started = thread::Builder::new()
        .name(format!(
            "eio-ws#{}",
            &session.sid[..6.min(session.sid.len())]
        ))
        .stack_size(WRITER_STACK)
        .spawn(move || writer::run(out, &outbox, &controls, &mut WsFramer, None));
    let Ok(handle) = started else {
        session.close(CloseReason::TransportClose);
        return None;
    };
    if session.is_closed() {
        // Closed between: the close found no writer to tell.
        if let Some(ws) = lock(&session.ws).take() {
            let mut frame = Vec::new();
            ws::encode_close(1000, "", &mut frame);
            let _ = ws.send(Control::Close(frame));
        }
    }
    Some(handle)
}

/// Reads frames until the connection ends, handing messages to the session. `writer` is the
/// connection's writer thread once it runs (an upgrade starts it here).
fn read_loop(
    engine: &EngineInner,
    session: &Arc<Session>,
    conn: &mut Connection,
    rest: &mut Vec<u8>,
    mut writer: Option<JoinHandle<()>>,
) {
    let max = engine.config.max_payload;
    let mut buf = std::mem::take(rest);
    let mut asm = Assembler::new(max);
    let mut chunk = vec![0u8; 4 * 1024];
    let close_code = loop {
        match ws::parse_frame(&buf, Role::Server, max) {
            Ok(Some((used, frame))) => {
                buf.drain(..used);
                match asm.push(frame) {
                    Ok(Some(message)) => {
                        match on_message(engine, session, conn, message, &mut writer) {
                            Next::Read => continue,
                            Next::Stop => break None,
                            Next::Close(code) => break Some(code),
                        }
                    }
                    Ok(None) => continue,
                    Err(e) => break Some(e.close_code()),
                }
            }
            Ok(None) => {}
            Err(e) => break Some(e.close_code()),
        }
        match conn.read(&mut chunk) {
            Ok(0) => break None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && !session.is_closed() => {}
            Err(_) => break None,
        }
    };
    if let Some(code) = close_code {
        let mut frame = Vec::new();
        ws::encode_close(code, "", &mut frame);
        send_frame(session, conn, frame, true);
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
        lock(&session.ws_stream).take();
    } else {
        session.close(CloseReason::TransportClose);
    }
    if let Some(writer) = writer {
        // The session's close handed the writer a close frame (or ours went first): it writes
        // it, then shuts the socket down. Shutting it down here first would lose the frame.
        let _ = writer.join();
    }
    let _ = conn.stream().shutdown(Shutdown::Both);
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
    writer: &mut Option<JoinHandle<()>>,
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
                        send_frame(session, conn, frame, false);
                        let _ = session.wake_tx.try_send(Wake::Noop);
                        return Next::Read;
                    }
                    Packet::Upgrade => {
                        lock(&session.state).transport = Transport::WebSocket;
                        let _ = session.wake_tx.try_send(Wake::Noop);
                        *writer = start_writer(session, conn);
                        return if writer.is_some() {
                            Next::Read
                        } else {
                            Next::Stop
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
            send_frame(session, conn, frame, false);
        }
        ws::Message::Pong(_) => {}
        ws::Message::Close(code) => {
            let mut frame = Vec::new();
            ws::encode_close(code.map_or(1000, |c| c.0), "", &mut frame);
            send_frame(session, conn, frame, true);
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

/// Writes a frame through the writer thread if it runs (then `last` closes after it), or
/// directly (only the reader writes before the writer starts).
fn send_frame(session: &Session, conn: &mut Connection, frame: Vec<u8>, last: bool) {
    let ws = lock(&session.ws).clone();
    match ws {
        Some(ws) => {
            let _ = ws.send(if last {
                Control::Close(frame)
            } else {
                Control::Send(frame)
            });
        }
        None => {
            let _ = conn.write_all(&frame);
        }
    }
}
