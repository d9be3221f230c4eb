//! A minimal blocking Socket.IO v5 client over Engine.IO v4 and WebSocket, for the load
//! generator: connect straight over WebSocket ([`SioClient::connect`]) or through the polling
//! handshake and the upgrade ([`SioClient::connect_upgrade`]), CONNECT to `/`, emit events
//! (with or without an ack id), read events and acks, and answer the server's pings. Frames
//! are masked; every read is bounded by a timeout and every frame by [`MAX_FRAME`].

use crate::codec::engineio::{self, Packet as Eio};
use crate::codec::json::Value;
use crate::codec::socketio::{self, Packet};
use crate::codec::websocket::{self as ws, Opcode, Role};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest frame payload the client accepts.
pub const MAX_FRAME: usize = 1 << 20;
/// Longest HTTP response head the client reads.
const MAX_HEAD: usize = 16 * 1024;
/// The WebSocket key of every handshake (the client does not need a fresh one).
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The writing half, shareable between a reading thread (its pongs) and an emitting one.
#[derive(Debug, Clone)]
pub struct SioWriter {
    stream: Arc<Mutex<TcpStream>>,
}

impl SioWriter {
    /// Sends `text` as one Engine.IO packet in a masked text frame.
    pub fn send_eio(&self, text: &str) -> io::Result<()> {
        let mut frame = Vec::with_capacity(text.len() + 14);
        ws::encode_frame_masked(Opcode::Text, text.as_bytes(), mask(), &mut frame);
        self.write(&frame)
    }

    /// Emits `event` with `args`, asking for an ack with `id` if given.
    pub fn emit(&self, event: &str, args: Vec<Value>, id: Option<u64>) -> io::Result<()> {
        self.send_eio(&event_packet(event, args, id))
    }

    /// Writes `bytes` whole; a non-blocking socket that is full is retried for a while.
    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = 0;
        let mut waits = 0;
        while done < bytes.len() {
            match s.write(&bytes[done..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && waits < 10_000 => {
                    waits += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The Engine.IO packet (`4…`) of a Socket.IO event on `/`, ready for
/// [`SioWriter::send_eio`]: what [`SioWriter::emit`] sends, to encode once and send many times.
pub fn event_packet(event: &str, args: Vec<Value>, id: Option<u64>) -> String {
    let (text, _) = socketio::encode(&socketio::event("/", event, args, id));
    format!("4{text}")
}

/// A mask key: not secret here, only varied.
fn mask() -> [u8; 4] {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    static NEXT: AtomicU32 = AtomicU32::new(0x9e37_79b9);
    NEXT.fetch_add(0x6d2b_79f5, Relaxed).to_be_bytes()
}

/// One connected Socket.IO client on namespace `/`.
#[derive(Debug)]
pub struct SioClient {
    stream: TcpStream,
    writer: SioWriter,
    buf: Vec<u8>,
    /// The Engine.IO session id.
    pub sid: String,
    /// Engine.IO pings answered so far.
    pub pings: u64,
}

/// An error of kind `InvalidData` saying what the server did wrong.
pub fn protocol(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Connects with read and write timeouts of `timeout`.
fn tcp(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    Ok(s)
}

/// Reads an HTTP response head; returns it and the bytes read after it.
fn read_head(s: &mut TcpStream) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Ok((head, buf[end + 4..].to_vec()));
        }
        if buf.len() > MAX_HEAD {
            return Err(protocol("HTTP response head too long"));
        }
        match s.read(&mut chunk)? {
            0 => {
                return Err(protocol(
                    "the server closed the connection before answering",
                ))
            }
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The status line's code and the first line, for errors.
fn status(head: &str) -> (u16, &str) {
    let line = head.lines().next().unwrap_or("");
    let code = line.split(' ').nth(1).and_then(|c| c.parse().ok());
    (code.unwrap_or(0), line)
}

/// A header's value (case-insensitive name).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The `sid` of an open packet's JSON.
fn open_sid(json: &str) -> io::Result<String> {
    let v = crate::codec::json::parse(json.as_bytes())
        .map_err(|e| protocol(format!("open packet is not JSON: {e}")))?;
    v.get("sid")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| protocol("open packet without sid"))
}

/// The engine.io path's query for `transport`, with `sid` if given.
fn query(transport: &str, sid: Option<&str>) -> String {
    let sid = sid.map_or(String::new(), |s| format!("&sid={s}"));
    format!("/socket.io/?EIO=4&transport={transport}{sid}")
}

impl SioClient {
    /// Opens a WebSocket to `/socket.io/` (joining session `sid` if given), returning the
    /// client before any Engine.IO packet.
    fn websocket(addr: SocketAddr, sid: Option<&str>, timeout: Duration) -> io::Result<Self> {
        let mut s = tcp(addr, timeout)?;
        // Formatted first and written in one call, as a browser sends its request: `write!`
        // straight to the socket would send each piece in a segment of its own.
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            query("websocket", sid)
        );
        s.write_all(request.as_bytes())?;
        let (head, rest) = read_head(&mut s)?;
        let (code, line) = status(&head);
        if code != 101 {
            return Err(protocol(format!(
                "no WebSocket upgrade at /socket.io/ (got \"{line}\")"
            )));
        }
        if header(&head, "sec-websocket-accept") != Some(ws::accept_key(KEY).as_str()) {
            return Err(protocol("wrong Sec-WebSocket-Accept"));
        }
        let writer = SioWriter {
            stream: Arc::new(Mutex::new(s.try_clone()?)),
        };
        Ok(SioClient {
            stream: s,
            writer,
            buf: rest,
            sid: sid.unwrap_or_default().to_string(),
            pings: 0,
        })
    }

    /// Connects over WebSocket only: the open packet, then CONNECT to `/` with `auth` (JSON)
    /// if given, until the server's CONNECT answer.
    pub fn connect(addr: SocketAddr, auth: Option<&str>, timeout: Duration) -> io::Result<Self> {
        let mut c = Self::websocket(addr, None, timeout)?;
        match c.next_eio()? {
            Eio::Open(json) => c.sid = open_sid(&json)?,
            other => return Err(protocol(format!("expected an open packet, got {other:?}"))),
        }
        c.connect_namespace(auth)?;
        Ok(c)
    }

    /// Connects as a browser client does: the polling handshake, a WebSocket for the same
    /// session, the `2probe`/`3probe` exchange and `5`, then CONNECT to `/`.
    pub fn connect_upgrade(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let mut s = tcp(addr, timeout)?;
        // `Connection: close` makes the server close first, so it keeps the TIME_WAIT.
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
            query("polling", None)
        );
        s.write_all(request.as_bytes())?;
        let (head, mut body) = read_head(&mut s)?;
        let (code, line) = status(&head);
        if code != 200 {
            return Err(protocol(format!(
                "no polling handshake at /socket.io/ (got \"{line}\")"
            )));
        }
        let len: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| protocol("handshake response without Content-Length"))?;
        if len > MAX_FRAME {
            return Err(protocol("handshake response too long"));
        }
        while body.len() < len {
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk)? {
                0 => return Err(protocol("handshake response cut short")),
                n => body.extend_from_slice(&chunk[..n]),
            }
        }
        let sid = match engineio::decode_payload(&body[..len], 16).as_deref() {
            Ok([Eio::Open(json), ..]) => open_sid(json)?,
            _ => return Err(protocol("handshake response is not an open packet")),
        };
        drop(s);
        let mut c = Self::websocket(addr, Some(&sid), timeout)?;
        c.writer.send_eio("2probe")?;
        match c.next_eio()? {
            Eio::Pong(p) if p == "probe" => {}
            other => return Err(protocol(format!("expected 3probe, got {other:?}"))),
        }
        c.writer.send_eio("5")?;
        c.connect_namespace(None)?;
        Ok(c)
    }

    /// Sends CONNECT to `/` and waits for its answer.
    fn connect_namespace(&mut self, auth: Option<&str>) -> io::Result<()> {
        self.writer.send_eio(&format!("40{}", auth.unwrap_or("")))?;
        loop {
            let p = self.next_packet()?;
            match p.kind {
                socketio::PacketType::Connect => return Ok(()),
                socketio::PacketType::ConnectError => {
                    let why = p.data.map(|d| d.to_json()).unwrap_or_default();
                    return Err(protocol(format!("CONNECT refused: {why}")));
                }
                _ => {}
            }
        }
    }

    /// A handle to write with from another thread.
    pub fn writer(&self) -> SioWriter {
        self.writer.clone()
    }

    /// Emits `event` with `args`, asking for an ack with `id` if given.
    pub fn emit(&self, event: &str, args: Vec<Value>, id: Option<u64>) -> io::Result<()> {
        self.writer.emit(event, args, id)
    }

    /// Sends an Engine.IO packet already encoded (`4…` for a Socket.IO packet).
    pub fn send_eio(&self, text: &str) -> io::Result<()> {
        self.writer.send_eio(text)
    }

    /// Makes reads return at once (`WouldBlock`) when nothing has arrived.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.stream.set_nonblocking(on)
    }

    /// Sets the read timeout.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(t)
    }

    /// One read from the socket into the buffer: `Ok(false)` if nothing arrived in time (a
    /// timeout or `WouldBlock`), an error if the connection ended or failed.
    pub fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if crate::server::is_timeout(&e) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The next Engine.IO packet already buffered, answering WebSocket pings and refusing
    /// close frames and binary frames.
    fn buffered_eio(&mut self) -> io::Result<Option<Eio>> {
        loop {
            let Some((used, frame)) = ws::parse_frame(&self.buf, Role::Client, MAX_FRAME)
                .map_err(|e| protocol(format!("bad frame from the server: {e}")))?
            else {
                return Ok(None);
            };
            self.buf.drain(..used);
            match frame.opcode {
                Opcode::Text if frame.fin => {
                    let text = String::from_utf8(frame.payload)
                        .map_err(|_| protocol("text frame is not UTF-8"))?;
                    return engineio::parse_text(&text)
                        .map(Some)
                        .map_err(|e| protocol(format!("bad Engine.IO packet: {e}")));
                }
                Opcode::Ping => {
                    let mut pong = Vec::new();
                    ws::encode_frame_masked(Opcode::Pong, &frame.payload, mask(), &mut pong);
                    self.writer.write(&pong)?;
                }
                Opcode::Pong => {}
                Opcode::Close => return Err(protocol("the server closed the WebSocket")),
                _ => return Err(protocol("unexpected binary or fragmented frame")),
            }
        }
    }

    /// The next Socket.IO packet already buffered, answering Engine.IO pings on the way.
    pub fn buffered(&mut self) -> io::Result<Option<Packet>> {
        while let Some(p) = self.buffered_eio()? {
            match p {
                Eio::Ping(data) => {
                    self.writer.send_eio(&format!("3{data}"))?;
                    self.pings += 1;
                }
                Eio::Message(text) => {
                    return socketio::parse(&text, 10)
                        .map(Some)
                        .map_err(|e| protocol(format!("bad Socket.IO packet: {e}")));
                }
                Eio::Close => return Err(protocol("the server closed the session")),
                _ => {}
            }
        }
        Ok(None)
    }

    /// The next Engine.IO packet, waiting at most one read timeout per read.
    fn next_eio(&mut self) -> io::Result<Eio> {
        loop {
            if let Some(p) = self.buffered_eio()? {
                return Ok(p);
            }
            if !self.fill()? {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"));
            }
        }
    }

    /// The next Socket.IO packet, answering pings; a read that times out is an error.
    pub fn next_packet(&mut self) -> io::Result<Packet> {
        loop {
            if let Some(p) = self.buffered()? {
                return Ok(p);
            }
            if !self.fill()? {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"));
            }
        }
    }

    /// Reads until the ACK with `id`, skipping events; returns its args.
    pub fn wait_ack(&mut self, id: u64) -> io::Result<Vec<Value>> {
        loop {
            let p = self.next_packet()?;
            if p.kind == socketio::PacketType::Ack && p.id == Some(id) {
                return Ok(match p.data {
                    Some(Value::Array(args)) => args,
                    _ => Vec::new(),
                });
            }
        }
    }

    /// Closes politely: a close frame, then waits (a short while) for the server to close, so
    /// the server's side keeps the TIME_WAIT.
    pub fn close(mut self) {
        let mut frame = Vec::new();
        ws::encode_frame_masked(Opcode::Close, &1000u16.to_be_bytes(), mask(), &mut frame);
        if self.writer.write(&frame).is_ok() {
            let _ = self.stream.set_nonblocking(false);
            let _ = self.stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut sink = [0u8; 4096];
            while matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_response_heads() {
        let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                    sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        assert_eq!(status(head), (101, "HTTP/1.1 101 Switching Protocols"));
        assert_eq!(
            header(head, "Sec-WebSocket-Accept"),
            Some(ws::accept_key(KEY).as_str())
        );
        assert_eq!(header(head, "content-length"), None);
        assert_eq!(status("GET / HTTP/1.1").0, 0);
    }

    #[test]
    fn reads_the_open_packet_and_builds_queries() {
        let open = r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000}"#;
        assert_eq!(open_sid(open).unwrap(), "abc");
        assert!(open_sid("{}").is_err());
        assert!(open_sid("nope").is_err());
        assert_eq!(
            query("websocket", Some("abc")),
            "/socket.io/?EIO=4&transport=websocket&sid=abc"
        );
        assert_eq!(
            query("polling", None),
            "/socket.io/?EIO=4&transport=polling"
        );
    }

    #[test]
    fn masks_vary() {
        assert_ne!(mask(), mask());
    }
}
