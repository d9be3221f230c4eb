//! What the commands print: stdout writes that end a command quietly when nobody reads any
//! more (EPIPE, as `cat` does), and error messages in one style,
//! `threadsock <command>: <what failed>: <why>`.

use std::fmt;
use std::io::{self, Write};

/// True if `e` says that stdout's reader has gone away (EPIPE). Rust ignores SIGPIPE, so a
/// write to a closed pipe returns this error; a command then ends quietly with status 0.
pub fn reader_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Writes to stdout and flushes; unlike `print!`, never panics.
pub fn print(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_fmt(args)?;
    stdout.flush()
}

/// Prints `threadsock <command>: <message>` on stderr; unlike `eprintln!`, never panics.
pub fn error(command: &str, message: impl fmt::Display) {
    let _ = writeln!(io::stderr(), "threadsock {command}: {message}");
}

/// `e` as the `<why>` of a message: its first letter in lower case, without the
/// ` (os error N)` suffix, e.g. `connection refused`.
pub fn why(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A writer that remembers whether one of its writes failed, so a command can tell its own
/// stdout's errors (EPIPE: end quietly) from the server's.
#[derive(Debug)]
pub struct Watched<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Watched<W> {
    /// Watches `inner`.
    pub fn new(inner: W) -> Self {
        Watched {
            inner,
            failed: false,
        }
    }

    /// True once a write or flush has failed.
    pub fn failed(&self) -> bool {
        self.failed
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.failed |= r.is_err();
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.failed |= r.is_err();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_is_lower_case_without_the_os_code() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(why(&e), "connection refused");
        let custom = io::Error::other("Name or service not known");
        assert_eq!(why(&custom), "name or service not known");
        assert!(reader_gone(&io::Error::from(io::ErrorKind::BrokenPipe)));
    }
}
