//! One blocking connection to Redis: connecting with a deadline (`AUTH`, `SELECT`), commands
//! written alone or pipelined, replies read through a bounded buffer that survives read
//! timeouts, and a handle another thread can shut down to wake a blocked reader.

use crate::codec::resp::{self, Limits, Reply};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::RedisUrl;

/// Bytes asked of the socket per read, at least.
const READ_CHUNK: usize = 16 << 10;

/// The largest reply a connection buffers by default (a few bulk strings at the parser's
/// default limit).
pub const MAX_REPLY: usize = 128 << 20;

/// A blocking RESP2 connection to one Redis server.
///
/// After any error other than a read timeout (`WouldBlock` or `TimedOut` from
/// [`read_reply`](RedisConn::read_reply)) the connection's framing is lost: drop it.
#[derive(Debug)]
pub struct RedisConn {
    stream: TcpStream,
    /// Bytes read and not yet returned as replies are `buf[start..end]`; past `end` the buffer
    /// is initialized room for the next read (zeroed once, not on every read).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Commands queued by [`queue`](RedisConn::queue), not yet written.
    out: Vec<u8>,
    limits: Limits,
    max_reply: usize,
}

impl RedisConn {
    /// Connects to `url` within `timeout` (name resolution aside), authenticates when the URL
    /// has a password (`AUTH [user] password`) and selects its database when it is not 0. A
    /// Redis error reply to either becomes an `io::Error` carrying Redis's message. Reads and
    /// writes are left with `timeout` as their timeout.
    pub fn connect(url: &RedisUrl, timeout: Duration) -> io::Result<RedisConn> {
        let deadline = Instant::now() + timeout;
        let mut last_error = None;
        let mut stream = None;
        for addr in (url.host.as_str(), url.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, left(deadline)?) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let stream = match (stream, last_error) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(e),
            (None, None) => return Err(io::Error::other(format!("{}: no address", url.host))),
        };
        stream.set_nodelay(true)?;
        let mut conn = RedisConn::new(stream);
        conn.set_write_timeout(Some(left(deadline)?))?;
        if let Some(password) = &url.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &url.username {
                args.push(user.as_bytes());
            }
            args.push(password.as_bytes());
            conn.set_read_timeout(Some(left(deadline)?))?;
            check(conn.command(&args).map_err(no_answer)?, "AUTH")?;
        }
        if url.db != 0 {
            let db = url.db.to_string();
            conn.set_read_timeout(Some(left(deadline)?))?;
            check(
                conn.command(&[b"SELECT", db.as_bytes()])
                    .map_err(no_answer)?,
                "SELECT",
            )?;
        }
        conn.set_read_timeout(Some(timeout))?;
        conn.set_write_timeout(Some(timeout))?;
        Ok(conn)
    }

    /// A connection over an open stream, with the default limits and the stream's timeouts.
    pub fn new(stream: TcpStream) -> RedisConn {
        RedisConn {
            stream,
            buf: Vec::new(),
            start: 0,
            end: 0,
            out: Vec::new(),
            limits: Limits::default(),
            max_reply: MAX_REPLY,
        }
    }

    /// Bounds on every reply from now on: the parser's `limits`, and `max_reply` bytes for the
    /// whole of one reply (the read buffer never holds more than that plus one read).
    pub fn set_limits(&mut self, limits: Limits, max_reply: usize) {
        self.limits = limits;
        self.max_reply = max_reply.max(1);
    }

    /// How long a read may block (`None`: without bound).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    /// How long a write may block (`None`: without bound).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(timeout)
    }

    /// The server's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// A second handle on the socket. Another thread may call `shutdown(Shutdown::Both)` on it
    /// to wake a reader blocked in [`read_reply`](RedisConn::read_reply) (which then fails), or
    /// write whole commands through it.
    pub fn shutdown_handle(&self) -> io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// Sends one command and reads its reply. A Redis error is returned as
    /// [`Reply::Error`]; [`check`] turns it into an `io::Error`.
    pub fn command(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        self.send(args)?;
        self.read_reply()
    }

    /// Writes one command (and any queued before it) without reading the reply.
    pub fn send(&mut self, args: &[&[u8]]) -> io::Result<()> {
        self.queue(args);
        self.flush()
    }

    /// Encodes a command to be written by the next [`flush`](RedisConn::flush) or
    /// [`send`](RedisConn::send): pipelined commands go out in one write.
    pub fn queue(&mut self, args: &[&[u8]]) {
        resp::encode_command(args, &mut self.out);
    }

    /// Writes every queued command. On an error they are discarded, part of them perhaps
    /// written.
    pub fn flush(&mut self) -> io::Result<()> {
        let result = self.stream.write_all(&self.out);
        self.out.clear();
        result
    }

    /// Reads the next reply. A read timeout is returned as the socket reports it (`WouldBlock`
    /// or `TimedOut`) with the bytes of a partial reply kept, so the caller may check a stop
    /// flag and call again. A malformed reply, or one over the limits, is `InvalidData`; the
    /// server closing the connection `UnexpectedEof`.
    pub fn read_reply(&mut self) -> io::Result<Reply> {
        loop {
            let pending = &self.buf[self.start..self.end];
            match resp::parse(pending, &self.limits) {
                Ok(Some((used, reply))) => {
                    self.start += used;
                    if self.start == self.end {
                        self.start = 0;
                        self.end = 0;
                    }
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            let have = pending.len();
            if have >= self.max_reply {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("Redis reply larger than {} bytes", self.max_reply),
                ));
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = have;
            // Reads grow with the reply, so a large one is not parsed again for every chunk.
            let want = have.max(READ_CHUNK).min(self.max_reply - have);
            if self.buf.len() < have + want {
                self.buf.resize(have + want, 0);
            }
            let read = self.stream.read(&mut self.buf[have..have + want]);
            self.end += *read.as_ref().unwrap_or(&0);
            match read {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "Redis closed the connection",
                    ))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// `reply`, or an `io::Error` carrying the message of a Redis error reply to `command`.
pub fn check(reply: Reply, command: &str) -> io::Result<Reply> {
    match reply {
        Reply::Error(message) => Err(io::Error::other(format!("{command}: {message}"))),
        other => Ok(other),
    }
}

/// A read timeout said as what it means here: Redis did not answer in time.
pub(super) fn no_answer(e: io::Error) -> io::Error {
    if crate::server::is_timeout(&e) {
        io::Error::new(io::ErrorKind::TimedOut, "Redis did not answer in time")
    } else {
        e
    }
}

/// A reply that has no place here: the connection is out of step.
pub(super) fn unexpected(reply: &Reply) -> io::Error {
    let what = match reply {
        Reply::Simple(s) => format!("+{}", s.chars().take(40).collect::<String>()),
        Reply::Error(s) => format!("-{}", s.chars().take(80).collect::<String>()),
        Reply::Integer(n) => format!(":{n}"),
        Reply::Bulk(None) | Reply::Array(None) => "null".to_string(),
        Reply::Bulk(Some(b)) => format!("a bulk string of {} bytes", b.len()),
        Reply::Array(Some(items)) => format!("an array of {} items", items.len()),
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected reply from Redis: {what}"),
    )
}

/// Time left until `deadline`, or `TimedOut` if none.
fn left(deadline: Instant) -> io::Result<Duration> {
    let now = Instant::now();
    if now >= deadline {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connecting to Redis timed out",
        ));
    }
    Ok(deadline - now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connection and the server's end of it.
    fn pair() -> (RedisConn, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        (RedisConn::new(client), server)
    }

    #[test]
    fn pipelined_commands_and_replies() {
        let (mut conn, mut server) = pair();
        conn.queue(&[b"PING"]);
        conn.queue(&[b"ECHO", b"hi"]);
        conn.flush().unwrap();
        let mut got = vec![0u8; 14 + 22];
        server.read_exact(&mut got).unwrap();
        assert_eq!(got, b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");
        server.write_all(b"+PONG\r\n$2\r\nhi\r\n").unwrap();
        assert_eq!(conn.read_reply().unwrap(), Reply::Simple("PONG".into()));
        assert_eq!(conn.read_reply().unwrap(), Reply::bulk(&b"hi"[..]));
    }

    #[test]
    fn a_timeout_keeps_the_partial_reply() {
        let (mut conn, mut server) = pair();
        server.write_all(b"$5\r\nhel").unwrap();
        let e = conn.read_reply().unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{e}"
        );
        server.write_all(b"lo\r\n").unwrap();
        assert_eq!(conn.read_reply().unwrap(), Reply::bulk(&b"hello"[..]));
    }

    #[test]
    fn malformed_and_oversized_replies_and_eof() {
        let (mut conn, mut server) = pair();
        server.write_all(b"!oops\r\n").unwrap();
        assert_eq!(
            conn.read_reply().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );

        let (mut conn, mut server) = pair();
        conn.set_limits(Limits::default(), 10);
        server.write_all(b"*2\r\n$4\r\nabcd\r\n$4\r\n").unwrap();
        let e = conn.read_reply().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");

        let (mut conn, server) = pair();
        drop(server);
        assert_eq!(
            conn.read_reply().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn shutdown_wakes_a_blocked_reader() {
        let (mut conn, _server) = pair();
        conn.set_read_timeout(None).unwrap();
        let handle = conn.shutdown_handle().unwrap();
        let reader = std::thread::spawn(move || conn.read_reply().map(|_| ()));
        handle.shutdown(std::net::Shutdown::Both).unwrap();
        assert!(reader.join().unwrap().is_err());
    }

    #[test]
    fn check_turns_errors_into_io_errors() {
        let e = check(Reply::Error("WRONGPASS invalid".into()), "AUTH").unwrap_err();
        assert_eq!(e.to_string(), "AUTH: WRONGPASS invalid");
        assert_eq!(check(Reply::Integer(1), "X").unwrap(), Reply::Integer(1));
    }
}
