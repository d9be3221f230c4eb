//! The command line: option tables per subcommand and parsing into a [`Command`]. Pure: no I/O.

use crate::client::bench::{BenchOptions, Scenario};
use crate::service::{self, chat::ChatConfig, files::FilesConfig};
use getopts::{Matches, Options};
use std::fmt;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Default port of the echo service (RFC 862's port 7, moved above 1024).
pub const ECHO_PORT: u16 = 7007;
/// Default port of the daytime service (RFC 867's port 13, moved above 1024).
pub const DAYTIME_PORT: u16 = 7013;
/// Default port of the chat service (the seed's chat server's port).
pub const CHAT_PORT: u16 = 9000;
/// Default port of the files service (the seed's upload servers' port).
pub const FILES_PORT: u16 = 8124;

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print this text on stdout and exit 0.
    Help(String),
    /// Print the version and exit 0.
    Version,
    /// Run the server.
    Serve(ServeOptions),
    /// Interactive line client.
    Talk(Target),
    /// Is a TCP port open?
    Probe(Target, Duration),
    /// Interactive UDP client; waits this long for replies after stdin ends.
    Udp(Target, Duration),
    /// Upload a file.
    Send(SendOptions),
    /// Run a load scenario.
    Bench(BenchOptions),
}

/// Options of `threadsock send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// The files server.
    pub target: Target,
    /// The file to send; `-` for stdin.
    pub file: String,
    /// Send as one UDP datagram instead of a TCP stream.
    pub udp: bool,
    /// How long to wait for the server's reply.
    pub timeout: Duration,
}

/// A host and port to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address, as given.
    pub host: String,
    /// Port number.
    pub port: u16,
}

/// Options of `threadsock serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address every socket binds to.
    pub bind: IpAddr,
    /// Services to run (names from [`service::NAMES`]), in that table's order.
    pub services: Vec<&'static str>,
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
}

/// A command line that cannot be run; printed on stderr with exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

const TOP_USAGE: &str = "\
Usage: threadsock <command> [options]

A blocking, thread-per-connection socket server and its clients.

Commands:
  serve    run the echo, daytime, chat and files services
  talk     send stdin lines to a TCP server, print what it sends
  probe    tell whether a TCP port is open
  udp      send stdin lines as UDP datagrams, print the replies
  send     upload a file to the files service (TCP, or one UDP datagram)
  bench    load an echo, chat or UDP echo server and report rates and latencies

Options:
  -h, --help       print this help (or `threadsock <command> --help`)
  -V, --version    print the version

Run `threadsock <command> --help` for a command's options.";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some(first) = args.first() else {
        return Err(UsageError("no command given".into()));
    };
    let rest = &args[1..];
    match first.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help(TOP_USAGE.into())),
        "-V" | "--version" => Ok(Command::Version),
        "serve" => parse_serve(rest),
        "talk" => {
            let opts = help_only();
            let m = matches(&opts, rest)?;
            if m.opt_present("help") {
                return Ok(help(&opts, "talk HOST PORT", TALK_ABOUT));
            }
            Ok(Command::Talk(target(&m)?))
        }
        "probe" | "udp" => {
            let mut opts = help_only();
            opts.optopt("", "timeout", "milliseconds to wait (default 1000)", "MS");
            let m = matches(&opts, rest)?;
            let about = if first == "probe" {
                PROBE_ABOUT
            } else {
                UDP_ABOUT
            };
            if m.opt_present("help") {
                return Ok(help(
                    &opts,
                    &format!("{first} HOST PORT [--timeout MS]"),
                    about,
                ));
            }
            let ms: u64 = number(&m, "timeout", 1000, 1, 3_600_000)?;
            let t = target(&m)?;
            let timeout = Duration::from_millis(ms);
            Ok(if first == "probe" {
                Command::Probe(t, timeout)
            } else {
                Command::Udp(t, timeout)
            })
        }
        "send" => parse_send(rest),
        "bench" => parse_bench(rest),
        other if other.starts_with('-') => Err(UsageError(format!("unknown option '{other}'"))),
        other => Err(UsageError(format!("unknown command '{other}'"))),
    }
}

const TALK_ABOUT: &str =
    "Sends each line of stdin to the server and copies what the server sends to stdout.\n\
When stdin ends it half-closes and keeps printing until the server closes.";
const PROBE_ABOUT: &str =
    "Prints `open` and exits 0 if a TCP server accepts a connection, else `closed` and exits 1.";
const UDP_ABOUT: &str = "Sends each line of stdin as one datagram and prints each reply.\n\
After stdin ends it waits --timeout for late replies.";

/// `serve`'s options: (name, value hint, help). Defaults are stated in the help text.
const SERVE_OPTIONS: &[(&str, &str, &str)] = &[
    (
        "bind",
        "ADDR",
        "address to bind (default 127.0.0.1; :: for IPv6)",
    ),
    (
        "only",
        "LIST",
        "services to run, comma-separated (default: echo,daytime,chat,files)",
    ),
    ("echo-port", "N", "echo port, TCP and UDP (default 7007)"),
    (
        "daytime-port",
        "N",
        "daytime port, TCP and UDP (default 7013)",
    ),
    ("chat-port", "N", "chat port, TCP (default 9000)"),
    ("files-port", "N", "files port, TCP and UDP (default 8124)"),
    (
        "files-dir",
        "DIR",
        "where uploads are stored (default ./server_files)",
    ),
    (
        "max-file",
        "SIZE",
        "largest upload: bytes, or with K, M or G (default 1G)",
    ),
    ("max-line", "BYTES", "longest chat line (default 4096)"),
    (
        "outbox",
        "N",
        "chat lines that may wait for one client (default 1024)",
    ),
    (
        "max-conns",
        "N",
        "TCP connections served at once (default 4096)",
    ),
    (
        "idle-timeout",
        "SECS",
        "close a client idle this long; 0 = never (default 300)",
    ),
    (
        "stack-size",
        "KIB",
        "stack of each connection thread (default 128)",
    ),
    ("banner", "TEXT", "line echo sends to each TCP client first"),
    (
        "stats",
        "SECS",
        "print a stats line on stderr every SECS seconds",
    ),
];

fn parse_serve(args: &[String]) -> Result<Command, UsageError> {
    let mut opts = help_only();
    for (name, hint, help) in SERVE_OPTIONS {
        opts.optopt("", name, help, hint);
    }
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "serve [options]",
            "Runs the services until SIGINT or SIGTERM. Prints `listening <service>/<proto> <addr>` on stdout\n\
             for each bound socket; logs go to stderr.",
        ));
    }
    if let Some(extra) = m.free.first() {
        return Err(UsageError(format!(
            "serve takes no arguments, got '{extra}'"
        )));
    }
    let bind = match m.opt_str("bind") {
        None => IpAddr::from([127, 0, 0, 1]),
        Some(s) if s == "localhost" => IpAddr::from([127, 0, 0, 1]),
        Some(s) => s
            .parse()
            .map_err(|_| UsageError(format!("--bind: '{s}' is not an IP address")))?,
    };
    let services = match m.opt_str("only") {
        None => service::NAMES.to_vec(),
        Some(list) => parse_only(&list)?,
    };
    let idle: u64 = number(&m, "idle-timeout", 300, 0, 10_000_000)?;
    let stack_kib: usize = number(&m, "stack-size", 128, 32, 1 << 20)?;
    let stats: u64 = number(&m, "stats", 0, 1, 86_400)?;
    Ok(Command::Serve(ServeOptions {
        bind,
        services,
        echo_port: number(&m, "echo-port", ECHO_PORT, 0, u16::MAX)?,
        daytime_port: number(&m, "daytime-port", DAYTIME_PORT, 0, u16::MAX)?,
        chat_port: number(&m, "chat-port", CHAT_PORT, 0, u16::MAX)?,
        files_port: number(&m, "files-port", FILES_PORT, 0, u16::MAX)?,
        files: FilesConfig {
            dir: m
                .opt_str("files-dir")
                .map_or_else(|| FilesConfig::default().dir, PathBuf::from),
            max_file: match m.opt_str("max-file") {
                None => FilesConfig::default().max_file,
                Some(text) => parse_size(&text).ok_or_else(|| {
                    UsageError(format!(
                        "--max-file: '{text}' is not a size like 1048576, 512K, 10M or 1G"
                    ))
                })?,
            },
        },
        chat: ChatConfig {
            max_line: number(&m, "max-line", 4096, 16, 1 << 20)?,
            outbox_lines: number(&m, "outbox", 1024, 1, 1 << 20)?,
        },
        max_conns: number(&m, "max-conns", 4096, 1, 10_000_000)?,
        idle_timeout: (idle > 0).then(|| Duration::from_secs(idle)),
        stack_size: stack_kib * 1024,
        banner: m.opt_str("banner"),
        stats: m.opt_present("stats").then(|| Duration::from_secs(stats)),
    }))
}

fn parse_send(args: &[String]) -> Result<Command, UsageError> {
    let mut opts = help_only();
    opts.optflag(
        "u",
        "udp",
        "send the file as one UDP datagram (at most 65,507 bytes)",
    );
    opts.optopt(
        "",
        "timeout",
        "milliseconds to wait for the reply (default 10000)",
        "MS",
    );
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "send [--udp] HOST PORT FILE",
            "Uploads FILE (- for stdin) to a files server and checks the size and CRC-32 it reports.\n\
             Prints the server's `saved <name> <bytes> <crc32>` line; exits 1 on `ERR` or a mismatch.",
        ));
    }
    let (target, file) = match m.free.as_slice() {
        [host, port, file] => (
            Target {
                host: host.clone(),
                port: port
                    .parse()
                    .map_err(|_| UsageError(format!("'{port}' is not a port number (0-65535)")))?,
            },
            file.clone(),
        ),
        [_, _, _, extra, ..] => return Err(UsageError(format!("unexpected argument '{extra}'"))),
        _ => return Err(UsageError("expected HOST PORT FILE".into())),
    };
    Ok(Command::Send(SendOptions {
        target,
        file,
        udp: m.opt_present("udp"),
        timeout: Duration::from_millis(number(&m, "timeout", 10_000, 1, 3_600_000)?),
    }))
}

/// `bench`'s options: (name, value hint, help).
const BENCH_OPTIONS: &[(&str, &str, &str)] = &[
    ("addr", "ADDR", "the server, e.g. 127.0.0.1:7007 (required)"),
    ("conns", "N", "connections: echo, stream, idle (default 1)"),
    ("clients", "N", "chat receivers (default 10)"),
    (
        "messages",
        "M",
        "chat lines the sender sends (default 10000)",
    ),
    (
        "size",
        "BYTES",
        "message, chunk or datagram size (default 64; stream 16384)",
    ),
    (
        "duration",
        "SECS",
        "measured time; for chat, the longest delivery may take (default 5)",
    ),
    ("warmup", "SECS", "unmeasured time first (default 1)"),
    (
        "hold",
        "SECS",
        "idle: how long connections are held (default 5)",
    ),
    ("inflight", "K", "udp: datagrams in flight (default 1)"),
    (
        "threads",
        "N",
        "load threads (default: one per CPU, at most 8)",
    ),
    (
        "pid",
        "PID",
        "the server's pid: report its RSS, threads, context switches",
    ),
    (
        "target",
        "NAME",
        "label for the CSV target column (default: the address)",
    ),
    ("csv", "FILE", "append one CSV row to FILE"),
];

fn parse_bench(args: &[String]) -> Result<Command, UsageError> {
    let mut opts = help_only();
    for (name, hint, help) in BENCH_OPTIONS {
        opts.optopt("", name, help, hint);
    }
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "bench echo|stream|idle|chat|udp --addr ADDR [options]",
            "echo: closed-loop ping-pong, each connection writes SIZE bytes and waits for them.\n\
             stream: pipelined echo throughput. idle: open, verify and hold connections.\n\
             chat: CLIENTS receivers, one sender of MESSAGES lines. udp: UDP echo, K in flight.",
        ));
    }
    let scenario = match m.free.as_slice() {
        [name] => Scenario::parse(name).ok_or_else(|| {
            UsageError(format!(
                "unknown scenario '{name}' (echo, stream, idle, chat, udp)"
            ))
        })?,
        [] => {
            return Err(UsageError(
                "expected a scenario: echo, stream, idle, chat or udp".into(),
            ))
        }
        [_, extra, ..] => return Err(UsageError(format!("unexpected argument '{extra}'"))),
    };
    let addr_text = m
        .opt_str("addr")
        .ok_or_else(|| UsageError("--addr is required".into()))?;
    let addr: SocketAddr = addr_text
        .parse()
        .map_err(|_| UsageError(format!("--addr: '{addr_text}' is not IP:PORT")))?;
    let secs = |name: &str, default: f64| -> Result<Duration, UsageError> {
        match m.opt_str(name) {
            None => Ok(Duration::from_secs_f64(default)),
            Some(t) => match t.parse::<f64>() {
                Ok(v) if (0.0..=86_400.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
                _ => Err(UsageError(format!(
                    "--{name}: '{t}' is not a number of seconds"
                ))),
            },
        }
    };
    let default_size = if scenario == Scenario::Stream {
        16_384
    } else {
        64
    };
    let conns_default = if scenario == Scenario::Chat { 10 } else { 1 };
    let conns = if scenario == Scenario::Chat {
        number(&m, "clients", conns_default, 1, 1_000_000)?
    } else {
        number(&m, "conns", conns_default, 1, 1_000_000)?
    };
    Ok(Command::Bench(BenchOptions {
        scenario,
        addr,
        conns,
        size: number(&m, "size", default_size, 1, 1 << 24)?,
        duration: secs("duration", 5.0)?,
        warmup: secs("warmup", 1.0)?,
        hold: secs("hold", 5.0)?,
        messages: number(&m, "messages", 10_000, 1, 100_000_000)?,
        inflight: number(&m, "inflight", 1, 1, 65_536)?,
        threads: number(&m, "threads", 0, 0, 4096)?,
        pid: m
            .opt_str("pid")
            .map(|p| p.parse())
            .transpose()
            .map_err(|_| UsageError("--pid: not a process id".into()))?,
        target: m.opt_str("target").unwrap_or(addr_text),
        csv: m.opt_str("csv"),
    }))
}

/// Parses `1048576`, `512K`, `10M` or `1G` (binary multiples) into bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()?.to_ascii_uppercase() {
        b'K' => (&text[..text.len() - 1], 10),
        b'M' => (&text[..text.len() - 1], 20),
        b'G' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn parse_only(list: &str) -> Result<Vec<&'static str>, UsageError> {
    let mut wanted = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !service::NAMES.contains(&name) {
            return Err(UsageError(format!(
                "--only: unknown service '{name}' (known: {})",
                service::NAMES.join(", ")
            )));
        }
        wanted.push(name);
    }
    if wanted.is_empty() {
        return Err(UsageError("--only: no service named".into()));
    }
    Ok(service::NAMES
        .iter()
        .copied()
        .filter(|n| wanted.contains(n))
        .collect())
}

fn help_only() -> Options {
    let mut opts = Options::new();
    opts.optflag("h", "help", "print this help");
    opts
}

fn help(opts: &Options, synopsis: &str, about: &str) -> Command {
    Command::Help(opts.usage(&format!("Usage: threadsock {synopsis}\n\n{about}")))
}

fn matches(opts: &Options, args: &[String]) -> Result<Matches, UsageError> {
    opts.parse(args).map_err(|e| UsageError(e.to_string()))
}

fn target(m: &Matches) -> Result<Target, UsageError> {
    match m.free.as_slice() {
        [host, port] => Ok(Target {
            host: host.clone(),
            port: port
                .parse()
                .map_err(|_| UsageError(format!("'{port}' is not a port number (0-65535)")))?,
        }),
        [] | [_] => Err(UsageError("expected HOST PORT".into())),
        [_, _, extra, ..] => Err(UsageError(format!("unexpected argument '{extra}'"))),
    }
}

/// Reads option `name` as a number in `min..=max`, or `default` when absent.
fn number<T>(m: &Matches, name: &str, default: T, min: T, max: T) -> Result<T, UsageError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(text) = m.opt_str(name) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(UsageError(format!(
            "--{name}: '{text}' is not a number from {min} to {max}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn serve(line: &str) -> ServeOptions {
        match parse(&args(line)) {
            Ok(Command::Serve(o)) => o,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn usage_error(line: &str) -> String {
        match parse(&args(line)) {
            Err(UsageError(msg)) => msg,
            other => panic!("{line}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn serve_defaults() {
        let o = serve("serve");
        assert_eq!(o.bind, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(o.services, vec!["echo", "daytime", "chat", "files"]);
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
    }

    #[test]
    fn serve_every_option() {
        let mut a = args("serve --bind :: --only daytime --echo-port 0 --daytime-port 1313 --max-conns 10 --chat-port 0 --max-line 100 --outbox 8 --files-port 0 --files-dir /tmp/up --max-file 10M --idle-timeout 0 --stack-size 64 --stats 5 --banner");
        a.push("Mensagem do servidor!".into());
        let Ok(Command::Serve(o)) = parse(&a) else {
            panic!()
        };
        assert_eq!(o.bind, "::".parse::<IpAddr>().unwrap());
        assert_eq!(o.services, vec!["daytime"]);
        assert_eq!((o.echo_port, o.daytime_port), (0, 1313));
        assert_eq!(o.max_conns, 10);
        assert_eq!(o.chat_port, 0);
        assert_eq!((o.chat.max_line, o.chat.outbox_lines), (100, 8));
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
            vec!["echo", "daytime"]
        );
    }

    #[test]
    fn bad_serve_lines() {
        assert!(usage_error("serve --echo-port 70000").contains("--echo-port"));
        assert!(usage_error("serve --max-conns 0").contains("--max-conns"));
        assert!(usage_error("serve --max-line 2").contains("--max-line"));
        assert!(usage_error("serve --outbox 0").contains("--outbox"));
        assert!(usage_error("serve --max-file lots").contains("--max-file"));
        assert!(usage_error("serve --bind nowhere").contains("--bind"));
        assert!(usage_error("serve --only gopher").contains("gopher"));
        assert!(usage_error("serve --only ,").contains("no service"));
        assert!(usage_error("serve --stack-size 4").contains("--stack-size"));
        assert!(usage_error("serve --frobnicate").contains("frobnicate"));
        assert!(usage_error("serve extra").contains("extra"));
    }

    #[test]
    fn clients() {
        let t = Target {
            host: "localhost".into(),
            port: 9000,
        };
        assert_eq!(
            parse(&args("talk localhost 9000")),
            Ok(Command::Talk(t.clone()))
        );
        assert_eq!(
            parse(&args("probe localhost 9000")),
            Ok(Command::Probe(t.clone(), Duration::from_millis(1000)))
        );
        assert_eq!(
            parse(&args("udp localhost 9000 --timeout 250")),
            Ok(Command::Udp(t, Duration::from_millis(250)))
        );
        assert!(usage_error("talk localhost").contains("HOST PORT"));
        assert!(usage_error("talk localhost port").contains("port number"));
        assert!(usage_error("probe a 1 b").contains("'b'"));
        assert!(usage_error("udp a 1 --timeout 0").contains("--timeout"));
        assert_eq!(
            parse(&args("send --udp h 8124 -")),
            Ok(Command::Send(SendOptions {
                target: Target {
                    host: "h".into(),
                    port: 8124
                },
                file: "-".into(),
                udp: true,
                timeout: Duration::from_secs(10),
            }))
        );
        assert!(usage_error("send h 8124").contains("HOST PORT FILE"));
    }

    #[test]
    fn help_states_the_real_defaults() {
        let help = |name: &str| SERVE_OPTIONS.iter().find(|o| o.0 == name).unwrap().2;
        let d = serve("serve");
        assert!(help("echo-port").contains(&format!("(default {})", d.echo_port)));
        assert!(help("daytime-port").contains(&format!("(default {})", d.daytime_port)));
        assert!(help("chat-port").contains(&format!("(default {})", d.chat_port)));
        assert!(help("files-port").contains(&format!("(default {})", d.files_port)));
        assert!(help("max-conns").contains(&format!("(default {})", d.max_conns)));
        assert!(help("max-line").contains(&format!("(default {})", d.chat.max_line)));
        assert!(help("outbox").contains(&format!("(default {})", d.chat.outbox_lines)));
        assert!(help("only").contains(&service::NAMES.join(",")));
    }

    #[test]
    fn bench_lines() {
        let Ok(Command::Bench(b)) = parse(&args(
            "bench echo --addr 127.0.0.1:7007 --conns 100 --size 64 --duration 2 --warmup 0.5 --csv out.csv --target threadsock",
        )) else {
            panic!()
        };
        assert_eq!(b.scenario, Scenario::Echo);
        assert_eq!(b.conns, 100);
        assert_eq!(b.duration, Duration::from_secs(2));
        assert_eq!(b.warmup, Duration::from_millis(500));
        assert_eq!(b.csv.as_deref(), Some("out.csv"));
        assert_eq!(b.target, "threadsock");
        let Ok(Command::Bench(c)) = parse(&args(
            "bench chat --addr 127.0.0.1:9000 --clients 1000 --messages 50",
        )) else {
            panic!()
        };
        assert_eq!(
            (c.conns, c.messages, c.target.as_str()),
            (1000, 50, "127.0.0.1:9000")
        );
        let Ok(Command::Bench(s)) = parse(&args("bench stream --addr 127.0.0.1:1")) else {
            panic!()
        };
        assert_eq!(s.size, 16_384);
        assert!(usage_error("bench echo").contains("--addr"));
        assert!(usage_error("bench http --addr 127.0.0.1:1").contains("unknown scenario"));
        assert!(usage_error("bench echo --addr localhost").contains("IP:PORT"));
        assert!(usage_error("bench echo --addr 127.0.0.1:1 --duration soon").contains("--duration"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("512K"), Some(512 << 10));
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn top_level() {
        assert!(matches!(parse(&args("--help")), Ok(Command::Help(_))));
        assert!(matches!(parse(&args("help")), Ok(Command::Help(_))));
        assert_eq!(parse(&args("--version")), Ok(Command::Version));
        assert!(
            matches!(parse(&args("serve --help")), Ok(Command::Help(h)) if h.contains("--max-conns"))
        );
        assert!(
            matches!(parse(&args("talk -h")), Ok(Command::Help(h)) if h.contains("talk HOST PORT"))
        );
        assert!(usage_error("").contains("no command"));
        assert!(usage_error("frob").contains("unknown command"));
        assert!(usage_error("--frob").contains("unknown option"));
    }
}
