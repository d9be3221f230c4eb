//! `redis://` URLs: [`RedisUrl::parse`] (credentials percent-decoded, default port and
//! database, IPv6 in brackets, TLS refused) and a `Display` and `Debug` that never show the
//! password.

use std::fmt;

/// Where a Redis server is and how to log in to it.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// Host name or IP address (an IPv6 address without its brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// ACL user name for `AUTH`, if any.
    pub username: Option<String>,
    /// Password for `AUTH`, if any.
    pub password: Option<String>,
    /// Database selected after connecting (`SELECT`), 0 by default.
    pub db: u32,
}

/// Why a string is not a `redis://` URL this client can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// `rediss://`: Redis over TLS, which this client does not speak.
    Tls,
    /// A scheme other than `redis://` (the scheme, or the whole input if it has none).
    Scheme(String),
    /// No host between `@` (or `//`) and the port.
    MissingHost,
    /// A host that is not a name or a bracketed IPv6 address.
    BadHost,
    /// A port that is not a number from 1 to 65535.
    BadPort,
    /// A database that is not a number.
    BadDb,
    /// A `%` not followed by two hex digits, or credentials that are not UTF-8 once decoded.
    BadEscape,
    /// A `?query` or `#fragment`, which this client does not read.
    Query,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Tls => f.write_str("rediss://: TLS is not supported; use redis://"),
            UrlError::Scheme(s) => write!(f, "not a redis:// URL: {s}"),
            UrlError::MissingHost => f.write_str("no host in the Redis URL"),
            UrlError::BadHost => f.write_str("bad host in the Redis URL"),
            UrlError::BadPort => f.write_str("bad port in the Redis URL (1-65535)"),
            UrlError::BadDb => f.write_str("bad database number in the Redis URL"),
            UrlError::BadEscape => f.write_str("bad percent-escape in the Redis URL's credentials"),
            UrlError::Query => f.write_str("query parameters are not supported in the Redis URL"),
        }
    }
}

impl std::error::Error for UrlError {}

impl RedisUrl {
    /// A URL for `host:port` without credentials, database 0.
    pub fn new(host: impl Into<String>, port: u16) -> RedisUrl {
        RedisUrl {
            host: host.into(),
            port,
            username: None,
            password: None,
            db: 0,
        }
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`. The port defaults to
    /// [`REDIS_PORT`](crate::defaults::REDIS_PORT), the database to 0; user and password are
    /// percent-decoded, and an empty one counts as absent.
    pub fn parse(text: &str) -> Result<RedisUrl, UrlError> {
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("redis") => rest,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("rediss") => {
                return Err(UrlError::Tls)
            }
            Some((scheme, _)) => return Err(UrlError::Scheme(format!("{scheme}://"))),
            None => return Err(UrlError::Scheme(text.to_string())),
        };
        if rest.contains(['?', '#']) {
            return Err(UrlError::Query);
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                (decode(user)?, decode(pass)?)
            }
        };
        let (host, port) = split_host_port(hostport)?;
        let db = match path {
            "" => 0,
            p if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().map_err(|_| UrlError::BadDb)?,
            _ => return Err(UrlError::BadDb),
        };
        Ok(RedisUrl {
            host,
            port,
            username,
            password,
            db,
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(text: &str) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(inner) = text.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or(UrlError::BadHost)?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UrlError::BadHost);
        }
        match after {
            "" => (v6, None),
            _ => (v6, Some(after.strip_prefix(':').ok_or(UrlError::BadHost)?)),
        }
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':');
    if !host.bytes().all(name_byte) {
        return Err(UrlError::BadHost);
    }
    let port = match port {
        None => crate::defaults::REDIS_PORT,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or(UrlError::BadPort)?,
        Some(_) => return Err(UrlError::BadPort),
    };
    Ok((host.to_string(), port))
}

/// Percent-decodes a user name or password; empty is `None`.
fn decode(text: &str) -> Result<Option<String>, UrlError> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = |b: Option<u8>| (b? as char).to_digit(16);
        match (hex(bytes.next()), hex(bytes.next())) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(UrlError::BadEscape),
        }
    }
    let text = String::from_utf8(out).map_err(|_| UrlError::BadEscape)?;
    Ok((!text.is_empty()).then_some(text))
}

/// Percent-encodes every byte of `text` outside RFC 3986's unreserved set.
fn encode(text: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            write!(f, "{}", b as char)?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

impl fmt::Display for RedisUrl {
    /// `redis://[user][:***@]host:port/db`: the password, if any, is shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("redis://")?;
        if let Some(user) = &self.username {
            encode(user, f)?;
        }
        if self.password.is_some() {
            f.write_str(":***")?;
        }
        if self.username.is_some() || self.password.is_some() {
            f.write_str("@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        write!(f, ":{}/{}", self.port, self.db)
    }
}

impl fmt::Debug for RedisUrl {
    /// As `Display`: the password stays out of logs and panic messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, user: Option<&str>, pass: Option<&str>, db: u32) -> RedisUrl {
        RedisUrl {
            host: host.into(),
            port,
            username: user.map(Into::into),
            password: pass.map(Into::into),
            db,
        }
    }

    #[test]
    fn forms() {
        let cases = [
            ("redis://localhost", url("localhost", 6379, None, None, 0)),
            ("redis://localhost/", url("localhost", 6379, None, None, 0)),
            (
                "redis://127.0.0.1:7000",
                url("127.0.0.1", 7000, None, None, 0),
            ),
            ("redis://h:7000/3", url("h", 7000, None, None, 3)),
            ("redis://:secret@h", url("h", 6379, None, Some("secret"), 0)),
            (
                "redis://bob:secret@h:1/2",
                url("h", 1, Some("bob"), Some("secret"), 2),
            ),
            ("redis://bob@h", url("h", 6379, Some("bob"), None, 0)),
            ("redis://bob:@h", url("h", 6379, Some("bob"), None, 0)),
            ("REDIS://h", url("h", 6379, None, None, 0)),
            ("redis://[::1]", url("::1", 6379, None, None, 0)),
            ("redis://[::1]:6380/4", url("::1", 6380, None, None, 4)),
            (
                "redis://:p@[fe80::1]:1",
                url("fe80::1", 1, None, Some("p"), 0),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(RedisUrl::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let u = RedisUrl::parse("redis://a%40b:p%3Aw%2Fd%40%25%C3%A9@h").unwrap();
        assert_eq!(u.username.as_deref(), Some("a@b"));
        assert_eq!(u.password.as_deref(), Some("p:w/d@%\u{e9}"));
        // The last `@` ends the credentials: an unescaped one in the password still works.
        let u = RedisUrl::parse("redis://:p@ss@h").unwrap();
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(RedisUrl::parse("redis://:%4@h"), Err(UrlError::BadEscape));
        assert_eq!(RedisUrl::parse("redis://:%zz@h"), Err(UrlError::BadEscape));
        assert_eq!(RedisUrl::parse("redis://:%ff@h"), Err(UrlError::BadEscape));
    }

    #[test]
    fn errors() {
        let cases = [
            ("rediss://h", UrlError::Tls),
            ("http://h", UrlError::Scheme("http://".into())),
            ("localhost:6379", UrlError::Scheme("localhost:6379".into())),
            ("redis://", UrlError::MissingHost),
            ("redis://:p@", UrlError::MissingHost),
            ("redis://:7000", UrlError::MissingHost),
            ("redis://h:", UrlError::BadPort),
            ("redis://h:0", UrlError::BadPort),
            ("redis://h:65536", UrlError::BadPort),
            ("redis://h:+1", UrlError::BadPort),
            ("redis://h:1:2", UrlError::BadPort),
            ("redis://h/x", UrlError::BadDb),
            ("redis://h/1/2", UrlError::BadDb),
            ("redis://h/99999999999", UrlError::BadDb),
            ("redis://h?db=1", UrlError::Query),
            ("redis://[::1", UrlError::BadHost),
            ("redis://[nope]:1", UrlError::BadHost),
            ("redis://[::1]x", UrlError::BadHost),
            ("redis://h st", UrlError::BadHost),
        ];
        for (text, want) in cases {
            assert_eq!(RedisUrl::parse(text), Err(want), "{text}");
        }
        assert!(UrlError::Tls.to_string().contains("TLS is not supported"));
    }

    #[test]
    fn display_hides_the_password() {
        let u = RedisUrl::parse("redis://:hunter2@h:7000/1").unwrap();
        assert_eq!(u.to_string(), "redis://:***@h:7000/1");
        assert!(!format!("{u:?}").contains("hunter2"));
        let u = RedisUrl::parse("redis://a%20b:hunter2@[::1]").unwrap();
        assert_eq!(u.to_string(), "redis://a%20b:***@[::1]:6379/0");
        assert_eq!(
            RedisUrl::parse("redis://bob@h").unwrap().to_string(),
            "redis://bob@h:6379/0"
        );
        assert_eq!(RedisUrl::new("h", 1).to_string(), "redis://h:1/0");
        // Without a password, Display parses back to the same URL.
        let u = RedisUrl::parse("redis://a%3Ab@[::1]:2/3").unwrap();
        assert_eq!(RedisUrl::parse(&u.to_string()), Ok(u));
    }
}
