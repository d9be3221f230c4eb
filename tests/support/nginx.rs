//! A real nginx for the cluster tests: `examples/cluster/nginx.conf` with the test's ports, run
//! from its own temporary prefix (pid, logs and temp files inside it) on a free loopback port,
//! accepting connections before it is handed over; killed, reaped and its prefix removed when
//! dropped.

use super::{free_port, tool_missing, WAIT};
use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where Debian's package installs nginx, which is not on every user's PATH.
const SBIN_NGINX: &str = "/usr/sbin/nginx";

/// The nginx to run: `nginx` if it is on PATH, else [`SBIN_NGINX`] if it runs; `None` (skipped
/// locally, a failure under CI, as [`super::require_tool`]) if neither does. nginx has no
/// `--version` (it rejects it), so this asks `-v`.
pub fn binary() -> Option<PathBuf> {
    let runs = |path: &Path| {
        Command::new(path)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let found = [Path::new("nginx"), Path::new(SBIN_NGINX)]
        .into_iter()
        .find(|p| runs(p))
        .map(Path::to_path_buf);
    if found.is_none() {
        tool_missing("nginx");
    }
    found
}

/// An nginx child process on the example configuration.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    prefix: PathBuf,
    port: u16,
}

impl Nginx {
    /// Starts nginx (`binary` from [`binary`]) in front of the Socket.IO ports `node_a` and
    /// `node_b` on 127.0.0.1; a port taken between choosing and binding is retried with another.
    pub fn start(binary: &Path, node_a: u16, node_b: u16) -> Nginx {
        let mut last = None;
        for _ in 0..5 {
            match Nginx::start_on(binary, free_port(), node_a, node_b) {
                Ok(nginx) => return nginx,
                Err(e) => last = Some(e),
            }
        }
        panic!("nginx did not start: {last:?}");
    }

    fn start_on(binary: &Path, port: u16, node_a: u16, node_b: u16) -> io::Result<Nginx> {
        let prefix = fresh_prefix()?;
        let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/nginx.conf");
        let conf = fs::read_to_string(template)?
            .replace("@NGINX_PORT@", &port.to_string())
            .replace("@NODE_A@", &node_a.to_string())
            .replace("@NODE_B@", &node_b.to_string());
        assert!(!conf.contains('@'), "a placeholder left in {conf}");
        fs::write(prefix.join("nginx.conf"), conf)?;
        let stderr = fs::File::create(prefix.join("logs/stderr.log"))?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .arg("-e")
            .arg(prefix.join("logs/error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        let mut nginx = Nginx {
            child,
            prefix,
            port,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = nginx.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "nginx on port {port} exited ({status}): {}",
                    nginx.errors()
                )));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("nginx on port {port} never accepted: {}", nginx.errors()),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log so far: `CLIENT -> NODE "REQUEST" STATUS` per finished request.
    pub fn access_log(&self) -> String {
        fs::read_to_string(self.prefix.join("logs/access.log")).unwrap_or_default()
    }

    /// nginx's stderr and error log, for failure messages.
    pub fn errors(&self) -> String {
        let read =
            |f: &str| fs::read_to_string(self.prefix.join("logs").join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }
}

impl Drop for Nginx {
    /// Stops nginx with SIGTERM (the master stops its worker and waits for it; a SIGKILLed
    /// master would leave the worker serving), SIGKILL if it is still there after [`WAIT`];
    /// reaps it and removes its prefix.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WAIT;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.prefix);
    }
}

/// A new empty prefix with `logs/` and `temp/`, unique to this process and call.
fn fresh_prefix() -> io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let prefix = std::env::temp_dir().join(format!("threadsock-nginx-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&prefix);
    fs::create_dir_all(prefix.join("logs"))?;
    fs::create_dir_all(prefix.join("temp"))?;
    Ok(prefix)
}
