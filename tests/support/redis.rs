//! A real `redis-server` for the tests of the Redis link: on a free loopback port, without
//! persistence or logs, answering PING before it is handed over; stopped, paused and restarted
//! on the same port; killed and reaped when dropped.

use super::{free_port, require_tool, WAIT};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use threadsock::service::cluster::RedisUrl;

/// A `redis-server` child process.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server on a free port, or `None` (skipped locally, a failure under CI) when
    /// `redis-server` is not installed.
    pub fn start() -> Option<RedisServer> {
        RedisServer::start_with(&[])
    }

    /// As [`RedisServer::start`], with `extra` arguments (`--requirepass`, ...). A port taken
    /// between choosing and binding is retried with another.
    pub fn start_with(extra: &[&str]) -> Option<RedisServer> {
        if !require_tool("redis-server") {
            return None;
        }
        let mut last = None;
        for _ in 0..5 {
            match RedisServer::start_on(free_port(), extra) {
                Ok(server) => return Some(server),
                Err(e) => last = Some(e),
            }
        }
        panic!("redis-server did not start: {last:?}");
    }

    /// Starts a server on `port` (call [`require_tool`] first).
    pub fn start_on(port: u16, extra: &[&str]) -> io::Result<RedisServer> {
        let mut server = RedisServer {
            child: None,
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.child = Some(server.spawn()?);
        Ok(server)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:port`, no credentials, database 0.
    pub fn url(&self) -> RedisUrl {
        RedisUrl::new("127.0.0.1", self.port)
    }

    /// Kills the server (SIGKILL: its clients see their connections reset) and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs and starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + WAIT;
        loop {
            match self.spawn() {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                Err(e) if Instant::now() >= deadline => {
                    panic!("redis-server did not restart on port {}: {e}", self.port)
                }
                // The port may not be free again yet: a pause, not a spin.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server: a stopped server keeps its connections
    /// open and answers nothing, as a hung one would.
    pub fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Starts `redis-server` on the port and waits (within [`WAIT`]) until it answers PING.
    fn spawn(&self) -> io::Result<Child> {
        let port = self.port.to_string();
        let dir = std::env::temp_dir();
        let mut child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(&dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server on port {port} exited: {status}"
                )));
            }
            if answers_ping(self.port) {
                return Ok(child);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("redis-server on port {port} did not answer PING"),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    /// Kills the server (SIGKILL ends a paused one too) and reaps it.
    fn drop(&mut self) {
        self.stop();
    }
}

/// True if something on `port` answers a PING with a RESP status or error (`-NOAUTH` counts:
/// the server is up).
fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut first = [0u8; 1];
    s.write_all(b"PING\r\n").is_ok()
        && s.read_exact(&mut first).is_ok()
        && matches!(first[0], b'+' | b'-')
}
