//! Which web origins may use the server, and the CORS headers that say so. Browsers attach an
//! `Origin` header to cross-origin requests and to every WebSocket handshake; a request whose
//! origin is not allowed is refused (403), which also stops cross-site WebSocket hijacking of a
//! server on localhost. Requests without `Origin` (non-browser clients) are allowed.

use crate::codec::http::{RequestHead, Response};

/// The origins allowed besides the page's own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cors {
    /// Only the server's own origin (the `Origin` names the `Host` the request went to).
    #[default]
    SameOrigin,
    /// Any origin (`--cors-origin '*'`).
    Any,
    /// These origins (e.g. `http://localhost:8080`), and the server's own.
    List(Vec<String>),
}

impl Cors {
    /// Parses `--cors-origin`: `*`, or a comma-separated list of origins; empty means same
    /// origin only.
    pub fn parse(spec: &str) -> Cors {
        let spec = spec.trim();
        if spec == "*" {
            return Cors::Any;
        }
        let list: Vec<String> = spec
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        if list.is_empty() {
            Cors::SameOrigin
        } else {
            Cors::List(list)
        }
    }

    /// True if a request with `head`'s `Origin` may be served.
    pub fn allows(&self, head: &RequestHead) -> bool {
        let Some(origin) = head.header("origin") else {
            return true;
        };
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        match self {
            Cors::Any => true,
            Cors::SameOrigin => same_origin(&origin, head),
            Cors::List(list) => list.contains(&origin) || same_origin(&origin, head),
        }
    }

    /// Adds the CORS headers a response to `head` needs (none without an `Origin`).
    pub fn apply(&self, head: &RequestHead, resp: Response) -> Response {
        let Some(origin) = head.header("origin") else {
            return resp;
        };
        match self {
            Cors::Any => resp.header("Access-Control-Allow-Origin", "*"),
            _ if self.allows(head) => resp
                .header("Access-Control-Allow-Origin", origin)
                .header("Access-Control-Allow-Credentials", "true")
                .header("Vary", "Origin"),
            _ => resp,
        }
    }

    /// The answer to a CORS preflight (`OPTIONS`): 204 with what may be sent, or 403.
    pub fn preflight(&self, head: &RequestHead) -> Response {
        if !self.allows(head) {
            return Response::new(403);
        }
        let headers = head
            .header("access-control-request-headers")
            .unwrap_or("content-type")
            .to_string();
        self.apply(head, Response::new(204))
            .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            .header("Access-Control-Allow-Headers", &headers)
            .header("Access-Control-Max-Age", "86400")
    }
}

/// True if `origin` (`scheme://host[:port]`, lower case) names the host the request was sent to.
fn same_origin(origin: &str, head: &RequestHead) -> bool {
    let Some(host) = head.header("host") else {
        return false;
    };
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !authority.is_empty() && authority.eq_ignore_ascii_case(host.trim())
}
