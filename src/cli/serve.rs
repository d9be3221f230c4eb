//! `threadsock serve`'s options: the table and the parser. Every default comes from
//! [`defaults`](crate::defaults).

use super::{help, matches, number, options_from, parse_size, Command, UsageError};
use crate::defaults as d;
use crate::service::cluster::RedisUrl;
use crate::service::web::Cors;
use crate::service::{chat::ChatConfig, files::FilesConfig, Service};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `threadsock serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address every socket binds to.
    pub bind: IpAddr,
    /// Services to run, in [`Service::ALL`]'s order.
    pub services: Vec<Service>,
    /// Echo port, TCP and UDP.
    pub echo_port: u16,
    /// Daytime port, TCP and UDP.
    pub daytime_port: u16,
    /// Chat port, TCP.
    pub chat_port: u16,
    /// Chat line length limit and outbox size.
    pub chat: ChatConfig,
    /// Files port, TCP and UDP.
    pub files_port: u16,
    /// Where files go and how large they may be.
    pub files: FilesConfig,
    /// Socket.IO port, TCP (HTTP long-polling and WebSocket).
    pub socketio_port: u16,
    /// Origins whose pages may use the Socket.IO service, besides its own.
    pub cors_origin: Cors,
    /// Largest Socket.IO message or HTTP body.
    pub max_payload: usize,
    /// The official socket.io-client bundle to serve at `/socket.io/socket.io.js`.
    pub client_js: Option<PathBuf>,
    /// Connection limit before the OS ceiling is applied.
    pub max_conns: usize,
    /// Idle timeout; `None` for none.
    pub idle_timeout: Option<Duration>,
    /// Connection thread stack size in bytes.
    pub stack_size: usize,
    /// Greeting sent by echo before echoing.
    pub banner: Option<String>,
    /// Interval of the stats line; `None` for none.
    pub stats: Option<Duration>,
    /// Directory where echo and chat are also served on `echo.sock` and `chat.sock`.
    pub unix_dir: Option<PathBuf>,
    /// `--redis`: the Redis that links this node's chat rooms to other nodes'.
    pub redis: Option<RedisUrl>,
    /// `--redis-timeout`: how long a request to the other nodes waits for answers.
    pub redis_timeout: Duration,
    /// Permission bits of those socket files.
    pub unix_mode: u32,
}

/// `serve`'s options: (name, value hint, help). Each help states its default, from
/// [`defaults`](crate::defaults).
fn serve_options() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "bind",
            "ADDR",
            format!("address to bind (default {}; :: for IPv6)", d::BIND),
        ),
        (
            "only",
            "LIST",
            format!(
                "services to run, comma-separated (default: {})",
                service_names(",")
            ),
        ),
        (
            "echo-port",
            "N",
            format!("echo port, TCP and UDP (default {})", d::ECHO_PORT),
        ),
        (
            "daytime-port",
            "N",
            format!("daytime port, TCP and UDP (default {})", d::DAYTIME_PORT),
        ),
        (
            "chat-port",
            "N",
            format!("chat port, TCP (default {})", d::CHAT_PORT),
        ),
        (
            "files-port",
            "N",
            format!("files port, TCP and UDP (default {})", d::FILES_PORT),
        ),
        (
            "socketio-port",
            "N",
            format!(
                "Socket.IO port, HTTP and WebSocket (default {})",
                d::SOCKETIO_PORT
            ),
        ),
        (
            "cors-origin",
            "LIST",
            "origins whose pages may use Socket.IO besides its own: '*' or a comma-separated \
             list like http://localhost:8080 (default: none)"
                .to_string(),
        ),
        (
            "client-js",
            "PATH",
            "serve this socket.io.min.js (from your own socket.io-client install) at \
             /socket.io/socket.io.js (default: not served)"
                .to_string(),
        ),
        (
            "max-payload",
            "BYTES",
            format!(
                "largest Socket.IO message or HTTP body (default {})",
                d::MAX_PAYLOAD
            ),
        ),
        (
            "files-dir",
            "DIR",
            format!("where uploads are stored (default {})", d::FILES_DIR),
        ),
        (
            "max-file",
            "SIZE",
            format!(
                "largest upload: bytes, or with K, M or G (default {})",
                d::MAX_FILE_TEXT
            ),
        ),
        (
            "max-line",
            "BYTES",
            format!("longest chat line (default {})", d::MAX_LINE),
        ),
        (
            "outbox",
            "N",
            format!(
                "chat lines that may wait for one client (default {})",
                d::OUTBOX_LINES
            ),
        ),
        (
            "chat-stall",
            "MS",
            format!(
                "a chat client that is behind and accepts no bytes this long is dropped \
                 (default {})",
                d::CHAT_STALL_MS
            ),
        ),
        (
            "unix-dir",
            "DIR",
            "also serve echo and chat on the Unix sockets DIR/echo.sock and DIR/chat.sock \
             (default: none)"
                .to_string(),
        ),
        (
            "unix-mode",
            "OCTAL",
            format!(
                "permissions of those socket files (default {:o})",
                d::UNIX_MODE
            ),
        ),
        (
            "redis",
            "URL",
            "share the chat's rooms with other nodes (threadsock or Node socket.io with \
             @socket.io/redis-adapter) through Redis, e.g. redis://127.0.0.1:6379 \
             (default: none)"
                .to_string(),
        ),
        (
            "redis-timeout",
            "MS",
            format!(
                "how long a question to the other nodes (/who, /rooms) waits for their answers \
                 before it makes do with those that came (default {})",
                d::REDIS_REQUEST_TIMEOUT_MS
            ),
        ),
        (
            "max-conns",
            "N",
            format!(
                "connections served at once, TCP and Unix (default {})",
                d::MAX_CONNS
            ),
        ),
        (
            "idle-timeout",
            "SECS",
            format!(
                "close a client idle this long; 0 = never (default {})",
                d::IDLE_TIMEOUT_SECS
            ),
        ),
        (
            "stack-size",
            "KIB",
            format!(
                "stack of each connection thread (default {})",
                d::STACK_SIZE_KIB
            ),
        ),
        (
            "banner",
            "TEXT",
            "line echo sends to each TCP client first".into(),
        ),
        (
            "stats",
            "SECS",
            "print a stats line on stderr every SECS seconds".into(),
        ),
    ]
}

/// Parses the arguments after `serve`.
pub(super) fn parse(args: &[String]) -> Result<Command, UsageError> {
    let opts = options_from(&serve_options());
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "serve [options]",
            "Runs the services until SIGINT or SIGTERM. Prints `listening <service>/<proto> <addr>` on stdout\n\
             for each bound socket; logs go to stderr. A port of 0 picks a free port (for echo, daytime\n\
             and files the same one for TCP and UDP).",
        ));
    }
    if let Some(extra) = m.free.first() {
        return Err(UsageError(format!("unexpected argument '{extra}'")));
    }
    let bind = match m.opt_str("bind") {
        None => d::BIND,
        Some(s) if s == "localhost" => IpAddr::from([127, 0, 0, 1]),
        Some(s) => s
            .parse()
            .map_err(|_| UsageError(format!("--bind: '{s}' is not an IP address")))?,
    };
    let services = match m.opt_str("only") {
        None => Service::ALL.to_vec(),
        Some(list) => parse_only(&list)?,
    };
    let idle: u64 = number(&m, "idle-timeout", d::IDLE_TIMEOUT_SECS, 0, 10_000_000)?;
    let stack_kib: usize = number(&m, "stack-size", d::STACK_SIZE_KIB, 32, 1 << 20)?;
    let stall_ms: u64 = number(&m, "chat-stall", d::CHAT_STALL_MS, 50, 60_000)?;
    let stats: u64 = number(&m, "stats", 0, 1, 86_400)?;
    Ok(Command::Serve(ServeOptions {
        bind,
        services,
        echo_port: number(&m, "echo-port", d::ECHO_PORT, 0, u16::MAX)?,
        daytime_port: number(&m, "daytime-port", d::DAYTIME_PORT, 0, u16::MAX)?,
        chat_port: number(&m, "chat-port", d::CHAT_PORT, 0, u16::MAX)?,
        files_port: number(&m, "files-port", d::FILES_PORT, 0, u16::MAX)?,
        socketio_port: number(&m, "socketio-port", d::SOCKETIO_PORT, 0, u16::MAX)?,
        cors_origin: m
            .opt_str("cors-origin")
            .map_or(Cors::SameOrigin, |o| Cors::parse(&o)),
        max_payload: number(&m, "max-payload", d::MAX_PAYLOAD, 1024, 1 << 30)?,
        client_js: m.opt_str("client-js").map(PathBuf::from),
        files: FilesConfig {
            dir: m
                .opt_str("files-dir")
                .map_or_else(|| PathBuf::from(d::FILES_DIR), PathBuf::from),
            max_file: match m.opt_str("max-file") {
                None => d::MAX_FILE,
                Some(text) => parse_size(&text).ok_or_else(|| {
                    UsageError(format!(
                        "--max-file: '{text}' is not a size like 1048576, 512K, 10M or 1G"
                    ))
                })?,
            },
        },
        chat: ChatConfig {
            max_line: number(&m, "max-line", d::MAX_LINE, 16, 1 << 20)?,
            outbox_lines: number(&m, "outbox", d::OUTBOX_LINES, 1, 1 << 20)?,
            stall: Duration::from_millis(stall_ms),
        },
        max_conns: number(&m, "max-conns", d::MAX_CONNS, 1, 10_000_000)?,
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
        stack_size: stack_kib * 1024,
        banner: m.opt_str("banner"),
        stats: m.opt_present("stats").then(|| Duration::from_secs(stats)),
        unix_dir: m.opt_str("unix-dir").map(PathBuf::from),
        redis: match m.opt_str("redis") {
            None => None,
            Some(text) => {
                Some(RedisUrl::parse(&text).map_err(|e| UsageError(format!("--redis: {e}")))?)
            }
        },
        redis_timeout: Duration::from_millis(number(
            &m,
            "redis-timeout",
            d::REDIS_REQUEST_TIMEOUT_MS,
            1,
            600_000,
        )?),
        unix_mode: match m.opt_str("unix-mode") {
            None => d::UNIX_MODE,
            Some(text) => parse_mode(&text).ok_or_else(|| {
                UsageError(format!(
                    "--unix-mode: '{text}' is not an octal mode like 600 or 660"
                ))
            })?,
        },
    }))
}

/// An octal permission mode of at most `777`.
fn parse_mode(text: &str) -> Option<u32> {
    u32::from_str_radix(text, 8).ok().filter(|&m| m <= 0o777)
}

fn parse_only(list: &str) -> Result<Vec<Service>, UsageError> {
    let mut wanted = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let service = Service::parse(name).ok_or_else(|| {
            UsageError(format!(
                "--only: unknown service '{name}' (known: {})",
                service_names(", ")
            ))
        })?;
        wanted.push(service);
    }
    if wanted.is_empty() {
        return Err(UsageError("--only: no service named".into()));
    }
    Ok(Service::ALL
        .into_iter()
        .filter(|s| wanted.contains(s))
        .collect())
}

/// Every service's name, joined by `sep`.
fn service_names(sep: &str) -> String {
    Service::ALL.map(Service::name).join(sep)
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::test_lines::*;
    use super::*;

    #[test]
    fn serve_defaults() {
        let o = serve("serve");
        assert_eq!(o.bind, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(o.services, Service::ALL);
        assert_eq!(
            (o.echo_port, o.daytime_port, o.chat_port),
            (7007, 7013, 9000)
        );
        assert_eq!(o.chat, ChatConfig::default());
        assert_eq!(o.files_port, 8124);
        assert_eq!(o.files, FilesConfig::default());
        assert_eq!(o.max_conns, 4096);
        assert_eq!(o.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(o.stack_size, 128 * 1024);
        assert_eq!(o.banner, None);
        assert_eq!(o.stats, None);
        assert_eq!((o.unix_dir, o.unix_mode), (None, 0o600));
    }

    #[test]
    fn unix_sockets() {
        let o = serve("serve --unix-dir /run/ts --unix-mode 660");
        assert_eq!(o.unix_dir, Some(PathBuf::from("/run/ts")));
        assert_eq!(o.unix_mode, 0o660);
        assert!(usage_error("serve --unix-mode 999").contains("--unix-mode"));
        assert!(usage_error("serve --unix-mode 1777").contains("--unix-mode"));
        assert!(usage_error("serve --unix-dir").contains("unix-dir"));
        let table = serve_options();
        let help = table.iter().find(|o| o.0 == "unix-mode").unwrap();
        assert!(help.2.contains("(default 600)"));
    }

    #[test]
    fn serve_every_option() {
        let mut a = args("serve --bind :: --only daytime --echo-port 0 --daytime-port 1313 --max-conns 10 --chat-port 0 --max-line 100 --outbox 8 --chat-stall 1000 --files-port 0 --files-dir /tmp/up --max-file 10M --idle-timeout 0 --stack-size 64 --stats 5 --banner");
        a.push("Mensagem do servidor!".into());
        let Ok(Command::Serve(o)) = parse(&a) else {
            panic!()
        };
        assert_eq!(o.bind, "::".parse::<IpAddr>().unwrap());
        assert_eq!(o.services, vec![Service::Daytime]);
        assert_eq!((o.echo_port, o.daytime_port), (0, 1313));
        assert_eq!(o.max_conns, 10);
        assert_eq!(o.chat_port, 0);
        assert_eq!((o.chat.max_line, o.chat.outbox_lines), (100, 8));
        assert_eq!(o.chat.stall, Duration::from_millis(1000));
        assert_eq!(o.files_port, 0);
        assert_eq!(o.files.dir, PathBuf::from("/tmp/up"));
        assert_eq!(o.files.max_file, 10 << 20);
        assert_eq!(o.idle_timeout, None);
        assert_eq!(o.stack_size, 64 * 1024);
        assert_eq!(o.stats, Some(Duration::from_secs(5)));
        assert_eq!(o.banner.as_deref(), Some("Mensagem do servidor!"));
    }

    #[test]
    fn only_keeps_table_order() {
        assert_eq!(
            serve("serve --only daytime,echo").services,
            vec![Service::Echo, Service::Daytime]
        );
    }

    #[test]
    fn bad_serve_lines() {
        assert!(usage_error("serve --echo-port 70000").contains("--echo-port"));
        assert!(usage_error("serve --max-conns 0").contains("--max-conns"));
        assert!(usage_error("serve --max-line 2").contains("--max-line"));
        assert!(usage_error("serve --outbox 0").contains("--outbox"));
        assert!(usage_error("serve --chat-stall 10").contains("--chat-stall"));
        assert!(usage_error("serve --chat-stall 60001").contains("--chat-stall"));
        assert!(usage_error("serve --max-file lots").contains("--max-file"));
        assert!(usage_error("serve --bind nowhere").contains("--bind"));
        assert!(usage_error("serve --only gopher").contains("gopher"));
        assert!(usage_error("serve --only ,").contains("no service"));
        assert!(usage_error("serve --stack-size 4").contains("--stack-size"));
        assert!(usage_error("serve --frobnicate").contains("frobnicate"));
        assert!(usage_error("serve extra").contains("extra"));
    }

    #[test]
    fn help_states_the_real_defaults() {
        let table = serve_options();
        let help = |name: &str| table.iter().find(|o| o.0 == name).unwrap().2.as_str();
        let d = serve("serve");
        assert!(help("echo-port").contains(&format!("(default {})", d.echo_port)));
        assert!(help("daytime-port").contains(&format!("(default {})", d.daytime_port)));
        assert!(help("chat-port").contains(&format!("(default {})", d.chat_port)));
        assert!(help("files-port").contains(&format!("(default {})", d.files_port)));
        assert!(help("max-conns").contains(&format!("(default {})", d.max_conns)));
        assert!(help("max-line").contains(&format!("(default {})", d.chat.max_line)));
        assert!(help("outbox").contains(&format!("(default {})", d.chat.outbox_lines)));
        let stall_ms = d.chat.stall.as_millis();
        assert!(help("chat-stall").contains(&format!("(default {stall_ms})")));
        let idle = d.idle_timeout.unwrap().as_secs();
        assert!(help("idle-timeout").contains(&format!("(default {idle})")));
        let stack_kib = d.stack_size / 1024;
        assert!(help("stack-size").contains(&format!("(default {stack_kib})")));
        assert!(help("bind").contains(&format!("(default {};", d.bind)));
        assert!(help("files-dir").contains(&format!("(default {})", d.files.dir.display())));
        let max_file = help("max-file");
        let text = max_file
            .split("(default ")
            .nth(1)
            .unwrap()
            .trim_end_matches(')');
        assert_eq!(parse_size(text), Some(d.files.max_file));
        assert!(help("only").contains(&service_names(",")));
    }

    #[test]
    fn redis_takes_a_url_and_refuses_what_it_cannot_use() {
        let o = serve("serve");
        assert_eq!(o.redis, None);
        assert_eq!(
            o.redis_timeout,
            Duration::from_millis(d::REDIS_REQUEST_TIMEOUT_MS)
        );
        let o = serve("serve --redis redis://:pw@127.0.0.1:6390/2 --redis-timeout 250");
        let url = o.redis.unwrap();
        assert_eq!((url.port, url.db), (6390, 2));
        assert_eq!(o.redis_timeout, Duration::from_millis(250));
        assert!(usage_error("serve --redis rediss://127.0.0.1").contains("--redis"));
        assert!(usage_error("serve --redis-timeout 0").contains("redis-timeout"));
    }
}
