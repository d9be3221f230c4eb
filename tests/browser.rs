//! Real-browser tests: headless Debian chromium (puppeteer-core, npm, `tests/browser/`) drives
//! the chat page (`/`), the server page (`/server`) and the official socket.io-client bundle
//! against `threadsock serve`, with `nc` users on the chat port. The scenarios are in
//! `tests/browser/run.mjs`, which starts and restarts the server itself; each prints `ok` or
//! `FAILED`. Skipped locally without chromium or `npm ci` in `tests/browser`; under CI a
//! failure.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// How many scenarios run.mjs has (each prints one `ok ` line when it passes).
const SCENARIOS: usize = 6;

#[test]
fn pages_and_socketio_in_a_real_browser() {
    if !require_tool("chromium") || !require_node_packages("browser") {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
    let child = Command::new("node")
        .current_dir(dir)
        .args(["run.mjs", env!("CARGO_BIN_EXE_threadsock")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = finish_within(child, Duration::from_secs(180), "tests/browser/run.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "run.mjs failed:\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        SCENARIOS,
        "{stdout}"
    );
}

/// The cluster example (`examples/cluster/run.sh`: Redis, two nodes, nginx), driven by
/// `tests/browser/cluster.mjs`: a browser on the nginx port chats with `nc` users on both nodes.
#[test]
fn the_cluster_example_in_a_real_browser() {
    if !require_tool("chromium")
        || !require_tool("redis-server")
        || support::nginx::binary().is_none()
        || !require_node_packages("browser")
    {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");
    let child = Command::new("node")
        .current_dir(dir)
        .args(["cluster.mjs", env!("CARGO_BIN_EXE_threadsock")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    let out = finish_within(child, Duration::from_secs(150), "tests/browser/cluster.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "cluster.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.lines().any(|l| l == "ok cluster"), "{stdout}");
}
