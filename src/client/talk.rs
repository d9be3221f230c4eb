//! `threadsock talk HOST PORT` or `talk unix:PATH`: the seed's msg_client. Stdin goes to the server, the server's
//! bytes go to stdout; when stdin ends the client half-closes and waits for the server to close.

use super::Address;
use crate::net::Stream;
use crate::out;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::process::ExitCode;
use std::thread;

/// Runs the client on the process's stdio.
pub fn main(address: &Address) -> ExitCode {
    let connected = match super::connect_address("talk", address, None) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stream = match connected {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            // The seed's msg_client's words.
            match address {
                Address::Host(t) => eprintln!("No server at {} {}", t.host, t.port),
                Address::Unix(_) => eprintln!("No server at {address}"),
            }
            return ExitCode::from(1);
        }
        Err(e) => {
            out::error(
                "talk",
                format_args!("cannot connect to {address}: {}", out::why(&e)),
            );
            return ExitCode::from(1);
        }
    };
    let mut stdout = out::Watched::new(io::stdout());
    match run(stream, io::stdin(), &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if stdout.failed() && out::reader_gone(&e) => ExitCode::SUCCESS,
        Err(e) if stdout.failed() => {
            out::error(
                "talk",
                format_args!("cannot write to stdout: {}", out::why(&e)),
            );
            ExitCode::from(1)
        }
        Err(e) => {
            out::error(
                "talk",
                format_args!("connection to {address} failed: {}", out::why(&e)),
            );
            ExitCode::from(1)
        }
    }
}

/// Copies `input` to the server on a second thread (half-closing at its end) and the server's
/// bytes to `output` until the server closes. Returns when the server has closed.
pub fn run<R, W>(stream: Stream, mut input: R, output: &mut W) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    let to_server = stream.try_clone()?;
    thread::Builder::new()
        .name("talk-stdin".into())
        .spawn(move || {
            // Whether stdin ended or the server went away, there is nothing more to send.
            let _ = io::copy(&mut input, &mut &to_server);
            let _ = to_server.shutdown(Shutdown::Write);
        })?;
    let mut buf = [0u8; 8192];
    loop {
        let n = match (&stream).read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}
