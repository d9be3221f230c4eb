//! `threadsock probe HOST PORT` or `probe unix:PATH`: the seed's test_port. Is a server accepting
//! there?

use super::{Address, Target};
use crate::out;
use std::process::ExitCode;
use std::time::Duration;

/// True if some address of `target` accepts a TCP connection within `timeout`.
pub fn is_open(target: &Target, timeout: Duration) -> bool {
    super::connect(target, Some(timeout)).is_ok()
}

/// Prints `open` (exit 0) or `closed` (exit 1); a host that cannot be resolved is neither: its
/// error goes to stderr with exit 2.
pub fn main(address: &Address, timeout: Duration) -> ExitCode {
    let connected = match super::connect_address("probe", address, Some(timeout)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (word, code) = if connected.is_ok() {
        ("open", ExitCode::SUCCESS)
    } else {
        ("closed", ExitCode::from(1))
    };
    // The exit status carries the answer even when nobody reads stdout.
    let _ = out::print(format_args!("{word}\n"));
    code
}
