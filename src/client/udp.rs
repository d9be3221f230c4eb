//! `threadsock udp HOST PORT`: the seed's UDP client. Each stdin line becomes one datagram and
//! each reply is printed; after stdin ends it waits `--timeout` for late replies.

use super::Target;
use crate::out;
use crossbeam_channel::{Receiver, TryRecvError};
use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// How often the receive loop looks whether stdin has ended.
const POLL: Duration = Duration::from_millis(50);

/// Runs the client on the process's stdio.
pub fn main(target: &Target, timeout: Duration) -> ExitCode {
    let addrs = match super::resolve_for("udp", target) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let socket = match open(addrs[0]) {
        Ok(s) => s,
        Err(e) => {
            out::error(
                "udp",
                format_args!("cannot open a socket to {}: {}", addrs[0], out::why(&e)),
            );
            return ExitCode::from(1);
        }
    };
    let mut stdout = out::Watched::new(io::stdout());
    match run(
        socket,
        io::BufReader::new(io::stdin()),
        &mut stdout,
        timeout,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if stdout.failed() && out::reader_gone(&e) => ExitCode::SUCCESS,
        Err(e) if stdout.failed() => {
            out::error(
                "udp",
                format_args!("cannot write to stdout: {}", out::why(&e)),
            );
            ExitCode::from(1)
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            eprintln!(
                "No server at {} {} (port unreachable)",
                target.host, target.port
            );
            ExitCode::from(1)
        }
        Err(e) => {
            out::error(
                "udp",
                format_args!(
                    "exchange with {}:{} failed: {}",
                    target.host,
                    target.port,
                    out::why(&e)
                ),
            );
            ExitCode::from(1)
        }
    }
}

/// A socket on an ephemeral port, connected to `server` so only its replies are received.
pub fn open(server: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    Ok(socket)
}

/// Sends each line of `input` (with its newline) as a datagram from a second thread and writes
/// every reply to `output`; returns `timeout` after `input` ends.
pub fn run<R, W>(socket: UdpSocket, input: R, output: &mut W, timeout: Duration) -> io::Result<()>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    let sender = socket.try_clone()?;
    let (done_tx, done_rx) = crossbeam_channel::bounded::<io::Error>(1);
    thread::Builder::new()
        .name("udp-stdin".into())
        .spawn(move || {
            if let Err(e) = send_lines(&sender, input) {
                let _ = done_tx.send(e);
            }
            // Dropping done_tx tells the receiver that stdin has ended.
        })?;
    receive(&socket, output, &done_rx, timeout)
}

fn send_lines<R: BufRead>(socket: &UdpSocket, mut input: R) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if let Err(e) = socket.send(&line) {
            // One oversized line must not end the session; an unreachable port will show on
            // the receiving side as well.
            if e.kind() == io::ErrorKind::ConnectionRefused {
                return Err(e);
            }
            out::error(
                "udp",
                format_args!("line of {} bytes not sent: {}", line.len(), out::why(&e)),
            );
        }
    }
}

fn receive<W: Write>(
    socket: &UdpSocket,
    output: &mut W,
    stdin_done: &Receiver<io::Error>,
    timeout: Duration,
) -> io::Result<()> {
    let mut buf = vec![0u8; 65_535];
    let mut deadline: Option<Instant> = None;
    loop {
        if deadline.is_none() {
            match stdin_done.try_recv() {
                Ok(e) => return Err(e),
                Err(TryRecvError::Disconnected) => deadline = Some(Instant::now() + timeout),
                Err(TryRecvError::Empty) => {}
            }
        }
        let wait = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(());
                }
                left.min(POLL)
            }
            None => POLL,
        };
        socket.set_read_timeout(Some(wait))?;
        match socket.recv(&mut buf) {
            Ok(n) => {
                output.write_all(&buf[..n])?;
                output.flush()?;
            }
            Err(e) if crate::server::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
