//! A live progress line on stderr while `threadsock bench` runs: the scenario, the target, the
//! elapsed time and the current rate, one line rewritten with `\r` about every half second.
//!
//! Only when stderr is a terminal (or `THREADSOCK_PROGRESS=1` asks for it, as
//! `examples/compare` does to relay it), so pipes, files and the tests see nothing. Scenarios
//! report what they complete through [`add`], one shared counter; the line shows the rate
//! over the last interval, so warm-up and connecting count too: it is a view, not a figure.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Setting this environment variable to `1` shows the line even when stderr is not a terminal.
pub const FORCE_ENV: &str = "THREADSOCK_PROGRESS";
/// How often the line is rewritten.
pub const INTERVAL: Duration = Duration::from_millis(500);
/// Clears from the cursor to the end of the line (ANSI, VT100): ends every update, so a
/// shorter line leaves nothing of a longer one behind.
pub const CLEAR: &str = "\x1b[K";

/// What the scenario counts, for the rate's unit.
static DONE: AtomicU64 = AtomicU64::new(0);

/// Set while a line is shown: otherwise [`add`] counts nothing (no shared counter written per
/// datagram or read when nobody looks).
static SHOWN: AtomicBool = AtomicBool::new(false);

/// Counts `n` more completed operations (round trips, lines, connections; bytes for
/// `stream`). Cheap enough for a hot loop, but add in batches where one is at hand.
pub fn add(n: u64) {
    if SHOWN.load(Relaxed) {
        DONE.fetch_add(n, Relaxed);
    }
}

/// What [`add`] counts, for the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Things, named in the plural: "round trips", "lines".
    Count(&'static str),
    /// Bytes, shown as MB (10^6) per second.
    Bytes,
}

/// The unit of each scenario's count.
pub fn unit(scenario: super::Scenario) -> Unit {
    use super::Scenario as S;
    match scenario {
        S::Echo => Unit::Count("round trips"),
        S::Stream => Unit::Bytes,
        S::Idle => Unit::Count("connections"),
        S::Chat | S::ChatSlow => Unit::Count("lines"),
        S::Udp => Unit::Count("datagrams"),
        S::SioAck => Unit::Count("acks"),
        S::SioFanout => Unit::Count("messages"),
        S::SioIdle => Unit::Count("clients"),
        S::SioConnect => Unit::Count("sessions"),
    }
}

/// Whether the line is shown: stderr is a terminal, or [`FORCE_ENV`] is `1`.
pub fn wanted() -> bool {
    io::stderr().is_terminal() || std::env::var_os(FORCE_ENV).is_some_and(|v| v == "1")
}

/// The running line; dropping it stops the updates and clears the line.
#[derive(Debug)]
pub struct Progress {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the line for `label` (e.g. `echo threadsock`) if [`wanted`]; otherwise a no-op.
pub fn start(label: String, unit: Unit) -> Progress {
    if !wanted() {
        return Progress {
            stop: None,
            thread: None,
        };
    }
    SHOWN.store(true, Relaxed);
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = thread::spawn(move || {
        let began = Instant::now();
        let (mut last_at, mut last) = (began, DONE.load(Relaxed));
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
            let (now, done) = (Instant::now(), DONE.load(Relaxed));
            let rate = done.saturating_sub(last) as f64 / (now - last_at).as_secs_f64().max(1e-3);
            (last_at, last) = (now, done);
            let text = line(&label, now - began, rate, unit);
            let _ = write!(io::stderr(), "\r{text}{CLEAR}");
        }
        let _ = write!(io::stderr(), "\r{CLEAR}");
    });
    Progress {
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            SHOWN.store(false, Relaxed);
        }
    }
}

/// One update's text, without the `\r` and [`CLEAR`]: e.g.
/// `echo threadsock  2.5 s  61.2k round trips/s`.
pub fn line(label: &str, elapsed: Duration, rate: f64, unit: Unit) -> String {
    let rate = match unit {
        Unit::Count(name) => format!("{} {name}/s", human(rate)),
        Unit::Bytes => format!("{} MB/s", human(rate / 1e6)),
    };
    format!("{label}  {:.1} s  {rate}", elapsed.as_secs_f64())
}

/// `v` in three or four significant figures with a k or M suffix: 950, 61.2k, 1.35M.
pub fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_scenario_target_elapsed_and_rate() {
        let echo = line(
            "echo threadsock",
            Duration::from_millis(2500),
            61_234.0,
            Unit::Count("round trips"),
        );
        assert_eq!(echo, "echo threadsock  2.5 s  61.2k round trips/s");
        let stream = line(
            "stream tokio",
            Duration::from_secs(1),
            1_352_000_000.0,
            Unit::Bytes,
        );
        assert_eq!(stream, "stream tokio  1.0 s  1352 MB/s");
        let idle = line("idle node", Duration::ZERO, 0.0, Unit::Count("connections"));
        assert_eq!(idle, "idle node  0.0 s  0.0 connections/s");
        assert!(!echo.contains('\r') && !echo.contains('\n'));
    }

    #[test]
    fn human_figures() {
        let cases = [
            (0.0, "0.0"),
            (42.34, "42.3"),
            (950.0, "950"),
            (9_999.0, "9999"),
            (61_234.0, "61.2k"),
            (1_350_000.0, "1.35M"),
        ];
        for (v, want) in cases {
            assert_eq!(human(v), want, "{v}");
        }
    }

    #[test]
    fn every_scenario_has_a_unit() {
        for name in ["echo", "chat-slow", "sio-connect"] {
            let s = super::super::Scenario::parse(name).unwrap();
            assert!(matches!(unit(s), Unit::Count(n) if !n.is_empty()));
        }
        let stream = super::super::Scenario::parse("stream").unwrap();
        assert_eq!(unit(stream), Unit::Bytes);
    }
}
