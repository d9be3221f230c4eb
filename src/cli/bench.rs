//! `threadsock bench`'s options: the table and the parser. Every default comes from
//! [`defaults`](crate::defaults).

use super::{help, matches, number, options_from, Command, UsageError};
use crate::client::bench::{BenchOptions, Scenario};
use crate::defaults as d;
use crate::net::Addr;
use std::net::SocketAddr;
use std::time::Duration;

/// `bench`'s options: (name, value hint, help). Each help states its default, from
/// [`defaults`](crate::defaults).
fn bench_options() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "addr",
            "ADDR",
            format!(
                "the server, e.g. {} or unix:DIR/echo.sock (required)",
                SocketAddr::new(d::BIND, d::ECHO_PORT)
            ),
        ),
        (
            "conns",
            "N",
            format!(
                "connections: echo, stream, idle, sio-ack, sio-idle; sio-connect workers (default {})",
                d::BENCH_CONNS
            ),
        ),
        (
            "clients",
            "N",
            format!(
                "chat and sio-fanout receivers (default {})",
                d::BENCH_CLIENTS
            ),
        ),
        (
            "stalled",
            "K",
            "chat-slow: clients that join and never read (default: as many as --clients)".into(),
        ),
        (
            "messages",
            "M",
            format!(
                "chat lines or sio-fanout messages the sender sends (default {})",
                d::BENCH_MESSAGES
            ),
        ),
        (
            "size",
            "BYTES",
            format!(
                "message, chunk or datagram size (default {}; stream {})",
                d::BENCH_SIZE,
                d::BENCH_STREAM_SIZE
            ),
        ),
        (
            "duration",
            "SECS",
            format!(
                "measured time; for chat, the longest delivery may take (default {})",
                d::BENCH_DURATION_SECS
            ),
        ),
        (
            "warmup",
            "SECS",
            format!("unmeasured time first (default {})", d::BENCH_WARMUP_SECS),
        ),
        (
            "hold",
            "SECS",
            format!(
                "idle, sio-idle: how long connections are held (default {})",
                d::BENCH_HOLD_SECS
            ),
        ),
        (
            "inflight",
            "K",
            format!("udp: datagrams in flight (default {})", d::BENCH_INFLIGHT),
        ),
        (
            "event",
            "NAME",
            format!(
                "sio-ack: the event emitted with an ack (default {})",
                d::BENCH_SIO_EVENT
            ),
        ),
        (
            "threads",
            "N",
            "load threads (default: one per CPU, at most 8)".into(),
        ),
        (
            "sender-addr",
            "ADDR",
            "chat, sio-fanout: the sender connects here instead of --addr (another node of a \
             cluster: cross-node fan-out)"
                .into(),
        ),
        (
            "pid",
            "PID",
            "the server's pid: report its RSS, threads, context switches".into(),
        ),
        (
            "target",
            "NAME",
            "label for the CSV target column (default: the address)".into(),
        ),
        ("csv", "FILE", "append one CSV row to FILE".into()),
    ]
}

/// Parses the arguments after `bench`.
pub(super) fn parse(args: &[String]) -> Result<Command, UsageError> {
    let opts = options_from(&bench_options());
    let m = matches(&opts, args)?;
    if m.opt_present("help") {
        return Ok(help(
            &opts,
            "bench echo|stream|idle|chat|chat-slow|udp|sio-ack|sio-fanout|sio-idle|sio-connect \
             --addr ADDR [options]",
            "echo: closed-loop ping-pong, each connection writes SIZE bytes and waits for them.\n\
             stream: pipelined echo throughput. idle: open, verify and hold connections.\n\
             chat: CLIENTS receivers, one sender of MESSAGES lines. chat-slow: chat twice, the\n\
             second time with STALLED clients that never read; reports the delay they cause.\n\
             udp: UDP echo, K in flight.\n\
             Socket.IO (ADDR serves /socket.io/, e.g. port 3000), with a minimal WebSocket client:\n\
             sio-ack: CONNS clients emit EVENT with an ack in lock-step (latency, acks/s).\n\
             sio-fanout: CLIENTS receivers and a sender join room bench of the chat app\n\
             (serve --only socketio); the sender emits MESSAGES 'message' events.\n\
             sio-idle: CONNS clients held for HOLD, answering pings (server RSS, threads).\n\
             sio-connect: CONNS workers open sessions through the polling handshake, the\n\
             upgrade and CONNECT, and close them (sessions/s, latency).",
        ));
    }
    let scenario = match m.free.as_slice() {
        [name] => Scenario::parse(name).ok_or_else(|| {
            UsageError(format!(
                "unknown scenario '{name}' (echo, stream, idle, chat, chat-slow, udp, sio-ack, sio-fanout, sio-idle, sio-connect)"
            ))
        })?,
        [] => {
            return Err(UsageError(
                "expected a scenario: echo, stream, idle, chat, chat-slow, udp, sio-ack, \
                 sio-fanout, sio-idle or sio-connect"
                    .into(),
            ))
        }
        [_, extra, ..] => return Err(UsageError(format!("unexpected argument '{extra}'"))),
    };
    let addr_text = m
        .opt_str("addr")
        .ok_or_else(|| UsageError("--addr is required".into()))?;
    let addr: Addr = addr_text
        .parse()
        .map_err(|()| UsageError(format!("--addr: '{addr_text}' is not IP:PORT or unix:PATH")))?;
    if scenario == Scenario::Udp && matches!(addr, Addr::Unix(_)) {
        return Err(UsageError(format!(
            "--addr: udp needs IP:PORT, not '{addr_text}'"
        )));
    }
    let secs = |name: &str, default: u64| -> Result<Duration, UsageError> {
        match m.opt_str(name) {
            None => Ok(Duration::from_secs(default)),
            Some(t) => match t.parse::<f64>() {
                Ok(v) if (0.0..=86_400.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
                _ => Err(UsageError(format!(
                    "--{name}: '{t}' is not a number of seconds"
                ))),
            },
        }
    };
    let default_size = if scenario == Scenario::Stream {
        d::BENCH_STREAM_SIZE
    } else {
        d::BENCH_SIZE
    };
    let chat = matches!(
        scenario,
        Scenario::Chat | Scenario::ChatSlow | Scenario::SioFanout
    );
    let conns_default = if chat {
        d::BENCH_CLIENTS
    } else {
        d::BENCH_CONNS
    };
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
        duration: secs("duration", d::BENCH_DURATION_SECS)?,
        warmup: secs("warmup", d::BENCH_WARMUP_SECS)?,
        hold: secs("hold", d::BENCH_HOLD_SECS)?,
        messages: number(&m, "messages", d::BENCH_MESSAGES, 1, 100_000_000)?,
        stalled: if scenario == Scenario::ChatSlow {
            number(&m, "stalled", conns, 0, 1_000_000)?
        } else {
            0
        },
        inflight: number(&m, "inflight", d::BENCH_INFLIGHT, 1, 65_536)?,
        event: m
            .opt_str("event")
            .unwrap_or_else(|| d::BENCH_SIO_EVENT.into()),
        threads: number(&m, "threads", 0, 0, 4096)?,
        sender: match m.opt_str("sender-addr") {
            None => None,
            Some(text) => Some(text.parse::<Addr>().map_err(|()| {
                UsageError(format!(
                    "--sender-addr: '{text}' is not IP:PORT or unix:PATH"
                ))
            })?),
        },
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
        let Ok(Command::Bench(a)) = parse(&args(
            "bench sio-ack --addr 127.0.0.1:3000 --conns 100 --event who",
        )) else {
            panic!()
        };
        assert_eq!(
            (a.scenario, a.conns, a.event.as_str()),
            (Scenario::SioAck, 100, "who")
        );
        let Ok(Command::Bench(f)) =
            parse(&args("bench sio-fanout --addr 127.0.0.1:3000 --clients 7"))
        else {
            panic!()
        };
        assert_eq!((f.scenario, f.conns), (Scenario::SioFanout, 7));
        assert!(usage_error("bench echo").contains("--addr"));
        assert!(usage_error("bench http --addr 127.0.0.1:1").contains("unknown scenario"));
        assert!(usage_error("bench echo --addr localhost").contains("IP:PORT"));
        assert!(usage_error("bench echo --addr 127.0.0.1:1 --duration soon").contains("--duration"));
        assert!(usage_error("bench echo --addr unix:").contains("unix:PATH"));
        assert!(usage_error("bench udp --addr unix:/x.sock").contains("udp needs IP:PORT"));
        let Ok(Command::Bench(u)) = parse(&args("bench echo --addr unix:/run/d/echo.sock")) else {
            panic!()
        };
        assert_eq!(u.addr, Addr::Unix("/run/d/echo.sock".into()));
        assert_eq!(u.target, "unix:/run/d/echo.sock");
    }

    #[test]
    fn bench_help_states_the_real_defaults() {
        let table = bench_options();
        let help = |name: &str| table.iter().find(|o| o.0 == name).unwrap().2.as_str();
        let bench = |line: &str| match parse(&args(line)) {
            Ok(Command::Bench(b)) => b,
            other => panic!("{line}: {other:?}"),
        };
        let echo = bench("bench echo --addr 127.0.0.1:1");
        let chat = bench("bench chat --addr 127.0.0.1:1");
        let stream = bench("bench stream --addr 127.0.0.1:1");
        let default = |n: &dyn std::fmt::Display| format!("(default {n})");
        assert!(help("conns").contains(&default(&echo.conns)));
        assert!(help("clients").contains(&default(&chat.conns)));
        assert!(help("messages").contains(&default(&chat.messages)));
        let size = format!("(default {}; stream {})", echo.size, stream.size);
        assert!(help("size").contains(&size));
        assert!(help("duration").contains(&default(&echo.duration.as_secs_f64())));
        assert!(help("warmup").contains(&default(&echo.warmup.as_secs_f64())));
        assert!(help("hold").contains(&default(&echo.hold.as_secs_f64())));
        assert!(help("inflight").contains(&default(&echo.inflight)));
        assert!(help("event").contains(&default(&echo.event)));
    }
}
