//! The `threadsock` binary: help and usage errors, runtime errors, SIGTERM with live clients,
//! and the talk, probe and udp clients against a real server.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use support::*;
use threadsock::server::Limits;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_and_version() {
    let out = run_bin(&["--help"], b"");
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("serve"));
    for cmd in ["serve", "talk", "probe", "udp", "send", "bench"] {
        let out = run_bin(&[cmd, "--help"], b"");
        assert!(out.status.success(), "{cmd} --help");
        assert!(
            text(&out.stdout).contains(&format!("threadsock {cmd}")),
            "{cmd} --help"
        );
    }
    let serve = text(&run_bin(&["serve", "--help"], b"").stdout);
    assert!(serve.contains("A port of 0 picks a free port"), "{serve}");
    let send = text(&run_bin(&["send", "--help"], b"").stdout);
    assert!(send.contains("--timeout"), "{send}");
    let out = run_bin(&["--version"], b"");
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!("threadsock {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["serve", "--max-conns", "lots"],
        &["serve", "--echo-port", "65536"],
        &["serve", "--only", "gopher"],
        &["talk", "localhost"],
        &["probe", "localhost", "http"],
    ] {
        let out = run_bin(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        // A known command is named in the message and in the hint.
        let (prefix, hint) = match args.first() {
            Some(c) if *c != "frobnicate" => (
                format!("threadsock {c}: "),
                format!("Try 'threadsock {c} --help'."),
            ),
            _ => ("threadsock: ".into(), "Try 'threadsock --help'.".into()),
        };
        assert!(
            err.starts_with(&prefix) && err.trim_end().ends_with(&hint),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = run_bin(&["serve", "--x"], b"");
    assert_eq!(
        text(&out.stderr),
        "threadsock serve: unknown option '--x'\nTry 'threadsock serve --help'.\n"
    );
}

#[test]
fn a_host_that_does_not_resolve_is_unusable_input_not_a_closed_port() {
    for cmd in ["probe", "talk", "udp", "send"] {
        let out = if cmd == "send" {
            run_bin(&[cmd, "no-such-host.invalid", "7", "-"], b"data")
        } else {
            run_bin(&[cmd, "no-such-host.invalid", "7"], b"")
        };
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.starts_with(&format!(
                "threadsock {cmd}: cannot resolve no-such-host.invalid: "
            )),
            "{cmd}: {err}"
        );
        assert!(!err.contains("No server"), "{cmd}: {err}");
        assert!(out.stdout.is_empty(), "{cmd}: {}", text(&out.stdout));
    }
}

#[test]
fn an_unusable_files_dir_exits_2() {
    let file = std::env::temp_dir().join(format!("threadsock-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"a file, not a directory").unwrap();
    let out = run_bin(
        &[
            "serve",
            "--only",
            "files",
            "--files-port",
            "0",
            "--files-dir",
            file.to_str().unwrap(),
        ],
        b"",
    );
    let _ = std::fs::remove_file(&file);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("threadsock serve: cannot use files directory "),
        "{err}"
    );
}

/// Runs the binary with its stdout a pipe nobody reads (the read end is closed before any
/// output), then feeds `stdin`.
fn run_into_a_closed_pipe(args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    finish(child, &format!("threadsock {args:?} into a closed pipe"))
}

#[test]
fn a_closed_stdout_ends_a_command_quietly_with_status_0() {
    let out = run_into_a_closed_pipe(&["--help"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    let server = start(&["echo"]);
    let tcp = tcp_addr(&server, "echo").port().to_string();
    let udp = udp_addr(&server, "echo").port().to_string();
    let lines = b"one\ntwo\nthree\n";
    for args in [
        &["talk", "127.0.0.1", &tcp][..],
        &["udp", "127.0.0.1", &udp, "--timeout", "2000"],
    ] {
        let out = run_into_a_closed_pipe(args, lines);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
}

#[test]
fn a_port_in_use_exits_1_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run_bin(&["serve", "--only", "echo", "--echo-port", &port], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("echo/tcp 127.0.0.1:{port}")), "{err}");
    assert!(err.to_lowercase().contains("in use"), "{err}");
}

#[test]
fn sigterm_stops_a_server_with_clients_and_exits_0() {
    let files_dir = std::env::temp_dir().join(format!("threadsock-sigterm-{}", std::process::id()));
    let (child, rx) = spawn_bin(&[
        "serve",
        "--echo-port",
        "0",
        "--daytime-port",
        "0",
        "--chat-port",
        "0",
        "--socketio-port",
        "0",
        "--files-port",
        "0",
        "--files-dir",
        files_dir.to_str().unwrap(),
    ]);
    // echo/tcp, echo/udp, daytime/tcp, daytime/udp, chat/tcp, files/tcp, files/udp, socketio/tcp
    let lines = first_lines(&rx, 8);
    let echo = listening_addr(&lines, "echo/tcp");
    let chat = listening_addr(&lines, "chat/tcp");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("listening daytime/udp 127.0.0.1:")));

    let mut clients: Vec<_> = (0..50).map(|_| connect(echo)).collect();
    for c in &mut clients {
        assert_eq!(round_trip(c, b"ping"), b"ping");
    }
    let mut chatter = BufReader::new(connect(chat));
    let mut welcome = String::new();
    chatter.read_line(&mut welcome).unwrap();
    assert!(welcome.starts_with("* welcome"));
    let out = terminate(child, "serve after SIGTERM");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for c in &mut clients {
        assert_closed(c);
    }
    let mut goodbye = String::new();
    chatter.read_line(&mut goodbye).unwrap();
    assert_eq!(goodbye, "* server shutting down\n");
    let _ = std::fs::remove_dir_all(files_dir);
}

#[test]
fn talk_sends_stdin_and_prints_until_the_server_closes() {
    let mut opts = options(&["echo"]);
    opts.banner = Some("Mensagem do servidor!".into());
    let server = start_with(&opts, Limits::default());
    let port = tcp_addr(&server, "echo").port().to_string();
    let out = run_bin(&["talk", "127.0.0.1", &port], b"Client 1 says hi!\nbye\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Mensagem do servidor!\r\nClient 1 says hi!\nbye\n"
    );
}

#[test]
fn talk_with_no_server_says_so() {
    let port = free_port().to_string();
    let out = run_bin(&["talk", "127.0.0.1", &port], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!("No server at 127.0.0.1 {port}")
    );
}

#[test]
fn probe_open_and_closed() {
    let server = start(&["daytime"]);
    let port = tcp_addr(&server, "daytime").port().to_string();
    let out = run_bin(&["probe", "127.0.0.1", &port], b"");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "open\n".into())
    );
    let closed = free_port().to_string();
    let out = run_bin(&["probe", "127.0.0.1", &closed, "--timeout", "500"], b"");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(1), "closed\n".into())
    );
}

#[test]
fn udp_client_sends_lines_and_prints_replies() {
    let server = start(&["echo"]);
    let port = udp_addr(&server, "echo").port().to_string();
    let out = run_bin(
        &["udp", "127.0.0.1", &port, "--timeout", "2000"],
        b"Client 1 says hi!\nsecond\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Client 1 says hi!\nsecond\n");
}

#[test]
fn udp_client_reports_an_unreachable_port() {
    let port = free_port().to_string();
    let out = run_bin(
        &["udp", "127.0.0.1", &port, "--timeout", "2000"],
        b"anyone?\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("No server at 127.0.0.1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stats_lines_report_connections_threads_memory_and_chat() {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--only",
            "echo,chat",
            "--echo-port",
            "0",
            "--chat-port",
            "0",
        ])
        .args(["--stats", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines().map_while(Result::ok);
    let echo_line = lines.next().expect("listening line");
    let echo: std::net::SocketAddr = echo_line
        .strip_prefix("listening echo/tcp ")
        .expect("echo first")
        .parse()
        .unwrap();
    let mut client = connect(echo);
    assert_eq!(round_trip(&mut client, b"x"), b"x");
    // Read stderr until a stats line that sees the live connection (bounded by WAIT and count).
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = crossbeam_channel::bounded(16);
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut found = None;
    for _ in 0..10 {
        let line = rx.recv_timeout(WAIT).expect("a stats line");
        if line.starts_with("stats conns=1 ") {
            found = Some(line);
            break;
        }
    }
    let line = found.expect("a stats line counting the connection");
    for field in [
        "threads=",
        "rss_kb=",
        "in_Bps=",
        "out_Bps=",
        "echo/tcp=1/1",
        "chat_clients=0",
        "chat_rooms=1",
        "chat_lines_in_ps=",
        "chat_lines_out_ps=",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(finish(child, "serve --stats").status.success());
}

#[test]
fn a_server_bound_to_the_unspecified_ipv6_address_serves_both_families_and_stops() {
    // Stopping must wake the accept loops through loopback: `::` itself cannot be connected to.
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            "::",
            "--only",
            "echo",
            "--echo-port",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let Some(first) = lines.next() else {
        let _ = finish(child, "serve --bind ::");
        eprintln!("skipped: no IPv6 here");
        return;
    };
    let port: u16 = first
        .strip_prefix("listening echo/tcp [::]:")
        .expect("bound to [::]")
        .parse()
        .unwrap();
    for host in ["[::1]", "127.0.0.1"] {
        let mut c = connect(format!("{host}:{port}").parse().unwrap());
        assert_eq!(round_trip(&mut c, b"dual"), b"dual", "{host}");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(finish(child, "serve --bind :: after SIGTERM")
        .status
        .success());
}

#[test]
fn port_0_binds_tcp_and_udp_to_the_same_free_port() {
    let (child, rx) = spawn_bin(&["serve", "--only", "echo", "--echo-port", "0"]);
    let lines = first_lines(&rx, 2);
    let tcp = listening_addr(&lines, "echo/tcp");
    let udp = listening_addr(&lines, "echo/udp");
    let out = terminate(child, "serve --echo-port 0");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_ne!(tcp.port(), 0);
    assert_eq!(tcp.port(), udp.port(), "{lines:?}");
}

#[test]
fn port_0_is_one_port_per_service_through_the_library() {
    let dir = std::env::temp_dir().join(format!("threadsock-pair-{}", std::process::id()));
    let mut opts = options(&["echo", "daytime", "files"]);
    opts.files.dir = dir.clone();
    let server = start_with(&opts, Limits::default());
    for service in ["echo", "daytime", "files"] {
        let tcp = tcp_addr(&server, service);
        assert_ne!(tcp.port(), 0, "{service}");
        assert_eq!(tcp.port(), udp_addr(&server, service).port(), "{service}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_readme_flag_reference_states_serve_defaults_as_the_help_does() {
    let out = run_bin(&["serve", "--help"], b"");
    assert!(out.status.success());
    let help = text(&out.stdout);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find("## Flag reference")
        .expect("a Flag reference section");
    let rest = &readme[start..];
    let end = rest.find("\n### ").unwrap_or(rest.len());
    let reference = option_entries(&rest[..end]);
    let mut checked = 0;
    for (option, entry) in option_entries(&help) {
        let Some(after) = entry.split("(default ").nth(1) else {
            continue;
        };
        let value = after.split([')', ';']).next().unwrap();
        let documented = reference
            .iter()
            .find(|(o, _)| *o == option)
            .unwrap_or_else(|| panic!("README's flag reference has no {option}"));
        assert!(
            documented.1.contains(&format!("default {value}")),
            "README says `{}`, but serve --help says {option} defaults to {value}",
            documented.1
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} defaults found in:\n{help}");
}

/// A growing descriptor table makes `accept` wait for an RCU grace period in a multi-threaded
/// process (see `server::fd_table`); `serve` grows it once at start to cover `--max-conns`.
#[test]
fn serve_starts_with_a_descriptor_table_for_every_connection() {
    let (child, rx) = spawn_bin(&[
        "serve",
        "--only",
        "echo",
        "--echo-port",
        "0",
        "--max-conns",
        "3000",
    ]);
    let first = &first_lines(&rx, 1)[0];
    assert!(first.starts_with("listening "), "{first:?}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let out = terminate(child, "serve --max-conns 3000");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fd_size: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("FDSize:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("FDSize in /proc/PID/status");
    // As much as the soft open-files limit allows (serve keeps SPARE below it).
    let nofile = threadsock::server::OsLimits::read()
        .nofile
        .unwrap_or(u64::MAX);
    let want = 3000.min(nofile.saturating_sub(threadsock::server::fd_table::SPARE as u64)) as usize;
    assert!(fd_size >= want, "FDSize {fd_size}, wanted {want}");
}
