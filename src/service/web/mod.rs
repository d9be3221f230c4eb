//! HTTP/1.1 serving on one blocking connection: read a request head and body within limits,
//! hand the request to the first [`Route`] that claims its path, write the response; several
//! requests per connection (keep-alive), pipelined requests answered in order, and a route may
//! take the connection over for good (a WebSocket upgrade).

pub mod cors;

use crate::codec::http::{self, BodyKind, Chunk, HeadLimits, HttpError, RequestHead, Response};
use crate::server::{is_timeout, Connection};
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

pub use cors::Cors;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4 * 1024;

/// A request with its whole body.
#[derive(Debug)]
pub struct Request {
    /// Method, target, headers.
    pub head: RequestHead,
    /// The body (decoded if it was chunked).
    pub body: Vec<u8>,
}

/// What a route did with a request.
#[derive(Debug)]
pub enum Outcome {
    /// Write this response; the connection goes on if the client wants it to.
    Respond(Response),
    /// Write this response, then close the connection.
    Close(Response),
    /// The route took the connection over (it wrote its own response); the loop ends.
    TakenOver,
    /// The route took the connection over (it wrote its own response) and goes on with it in
    /// this, once the request and the HTTP layer's frames are off the stack.
    Continue(Takeover),
}

/// The rest of a connection a route took over: it gets the connection and the bytes already
/// read past the request. Run at the bottom of the connection thread's stack, so that a
/// connection that lives for days (a WebSocket reader) does not keep the deepest frames of
/// its first request, and their pages of memory, for its whole life.
pub struct Takeover(Box<TakeoverFn>);

type TakeoverFn = dyn FnOnce(&mut Connection, Vec<u8>);

impl Takeover {
    /// The rest of the connection: `f`.
    pub fn new(f: impl FnOnce(&mut Connection, Vec<u8>) + 'static) -> Takeover {
        Takeover(Box::new(f))
    }
}

impl fmt::Debug for Takeover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Takeover")
    }
}

/// A part of the site: it claims paths and serves requests for them.
pub trait Route: Send + Sync {
    /// True if this route serves `path`.
    fn claims(&self, path: &str) -> bool;

    /// The largest request body it accepts (larger gets 413).
    fn max_body(&self) -> usize;

    /// Serves `req`. A route that takes the connection over (WebSocket) gets the connection
    /// and the bytes already read past this request (`rest`).
    fn serve(&self, req: Request, conn: &mut Connection, rest: &mut Vec<u8>) -> Outcome;
}

/// Serves requests on `conn` until the client closes, asks to close, errs, or stays silent
/// past the connection's read timeout. Unknown paths get 404.
pub fn serve(conn: &mut Connection, routes: &[Arc<dyn Route>]) -> io::Result<()> {
    if let Some((rest, takeover)) = serve_requests(conn, routes)? {
        (takeover.0)(conn, rest);
    }
    Ok(())
}

/// The request loop of [`serve`]; a route's [`Takeover`] (with the bytes read past its
/// request) is returned, for `serve` to run with this frame gone.
#[inline(never)]
fn serve_requests(
    conn: &mut Connection,
    routes: &[Arc<dyn Route>],
) -> io::Result<Option<(Vec<u8>, Takeover)>> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Reading, routing and answering are out of line, each its own frame: only the
        // request itself is on the stack under the route that serves it.
        let Some((req, route)) = read_request(conn, &mut buf, routes)? else {
            return Ok(None);
        };
        let keep = req.head.keep_alive();
        let outcome = match route {
            Some(r) => r.serve(req, conn, &mut buf),
            None => Outcome::Respond(text(404, "not found\n")),
        };
        if let Outcome::Continue(takeover) = outcome {
            return Ok(Some((buf, takeover)));
        }
        if !respond(conn, outcome, keep)? {
            return Ok(None);
        }
    }
}

/// A request and the route that claims it, if any.
type Routed<'r> = (Request, Option<&'r Arc<dyn Route>>);

/// The next request and the route that claims it; `None` once the connection is done (the
/// client closed, or sent a request so bad that it was answered with an error and closed).
#[inline(never)]
fn read_request<'r>(
    conn: &mut Connection,
    buf: &mut Vec<u8>,
    routes: &'r [Arc<dyn Route>],
) -> io::Result<Option<Routed<'r>>> {
    let head = match read_head(conn, buf, HeadLimits::default())? {
        HeadRead::Got(head) => head,
        HeadRead::Closed => return Ok(None),
        HeadRead::Bad(e) => return reply_error(conn, &e).map(|()| None),
    };
    let route = routes.iter().find(|r| r.claims(&head.path));
    let max_body = route.map_or(64 * 1024, |r| r.max_body());
    match read_body(conn, buf, &head, max_body)? {
        Ok(body) => Ok(Some((Request { head, body }, route))),
        Err(e) => reply_error(conn, &e).map(|()| None),
    }
}

/// Writes what a route answered; true if the connection goes on.
#[inline(never)]
fn respond(conn: &mut Connection, outcome: Outcome, keep: bool) -> io::Result<bool> {
    match outcome {
        Outcome::Respond(resp) if keep => write_response(conn, resp, false).map(|()| true),
        Outcome::Respond(resp) | Outcome::Close(resp) => {
            write_response(conn, resp, true).map(|()| false)
        }
        Outcome::TakenOver | Outcome::Continue(_) => Ok(false),
    }
}

/// A plain-text response.
pub fn text(status: u16, body: &str) -> Response {
    Response::new(status).body("text/plain; charset=utf-8", body.as_bytes().to_vec())
}

enum HeadRead {
    Got(RequestHead),
    Closed,
    Bad(HttpError),
}

/// Reads until a whole request head is buffered, and takes it off `buf`.
fn read_head(conn: &mut Connection, buf: &mut Vec<u8>, limits: HeadLimits) -> io::Result<HeadRead> {
    loop {
        match http::parse_head(buf, limits) {
            Ok(Some((used, head))) => {
                buf.drain(..used);
                return Ok(HeadRead::Got(head));
            }
            Ok(None) => {}
            Err(e) => return Ok(HeadRead::Bad(e)),
        }
        match fill(conn, buf) {
            Ok(0) => return Ok(HeadRead::Closed),
            Ok(_) => {}
            // Idle between requests past the read timeout, or gone: close quietly.
            Err(e) if is_timeout(&e) => return Ok(HeadRead::Closed),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(HeadRead::Closed),
            Err(e) => return Err(e),
        }
    }
}

/// Reads the body `head` announces, at most `max` bytes; the error is for the client.
fn read_body(
    conn: &mut Connection,
    buf: &mut Vec<u8>,
    head: &RequestHead,
    max: usize,
) -> io::Result<Result<Vec<u8>, HttpError>> {
    let kind = match head.body_kind() {
        Ok(kind) => kind,
        Err(e) => return Ok(Err(e)),
    };
    match kind {
        BodyKind::None => Ok(Ok(Vec::new())),
        BodyKind::Length(n) => {
            if n > max as u64 {
                return Ok(Err(HttpError::PayloadTooLarge));
            }
            let n = n as usize;
            while buf.len() < n {
                if fill(conn, buf)? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            Ok(Ok(buf.drain(..n).collect()))
        }
        BodyKind::Chunked => {
            let mut body = Vec::new();
            loop {
                match http::parse_chunk(buf, max) {
                    Ok(Some((used, Chunk::Data(data)))) => {
                        if body.len() + data.len() > max {
                            return Ok(Err(HttpError::PayloadTooLarge));
                        }
                        body.extend_from_slice(data);
                        buf.drain(..used);
                    }
                    Ok(Some((used, Chunk::End))) => {
                        buf.drain(..used);
                        return Ok(Ok(body));
                    }
                    Ok(None) => {
                        if fill(conn, buf)? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                    Err(e) => return Ok(Err(e)),
                }
            }
        }
    }
}

/// Reads once more into `buf`, at most [`READ_CHUNK`] bytes, straight into its spare room (a
/// buffer on the stack would cost every connection thread a page of memory for its whole
/// life); returns what `read` returned.
fn fill(conn: &mut Connection, buf: &mut Vec<u8>) -> io::Result<usize> {
    let len = buf.len();
    buf.resize(len + READ_CHUNK, 0);
    let read = loop {
        match conn.read(&mut buf[len..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => break other,
        }
    };
    buf.truncate(len + *read.as_ref().unwrap_or(&0));
    read
}

fn reply_error(conn: &mut Connection, e: &HttpError) -> io::Result<()> {
    write_response(conn, text(e.status(), &format!("{e}\n")), true)
}

/// Writes `resp` (with `Connection: close` when `close`).
pub fn write_response(conn: &mut Connection, mut resp: Response, close: bool) -> io::Result<()> {
    if close {
        resp = resp.header("Connection", "close");
    }
    let mut out = Vec::with_capacity(256 + resp.body.len());
    resp.write_to(&mut out);
    conn.write_all(&out)
}
