//! The server core: runs blocking handlers on listeners and sockets the caller bound, and stops
//! them all on request. It knows services only as handlers.

mod ceiling;
mod connection;
pub mod fd_table;
mod registry;
mod stats;
mod tcp;
mod timer;
mod udp;

pub use ceiling::{cap_max_conns, Ceiling, OsLimits};
pub use connection::{is_timeout, Connection, CountingWriter, StopSignal};
pub use stats::{
    figures, stats_line, Metric, ProcessFigures, ServiceSnapshot, ServiceStats, StatsSample,
};
pub use tcp::{TcpHandler, BUSY_LINE};
pub use timer::Timer;
pub use udp::{UdpHandler, MIN_REPLY_PORT};

use crate::defaults;
use crate::net::Addr;
use crossbeam_channel::{Receiver, Sender};
use registry::Registry;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long [`Server::stop`] waits for connection threads to finish after closing their sockets.
/// Together with the rest of shutdown this keeps a stop well under two seconds.
pub const STOP_GRACE: Duration = Duration::from_millis(1500);

/// Limits applied to every stream connection (TCP or Unix) of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once, across services; the next one gets [`BUSY_LINE`].
    pub max_conns: usize,
    /// A client silent (or not reading) this long is closed; `None` waits forever.
    pub idle_timeout: Option<Duration>,
    /// Stack size of each connection thread, in bytes. Only touched pages cost memory.
    pub stack_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_conns: defaults::MAX_CONNS,
            idle_timeout: Some(defaults::IDLE_TIMEOUT),
            stack_size: defaults::STACK_SIZE,
        }
    }
}

/// Transport of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// A TCP listener with an accept loop.
    Tcp,
    /// A UDP socket with its own thread.
    Udp,
    /// A Unix domain stream listener, served like TCP.
    Unix,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Unix => "unix",
        })
    }
}

/// A bound socket being served.
#[derive(Debug)]
pub struct Endpoint {
    /// The service's name, e.g. `echo`.
    pub service: &'static str,
    /// TCP, UDP or Unix.
    pub proto: Proto,
    /// The address actually bound (port 0 resolved), or the Unix socket's path.
    pub addr: Addr,
    thread: Option<JoinHandle<()>>,
}

/// State shared by the server handle and every thread it started.
#[derive(Debug)]
pub(crate) struct Shared {
    stopping: AtomicBool,
    registry: Arc<Registry>,
    limits: Limits,
}

impl Shared {
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// What [`Server::stop`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReport {
    /// Time from the call to the return.
    pub elapsed: Duration,
    /// Connection threads still running when the grace period ran out (normally 0).
    pub unfinished: usize,
}

type StopHook = Box<dyn FnOnce() + Send>;
type MetricSource = Box<dyn Fn() -> Vec<Metric> + Send + Sync>;

/// What a sample is taken from; shared with every [`Sampler`].
#[derive(Default)]
struct Sources {
    stats: Vec<Arc<ServiceStats>>,
    metrics: Vec<MetricSource>,
}

/// Takes [`StatsSample`]s of a server from any thread, including services added after it was
/// made (for a live view such as the `/server` page). Cheap to clone.
#[derive(Clone)]
pub struct Sampler(Arc<Mutex<Sources>>);

impl fmt::Debug for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler").finish_non_exhaustive()
    }
}

impl Sampler {
    /// Counters and metrics now.
    pub fn sample(&self) -> StatsSample {
        let sources = self.0.lock().unwrap_or_else(|e| e.into_inner());
        StatsSample {
            services: sources.stats.iter().map(|s| s.snapshot()).collect(),
            metrics: sources.metrics.iter().flat_map(|f| f()).collect(),
            at: Instant::now(),
        }
    }
}

/// A running server: the caller binds sockets, hands them over with a handler, and later stops.
///
/// Dropping the handle stops the server too.
pub struct Server {
    shared: Arc<Shared>,
    endpoints: Vec<Endpoint>,
    sources: Sampler,
    stop_hooks: Vec<StopHook>,
    /// Each loop thread holds a clone and drops it on exit; all gone means all loops ended.
    loops_alive: Option<Sender<()>>,
    loops_done: Receiver<()>,
    stopped: bool,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("endpoints", &self.endpoints)
            .field("limits", &self.shared.limits)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with no endpoints yet.
    pub fn new(limits: Limits) -> Self {
        let (alive, done) = crossbeam_channel::bounded(0);
        Server {
            shared: Arc::new(Shared {
                stopping: AtomicBool::new(false),
                registry: Arc::default(),
                limits,
            }),
            endpoints: Vec::new(),
            sources: Sampler(Arc::default()),
            stop_hooks: Vec::new(),
            loops_alive: Some(alive),
            loops_done: done,
            stopped: false,
        }
    }

    /// The limits every connection runs under.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Serves `listener` with `handler`, one thread per client; returns the bound address.
    pub fn add_tcp<H>(
        &mut self,
        service: &'static str,
        listener: TcpListener,
        handler: H,
    ) -> io::Result<SocketAddr>
    where
        H: Fn(&mut Connection) -> io::Result<()> + Send + Sync + 'static,
    {
        let addr = listener.local_addr()?;
        let stats = self.new_stats(service, "tcp");
        let shared = Arc::clone(&self.shared);
        let alive = self.loop_token()?;
        let thread = tcp::start(listener, stats, Arc::new(handler), shared, &alive)?;
        self.endpoints.push(Endpoint {
            service,
            proto: Proto::Tcp,
            addr: Addr::Ip(addr),
            thread: Some(thread),
        });
        Ok(addr)
    }

    /// Serves the Unix domain socket `listener`, bound at `path`, with `handler` exactly as
    /// [`Server::add_tcp`] serves TCP: the same connection limit, idle timeout and stop. The
    /// server takes over the socket file: [`Server::stop`] removes it.
    pub fn add_unix<H>(
        &mut self,
        service: &'static str,
        listener: UnixListener,
        path: &Path,
        handler: H,
    ) -> io::Result<()>
    where
        H: Fn(&mut Connection) -> io::Result<()> + Send + Sync + 'static,
    {
        let stats = self.new_stats(service, "unix");
        let shared = Arc::clone(&self.shared);
        let alive = self.loop_token()?;
        let path = path.to_path_buf();
        let bound = (listener, path.clone());
        let thread = tcp::start(bound, stats, Arc::new(handler), shared, &alive)?;
        self.endpoints.push(Endpoint {
            service,
            proto: Proto::Unix,
            addr: Addr::Unix(path),
            thread: Some(thread),
        });
        Ok(())
    }

    /// Serves `socket` with `handler` on one dedicated thread; returns the bound address.
    pub fn add_udp<H>(
        &mut self,
        service: &'static str,
        socket: UdpSocket,
        handler: H,
    ) -> io::Result<SocketAddr>
    where
        H: FnMut(&[u8], SocketAddr, &mut Vec<u8>) -> bool + Send + 'static,
    {
        let addr = socket.local_addr()?;
        let stats = self.new_stats(service, "udp");
        let shared = Arc::clone(&self.shared);
        let alive = self.loop_token()?;
        let handler: UdpHandler = Box::new(handler);
        let thread = thread::Builder::new()
            .name(format!("{service}-udp"))
            .spawn(move || {
                let _alive = alive;
                udp::datagram_loop(socket, stats, handler, shared);
            })?;
        self.endpoints.push(Endpoint {
            service,
            proto: Proto::Udp,
            addr: Addr::Ip(addr),
            thread: Some(thread),
        });
        Ok(addr)
    }

    fn new_stats(&mut self, service: &'static str, proto: &'static str) -> Arc<ServiceStats> {
        let stats = Arc::new(ServiceStats::new(service, proto));
        lock(&self.sources.0).stats.push(Arc::clone(&stats));
        stats
    }

    fn loop_token(&self) -> io::Result<Sender<()>> {
        self.loops_alive
            .clone()
            .ok_or_else(|| io::Error::other("the server has been stopped"))
    }

    /// The endpoints in the order they were added.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The bound address of `service` over `proto`, if served.
    pub fn local_addr(&self, service: &str, proto: Proto) -> Option<SocketAddr> {
        self.endpoint_addr(service, proto).and_then(Addr::ip)
    }

    /// The path of `service`'s Unix socket, if served.
    pub fn unix_path(&self, service: &str) -> Option<PathBuf> {
        match self.endpoint_addr(service, Proto::Unix) {
            Some(Addr::Unix(p)) => Some(p.clone()),
            _ => None,
        }
    }

    fn endpoint_addr(&self, service: &str, proto: Proto) -> Option<&Addr> {
        self.endpoints
            .iter()
            .find(|e| e.service == service && e.proto == proto)
            .map(|e| &e.addr)
    }

    /// Counters of every endpoint, in the order they were added.
    pub fn stats(&self) -> Vec<ServiceSnapshot> {
        lock(&self.sources.0)
            .stats
            .iter()
            .map(|s| s.snapshot())
            .collect()
    }

    /// Adds service-specific figures to every [`StatsSample`].
    pub fn add_metrics(&mut self, source: impl Fn() -> Vec<Metric> + Send + Sync + 'static) {
        lock(&self.sources.0).metrics.push(Box::new(source));
    }

    /// Counters and metrics now, for the stats line.
    pub fn sample(&self) -> StatsSample {
        self.sources.sample()
    }

    /// A handle that samples this server from another thread.
    pub fn sampler(&self) -> Sampler {
        self.sources.clone()
    }

    /// Live stream connections (TCP and Unix) across services.
    pub fn connections(&self) -> usize {
        self.shared.registry.len()
    }

    /// Blocks until at most `n` TCP connections are live; false if `timeout` passed first.
    pub fn wait_connections_at_most(&self, n: usize, timeout: Duration) -> bool {
        self.shared.registry.wait_at_most(n, timeout)
    }

    /// Blocks until at least `n` TCP connections are live; false if `timeout` passed first.
    pub fn wait_connections_at_least(&self, n: usize, timeout: Duration) -> bool {
        self.shared.registry.wait_at_least(n, timeout)
    }

    /// Blocks until at least `n` TCP connections have been served to the end (their threads
    /// finished) since start; false if `timeout` passed first. Lets a caller wait for work it
    /// cannot see from the client side, such as a file stored after the client left.
    pub fn wait_connections_finished(&self, n: u64, timeout: Duration) -> bool {
        self.shared.registry.wait_finished(n, timeout)
    }

    /// True once [`Server::stop`] has begun.
    pub fn is_stopping(&self) -> bool {
        self.shared.is_stopping()
    }

    /// Makes [`Server::stop`] shut down only the reading side of `service`'s TCP connections,
    /// instead of both: each handler's blocked `read` still returns 0 (or what the client had
    /// already sent, then 0), but the handler can still write a last line, such as the files
    /// service's `ERR server shutting down`, which a shutdown of both sides would make fail,
    /// the client never told why. The socket is closed when the handler returns. Call it before
    /// [`Server::add_tcp`], and only for a service whose handler checks
    /// [`StopSignal::is_stopping`] after each read and writes only short answers: a `write`
    /// blocked on a client that does not read is not woken by such a stop.
    ///
    /// It is set when a connection is admitted, not by its handler, so a stop that comes before
    /// the handler's thread has started treats the connection the same way.
    pub fn stop_reads_only(&mut self, service: &'static str) {
        self.shared.registry.stop_reads_only(service);
    }

    /// Runs `hook` at the start of [`Server::stop`], before connections are closed, so a service
    /// can say goodbye to its clients. A hook must finish quickly: the stop bound includes it.
    pub fn on_stop(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.stop_hooks.push(Box::new(hook));
    }

    /// Stops accepting (waking each blocked `accept` by connecting to it, and removing each Unix
    /// socket file), stops the UDP threads,
    /// shuts down every live connection so its blocked thread returns, and waits for all of them
    /// up to [`STOP_GRACE`]. Calling it again does nothing.
    pub fn stop(&mut self) -> StopReport {
        let start = Instant::now();
        if self.stopped {
            return StopReport {
                elapsed: Duration::ZERO,
                unfinished: 0,
            };
        }
        self.stopped = true;
        self.shared.stopping.store(true, Ordering::Release);
        for hook in self.stop_hooks.drain(..) {
            hook();
        }
        for e in &self.endpoints {
            match &e.addr {
                Addr::Ip(addr) => wake(e.proto, *addr),
                Addr::Unix(path) => {
                    let _ = UnixStream::connect(path);
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        self.shared.registry.close_all();
        // Every loop thread holds a sender; when the last one exits, recv reports disconnection.
        self.loops_alive = None;
        let deadline = start + STOP_GRACE;
        let _ = self.loops_done.recv_deadline(deadline);
        for e in &mut self.endpoints {
            if e.thread.as_ref().is_some_and(|t| t.is_finished()) {
                if let Some(t) = e.thread.take() {
                    let _ = t.join();
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        self.shared.registry.wait_at_most(0, left);
        StopReport {
            elapsed: start.elapsed(),
            unfinished: self.shared.registry.len(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Unblocks the thread serving `addr`: a connection for an accept loop, an empty datagram for a
/// UDP loop. An unspecified bind address is reached through loopback of the same family.
fn wake(proto: Proto, addr: SocketAddr) {
    let target = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    };
    match proto {
        Proto::Tcp | Proto::Unix => {
            let _ = TcpStream::connect_timeout(&target, Duration::from_millis(200));
        }
        Proto::Udp => {
            let local: SocketAddr = if target.is_ipv4() {
                (Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (Ipv6Addr::UNSPECIFIED, 0).into()
            };
            if let Ok(s) = UdpSocket::bind(local) {
                let _ = s.send_to(&[], target);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
