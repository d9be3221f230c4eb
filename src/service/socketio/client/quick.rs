//! Quick handlers ([`Socket::on_quick`]) run on the thread that read their event: the client's
//! WebSocket reader, or the HTTP thread of a long-polling POST. Only when the client's own
//! thread runs no handler (it is absent, or lingers idle) and nothing waits for it (see
//! [`Client::enqueue`]); the inbox is marked `inline` meanwhile, so the lingering thread takes
//! nothing and a packet read on another thread (each long-polling POST has a thread of its
//! own; Engine.IO lets one POST in at a time) is queued behind the quick one: the client's
//! events are still handled one at a time, in order. The reading thread
//! counts as the session's own while the handler runs (its acks are written through); a
//! quick handler's [`Socket::emit_with_ack`] refuses to wait (see [`Socket::dispatch`]). A
//! panicking quick handler closes the session, as a panicking handler on the client's
//! thread does.

use super::{lock, start, Client, Inbound, Inbox};
use crate::service::engineio::Session;
use crate::service::socketio::namespace::socket::{Ack, Socket};
use std::panic::{self, AssertUnwindSafe};
use std::sync::MutexGuard;

impl Client {
    /// The socket of namespace `nsp` if its handler for `event` is a quick one.
    pub(super) fn quick_socket(&self, nsp: &str, event: &str) -> Option<Socket> {
        lock(&self.shared.sockets)
            .get(nsp)
            .filter(|socket| socket.is_quick(event))
    }

    /// Runs the quick handler of `inbound` (an event of `socket`'s) here; the inbox was marked
    /// `inline` for it. Out of line: the reader's stack grows this deep only for it. After it,
    /// whatever was queued meanwhile goes to the client's thread (started if there is none).
    #[inline(never)]
    pub(super) fn run_quick(
        &self,
        session: &Session,
        socket: &Socket,
        inbound: Inbound,
    ) -> Result<(), String> {
        let Inbound::Event { name, args, id, .. } = inbound else {
            // Only events have quick handlers; anything else goes to the client's thread.
            let mut inbox = lock(&self.shared.inbox);
            inbox.inline = false;
            inbox.queue.push_front(inbound);
            self.hand_on(inbox);
            return Ok(());
        };
        let outcome = {
            let _own = session.own_thread();
            let ack = id.map(|id| Ack::new(socket.clone(), id));
            panic::catch_unwind(AssertUnwindSafe(|| socket.dispatch(&name, args, ack)))
        };
        let mut inbox = lock(&self.shared.inbox);
        inbox.inline = false;
        if outcome.is_err() {
            // As when the client's thread unwinds: the caller closes the session (a protocol
            // error), which disconnects its sockets on a thread of their own.
            self.shared.tell(inbox);
            return Err(format!("the handler of quick event {name:?} panicked"));
        }
        self.hand_on(inbox);
        Ok(())
    }

    /// After a quick handler: what was queued meanwhile goes to the client's thread, woken or
    /// started.
    fn hand_on(&self, mut inbox: MutexGuard<'_, Inbox>) {
        let shared = &self.shared;
        if inbox.queue.is_empty() {
            return;
        }
        if inbox.running {
            shared.tell(inbox);
            return;
        }
        inbox.running = true;
        drop(inbox);
        start(shared, None);
    }
}
