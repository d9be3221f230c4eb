//! The services: each a blocking function over a byte stream, plus its datagram form where the
//! protocol has one. They know nothing of threads, listeners or shutdown; [`Service`] names
//! them and says what each needs from the server (its sockets, its threads per client).

pub mod chat;
pub mod cluster;
pub mod daytime;
pub mod echo;
pub mod engineio;
pub mod files;
pub mod socketio;
pub mod web;

use crate::server::Proto;
use std::fmt;

/// A service `serve` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// RFC 862 echo, TCP and UDP.
    Echo,
    /// RFC 867 daytime, TCP and UDP.
    Daytime,
    /// The `nc` chat, TCP.
    Chat,
    /// File uploads, TCP and UDP.
    Files,
    /// Socket.IO (HTTP long-polling and WebSocket) on the chat's rooms, TCP.
    SocketIo,
}

impl Service {
    /// Every service, in the order their sockets are bound and listed.
    pub const ALL: [Service; 5] = [
        Service::Echo,
        Service::Daytime,
        Service::Chat,
        Service::Files,
        Service::SocketIo,
    ];

    /// The name used on the command line (`--only`) and in the `listening` lines.
    pub fn name(self) -> &'static str {
        match self {
            Service::Echo => "echo",
            Service::Daytime => "daytime",
            Service::Chat => "chat",
            Service::Files => "files",
            Service::SocketIo => "socketio",
        }
    }

    /// The service called `name`, if there is one.
    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The sockets the service is served on, in the order they are bound. Where there are two
    /// they share one port.
    pub fn protocols(self) -> &'static [Proto] {
        match self {
            Service::Echo | Service::Daytime | Service::Files => &[Proto::Tcp, Proto::Udp],
            Service::Chat | Service::SocketIo => &[Proto::Tcp],
        }
    }

    /// OS threads one TCP client may cost at most: a chat client has a reader and a writer
    /// thread; a Socket.IO client over WebSocket a reader, and while it is busy a writer and a
    /// thread for its handlers (an idle one holds its reader alone); every other client one
    /// thread.
    pub fn threads_per_client(self) -> usize {
        match self {
            Service::SocketIo => 3,
            Service::Chat => 2,
            Service::Echo | Service::Daytime | Service::Files => 1,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for s in Service::ALL {
            assert_eq!(Service::parse(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(Service::parse("gopher"), None);
        assert_eq!(Service::parse("Echo"), None);
    }

    #[test]
    fn what_each_needs() {
        assert_eq!(Service::Chat.protocols(), &[Proto::Tcp]);
        assert_eq!(Service::Files.protocols(), &[Proto::Tcp, Proto::Udp]);
        assert_eq!(Service::Chat.threads_per_client(), 2);
        assert_eq!(Service::Echo.threads_per_client(), 1);
    }
}
