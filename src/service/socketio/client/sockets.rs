//! A client's sockets, by namespace.

use crate::service::socketio::namespace::socket::Socket;

/// A client's sockets by namespace: mostly one, so a list sized to fit, not a hash map.
#[derive(Default)]
pub(super) struct Sockets(pub(super) Vec<(String, Socket)>);

impl Sockets {
    pub(super) fn get(&self, nsp: &str) -> Option<Socket> {
        self.0
            .iter()
            .find(|(n, _)| n == nsp)
            .map(|(_, s)| s.clone())
    }

    pub(super) fn insert(&mut self, nsp: String, socket: Socket) {
        self.remove(&nsp);
        self.0.reserve_exact(1);
        self.0.push((nsp, socket));
    }

    pub(super) fn remove(&mut self, nsp: &str) -> Option<Socket> {
        let i = self.0.iter().position(|(n, _)| n == nsp)?;
        Some(self.0.swap_remove(i).1)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
