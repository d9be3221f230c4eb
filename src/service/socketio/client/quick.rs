//! Quick handlers ([`Socket::on_quick`]) run on the thread that read their event: the client's
//! WebSocket reader, or the HTTP thread of a long-polling POST. Only when the client's own
//! thread is not running and nothing waits for it (see [`Client::enqueue`]); the client is
//! marked running meanwhile, so a packet read on another thread (each long-polling POST has a
//! thread of its own; Engine.IO lets one POST in at a time) is queued behind the quick one,
//! and the client's events are still handled one at a time, in order. The reading thread
//! counts as the session's own while the handler runs (its acks are written through); a
//! quick handler's [`Socket::emit_with_ack`] refuses to wait (see [`Socket::dispatch`]). A
//! panicking quick handler closes the session, as a panicking handler on the client's
//! thread does.

use super::{lock, start, Client, Inbound};
use crate::service::engineio::Session;
use crate::service::socketio::namespace::socket::{Ack, Socket};
use std::panic::{self, AssertUnwindSafe};

impl Client {
    /// The socket of namespace `nsp` if its handler for `event` is a quick one.
    pub(super) fn quick_socket(&self, nsp: &str, event: &str) -> Option<Socket> {
        lock(&self.shared.sockets)
            .get(nsp)
            .filter(|socket| socket.is_quick(event))
    }

    /// Runs the quick handler of `inbound` (an event of `socket`'s) here; the client was
    /// marked running for it. Out of line: the reader's stack grows this deep only for it.
    /// After it, whatever was queued meanwhile goes to the client's thread, started for it.
    #[inline(never)]
    pub(super) fn run_quick(
        &self,
        session: &Session,
        socket: &Socket,
        inbound: Inbound,
    ) -> Result<(), String> {
        let Inbound::Event { name, args, id, .. } = inbound else {
            // Only events have quick handlers; anything else goes to the client's thread.
            start(&self.shared, Some(inbound));
            return Ok(());
        };
        let outcome = {
            let _own = session.own_thread();
            let ack = id.map(|id| Ack::new(socket.clone(), id));
            panic::catch_unwind(AssertUnwindSafe(|| socket.dispatch(&name, args, ack)))
        };
        let shared = &self.shared;
        let mut inbox = lock(&shared.inbox);
        if outcome.is_err() {
            // As when the client's thread unwinds: the caller closes the session (a protocol
            // error), which disconnects its sockets on a thread of their own.
            inbox.running = false;
            drop(inbox);
            shared.changed.notify_all();
            return Err(format!("the handler of quick event {name:?} panicked"));
        }
        if inbox.queue.is_empty() && lock(&shared.closed).is_none() {
            inbox.running = false;
            drop(inbox);
            shared.changed.notify_all();
            return Ok(());
        }
        // Queued meanwhile (or closed): the client's thread, still marked running, takes over.
        drop(inbox);
        start(shared, None);
        Ok(())
    }
}
