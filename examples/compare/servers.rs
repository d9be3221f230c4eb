//! The servers: which program each target runs for each service, pinned to CPU 0, and
//! starting one fresh for a run (the address comes from its `listening ...` line).

use super::plan::Service;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Paths, pinning and what is installed, found once.
#[derive(Debug)]
pub struct Env {
    pub release: PathBuf,
    pub root: PathBuf,
    pub pin: bool,
    /// Why Node cannot run, if it cannot.
    pub node: Result<(), String>,
    /// Why the Node socket.io app cannot run (no Node, or `npm ci` failed), if it cannot.
    pub node_socketio: Result<(), String>,
}

impl Env {
    /// `program` pinned to `cpu` when pinning is on.
    pub fn pinned(&self, cpu: u32, program: &Path) -> Command {
        if self.pin {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    /// Whether `target` can serve `service`; `Err` says why not.
    pub fn available(&self, target: &str, service: Service) -> Result<(), String> {
        match (target, service) {
            ("node", Service::SioAck | Service::SioChat | Service::SioQuiet) => {
                self.node_socketio.clone()
            }
            ("node" | "node-lines", _) => self.node.clone(),
            _ => Ok(()),
        }
    }

    /// The command that serves `service` as `target`, the line prefix that announces its
    /// address, and the Unix socket directory it needs, if any.
    fn command(&self, target: &str, service: Service) -> Result<Spawn, String> {
        self.available(target, service)?;
        let ts = self.release.join("threadsock");
        let example = |name: &str| self.release.join("examples").join(name);
        let node_script = |script: &str| {
            let mut c = self.pinned(0, Path::new("node"));
            c.arg(self.root.join("examples/node").join(script));
            c
        };
        let serve = |only: &str, port_flag: &str| {
            let mut c = self.pinned(0, &ts);
            c.args([
                "serve",
                "--only",
                only,
                port_flag,
                "0",
                "--max-conns",
                "12000",
            ]);
            c
        };
        let mut want = match service {
            Service::Echo => "listening echo/tcp ",
            Service::Udp => "listening echo/udp ",
            Service::Chat => "listening chat/tcp ",
            Service::SioAck | Service::SioChat | Service::SioQuiet => "listening socketio/tcp ",
        };
        let mut unix = None;
        let mut cmd = match (target, service) {
            ("threadsock" | "threadsock-tcp", Service::Echo | Service::Udp) => {
                serve("echo", "--echo-port")
            }
            ("threadsock-unix", Service::Echo) => {
                let dir = unix_dir();
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let mut c = serve("echo", "--echo-port");
                c.arg("--unix-dir").arg(&dir);
                want = "listening echo/unix ";
                unix = Some(dir);
                c
            }
            ("threadsock", Service::Chat) => serve("chat", "--chat-port"),
            ("threadsock", Service::SioChat) => serve("socketio", "--socketio-port"),
            // socket.io's default pings (25 s, 20 s), as the other servers use.
            ("threadsock", Service::SioAck) => {
                let mut c = self.pinned(0, &example("socketio_conformance"));
                c.args(["0", "25000", "20000"]);
                c
            }
            // Room for the 10,000 clients of the full run (idle, each holds one thread).
            ("threadsock", Service::SioQuiet) => {
                let mut c = self.pinned(0, &example("socketio_idle"));
                c.args(["0", "12000"]);
                c
            }
            ("node", Service::SioQuiet) => node_script("socketio/idle.js"),
            ("socketioxide", Service::SioQuiet) => self.pinned(0, &example("socketioxide_idle")),
            ("tokio", Service::Echo) => self.pinned(0, &example("tokio_echo")),
            ("tokio", Service::Udp) => self.pinned(0, &example("tokio_udp_echo")),
            ("tokio", Service::Chat) => self.pinned(0, &example("tokio_chat_batched")),
            ("node", Service::Echo) => node_script("echo.js"),
            ("node", Service::Udp) => node_script("udp_echo.js"),
            ("node", Service::Chat) => node_script("chat.js"),
            ("node-lines", Service::Chat) => node_script("chat_lines.js"),
            ("node", _) => {
                let mut c = node_script("socketio/chat.js");
                c.env("CHAT_ANNOUNCE", "0");
                c
            }
            ("socketioxide", _) => {
                let mut c = self.pinned(0, &example("socketioxide_chat"));
                c.env("CHAT_ANNOUNCE", "0");
                c
            }
            _ => return Err(format!("{target} does not serve {service:?}")),
        };
        if !target.starts_with("threadsock") {
            cmd.arg("0");
        }
        Ok(Spawn { cmd, want, unix })
    }
}

/// A server about to start.
struct Spawn {
    cmd: Command,
    want: &'static str,
    unix: Option<PathBuf>,
}

/// A fresh directory for one server's Unix sockets.
fn unix_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "threadsock-compare-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A started server: its process and the address to give `threadsock bench`.
pub struct Server {
    child: Child,
    pub addr: String,
    unix: Option<PathBuf>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the server ended, if it is no longer running (it crashed during a run).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.unix {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Starts `target` serving `service` and waits (10 s at most) for its address.
pub fn start(env: &Env, target: &str, service: Service) -> Result<Server, String> {
    let Spawn {
        mut cmd,
        want,
        unix,
    } = env.command(target, service)?;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{target}: cannot start: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading (and discarding) so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut server = Server {
        child,
        addr: String::new(),
        unix,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if let Some(addr) = line.strip_prefix(want) {
            let unix = if server.unix.is_some() { "unix:" } else { "" };
            server.addr = format!("{unix}{}", addr.trim());
            return Ok(server);
        }
    }
    Err(format!("{target}: no '{}' line", want.trim_end()))
}

/// Runs `npm ci` in `examples/node/socketio` if its `node_modules` is missing; `Err` says why
/// the Node socket.io app cannot run.
pub fn node_socketio(root: &Path, node: &Result<(), String>) -> Result<(), String> {
    node.clone()?;
    let dir = root.join("examples/node/socketio");
    if dir.join("node_modules/socket.io").is_dir() {
        return Ok(());
    }
    eprintln!(
        "installing socket.io for the Node comparison: npm ci in {}",
        dir.display()
    );
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("npm not found ({e}): run npm ci in examples/node/socketio"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let last = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("npm ci failed: {}", last.trim()));
    }
    Ok(())
}
