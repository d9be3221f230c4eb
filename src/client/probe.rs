//! `threadsock probe HOST PORT`: the seed's test_port. Is a TCP server accepting there?

use crate::cli::Target;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// True if some address of `target` accepts a TCP connection within `timeout`.
pub fn is_open(target: &Target, timeout: Duration) -> bool {
    super::connect(target, Some(timeout)).is_ok()
}

/// Prints `open` (exit 0) or `closed` (exit 1).
pub fn main(target: &Target, timeout: Duration) -> ExitCode {
    let (word, code) = if is_open(target, timeout) {
        ("open", ExitCode::SUCCESS)
    } else {
        ("closed", ExitCode::from(1))
    };
    let _ = writeln!(std::io::stdout(), "{word}");
    code
}
