//! `threadsock send [--udp] HOST PORT FILE`: upload a file to the files service. Over TCP the
//! upload is framed (size, CRC-32 and name first), so the server stores it only if all of it
//! arrived intact; over UDP the size and CRC-32 the server reports are checked.

use super::Target;
use crate::codec::crc32::Crc32;
use crate::service::files::framed;
use crate::service::files::{parse_reply, Saved};
use crossbeam_channel::Receiver;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Seek, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Options of `threadsock send`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// The files server.
    pub target: Target,
    /// The file to send, as the OS named it (any bytes); `-` for stdin.
    pub file: PathBuf,
    /// The name to store it under, instead of the file's own name (`stdin` for stdin).
    pub name: Option<String>,
    /// Send as one UDP datagram instead of a TCP stream.
    pub udp: bool,
    /// How long to wait for the server's reply.
    pub timeout: Duration,
}

/// Largest UDP payload over IPv4: 65,535 minus the IP and UDP headers.
pub const MAX_UDP_V4: usize = 65_507;
/// Largest UDP payload over IPv6 (no jumbograms): 65,535 minus the UDP header.
pub const MAX_UDP_V6: usize = 65_527;
/// Bytes read from the file per write to the socket.
const CHUNK: usize = 64 * 1024;
/// Longest reply line accepted.
const MAX_REPLY: u64 = 4096;
/// How much of an unexpected answer is shown.
const SHOWN_ANSWER: usize = 40;

/// Why a send failed; each says what to tell the user.
#[derive(Debug)]
pub enum SendError {
    /// Reading the input (named: a path, or `stdin`) failed.
    File(String, io::Error),
    /// The network failed (connect, send, receive).
    Net(io::Error),
    /// The server answered `error reason` (or `ERR reason`).
    Refused(String),
    /// The server's report does not match what was sent.
    Mismatch(String),
    /// The file cannot go in one datagram (too large, or empty).
    NotForUdp(String),
    /// The answer is not a files server's (an echo or daytime port, say).
    NotFiles(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::File(what, e) => write!(f, "cannot read {what}: {e}"),
            SendError::Net(e) => f.write_str(&crate::out::why(e)),
            SendError::Refused(why) => write!(f, "the server refused the file: {why}"),
            SendError::Mismatch(m) | SendError::NotForUdp(m) | SendError::NotFiles(m) => {
                f.write_str(m)
            }
        }
    }
}

/// Runs `send`, printing `saved <name> <bytes> <crc32>` once the file is stored.
pub fn main(opts: &SendOptions) -> ExitCode {
    // A name that does not resolve is unusable input (exit 2), never "no server".
    if let Err(code) = super::resolve_for("send", &opts.target) {
        return code;
    }
    let result = if opts.udp {
        send_udp(opts)
    } else {
        send_tcp(opts)
    };
    match result {
        Ok(saved) => {
            let _ = writeln!(
                io::stdout(),
                "saved {} {} {:08x}",
                saved.name,
                saved.bytes,
                saved.crc
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("threadsock send: {e}");
            ExitCode::from(1)
        }
    }
}

/// How the input is named in messages: its path, or `stdin`.
fn input_name(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".to_string()
    } else {
        path.display().to_string()
    }
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Opens the input before anything touches the network: stdin for `-`, else a regular file (a
/// directory, a missing or unreadable file fails here).
fn open_input(path: &Path) -> Result<Box<dyn Read>, SendError> {
    if is_stdin(path) {
        return Ok(Box::new(io::stdin().lock()));
    }
    Ok(Box::new(open_file(path)?))
}

fn open_file(path: &Path) -> Result<File, SendError> {
    let fail = |e| SendError::File(input_name(path), e);
    let file = File::open(path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if meta.is_dir() {
        return Err(fail(io::Error::other("is a directory")));
    }
    if !meta.is_file() {
        return Err(fail(io::Error::other("not a regular file")));
    }
    Ok(file)
}

/// The input ready to be framed: a file at its start, its size and CRC-32.
struct Prepared {
    file: File,
    size: u64,
    crc: u32,
}

/// Measures the input: a regular file is read once for its CRC and rewound (constant memory);
/// stdin, whose size is unknown until it ends, is first copied to an unnamed temporary file
/// (created in the temporary directory and unlinked at once, so nothing is left behind).
fn prepare(path: &Path) -> Result<Prepared, SendError> {
    let fail = |e| SendError::File(input_name(path), e);
    let (mut file, spool) = if is_stdin(path) {
        let spool = spool_file().map_err(|e| {
            SendError::File(
                "stdin".into(),
                io::Error::new(e.kind(), format!("cannot create a temporary file: {e}")),
            )
        })?;
        (spool, true)
    } else {
        (open_file(path)?, false)
    };
    let mut crc = Crc32::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let mut stdin = io::stdin().lock();
    loop {
        let source: &mut dyn Read = if spool { &mut stdin } else { &mut file };
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(e)),
        };
        if spool {
            file.write_all(&buf[..n]).map_err(|e| {
                SendError::File(
                    "stdin".into(),
                    io::Error::new(e.kind(), format!("cannot store it temporarily: {e}")),
                )
            })?;
        }
        crc.update(&buf[..n]);
        size += n as u64;
    }
    file.rewind().map_err(fail)?;
    Ok(Prepared {
        file,
        size,
        crc: crc.value(),
    })
}

/// A new temporary file, already unlinked: it disappears when closed, even after a crash.
fn spool_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let mut n = 0u32;
    loop {
        let path = dir.join(format!("threadsock-send-{}-{n}.spool", std::process::id()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The name to announce: `--name`, else the file's own name (its bytes, whatever they are), or
/// `stdin`.
fn announced_name(opts: &SendOptions) -> Vec<u8> {
    if let Some(name) = &opts.name {
        return name.as_bytes().to_vec();
    }
    if is_stdin(&opts.file) {
        return b"stdin".to_vec();
    }
    opts.file
        .file_name()
        .map_or_else(|| b"upload".to_vec(), |n| n.as_bytes().to_vec())
}

/// Sends the header line, then the file in `CHUNK`-sized pieces (constant memory whatever its size),
/// half-closes, and reads the server's one-line answer.
///
/// The answer is read on a second thread from the start: if the server answers or closes
/// before the upload is done (too large, disk error, shutting down), the socket is shut down
/// at once so the upload stops instead of writing into a connection nobody reads.
pub fn send_tcp(opts: &SendOptions) -> Result<Saved, SendError> {
    let Prepared { file, size, crc } = prepare(&opts.file)?;
    let stream = super::connect(&opts.target, Some(opts.timeout)).map_err(SendError::Net)?;
    let answer = watch_answer(&stream).map_err(SendError::Net)?;
    let header = framed::header_line(size, crc, &announced_name(opts));
    let mut write_failed = (&stream).write_all(&header).err();
    let mut progress = Progress::new(Some(size));
    let mut sent = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let mut input = file.take(size);
    while write_failed.is_none() {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SendError::File(input_name(&opts.file), e)),
        };
        // On failure the server answered or went away mid-way: its answer says why.
        write_failed = (&stream).write_all(&buf[..n]).err();
        sent += n as u64;
        progress.update(sent);
    }
    progress.finish(sent);
    let _ = stream.shutdown(Shutdown::Write);
    let line = match answer.recv_timeout(opts.timeout) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(SendError::Net(write_failed.unwrap_or(e))),
        Err(_) => {
            return Err(SendError::Net(io::Error::new(
                io::ErrorKind::TimedOut,
                "no answer from the server",
            )))
        }
    };
    match framed::parse_answer(&line) {
        Some(Ok(name)) => Ok(Saved {
            name,
            bytes: size,
            crc,
        }),
        Some(Err(why)) => Err(SendError::Refused(why)),
        None => Err(not_files(opts, &line)),
    }
}

/// The error for an answer no files server gives.
fn not_files(opts: &SendOptions, line: &[u8]) -> SendError {
    let shown = &line[..line.len().min(SHOWN_ANSWER)];
    let more = if line.len() > SHOWN_ANSWER { "..." } else { "" };
    SendError::NotFiles(format!(
        "port {} on {} does not look like a threadsock files server (unexpected answer: \"{}{more}\")",
        opts.target.port,
        opts.target.host,
        shown.escape_ascii()
    ))
}

/// Reads the server's answer line, as bytes, on its own thread; when it arrives (or the server
/// closes), shuts the socket down so a write still in progress fails at once.
fn watch_answer(stream: &TcpStream) -> io::Result<Receiver<io::Result<Vec<u8>>>> {
    let reader = stream.try_clone()?;
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::Builder::new()
        .name("send-answer".into())
        .spawn(move || {
            let mut line = Vec::new();
            let got = BufReader::new(&reader)
                .take(MAX_REPLY)
                .read_until(b'\n', &mut line)
                .and_then(|_| {
                    while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                        line.pop();
                    }
                    if line.is_empty() {
                        Err(io::Error::other("the server closed without answering"))
                    } else {
                        Ok(line)
                    }
                });
            let _ = reader.shutdown(Shutdown::Both);
            let _ = tx.send(got);
        })?;
    Ok(rx)
}

/// Sends the whole file as one datagram (refusing one too large before sending anything) and
/// waits for the answer.
pub fn send_udp(opts: &SendOptions) -> Result<Saved, SendError> {
    let input = open_input(&opts.file)?;
    let addrs = super::resolve(&opts.target).map_err(SendError::Net)?;
    let server = addrs[0];
    let limit = if server.is_ipv4() {
        MAX_UDP_V4
    } else {
        MAX_UDP_V6
    };
    let mut content = Vec::new();
    input
        .take(limit as u64 + 1)
        .read_to_end(&mut content)
        .map_err(|e| SendError::File(input_name(&opts.file), e))?;
    if content.len() > limit {
        return Err(SendError::NotForUdp(format!(
            "{} is over {limit} bytes, the most one UDP datagram holds over {}; send it over TCP (without --udp)",
            input_name(&opts.file),
            if server.is_ipv4() { "IPv4" } else { "IPv6" }
        )));
    }
    if content.is_empty() {
        return Err(SendError::NotForUdp(format!(
            "{} is empty: the server ignores empty datagrams",
            input_name(&opts.file)
        )));
    }
    let socket = super::udp::open(server).map_err(SendError::Net)?;
    socket.send(&content).map_err(SendError::Net)?;
    socket
        .set_read_timeout(Some(opts.timeout))
        .map_err(SendError::Net)?;
    let mut reply = [0u8; MAX_REPLY as usize];
    let n = socket.recv(&mut reply).map_err(|e| {
        if crate::server::is_timeout(&e) {
            SendError::Net(io::Error::new(
                io::ErrorKind::TimedOut,
                "no answer (UDP does not guarantee delivery; the file may or may not be stored)",
            ))
        } else {
            SendError::Net(e)
        }
    })?;
    let line = String::from_utf8_lossy(&reply[..n]);
    let saved = parse_reply(line.trim_end_matches(['\r', '\n'])).map_err(SendError::Refused)?;
    verify(
        &saved,
        content.len() as u64,
        crate::codec::crc32::checksum(&content),
    )
}

fn verify(saved: &Saved, bytes: u64, crc: u32) -> Result<Saved, SendError> {
    if saved.bytes != bytes || saved.crc != crc {
        return Err(SendError::Mismatch(format!(
            "the server stored {} bytes with CRC {:08x}, but {bytes} bytes with CRC {crc:08x} were sent",
            saved.bytes, saved.crc
        )));
    }
    Ok(saved.clone())
}

/// A progress line on stderr, redrawn at most ten times a second, only when stderr is a
/// terminal: `  12.0 MiB / 100.0 MiB  12%  45.6 MiB/s`.
struct Progress {
    total: Option<u64>,
    start: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        Progress {
            total,
            start: Instant::now(),
            last_draw: None,
            enabled: io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, sent: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last_draw
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(now);
        self.draw(sent);
    }

    fn finish(&mut self, sent: u64) {
        if self.enabled {
            self.draw(sent);
            eprintln!();
        }
    }

    fn draw(&self, sent: u64) {
        eprint!(
            "\r{}\x1b[K",
            progress_text(sent, self.total, self.start.elapsed())
        );
    }
}

/// The progress text for `sent` of `total` bytes after `elapsed`.
pub fn progress_text(sent: u64, total: Option<u64>, elapsed: Duration) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let rate = mib(sent) / elapsed.as_secs_f64().max(1e-3);
    match total {
        Some(t) if t > 0 => format!(
            "  {:.1} MiB / {:.1} MiB  {:>3}%  {rate:.1} MiB/s",
            mib(sent),
            mib(t),
            sent.saturating_mul(100) / t
        ),
        _ => format!("  {:.1} MiB  {rate:.1} MiB/s", mib(sent)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_texts() {
        let s = Duration::from_secs(2);
        assert_eq!(
            progress_text(12 << 20, Some(100 << 20), s),
            "  12.0 MiB / 100.0 MiB   12%  6.0 MiB/s"
        );
        assert_eq!(progress_text(3 << 20, None, s), "  3.0 MiB  1.5 MiB/s");
        assert_eq!(progress_text(0, Some(0), s), "  0.0 MiB  0.0 MiB/s");
    }

    #[test]
    fn verify_catches_size_and_crc() {
        let saved = Saved {
            name: "n".into(),
            bytes: 3,
            crc: 7,
        };
        assert!(verify(&saved, 3, 7).is_ok());
        assert!(matches!(verify(&saved, 4, 7), Err(SendError::Mismatch(_))));
        assert!(matches!(verify(&saved, 3, 8), Err(SendError::Mismatch(_))));
    }
}
