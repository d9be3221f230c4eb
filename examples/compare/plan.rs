//! What the comparison runs: the groups of servers compared with each other, what each
//! scenario needs a server to provide, and the list of runs for `--quick` or the full run.

/// Servers compared on the same scenarios, with a table of their own.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Group {
    /// Echo, stream, idle and UDP over the plain protocols.
    Tcp,
    /// threadsock's echo over a Unix domain socket against the same over TCP loopback.
    Unix,
    /// The line chat's fan-out.
    Chat,
    /// The Socket.IO scenarios.
    SocketIo,
}

/// The denominator of a ratio column.
#[derive(Clone, Copy, Debug)]
pub enum Den {
    /// One target.
    Target(&'static str),
    /// The faster (higher median) of these targets in this run; the report names it.
    Faster(&'static [&'static str]),
}

/// A ratio column: `num` over `den`, from medians.
#[derive(Clone, Copy, Debug)]
pub struct Ratio {
    pub num: &'static str,
    pub den: Den,
    pub header: &'static str,
}

impl Group {
    pub const ALL: [Group; 4] = [Group::Tcp, Group::Unix, Group::Chat, Group::SocketIo];

    /// Its name for `--groups`.
    pub fn name(self) -> &'static str {
        match self {
            Group::Tcp => "tcp",
            Group::Unix => "unix",
            Group::Chat => "chat",
            Group::SocketIo => "socketio",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Group::Tcp => "Echo, stream, idle and UDP: threadsock, tokio, Node",
            Group::Unix => "Echo over a Unix domain socket against TCP loopback (threadsock)",
            Group::Chat => {
                "Chat fan-out: threadsock, tokio (batched), Node (seed chat, line-correct chat)"
            }
            Group::SocketIo => "Socket.IO: threadsock, Node socket.io 4.8, socketioxide",
        }
    }

    /// The targets, in the order each round runs them.
    pub fn targets(self) -> &'static [&'static str] {
        match self {
            Group::Tcp => &["threadsock", "tokio", "node"],
            Group::Unix => &["threadsock-tcp", "threadsock-unix"],
            Group::Chat => &["threadsock", "tokio", "node", "node-lines"],
            Group::SocketIo => &["threadsock", "node", "socketioxide"],
        }
    }

    pub fn ratios(self) -> &'static [Ratio] {
        const TS_TOKIO: Ratio = Ratio {
            num: "threadsock",
            den: Den::Target("tokio"),
            header: "threadsock/tokio",
        };
        const TS_NODE: Ratio = Ratio {
            num: "threadsock",
            den: Den::Target("node"),
            header: "threadsock/node",
        };
        match self {
            Group::Tcp => &[TS_TOKIO, TS_NODE],
            Group::Unix => &[Ratio {
                num: "threadsock-unix",
                den: Den::Target("threadsock-tcp"),
                header: "unix/tcp",
            }],
            Group::Chat => &[
                TS_TOKIO,
                Ratio {
                    num: "threadsock",
                    den: Den::Faster(&["node", "node-lines"]),
                    header: "threadsock/faster node",
                },
            ],
            Group::SocketIo => &[
                TS_NODE,
                Ratio {
                    num: "threadsock",
                    den: Den::Target("socketioxide"),
                    header: "threadsock/socketioxide",
                },
            ],
        }
    }
}

/// What a scenario needs the server to provide.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Service {
    Echo,
    Udp,
    Chat,
    /// A Socket.IO app that acknowledges `message-with-ack` with its arguments.
    SioAck,
    /// The Socket.IO chat app: `join` with an ack, `message` relayed to the room.
    SioChat,
    /// A Socket.IO app that sends a joining client nothing others hear about.
    SioQuiet,
}

/// One benchmark run: what to pass to `threadsock bench`, against every target of its group.
#[derive(Clone, Debug)]
pub struct Run {
    pub scenario: &'static str,
    pub group: Group,
    pub service: Service,
    pub conns: usize,
    pub size: usize,
    pub inflight: usize,
    pub messages: usize,
}

impl Run {
    pub fn label(&self) -> String {
        let n = self.conns;
        match (self.group, self.scenario) {
            (Group::Unix, _) => format!("echo unix {} B, {n} conns", self.size),
            (_, "echo") => format!("echo ping-pong {} B, {n} conns", self.size),
            (_, "stream") => format!("stream {} KiB, {n} conns", self.size / 1024),
            (_, "idle") => format!("idle, {n} conns"),
            (_, "chat") => format!("chat fan-out, {n} clients"),
            (_, "udp") => format!("udp {} B, {} in flight", self.size, self.inflight),
            (_, "sio-ack") => format!("sio-ack {} B, {n} clients", self.size),
            (_, "sio-fanout") => format!("sio-fanout, {n} clients"),
            (_, "sio-connect") => format!("sio-connect, {n} workers"),
            (_, "sio-idle") => format!("sio-idle, {n} clients"),
            (_, other) => format!("{other}, {n}"),
        }
    }

    pub fn metric(&self) -> &'static str {
        match self.scenario {
            "echo" => "round trips/s",
            "stream" => "MB/s",
            "idle" | "sio-idle" => "server KiB per conn",
            "chat" => "lines/s delivered",
            "udp" => "datagrams/s",
            "sio-ack" => "acks/s",
            "sio-fanout" => "messages/s delivered",
            "sio-connect" => "sessions/s",
            _ => "ops/s",
        }
    }

    /// Whether a lower figure is the better one (memory).
    pub fn holds(&self) -> bool {
        matches!(self.scenario, "idle" | "sio-idle")
    }

    /// What the x axis of a chart counts for this scenario.
    pub fn x_label(&self) -> &'static str {
        match self.scenario {
            "chat" | "sio-fanout" | "sio-ack" | "sio-idle" => "clients",
            "sio-connect" => "workers",
            _ => "connections",
        }
    }
}

/// Every run, group by group; `quick` keeps the same scenarios with fewer deliveries and
/// without the 10,000-client Socket.IO hold.
pub fn plan(quick: bool) -> Vec<Run> {
    let run = |scenario, group, service, conns, size| Run {
        scenario,
        group,
        service,
        conns,
        size,
        inflight: 1,
        messages: 0,
    };
    let mut runs = Vec::new();
    for conns in [1, 10, 100, 1000, 5000] {
        runs.push(run("echo", Group::Tcp, Service::Echo, conns, 64));
    }
    for conns in [1, 100] {
        runs.push(run("stream", Group::Tcp, Service::Echo, conns, 16 * 1024));
    }
    for conns in [1000, 10_000] {
        runs.push(run("idle", Group::Tcp, Service::Echo, conns, 1));
    }
    for inflight in [1, 64] {
        let mut r = run("udp", Group::Tcp, Service::Udp, 1, 64);
        r.inflight = inflight;
        runs.push(r);
    }
    for conns in [1, 100] {
        runs.push(run("echo", Group::Unix, Service::Echo, conns, 64));
    }
    let deliveries = if quick { 3_000_000 } else { 10_000_000 };
    for clients in [10, 100, 1000] {
        let mut r = run("chat", Group::Chat, Service::Chat, clients, 64);
        r.messages = (deliveries / clients).clamp(1000, 1_000_000);
        runs.push(r);
    }
    let sio = |scenario, service, conns| run(scenario, Group::SocketIo, service, conns, 64);
    for conns in [100, 1000] {
        runs.push(sio("sio-ack", Service::SioAck, conns));
    }
    let deliveries = if quick { 200_000 } else { 1_000_000 };
    for clients in [100, 1000] {
        let mut r = sio("sio-fanout", Service::SioChat, clients);
        r.messages = (deliveries / clients).clamp(100, 20_000);
        runs.push(r);
    }
    for conns in [100, 1000] {
        runs.push(sio("sio-connect", Service::SioQuiet, conns));
    }
    let held: &[usize] = if quick { &[1000] } else { &[1000, 10_000] };
    for &conns in held {
        runs.push(sio("sio-idle", Service::SioQuiet, conns));
    }
    runs
}
