//! The comparison's progress line on its own stderr, when that is a terminal: which run of how
//! many, the round, the server and the scenario, and the elapsed time and current rate that
//! the `threadsock bench` child reports (it is started with `THREADSOCK_PROGRESS=1`, and its
//! stderr is read here: the progress updates are taken out, the rest kept as its error text).

use std::io::{self, IsTerminal, Write};

// What `threadsock bench` ends each progress update with.
use threadsock::client::bench::progress::CLEAR;
/// The longest line drawn, so that it never wraps on an 80-column terminal.
const WIDTH: usize = 79;

/// Whether to draw the line: stderr is a terminal.
pub fn wanted() -> bool {
    io::stderr().is_terminal()
}

/// Splits what a bench child wrote to stderr into its latest progress update (`None` before
/// the first, or once it cleared the line) and everything else, its messages.
pub fn split(raw: &[u8]) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(raw);
    let mut segments = text.split('\r');
    let mut rest = segments.next().unwrap_or("").to_string();
    let mut latest = None;
    for seg in segments {
        match seg.split_once(CLEAR) {
            Some((update, after)) => {
                latest = (!update.is_empty()).then(|| update.to_string());
                rest.push_str(after);
            }
            // An update still being written, or text that is not one: keep it only if it
            // ends a line.
            None if seg.ends_with('\n') => rest.push_str(seg),
            None => {}
        }
    }
    (latest, rest)
}

/// The line for run `k` of `n`: `[k/n r1] target, label  ` and the child's elapsed time and
/// rate (its update without its own `scenario target` label); if that is longer than
/// [`WIDTH`], the child's update as it is (`scenario target  elapsed  rate`), cut to fit.
pub fn line(k: usize, n: usize, round: usize, target: &str, label: &str, child: &str) -> String {
    let figures = child.split_once("  ").map_or("", |(_, f)| f);
    let long = format!("[{k}/{n} r{round}] {target}, {label}  {figures}");
    let s = if long.trim_end().chars().count() <= WIDTH || child.is_empty() {
        long
    } else {
        format!("[{k}/{n} r{round}] {child}")
    };
    s.trim_end().chars().take(WIDTH).collect()
}

/// Draws `text` over the current line.
pub fn draw(text: &str) {
    let _ = write!(io::stderr(), "\r{text}{CLEAR}");
}

/// Clears the line.
pub fn clear() {
    let _ = write!(io::stderr(), "\r{CLEAR}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_taken_out_and_messages_kept() {
        let raw = "\recho ts  0.5 s  60.1k round trips/s\x1b[K\recho ts  1.0 s  61.2k round trips/s\x1b[K";
        assert_eq!(
            split(raw.as_bytes()),
            (
                Some("echo ts  1.0 s  61.2k round trips/s".into()),
                String::new()
            )
        );
        let failed = format!("{raw}\r\x1b[Kthreadsock bench: echo against X: refused\n");
        assert_eq!(
            split(failed.as_bytes()),
            (None, "threadsock bench: echo against X: refused\n".into())
        );
        // An update cut off mid-write is not shown; the one before it is.
        let partial = format!("{raw}\recho ts  1.");
        assert_eq!(
            split(partial.as_bytes()).0.as_deref(),
            Some("echo ts  1.0 s  61.2k round trips/s")
        );
        assert_eq!(split(b"plain error\n"), (None, "plain error\n".into()));
    }

    #[test]
    fn the_line_names_run_round_server_and_scenario() {
        let l = line(
            3,
            140,
            2,
            "node",
            "echo ping-pong 64 B, 10 conns",
            "echo node  1.5 s  83.6k round trips/s",
        );
        assert_eq!(
            l,
            "[3/140 r2] node, echo ping-pong 64 B, 10 conns  1.5 s  83.6k round trips/s"
        );
        assert_eq!(
            line(1, 2, 1, "tokio", "idle, 1000 conns", ""),
            "[1/2 r1] tokio, idle, 1000 conns"
        );
        assert!(line(1, 2, 1, "t", &"x".repeat(200), "").chars().count() <= WIDTH);
        let crowded = line(
            4,
            140,
            1,
            "threadsock-unix",
            "echo unix 64 B, 100 conns",
            "echo threadsock-unix  1.0 s  120.0k round trips/s",
        );
        assert_eq!(
            crowded,
            "[4/140 r1] echo threadsock-unix  1.0 s  120.0k round trips/s"
        );
    }
}
