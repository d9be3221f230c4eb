//! The command line: option tables per subcommand and parsing into a [`Command`]. Pure: no I/O.
//! `serve` and `bench` have their own modules; the clients' short tables live here.

use crate::client::bench::BenchOptions;
pub use crate::client::send::SendOptions;
pub use crate::client::{Address, Target};
use crate::defaults;
use getopts::{Matches, Options};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

mod bench;
mod serve;

pub use serve::ServeOptions;

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
    Talk(Address),
    /// Is a TCP port (or a Unix socket) open?
    Probe(Address, Duration),
    /// Interactive UDP client; waits this long for replies after stdin ends.
    Udp(Target, Duration),
    /// Upload a file.
    Send(SendOptions),
    /// Run a load scenario.
    Bench(BenchOptions),
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
  talk     send stdin lines to a TCP (or unix:PATH) server, print what it sends
  probe    tell whether a TCP port (or unix:PATH socket) is open
  udp      send stdin lines as UDP datagrams, print the replies
  send     upload a file to the files service (TCP, or one UDP datagram)
  bench    load an echo, chat or UDP echo server and report rates and latencies

Options:
  -h, --help       print this help (or `threadsock <command> --help`)
  -V, --version    print the version

Run `threadsock <command> --help` for a command's options.";

/// The subcommands, as the first argument names them.
pub const COMMANDS: &[&str] = &["serve", "talk", "probe", "udp", "send", "bench"];

/// The subcommand `args` names, if its first argument is one: usage errors name it.
pub fn command_name<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Option<&'static str> {
    let first = args.first()?.as_ref();
    COMMANDS.iter().copied().find(|c| first == *c)
}

/// Parses the arguments after the program name as the OS gave them. They may be any bytes:
/// `send`'s FILE is kept exactly (a file named in Latin-1 can be sent), everything else is
/// read as UTF-8 with invalid bytes replaced.
pub fn parse_os(args: &[OsString]) -> Result<Command, UsageError> {
    let lossy = |a: &OsString| a.to_string_lossy().into_owned();
    if args.first().and_then(|a| a.to_str()) != Some("send") {
        return parse(&args.iter().map(lossy).collect::<Vec<_>>());
    }
    // getopts refuses arguments that are not UTF-8: each goes in as a placeholder no real
    // argument can equal (the OS passes no NUL bytes), and comes back out after parsing.
    let placeholder = |i: usize| format!("\0{i}\0");
    let texts: Vec<String> = args
        .iter()
        .enumerate()
        .map(|(i, a)| a.to_str().map_or_else(|| placeholder(i), str::to_string))
        .collect();
    let unplace = |text: &str| {
        let mut text = text.to_string();
        for (i, a) in args
            .iter()
            .enumerate()
            .filter(|(_, a)| a.to_str().is_none())
        {
            text = text.replace(&placeholder(i), &lossy(a));
        }
        text
    };
    match parse(&texts) {
        Ok(Command::Send(mut o)) => {
            let raw = (0..args.len()).find(|&i| o.file.as_os_str() == placeholder(i).as_str());
            if let Some(i) = raw {
                o.file = PathBuf::from(&args[i]);
            }
            o.target.host = unplace(&o.target.host);
            o.name = o.name.as_deref().map(unplace);
            Ok(Command::Send(o))
        }
        Ok(other) => Ok(other),
        Err(UsageError(msg)) => Err(UsageError(unplace(&msg))),
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some(first) = args.first() else {
        return Err(UsageError("no command given".into()));
    };
    let rest = &args[1..];
    match first.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help(TOP_USAGE.into())),
        "-V" | "--version" => Ok(Command::Version),
        "serve" => serve::parse(rest),
        "talk" => {
            let opts = help_only();
            let m = matches(&opts, rest)?;
            if m.opt_present("help") {
                return Ok(help(&opts, "talk HOST PORT | talk unix:PATH", TALK_ABOUT));
            }
            Ok(Command::Talk(address(&m)?))
        }
        "probe" | "udp" => {
            let mut opts = help_only();
            let timeout_help = format!(
                "milliseconds to wait (default {})",
                defaults::PROBE_TIMEOUT_MS
            );
            opts.optopt("", "timeout", &timeout_help, "MS");
            let m = matches(&opts, rest)?;
            let (usage, about) = if first == "probe" {
                ("HOST PORT | probe unix:PATH", PROBE_ABOUT)
            } else {
                ("HOST PORT", UDP_ABOUT)
            };
            if m.opt_present("help") {
                return Ok(help(
                    &opts,
                    &format!("{first} {usage} [--timeout MS]"),
                    about,
                ));
            }
            let ms: u64 = number(&m, "timeout", defaults::PROBE_TIMEOUT_MS, 1, 3_600_000)?;
            let timeout = Duration::from_millis(ms);
            Ok(if first == "probe" {
                Command::Probe(address(&m)?, timeout)
            } else {
                Command::Udp(target(&m)?, timeout)
            })
        }
        "send" => parse_send(rest),
        "bench" => bench::parse(rest),
        other if other.starts_with('-') => Err(UsageError(format!("unknown option '{other}'"))),
        other => Err(UsageError(format!("unknown command '{other}'"))),
    }
}

const TALK_ABOUT: &str =
    "Sends each line of stdin to the server and copies what the server sends to stdout.\n\
When stdin ends it half-closes and keeps printing until the server closes.";
const PROBE_ABOUT: &str =
    "Prints `open` and exits 0 if a TCP server (or the Unix socket unix:PATH) accepts a\n\
connection, else `closed` and exits 1.";
const UDP_ABOUT: &str = "Sends each line of stdin as one datagram and prints each reply.\n\
After stdin ends it waits --timeout for late replies.";

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
        &format!(
            "milliseconds to wait for the reply (default {})",
            defaults::SEND_TIMEOUT_MS
        ),
        "MS",
    );
    opts.optopt(
        "",
        "name",
        "store the file under NAME (default: FILE's own name, `stdin` for -; TCP only)",
        "NAME",
    );
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "send [--udp] [--name NAME] HOST PORT FILE",
            "Uploads FILE (- for stdin) to a files server. Over TCP it announces the size, CRC-32 and\n\
             name first, so the server stores the file only if all of it arrived intact; with --udp\n\
             it checks the size and CRC-32 the server reports. Prints `saved <name> <bytes> <crc32>`\n\
             and exits 0 once the file is stored; exits 1 if it is not, 2 on a usage error.",
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
            PathBuf::from(file),
        ),
        [_, _, _, extra, ..] => return Err(UsageError(format!("unexpected argument '{extra}'"))),
        _ => return Err(UsageError("expected HOST PORT FILE".into())),
    };
    Ok(Command::Send(SendOptions {
        target,
        file,
        name: m.opt_str("name"),
        udp: m.opt_present("udp"),
        timeout: Duration::from_millis(number(
            &m,
            "timeout",
            defaults::SEND_TIMEOUT_MS,
            1,
            3_600_000,
        )?),
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

/// A subcommand's option table: `--help` plus one `--name VALUE` per (name, hint, help) row.
pub(crate) fn options_from(table: &[(&str, &str, String)]) -> Options {
    let mut opts = help_only();
    for (name, hint, help) in table {
        opts.optopt("", name, help, hint);
    }
    opts
}

pub(crate) fn help_only() -> Options {
    let mut opts = Options::new();
    opts.optflag("h", "help", "print this help");
    opts
}

pub(crate) fn help(opts: &Options, synopsis: &str, about: &str) -> Command {
    Command::Help(opts.usage(&format!("Usage: threadsock {synopsis}\n\n{about}")))
}

pub(crate) fn matches(opts: &Options, args: &[String]) -> Result<Matches, UsageError> {
    use getopts::Fail;
    // getopts names an option without its dashes and in sentence case; say it as typed.
    let dashed = |name: &str| {
        let long = format!("--{name}");
        let typed_long = args
            .iter()
            .any(|a| *a == long || a.starts_with(&format!("{long}=")));
        if typed_long || name.chars().count() > 1 {
            long
        } else {
            format!("-{name}")
        }
    };
    opts.parse(args).map_err(|e| {
        UsageError(match e {
            Fail::UnrecognizedOption(n) => format!("unknown option '{}'", dashed(&n)),
            Fail::ArgumentMissing(n) => format!("option '{}' needs a value", dashed(&n)),
            Fail::OptionMissing(n) => format!("option '{}' is required", dashed(&n)),
            Fail::OptionDuplicated(n) => format!("option '{}' given more than once", dashed(&n)),
            Fail::UnexpectedArgument(n) => format!("option '{}' takes no value", dashed(&n)),
        })
    })
}

/// `unix:PATH` alone, or `HOST PORT`.
fn address(m: &Matches) -> Result<Address, UsageError> {
    let unix = |a: &String| a.strip_prefix(crate::net::UNIX_PREFIX).map(PathBuf::from);
    match m.free.as_slice() {
        [one] if unix(one).is_some_and(|p| p.as_os_str().is_empty()) => Err(UsageError(
            "unix: needs a path, as in unix:/run/echo.sock".into(),
        )),
        [one] if unix(one).is_some() => Ok(Address::Unix(unix(one).unwrap_or_default())),
        [first, extra, ..] if unix(first).is_some() => {
            Err(UsageError(format!("unexpected argument '{extra}'")))
        }
        _ => target(m).map(Address::Host),
    }
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
pub(crate) fn number<T>(
    m: &Matches,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, UsageError>
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

/// Test helpers shared by the command modules' tests.
#[cfg(test)]
mod test_lines {
    use super::*;

    pub(super) fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    pub(super) fn serve(line: &str) -> ServeOptions {
        match parse(&args(line)) {
            Ok(Command::Serve(o)) => o,
            other => panic!("{line}: {other:?}"),
        }
    }

    pub(super) fn usage_error(line: &str) -> String {
        match parse(&args(line)) {
            Err(UsageError(msg)) => msg,
            other => panic!("{line}: expected a usage error, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_lines::*;
    use super::*;

    #[test]
    fn clients() {
        let t = Target {
            host: "localhost".into(),
            port: 9000,
        };
        let host = Address::Host(t.clone());
        let second = Duration::from_millis(1000);
        assert_eq!(
            parse(&args("talk localhost 9000")),
            Ok(Command::Talk(host.clone()))
        );
        assert_eq!(
            parse(&args("probe localhost 9000")),
            Ok(Command::Probe(host, second))
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
                name: None,
                udp: true,
                timeout: Duration::from_secs(10),
            }))
        );
        assert!(usage_error("send h 8124").contains("HOST PORT FILE"));
    }

    #[test]
    fn unix_addresses() {
        let ms = Duration::from_millis;
        let s = Address::Unix("/tmp/c.sock".into());
        let (talk, probe) = (Command::Talk(s.clone()), Command::Probe(s.clone(), ms(5)));
        assert_eq!(parse(&args("talk unix:/tmp/c.sock")), Ok(talk));
        assert_eq!(
            parse(&args("probe unix:/tmp/c.sock --timeout 5")),
            Ok(probe)
        );
        assert_eq!(s.to_string(), "unix:/tmp/c.sock");
        assert!(usage_error("talk unix:").contains("needs a path"));
        assert!(usage_error("probe unix:/x 80").contains("'80'"));
        assert!(usage_error("udp unix:/x").contains("HOST PORT")); // udp has no Unix form
    }

    #[test]
    fn send_keeps_a_file_name_that_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let raw = |b: &[u8]| std::ffi::OsStr::from_bytes(b).to_os_string();
        let args = [
            raw(b"send"),
            raw(b"--name"),
            raw(b"n\xff"),
            raw(b"h"),
            raw(b"1"),
            raw(b"caf\xe9.txt"),
        ];
        match parse_os(&args) {
            Ok(Command::Send(o)) => {
                assert_eq!(o.file.as_os_str().as_bytes(), b"caf\xe9.txt");
                assert_eq!(o.name.as_deref(), Some("n\u{fffd}"));
            }
            other => panic!("{other:?}"),
        }
        // A bad argument is named readably, without the placeholder.
        let err = parse_os(&[raw(b"send"), raw(b"h"), raw(b"p\xff"), raw(b"f")]).unwrap_err();
        assert_eq!(err.0, "'p\u{fffd}' is not a port number (0-65535)");
        // Other commands read arguments lossily, as before.
        assert!(matches!(
            parse_os(&[raw(b"talk"), raw(b"h\xff"), raw(b"1")]),
            Ok(Command::Talk(Address::Host(t))) if t.host == "h\u{fffd}"
        ));
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
        assert_eq!(usage_error("serve --x"), "unknown option '--x'");
        assert_eq!(usage_error("talk -q h 1"), "unknown option '-q'");
        assert_eq!(
            usage_error("probe h 1 --timeout"),
            "option '--timeout' needs a value"
        );
        assert_eq!(command_name(&args("bench echo")), Some("bench"));
        assert_eq!(command_name(&args("--help")), None);
    }
}
