//! `threadsock bench`'s options: the table and the parser.

use super::{help, matches, number, options_from, Command, UsageError};
use crate::client::bench::{BenchOptions, Scenario};
use std::net::SocketAddr;
use std::time::Duration;

/// `bench`'s options: (name, value hint, help).
const BENCH_OPTIONS: &[(&str, &str, &str)] = &[
    ("addr", "ADDR", "the server, e.g. 127.0.0.1:7007 (required)"),
    ("conns", "N", "connections: echo, stream, idle (default 1)"),
    ("clients", "N", "chat receivers (default 10)"),
    (
        "stalled",
        "K",
        "chat-slow: clients that join and never read (default: as many as --clients)",
    ),
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

/// Parses the arguments after `bench`.
pub(super) fn parse(args: &[String]) -> Result<Command, UsageError> {
    let opts = options_from(BENCH_OPTIONS);
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "bench echo|stream|idle|chat|chat-slow|udp --addr ADDR [options]",
            "echo: closed-loop ping-pong, each connection writes SIZE bytes and waits for them.\n\
             stream: pipelined echo throughput. idle: open, verify and hold connections.\n\
             chat: CLIENTS receivers, one sender of MESSAGES lines. chat-slow: chat twice, the\n\
             second time with STALLED clients that never read; reports the delay they cause.\n\
             udp: UDP echo, K in flight.",
        ));
    }
    let scenario = match m.free.as_slice() {
        [name] => Scenario::parse(name).ok_or_else(|| {
            UsageError(format!(
                "unknown scenario '{name}' (echo, stream, idle, chat, chat-slow, udp)"
            ))
        })?,
        [] => {
            return Err(UsageError(
                "expected a scenario: echo, stream, idle, chat, chat-slow or udp".into(),
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
    let chat = matches!(scenario, Scenario::Chat | Scenario::ChatSlow);
    let conns_default = if chat { 10 } else { 1 };
    let conns = if chat {
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
        stalled: if scenario == Scenario::ChatSlow {
            number(&m, "stalled", conns, 0, 1_000_000)?
        } else {
            0
        },
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

#[cfg(test)]
mod tests {
    use super::super::test_lines::*;
    use super::super::{parse, Command};
    use super::*;

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
}
