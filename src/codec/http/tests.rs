//! Tests of request heads ([`parse_head`]) and what they mean ([`RequestHead`]'s methods,
//! [`decode_query`]): real client requests, every split point, each error, the limits.

use super::*;

const POLL_GET: &[u8] = b"GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\n\
Host: localhost:3000\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\n\
Referer: http://localhost:3000/\r\n\r\n";

const POLL_POST: &[u8] =
    b"POST /socket.io/?EIO=4&transport=polling&t=N8hyd7H&sid=lv_VI97HAXpY6yYWAAAC HTTP/1.1\r\n\
Host: localhost:3000\r\n\
Content-Type: text/plain;charset=UTF-8\r\n\
Content-Length: 12\r\n\
Origin: http://localhost:3000\r\n\r\n\
42[\"hi\",\"x\"]";

const WS_GET: &[u8] =
    b"GET /socket.io/?EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC HTTP/1.1\r\n\
Host: localhost:3000\r\n\
Connection: keep-alive, Upgrade\r\n\
Pragma: no-cache\r\n\
Upgrade: websocket\r\n\
Sec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fn parse(buf: &[u8]) -> Result<Option<(usize, RequestHead)>, HttpError> {
    parse_head(buf, HeadLimits::default())
}

fn head(buf: &[u8]) -> RequestHead {
    let (used, head) = parse(buf).unwrap().unwrap();
    assert_eq!(used, buf.len());
    head
}

fn err(buf: &[u8]) -> HttpError {
    parse(buf).unwrap_err()
}

#[test]
fn a_polling_get() {
    let h = head(POLL_GET);
    assert_eq!(h.method, "GET");
    assert_eq!(h.target, "/socket.io/?EIO=4&transport=polling&t=N8hyd6w");
    assert_eq!(h.path, "/socket.io/");
    assert_eq!(h.query, "EIO=4&transport=polling&t=N8hyd6w");
    assert_eq!(h.minor_version, 1);
    assert_eq!(h.headers.len(), 7);
    assert_eq!(h.header("HOST"), Some("localhost:3000"));
    assert_eq!(h.header("accept-encoding"), Some("gzip, deflate, br"));
    assert_eq!(h.query_param("EIO").as_deref(), Some("4"));
    assert_eq!(h.query_param("transport").as_deref(), Some("polling"));
    assert_eq!(h.query_param("t").as_deref(), Some("N8hyd6w"));
    assert_eq!(h.query_param("sid"), None);
    assert!(h.keep_alive());
    assert!(!h.is_websocket_upgrade());
    assert_eq!(h.body_kind(), Ok(BodyKind::None));
}

#[test]
fn a_polling_post_and_its_body() {
    let (used, h) = parse(POLL_POST).unwrap().unwrap();
    assert_eq!(h.method, "POST");
    assert_eq!(
        h.query_param("sid").as_deref(),
        Some("lv_VI97HAXpY6yYWAAAC")
    );
    assert_eq!(h.header("content-type"), Some("text/plain;charset=UTF-8"));
    assert_eq!(h.body_kind(), Ok(BodyKind::Length(12)));
    assert_eq!(&POLL_POST[used..], b"42[\"hi\",\"x\"]");
}

#[test]
fn a_websocket_upgrade() {
    let h = head(WS_GET);
    assert!(h.is_websocket_upgrade());
    assert!(h.has_token("connection", "UPGRADE"));
    assert!(h.has_token("Connection", "keep-alive"));
    assert!(!h.has_token("connection", "close"));
    assert_eq!(
        h.header("sec-websocket-key"),
        Some("dGhlIHNhbXBsZSBub25jZQ==")
    );
    assert_eq!(h.query_param("transport").as_deref(), Some("websocket"));
    let mut post = h.clone();
    post.method = "POST".into();
    assert!(!post.is_websocket_upgrade());
    let mut old = h.clone();
    old.minor_version = 0;
    assert!(!old.is_websocket_upgrade());
    let mut no_conn = h;
    no_conn.headers.retain(|(n, _)| n != "Connection");
    assert!(!no_conn.is_websocket_upgrade());
}

#[test]
fn every_strict_prefix_needs_more_and_the_whole_parses() {
    for req in [POLL_GET, WS_GET, &POLL_POST[..POLL_POST.len() - 12]] {
        let whole = head(req);
        for cut in 0..req.len() {
            assert_eq!(parse(&req[..cut]), Ok(None), "cut at {cut}");
        }
        let lf_only: Vec<u8> = req.iter().copied().filter(|&b| b != b'\r').collect();
        for cut in 0..lf_only.len() {
            assert_eq!(parse(&lf_only[..cut]), Ok(None), "LF cut at {cut}");
        }
        assert_eq!(head(&lf_only), whole);
    }
}

#[test]
fn pipelined_requests_parse_one_after_the_other() {
    let buf = [POLL_GET, WS_GET, b"GET /x"].concat();
    let (a, first) = parse(&buf).unwrap().unwrap();
    assert_eq!(a, POLL_GET.len());
    assert_eq!(first, head(POLL_GET));
    let (b, second) = parse(&buf[a..]).unwrap().unwrap();
    assert_eq!(b, WS_GET.len());
    assert!(second.is_websocket_upgrade());
    assert_eq!(parse(&buf[a + b..]), Ok(None));
}

#[test]
fn leading_empty_lines_and_target_forms() {
    let h = head(b"\r\n\nGET * HTTP/1.0\n\n");
    assert_eq!(
        (h.path.as_str(), h.query.as_str(), h.minor_version),
        ("*", "", 0)
    );
    let h = head(b"GET http://example.com:80/socket.io/?EIO=4 HTTP/1.1\r\n\r\n");
    assert_eq!(
        (h.path.as_str(), h.query.as_str()),
        ("/socket.io/", "EIO=4")
    );
    let h = head(b"GET HTTPS://example.com?a=b HTTP/1.1\r\n\r\n");
    assert_eq!((h.path.as_str(), h.query.as_str()), ("/", "a=b"));
    let h = head(b"GET /a%20b?x=1?y=2 HTTP/1.1\r\nX:\r\nY: \t v a l \t\r\n\r\n");
    assert_eq!((h.path.as_str(), h.query.as_str()), ("/a%20b", "x=1?y=2"));
    assert_eq!(h.header("x"), Some(""));
    assert_eq!(h.header("y"), Some("v a l"));
}

#[test]
fn malformed_heads_are_400() {
    for bad in [
        &b"GET /\r\n\r\n"[..],
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1 \r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET example.com HTTP/1.1\r\n\r\n",
        b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
        b"GET http:///x HTTP/1.1\r\n\r\n",
        b"GET /a#b HTTP/1.1\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\n\r\n",
        b"GET / HTTPS/1.1\r\n\r\n",
        b"GET / http/1.1\r\n\r\n",
        b"GET / HTTP/1.1x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost\r\n\r\n",
        b"GET / HTTP/1.1\r\n: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\r\n  folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\r\n\tfolded\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: x\x00y\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: x\ry\r\n\r\n",
        b"GET / HTTP/1.1\r\r\n\r\n",
        b"\r\r\n\r\n",
    ] {
        let e = err(bad);
        assert!(
            matches!(e, HttpError::BadRequest(_)),
            "{:?}: {e:?}",
            String::from_utf8_lossy(bad)
        );
        assert_eq!(e.status(), 400);
        assert!(e.to_string().starts_with("bad request: "));
    }
}

#[test]
fn other_versions_are_505() {
    for v in [
        "HTTP/2", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0", "HTTP/1",
    ] {
        let e = err(format!("GET / {v}\r\nHost: x\r\n\r\n").as_bytes());
        assert_eq!(e, HttpError::Version, "{v}");
        assert_eq!(e.status(), 505);
    }
    assert_eq!(err(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), HttpError::Version);
}

#[test]
fn errors_come_as_soon_as_they_are_certain() {
    assert_eq!(err(b"GET / HTTP/2.0\r\n"), HttpError::Version);
    assert_eq!(err(b"GET /x HTTP/1.1\r\nBad Name: x\r\n").status(), 400);
    assert_eq!(err(b"\x16\x03\x01\x02\x00\x01").status(), 400);
    assert_eq!(err(b"GE(").status(), 400);
    assert_eq!(err(b"GET /\x00").status(), 400);
    assert_eq!(parse(b"GET /\r"), Ok(None));
    let limits = HeadLimits {
        max_head: 1000,
        max_headers: 2,
    };
    let three = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
    assert_eq!(parse_head(three, limits), Err(HttpError::TooManyHeaders));
    assert_eq!(parse_head(&three[..three.len() - 1], limits), Ok(None));
}

/// A request of exactly `len` bytes: a request line, one header padded to fit, a blank line.
fn sized(len: usize) -> Vec<u8> {
    let fixed = b"GET / HTTP/1.1\r\nX: \r\n\r\n".len();
    let mut r = b"GET / HTTP/1.1\r\nX: ".to_vec();
    r.extend(std::iter::repeat_n(b'a', len - fixed));
    r.extend_from_slice(b"\r\n\r\n");
    assert_eq!(r.len(), len);
    r
}

#[test]
fn head_size_limit_exactly_at_and_one_over() {
    let limits = HeadLimits {
        max_head: 100,
        max_headers: 10,
    };
    let at = sized(100);
    assert_eq!(parse_head(&at, limits).unwrap().unwrap().0, 100);
    let mut with_body = at.clone();
    with_body.extend_from_slice(b"body bytes after the head");
    assert_eq!(parse_head(&with_body, limits).unwrap().unwrap().0, 100);
    let over = sized(101);
    assert_eq!(parse_head(&over, limits), Err(HttpError::HeadTooLarge));
    assert_eq!(parse_head(&over[..99], limits), Ok(None));
    assert_eq!(
        parse_head(&over[..100], limits),
        Err(HttpError::HeadTooLarge)
    );
    assert_eq!(HttpError::HeadTooLarge.status(), 431);
    let endless = vec![b'a'; 9000];
    assert_eq!(parse(&endless), Err(HttpError::HeadTooLarge));
    assert_eq!(parse(&endless[..8191]), Ok(None));
}

#[test]
fn header_count_limit_exactly_at_and_one_over() {
    let with = |n: usize| {
        let mut r = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            r.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    assert_eq!(head(&with(100)).headers.len(), 100);
    assert_eq!(head(&with(0)).headers.len(), 0);
    let e = err(&with(101));
    assert_eq!((e, e.status()), (HttpError::TooManyHeaders, 431));
}

fn with_headers(version: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut r = format!("POST / HTTP/1.{version}\r\n");
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str("\r\n");
    head(r.as_bytes())
}

#[test]
fn body_framing() {
    let kind = |h: &[(&str, &str)]| with_headers("1", h).body_kind();
    assert_eq!(kind(&[]), Ok(BodyKind::None));
    assert_eq!(kind(&[("Content-Length", "0")]), Ok(BodyKind::Length(0)));
    assert_eq!(kind(&[("content-length", "42")]), Ok(BodyKind::Length(42)));
    assert_eq!(
        kind(&[("Content-Length", "7, 7"), ("Content-Length", "7")]),
        Ok(BodyKind::Length(7))
    );
    assert_eq!(
        kind(&[("Content-Length", "9999999999999999999")]),
        Ok(BodyKind::Length(9_999_999_999_999_999_999))
    );
    assert_eq!(
        kind(&[("Transfer-Encoding", "chunked")]),
        Ok(BodyKind::Chunked)
    );
    assert_eq!(
        kind(&[("Transfer-Encoding", "Chunked ")]),
        Ok(BodyKind::Chunked)
    );
    for bad in [
        &[("Content-Length", "")][..],
        &[("Content-Length", "-1")],
        &[("Content-Length", "+1")],
        &[("Content-Length", "1 2")],
        &[("Content-Length", "0x10")],
        &[("Content-Length", "18446744073709551616")],
        &[("Content-Length", "5"), ("Content-Length", "6")],
        &[("Content-Length", "5, 6")],
        &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
        &[("Transfer-Encoding", "")],
    ] {
        assert_eq!(kind(bad).unwrap_err().status(), 400, "{bad:?}");
    }
    for unsupported in [
        &[("Transfer-Encoding", "gzip")][..],
        &[("Transfer-Encoding", "gzip, chunked")],
        &[
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "chunked"),
        ],
        &[("Transfer-Encoding", "identity")],
    ] {
        let e = kind(unsupported).unwrap_err();
        assert_eq!(
            (e, e.status()),
            (HttpError::NotImplemented, 501),
            "{unsupported:?}"
        );
    }
}

#[test]
fn keep_alive_by_version_and_connection() {
    assert!(with_headers("1", &[]).keep_alive());
    assert!(!with_headers("1", &[("Connection", "close")]).keep_alive());
    assert!(!with_headers("1", &[("Connection", "Upgrade, CLOSE")]).keep_alive());
    assert!(!with_headers("0", &[]).keep_alive());
    assert!(with_headers("0", &[("connection", "Keep-Alive")]).keep_alive());
}

#[test]
fn header_lookup_and_all_values() {
    let h = with_headers("1", &[("Cookie", "a=1"), ("X", "y"), ("cookie", "b=2")]);
    assert_eq!(h.header("COOKIE"), Some("a=1"));
    assert_eq!(h.header_all("cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
    assert_eq!(h.header("missing"), None);
    assert_eq!(h.header_all("missing").count(), 0);
}

#[test]
fn query_decoding() {
    let q = |s: &str| decode_query(s);
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(q(""), pairs(&[]));
    assert_eq!(
        q("EIO=4&transport=polling&t=N8hyd6w"),
        pairs(&[("EIO", "4"), ("transport", "polling"), ("t", "N8hyd6w")])
    );
    assert_eq!(
        q("a=x+y%21&&b&c=&=v"),
        pairs(&[("a", "x y!"), ("b", ""), ("c", ""), ("", "v")])
    );
    assert_eq!(q("k=a=b"), pairs(&[("k", "a=b")]));
    assert_eq!(q("k=%E2%82%AC%2b%2F"), pairs(&[("k", "€+/")]));
    assert_eq!(q("k=%zz%4%"), pairs(&[("k", "%zz%4%")]));
    assert_eq!(q("k=%ff"), pairs(&[("k", "\u{FFFD}")]));
    assert_eq!(q("%6B=1"), pairs(&[("k", "1")]));
    let h = head(b"GET /?name=J%C3%BCrgen+M&name=2 HTTP/1.1\r\n\r\n");
    assert_eq!(h.query_param("name").as_deref(), Some("Jürgen M"));
}

#[test]
fn seeded_random_input_never_panics() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let pieces: [&[u8]; 16] = [
        b"GET ",
        b"POST ",
        b"/",
        b"?a=1",
        b" HTTP/1.1",
        b" HTTP/1.0",
        b"HTTP/2",
        b"\r\n",
        b"\n",
        b"\r",
        b"Host: x",
        b":",
        b" ",
        b"\t",
        b"Connection: close",
        b"a",
    ];
    let limits = HeadLimits {
        max_head: 64,
        max_headers: 3,
    };
    for _ in 0..100_000 {
        let mut buf = Vec::new();
        for _ in 0..next() % 12 {
            let r = next();
            if r % 6 == 0 {
                buf.push((r >> 8) as u8);
            } else {
                buf.extend_from_slice(pieces[(r >> 8) as usize % pieces.len()]);
            }
        }
        match parse_head(&buf, limits) {
            Ok(Some((used, h))) => {
                assert!(used <= buf.len() && used <= 64);
                assert!(h.headers.len() <= 3);
                let _ = (h.keep_alive(), h.is_websocket_upgrade(), h.query_param("a"));
                if let Err(e) = h.body_kind() {
                    assert!(matches!(e.status(), 400 | 501));
                }
            }
            Ok(None) => assert!(buf.len() < 64),
            Err(e) => assert!(matches!(e.status(), 400 | 431 | 505), "{e}"),
        }
    }
}
