//! `threadsock serve`: binds the selected services on the configured address and starts them.

use crate::cli::ServeOptions;
use crate::server::{cap_max_conns, Limits, OsLimits, Server};
use crate::service::chat::Chat;
use crate::service::cluster::Cluster;
use crate::service::files::Files;
use crate::service::socketio::pages::Pages;
use crate::service::socketio::{chat_app, stats_feed, SocketIo};
use crate::service::web::{self, Route};
use crate::service::{daytime, echo, Service};
use std::fmt;
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long shutdown waits for chat clients to receive `* server shutting down`.
const CHAT_GOODBYE: Duration = Duration::from_millis(500);

/// A socket that could not be bound, named as the `listening` lines name it, or a files
/// directory that cannot be used.
#[derive(Debug)]
pub struct BindError {
    /// E.g. `echo/tcp 127.0.0.1:7007`, or `files directory ./server_files`.
    pub what: String,
    /// The OS's reason.
    pub source: io::Error,
    /// True when the command line asked for something unusable (the files directory is a
    /// file, or not writable): `serve` exits 2, as for any usage error, instead of 1.
    pub usage: bool,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.usage { "use" } else { "start" };
        write!(
            f,
            "cannot {verb} {}: {}",
            self.what,
            crate::out::why(&self.source)
        )
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The limits `opts` asks for, with `--max-conns` capped at this machine's thread ceiling; the
/// second value says what was lowered, if anything.
pub fn limits(opts: &ServeOptions) -> (Limits, Option<String>) {
    let ceiling = OsLimits::read().ceiling();
    let threads_per_conn = opts
        .services
        .iter()
        .map(|s| s.threads_per_client())
        .max()
        .unwrap_or(1);
    let (max_conns, note) = cap_max_conns(opts.max_conns, ceiling.as_ref(), threads_per_conn);
    let limits = Limits {
        max_conns,
        idle_timeout: opts.idle_timeout,
        stack_size: opts.stack_size,
    };
    (limits, note)
}

/// Binds and starts every service `opts` selects. Stops at the first socket that cannot be
/// bound; the sockets already started are stopped when the returned error drops the server.
pub fn start(opts: &ServeOptions, limits: Limits) -> Result<Server, BindError> {
    let mut server = Server::new(limits);
    let mut hub = SharedHub(None);
    for &service in &opts.services {
        let name = service.name();
        match service {
            Service::Echo => {
                let addr = SocketAddr::new(opts.bind, opts.echo_port);
                let banner = opts.banner.as_deref().map(echo::banner_line);
                let (listener, socket) = bind_pair(name, addr)?;
                let handler = move |conn: &mut _| echo::serve(conn, banner.as_deref()).map(drop);
                server
                    .add_tcp(name, listener, handler.clone())
                    .map_err(|e| spawn_error(&format!("{name}/tcp"), e))?;
                server
                    .add_udp(name, socket, |packet, _, reply| {
                        echo::datagram(packet, reply)
                    })
                    .map_err(|e| spawn_error(&format!("{name}/udp"), e))?;
                if let Some(dir) = &opts.unix_dir {
                    let (unix, path) = bind_unix(name, dir, opts.unix_mode)?;
                    server
                        .add_unix(name, unix, &path, handler)
                        .map_err(|e| spawn_error(&format!("{name}/unix"), e))?;
                }
            }
            Service::Daytime => {
                let addr = SocketAddr::new(opts.bind, opts.daytime_port);
                let (listener, socket) = bind_pair(name, addr)?;
                server
                    .add_tcp(name, listener, daytime::serve)
                    .map_err(|e| spawn_error(&format!("{name}/tcp"), e))?;
                server
                    .add_udp(name, socket, |packet, _, reply| {
                        daytime::datagram(packet, reply)
                    })
                    .map_err(|e| spawn_error(&format!("{name}/udp"), e))?;
            }
            Service::Chat => {
                let addr = SocketAddr::new(opts.bind, opts.chat_port);
                let listener = bind_tcp(name, addr)?;
                let chat = hub.get(opts, &mut server)?;
                let for_tcp = Arc::clone(&chat);
                server
                    .add_tcp(name, listener, move |conn| for_tcp.serve(conn))
                    .map_err(|e| spawn_error(&format!("{name}/tcp"), e))?;
                if let Some(dir) = &opts.unix_dir {
                    let (unix, path) = bind_unix(name, dir, opts.unix_mode)?;
                    server
                        .add_unix(name, unix, &path, move |conn| chat.serve(conn))
                        .map_err(|e| spawn_error(&format!("{name}/unix"), e))?;
                }
            }
            Service::SocketIo => {
                let addr = SocketAddr::new(opts.bind, opts.socketio_port);
                let listener = bind_tcp(name, addr)?;
                let chat = hub.get(opts, &mut server)?;
                let io = SocketIo::builder()
                    .cors(opts.cors_origin.clone())
                    .max_payload(opts.max_payload)
                    .flow(chat.flow())
                    .build();
                chat_app::install(&io, chat);
                let pages = Pages::new(opts.client_js.as_deref()).map_err(|source| BindError {
                    what: format!(
                        "--client-js {}",
                        opts.client_js.as_deref().unwrap_or(Path::new("")).display()
                    ),
                    source,
                    usage: true,
                })?;
                let feed = stats_feed::start(server.sampler(), io.of("/server"))
                    .map_err(|e| spawn_error("socketio stats", e))?;
                let (for_stop, for_stats) = (io.clone(), io.clone());
                let routes: Vec<Arc<dyn Route>> = vec![Arc::new(io), Arc::new(pages)];
                // A pending poll is answered with a close packet, and a WebSocket gets its
                // close frame, before the socket closes.
                server.stop_reads_only(name);
                server.on_stop(move || drop(feed));
                server
                    .add_tcp(name, listener, move |conn| web::serve(conn, &routes))
                    .map_err(|e| spawn_error(&format!("{name}/tcp"), e))?;
                server.on_stop(move || for_stop.shutdown(CHAT_GOODBYE));
                server.add_metrics(move || for_stats.metrics());
            }
            Service::Files => {
                let addr = SocketAddr::new(opts.bind, opts.files_port);
                let files = Files::open(&opts.files).map_err(|source| BindError {
                    what: format!("files directory {}", opts.files.dir.display()),
                    source,
                    usage: true,
                })?;
                let (listener, socket) = bind_pair(name, addr)?;
                let (for_udp, for_stats) = (Arc::clone(&files), Arc::clone(&files));
                // Uploads are told `ERR server shutting down` before the close.
                server.stop_reads_only(name);
                server
                    .add_tcp(name, listener, move |conn| files.serve(conn))
                    .map_err(|e| spawn_error(&format!("{name}/tcp"), e))?;
                server
                    .add_udp(name, socket, move |packet, from, reply| {
                        for_udp.datagram(packet, from, reply)
                    })
                    .map_err(|e| spawn_error(&format!("{name}/udp"), e))?;
                server.add_metrics(move || for_stats.metrics());
            }
        }
    }
    Ok(server)
}

fn bind_tcp(service: &str, addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).map_err(|source| BindError {
        what: format!("{service}/tcp {addr}"),
        source,
        usage: false,
    })
}

/// Binds `DIR/<service>.sock` and gives it `mode`. A socket file left by a server that is gone
/// (a connect is refused) is replaced; one that accepts a connection belongs to a live server,
/// and is left alone with an error, as is a path that is not a socket.
fn bind_unix(service: &str, dir: &Path, mode: u32) -> Result<(UnixListener, PathBuf), BindError> {
    let path = dir.join(format!("{service}.sock"));
    let fail = |source: io::Error| BindError {
        what: format!("{service}/unix {}", path.display()),
        source,
        usage: false,
    };
    if let Ok(meta) = fs::symlink_metadata(&path) {
        if !meta.file_type().is_socket() {
            return Err(fail(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the path exists and is not a socket",
            )));
        }
        match UnixStream::connect(&path) {
            Ok(_) => {
                return Err(fail(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "another server is listening on it",
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                fs::remove_file(&path).map_err(fail)?;
            }
            Err(e) => return Err(fail(e)),
        }
    }
    let listener = UnixListener::bind(&path).map_err(fail)?;
    if let Err(e) = fs::set_permissions(&path, fs::Permissions::from_mode(mode)) {
        let _ = fs::remove_file(&path);
        return Err(fail(e));
    }
    Ok((listener, path))
}

/// How many free ports [`bind_pair`] tries before giving up.
const PAIR_ATTEMPTS: usize = 10;

/// Binds TCP and UDP on the same port of `addr`. Port 0 picks one free port for both: TCP is
/// bound to port 0 first, then UDP to the port it got; if that UDP port is taken, both are
/// dropped and another port is tried, [`PAIR_ATTEMPTS`] times at most.
fn bind_pair(service: &str, addr: SocketAddr) -> Result<(TcpListener, UdpSocket), BindError> {
    let mut attempt = 1;
    loop {
        let listener = bind_tcp(service, addr)?;
        let mut udp_addr = addr;
        if addr.port() == 0 {
            let port = listener
                .local_addr()
                .map_err(|e| spawn_error(&format!("{service}/tcp {addr}"), e))?
                .port();
            udp_addr.set_port(port);
        }
        match bind_udp(service, udp_addr) {
            Ok(socket) => return Ok((listener, socket)),
            Err(e)
                if addr.port() == 0
                    && attempt < PAIR_ATTEMPTS
                    && e.source.kind() == io::ErrorKind::AddrInUse =>
            {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn bind_udp(service: &str, addr: SocketAddr) -> Result<UdpSocket, BindError> {
    UdpSocket::bind(addr).map_err(|source| BindError {
        what: format!("{service}/udp {addr}"),
        source,
        usage: false,
    })
}

fn spawn_error(what: &str, source: io::Error) -> BindError {
    BindError {
        what: what.to_string(),
        source,
        usage: false,
    }
}

/// The chat hub, started by the first service that needs it (`chat` or `socketio`): both
/// serve the same rooms.
struct SharedHub(Option<Arc<Chat>>);

impl SharedHub {
    fn get(&mut self, opts: &ServeOptions, server: &mut Server) -> Result<Arc<Chat>, BindError> {
        if let Some(chat) = &self.0 {
            return Ok(Arc::clone(chat));
        }
        // With --redis, the rooms are shared with other nodes: the cluster's publisher starts
        // first (it is the hub's uplink), its subscriber once the hub runs.
        let cluster = (opts.redis.clone()).map(|url| Cluster::start(url, opts.redis_timeout));
        let uplink = cluster.as_ref().map(|c| c.uplink());
        let chat = Chat::start_with(opts.chat, uplink).map_err(|e| spawn_error("chat hub", e))?;
        if let Some(cluster) = cluster {
            cluster.attach(&chat);
            crate::log!(
                "cluster: node {} shares the chat's rooms through {}",
                cluster.uid(),
                opts.redis
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            let for_stats = Arc::clone(&cluster);
            server.add_metrics(move || for_stats.metrics());
            server.on_stop(move || cluster.stop());
        }
        let (for_stop, for_stats) = (Arc::clone(&chat), Arc::clone(&chat));
        server.on_stop(move || for_stop.shutdown(CHAT_GOODBYE));
        server.add_metrics(move || for_stats.metrics());
        self.0 = Some(Arc::clone(&chat));
        Ok(chat)
    }
}
