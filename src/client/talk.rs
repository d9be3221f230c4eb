//! `threadsock talk HOST PORT`: the seed's msg_client. Stdin goes to the server, the server's
//! bytes go to stdout; when stdin ends the client half-closes and waits for the server to close.

use super::Target;
use crate::out;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;
use std::thread;

/// Runs the client on the process's stdio.
pub fn main(target: &Target) -> ExitCode {
    let addrs = match super::resolve_for("talk", target) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let stream = match super::connect_to(&addrs, None) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            // The seed's msg_client's words.
            eprintln!("No server at {} {}", target.host, target.port);
            return ExitCode::from(1);
        }
        Err(e) => {
            out::error(
                "talk",
                format_args!(
                    "cannot connect to {}:{}: {}",
                    target.host,
                    target.port,
                    out::why(&e)
                ),
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
                format_args!(
                    "connection to {}:{} failed: {}",
                    target.host,
                    target.port,
                    out::why(&e)
                ),
            );
            ExitCode::from(1)
        }
    }
}

/// Copies `input` to the server on a second thread (half-closing at its end) and the server's
/// bytes to `output` until the server closes. Returns when the server has closed.
pub fn run<R, W>(stream: TcpStream, mut input: R, output: &mut W) -> io::Result<()>
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
