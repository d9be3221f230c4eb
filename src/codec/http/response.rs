//! Responses: a [`Response`] value and its bytes on the wire ([`Response::write_to`]), with the
//! reason phrases of the statuses a Socket.IO server sends ([`reason`]).

/// An HTTP/1.1 response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields in order. A `Content-Length` here is ignored: [`write_to`](Self::write_to)
    /// writes the body's own.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and adds a `Content-Type` header for it.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// Appends the response to `out`: `HTTP/1.1 <status> <reason>`, the headers, a
    /// `Content-Length` of the body (also `0`; none for 1xx, 204 and 304, which also send no
    /// body), the blank line and the body. CR and LF in header names or values are written as
    /// spaces, so no header can split the response.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            put_clean(out, name);
            out.extend_from_slice(b": ");
            put_clean(out, value);
            out.extend_from_slice(b"\r\n");
        }
        let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
        if !bodiless {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !bodiless {
            out.extend_from_slice(&self.body);
        }
    }
}

/// Appends `s` with CR and LF replaced by spaces.
fn put_clean(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

/// The reason phrase of `status` (RFC 9110's); `Unknown` for codes not listed.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: &Response) -> String {
        let mut out = Vec::new();
        r.write_to(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ok_with_body_has_its_length() {
        let r = Response::new(200).body("text/plain; charset=UTF-8", "0{\"sid\":\"x\"}");
        assert_eq!(
            text(&r),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n\
             Content-Length: 12\r\n\r\n0{\"sid\":\"x\"}"
        );
    }

    #[test]
    fn empty_body_says_zero_and_headers_keep_order() {
        let r = Response::new(404)
            .header("Connection", "close")
            .header("X-A", String::from("1"));
        assert_eq!(
            text(&r),
            "HTTP/1.1 404 Not Found\r\nConnection: close\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn a_given_content_length_is_replaced_by_the_true_one() {
        let r = Response::new(200)
            .header("content-length", "99")
            .body("text/plain", vec![1u8, 2, 3]);
        let t = text(&r);
        assert!(!t.contains("99"));
        assert!(t.ends_with("Content-Length: 3\r\n\r\n\u{1}\u{2}\u{3}"));
    }

    #[test]
    fn switching_protocols_and_no_content_have_no_length_nor_body() {
        let r = Response::new(101)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(
            text(&r),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        );
        let r = Response::new(204).body("text/plain", "ignored");
        assert_eq!(
            text(&r),
            "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n"
        );
        assert_eq!(
            text(&Response::new(304)),
            "HTTP/1.1 304 Not Modified\r\n\r\n"
        );
    }

    #[test]
    fn header_injection_is_neutralised() {
        let r = Response::new(200).header("X-Evil", "a\r\nSet-Cookie: x=1");
        let t = text(&r);
        assert!(t.contains("X-Evil: a  Set-Cookie: x=1\r\n"));
        assert_eq!(t.matches("\r\n").count(), 4);
    }

    #[test]
    fn reasons() {
        for (code, phrase) in [
            (200, "OK"),
            (400, "Bad Request"),
            (403, "Forbidden"),
            (405, "Method Not Allowed"),
            (408, "Request Timeout"),
            (411, "Length Required"),
            (413, "Payload Too Large"),
            (431, "Request Header Fields Too Large"),
            (500, "Internal Server Error"),
            (501, "Not Implemented"),
            (503, "Service Unavailable"),
            (505, "HTTP Version Not Supported"),
            (299, "Unknown"),
        ] {
            assert_eq!(reason(code), phrase);
        }
    }
}
