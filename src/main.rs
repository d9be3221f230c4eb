//! The `threadsock` binary: parse the command line, run the command, map the outcome to an exit
//! status (0 success, 1 runtime failure, 2 unusable input).

use crossbeam_channel::RecvTimeoutError;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use threadsock::cli::{self, Command, ServeOptions};
use threadsock::server::{fd_table, stats_line, OsLimits, ProcessFigures};
use threadsock::{client, log, serve};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let command = match cli::parse_os(&args) {
        Ok(c) => c,
        Err(e) => {
            let mut stderr = std::io::stderr();
            let _ = match cli::command_name(&args) {
                Some(c) => writeln!(stderr, "threadsock {c}: {e}\nTry 'threadsock {c} --help'."),
                None => writeln!(stderr, "threadsock: {e}\nTry 'threadsock --help'."),
            };
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help(text) => {
            say(format_args!("{text}"));
            ExitCode::SUCCESS
        }
        Command::Version => {
            say(format_args!("threadsock {}", env!("CARGO_PKG_VERSION")));
            ExitCode::SUCCESS
        }
        Command::Serve(opts) => run_serve(&opts),
        Command::Talk(target) => client::talk::main(&target),
        Command::Probe(target, timeout) => client::probe::main(&target, timeout),
        Command::Udp(target, timeout) => client::udp::main(&target, timeout),
        Command::Send(opts) => client::send::main(&opts),
        Command::Bench(opts) => client::bench::main(&opts),
    }
}

fn run_serve(opts: &ServeOptions) -> ExitCode {
    let (limits, lowered) = serve::limits(opts);
    if let Some(note) = lowered {
        log!("{note}");
    }
    // First, while this is the only thread: each connection holds a descriptor.
    fd_table::grow(limits.max_conns + fd_table::SPARE, OsLimits::read().nofile);
    // The first SIGINT/SIGTERM asks for a graceful stop through this channel; a second one
    // exits at once.
    let (stop_tx, stop_rx) = crossbeam_channel::bounded(1);
    let signals = AtomicUsize::new(0);
    let installed = ctrlc::set_handler(move || {
        if signals.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = stop_tx.try_send(());
        } else {
            std::process::exit(130);
        }
    });
    if let Err(e) = installed {
        log!(
            "cannot install the signal handler: {}",
            threadsock::out::why(&std::io::Error::other(e))
        );
        return ExitCode::from(1);
    }
    let mut server = match serve::start(opts, limits) {
        Ok(s) => s,
        Err(e) if e.usage => {
            eprintln!("threadsock serve: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            log!("{e}");
            return ExitCode::from(1);
        }
    };
    for e in server.endpoints() {
        say(format_args!(
            "listening {}/{} {}",
            e.service, e.proto, e.addr
        ));
    }
    let interval = opts.stats.unwrap_or(Duration::MAX);
    let mut before = server.sample();
    loop {
        match stop_rx.recv_timeout(interval) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let now = server.sample();
                eprintln!("{}", stats_line(&before, &now, ProcessFigures::read()));
                before = now;
            }
        }
    }
    log!("shutting down (signal again to exit at once)");
    let report = server.stop();
    if report.unfinished > 0 {
        log!(
            "stopped in {:?} with {} connection threads still running",
            report.elapsed,
            report.unfinished
        );
    }
    ExitCode::SUCCESS
}

/// Prints one line on stdout, ignoring a closed or full stdout: `--help | head -c1` ends with
/// status 0, and a server must not die because nobody reads its `listening` lines
/// (`println!` would panic on EPIPE).
fn say(line: std::fmt::Arguments<'_>) {
    let _ = threadsock::out::print(format_args!("{line}\n"));
}
