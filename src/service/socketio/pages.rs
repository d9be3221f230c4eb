//! The web pages, embedded in the binary: the chat at `/` and the live server view at
//! `/server`, each with its script and style, served with a strict Content-Security-Policy
//! (no inline script, nothing from another origin); and, with `--client-js`, the official
//! socket.io-client bundle the user points at, at `/socket.io/socket.io.js`.

use crate::codec::http::Response;
use crate::server::Connection;
use crate::service::web::{text, Outcome, Request, Route};
use std::io;
use std::path::Path;

/// Largest client bundle accepted for `--client-js` (the official one is about 50 KB).
const MAX_CLIENT_JS: u64 = 4 << 20;

/// What the pages may do: scripts, styles and connections of their own origin only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The embedded files: path, content type, content.
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("pages/index.html")),
    ("/index.html", HTML, include_str!("pages/index.html")),
    ("/chat.js", JS, include_str!("pages/chat.js")),
    ("/chat.css", CSS, include_str!("pages/chat.css")),
    ("/common.js", JS, include_str!("pages/common.js")),
    ("/server", HTML, include_str!("pages/server.html")),
    ("/server.js", JS, include_str!("pages/server.js")),
    ("/server.css", CSS, include_str!("pages/server.css")),
];

/// The path the official client bundle is served at, as socket.io serves it.
const CLIENT_JS_PATH: &str = "/socket.io/socket.io.js";

/// The pages as a [`Route`].
#[derive(Debug, Clone, Default)]
pub struct Pages {
    client_js: Option<Vec<u8>>,
}

impl Pages {
    /// The embedded pages, and the client bundle at `client_js` if given (read now: a file
    /// that cannot be read, or is over 4 MiB, is an error).
    pub fn new(client_js: Option<&Path>) -> io::Result<Pages> {
        let client_js = match client_js {
            None => None,
            Some(path) => {
                let meta = std::fs::metadata(path)?;
                if !meta.is_file() || meta.len() > MAX_CLIENT_JS {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "not a file of at most 4 MiB",
                    ));
                }
                Some(std::fs::read(path)?)
            }
        };
        Ok(Pages { client_js })
    }
}

impl Route for Pages {
    fn claims(&self, path: &str) -> bool {
        path == CLIENT_JS_PATH || FILES.iter().any(|(p, _, _)| *p == path)
    }

    fn max_body(&self) -> usize {
        0
    }

    fn serve(&self, req: Request, _conn: &mut Connection, _rest: &mut Vec<u8>) -> Outcome {
        let head = &req.head;
        if head.method != "GET" && head.method != "HEAD" {
            return Outcome::Respond(text(405, "only GET\n").header("Allow", "GET, HEAD"));
        }
        let resp = if head.path == CLIENT_JS_PATH {
            match &self.client_js {
                Some(js) => Response::new(200)
                    .body(JS, js.clone())
                    .header("Cache-Control", "public, max-age=3600"),
                None => text(
                    404,
                    "not served: start threadsock serve with --client-js PATH/socket.io.min.js\n",
                ),
            }
        } else {
            let (_, kind, body) = FILES
                .iter()
                .find(|(p, _, _)| *p == head.path)
                .expect("claimed");
            Response::new(200)
                .body(kind, body.as_bytes().to_vec())
                .header("Cache-Control", "no-cache")
                .header("Content-Security-Policy", CSP)
                .header("X-Content-Type-Options", "nosniff")
                .header("Referrer-Policy", "no-referrer")
        };
        let resp = if head.method == "HEAD" {
            Response {
                body: Vec::new(),
                ..resp
            }
        } else {
            resp
        };
        Outcome::Respond(resp)
    }
}
