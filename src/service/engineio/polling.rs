//! HTTP long-polling: a GET takes every packet waiting (or waits for one), a POST delivers a
//! payload. At most one GET and one POST per session at a time; a second GET while one waits
//! closes the session, as engine.io does.

use super::session::{lock, CloseReason, Session, Transport, Wake};
use super::{error, EngineInner, Message};
use crate::codec::engineio::{self, ErrorCode, Packet};
use crate::codec::http::Response;
use crate::service::chat::queue::NoItem;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most packets one POST may carry.
const MAX_PACKETS: usize = 1024;
/// How long a GET during an upgrade waits for it to finish before it is answered with a noop.
const UPGRADE_SETTLE: Duration = Duration::from_millis(100);

/// A 200 response with a polling body.
pub(super) fn text(body: String) -> Response {
    payload(body.into_bytes())
}

fn payload(body: Vec<u8>) -> Response {
    Response::new(200).body("text/plain; charset=UTF-8", body)
}

/// Clears a busy flag when the request ends, however it ends.
struct Busy<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, SeqCst);
    }
}

/// A long-poll GET: every packet waiting, joined; or the first to arrive within the ping
/// interval and timeout; `6` (noop) while an upgrade is under way; `1` once the server closed.
pub(super) fn get(engine: &EngineInner, session: &Arc<Session>) -> Response {
    if session.get_busy.swap(true, SeqCst) {
        session.close(CloseReason::Overlap);
        return error(ErrorCode::BadRequest, 400);
    }
    let _busy = Busy(&session.get_busy);
    if session.transport() == Transport::WebSocket {
        return error(ErrorCode::BadRequest, 400);
    }
    let Some(wake_rx) = session.wake_rx() else {
        return error(ErrorCode::BadRequest, 400);
    };
    // A wake-up left from before this GET (an upgrade noop already answered) is stale; a close
    // is answered now.
    while let Ok(w) = wake_rx.try_recv() {
        if w == Wake::Close {
            return text("1".into());
        }
    }
    // engine.io answers a poll during an upgrade with a noop from a check every 100 ms; wait
    // as long for the upgrade to finish, so that a poll the client sends after `5` is refused,
    // as it is on engine.io's one thread, even if it is read first here. (The probe's own
    // wake-up, `3probe` sent, does not end the wait.)
    let settle = Instant::now() + UPGRADE_SETTLE;
    while session.transport() == Transport::Upgrading {
        let left = settle.saturating_duration_since(Instant::now());
        match wake_rx.recv_timeout(left) {
            Ok(Wake::Close) => return text("1".into()),
            Ok(Wake::Noop) => {}
            Err(_) => break,
        }
    }
    match session.transport() {
        Transport::WebSocket => return error(ErrorCode::BadRequest, 400),
        Transport::Upgrading => return text("6".into()),
        Transport::Polling => {}
    }
    if session.is_closed() {
        return error(ErrorCode::UnknownSid, 400);
    }
    let Some(outbox) = lock(&session.outbox).take() else {
        return error(ErrorCode::BadRequest, 400);
    };
    let deadline = Instant::now() + engine.config.ping_interval + engine.config.ping_timeout;
    engine.stats.polls_waiting.fetch_add(1, SeqCst);
    let resp = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match outbox.recv_timeout(left) {
            Ok(mut batch) => {
                outbox.take_waiting(&mut batch);
                let mut body = Vec::new();
                encode(&batch, &mut body);
                outbox.written(&batch);
                break payload(body);
            }
            Err(NoItem::Disconnected) => break text("1".into()),
            Err(NoItem::Timeout) => break text("6".into()),
            // A wake (`Session::wake` queues it, then interrupts); none if it was stale.
            Err(NoItem::Interrupted) => match wake_rx.try_recv() {
                Ok(Wake::Noop) => break text("6".into()),
                Ok(Wake::Close) => break text("1".into()),
                Err(_) => {}
            },
        }
    };
    engine.stats.polls_waiting.fetch_sub(1, SeqCst);
    outbox.shrink();
    // The WebSocket writer may want the outbox next (an upgrade finished meanwhile).
    session.return_outbox(outbox);
    resp
}

/// Frames outbox packets as a polling payload: text as is, binary as `b` + base64, joined by
/// the record separator.
fn encode(batch: &[crate::service::chat::Packet], out: &mut Vec<u8>) {
    for (i, p) in batch.iter().enumerate() {
        if i > 0 {
            out.push(0x1e);
        }
        match p.split_first() {
            Some((b'b', data)) => {
                let mut s = String::from("b");
                crate::codec::base64::encode_into(data, &mut s);
                out.extend_from_slice(s.as_bytes());
            }
            _ => out.extend_from_slice(p),
        }
    }
}

/// A POST: decodes the payload and hands each packet on; answers `ok`.
pub(super) fn post(engine: &EngineInner, session: &Arc<Session>, body: &[u8]) -> Response {
    if session.post_busy.swap(true, SeqCst) {
        session.close(CloseReason::Overlap);
        return error(ErrorCode::BadRequest, 400);
    }
    let _busy = Busy(&session.post_busy);
    if session.transport() == Transport::WebSocket || session.is_closed() {
        return error(ErrorCode::BadRequest, 400);
    }
    let packets = match engineio::decode_payload(body, MAX_PACKETS) {
        Ok(p) => p,
        Err(_) => {
            session.close(CloseReason::ParseError);
            return error(ErrorCode::BadRequest, 400);
        }
    };
    engine.counted_in(packets.len());
    for p in packets {
        if !on_packet(session, p) {
            return error(ErrorCode::BadRequest, 400);
        }
    }
    Response::new(200).body("text/html", b"ok".to_vec())
}

/// Acts on one packet from the client, on either transport; false if the packet broke the
/// protocol (the session is then closed).
pub(super) fn on_packet(session: &Arc<Session>, packet: Packet) -> bool {
    match packet {
        Packet::Message(text) => return session.deliver(Message::Text(text)),
        Packet::Binary(data) => return session.deliver(Message::Binary(data)),
        Packet::Pong(_) => session.pong(),
        Packet::Close => session.close(CloseReason::ClientClose),
        Packet::Ping(data) => {
            let mut pong = String::from("3");
            pong.push_str(&data);
            session.send_packets(vec![pong.into_bytes().into()]);
        }
        Packet::Noop => {}
        Packet::Open(_) | Packet::Upgrade => {
            session.close(CloseReason::ParseError);
            return false;
        }
    }
    true
}
