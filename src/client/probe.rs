//! `threadsock probe HOST PORT`: the seed's test_port. Is a TCP server accepting there?

use super::Target;
use crate::out;
use std::process::ExitCode;
use std::time::Duration;

/// True if some address of `target` accepts a TCP connection within `timeout`.
pub fn is_open(target: &Target, timeout: Duration) -> bool {
    super::connect(target, Some(timeout)).is_ok()
}

/// Prints `open` (exit 0) or `closed` (exit 1); a host that cannot be resolved is neither: its
/// error goes to stderr with exit 2.
pub fn main(target: &Target, timeout: Duration) -> ExitCode {
    let addrs = match super::resolve_for("probe", target) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let (word, code) = if super::connect_to(&addrs, Some(timeout)).is_ok() {
        ("open", ExitCode::SUCCESS)
    } else {
        ("closed", ExitCode::from(1))
    };
    // The exit status carries the answer even when nobody reads stdout.
    let _ = out::print(format_args!("{word}\n"));
    code
}
